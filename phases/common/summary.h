/* summary.h - what a run reports: the status table (SIGUSR1, --status-every),
 * the human summary, and the one-line JSON of SPEC §7 that the benchmark
 * harness reads. */
#ifndef MSGROUTE_SUMMARY_H
#define MSGROUTE_SUMMARY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "hist.h"
#include "sm.h"
#include "table.h"

/* One row of the status table; phases 1 and 2 report their loop as worker 0. */
struct worker_stats {
    uint32_t index;
    int pid;
    bool alive;
    uint64_t handled;     /* messages applied to machines */
    uint64_t queue_depth; /* messages waiting (queue, pipe or ring fill) */
    uint64_t busy_ns;     /* time spent handling messages */
    long rss_kb;          /* resident set size now (peak at the end of a run) */
};

/* What a summary counts over the final machines. A main process that only
 * passes the workers' records on keeps one per worker (extsort.h). */
struct machine_tally {
    uint64_t machines, invalid, corrupt, ooo;
};

void tally_machine(struct machine_tally *t, const struct machine *m);
void tally_merge(struct machine_tally *into, const struct machine_tally *t);

struct run_summary {
    int phase;
    uint32_t workers;
    uint64_t messages;          /* routed */
    double seconds;             /* from the first message routed to the last one applied */
    const struct hist *queries; /* latency in ns; NULL or empty when none */
    uint64_t query_failed;      /* timed out or lost with a worker */
    uint64_t query_not_found;
    long rss_kb_max;                       /* largest process of the run */
    struct machine_tally counted;          /* over the final machines */
    const struct worker_stats *per_worker; /* workers entries */
};

/* Counts the machines into s->counted. */
void summary_count_machines(struct run_summary *s, const struct table *t);

void summary_print_text(FILE *f, const char *program, const struct run_summary *s);
void summary_print_json(FILE *f, const struct run_summary *s);
void status_print(FILE *f, const char *program, const struct worker_stats *w, uint32_t n);

/* Resident set of this process now, its peak since its exec (VmHWM), and
 * the peak of its reaped children (getrusage), in KiB. */
long rss_now_kb(void);
long rss_peak_self_kb(void);
long rss_peak_children_kb(void);

int cpu_count(void);

#endif

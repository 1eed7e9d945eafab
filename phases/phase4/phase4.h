/* phase4.h - the main process of phase 4: source -> rings -> workers, queries
 * answered from the shared state table. */
#ifndef MSGROUTE_PHASE4_H
#define MSGROUTE_PHASE4_H

#include <stddef.h>
#include <stdint.h>

#include "cli.h"
#include "extsort.h"
#include "hist.h"
#include "sm.h"
#include "source.h"
#include "summary.h"

#define PHASE4_RING_MIN_KIB 4u
#define PHASE4_RING_MAX_KIB (1024u * 1024u) /* 1 GiB */

struct phase4_config {
    uint32_t ring_kib; /* data bytes of each ring / 1024, a power of two; 0 = sized from the workload */
};

/* What a run hands back to main(): the final machines (read from the shared
 * table after every worker drained, into the dump's sorter; main frees it)
 * and the per-worker statistics. */
struct phase4_result {
    struct extsort rows;
    struct worker_stats *workers; /* o->workers entries, malloc'd */
    /* The time of each query's read of the state table alone (ns; malloc'd):
     * the summary's query latencies count from when a query was due, so they
     * include the wait for the main loop to get to it; this is the read. */
    struct hist *service;
};

/* Starts the workers, routes every message of src through their rings until
 * the source ends or SIGINT / SIGTERM asks to stop, drains, reaps. Returns
 * the exit status of SPEC §7: EXIT_OK (res filled), EXIT_WORKER_LOST (a
 * worker died: its pid and how are on stderr, no rows), EXIT_INTERRUPTED
 * (second signal), or EXIT_OUTPUT_FAILED when the run could not be set up.
 * Fills messages, seconds, query and RSS figures of out. */
int phase4_run(const struct options *o, const struct phase4_config *cfg, struct source *src, struct hist *queries,
               struct run_summary *out, struct phase4_result *res);

#endif

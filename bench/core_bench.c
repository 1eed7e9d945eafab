/* core_bench - how fast is phase 1, and what is its floor?
 *
 * Runs, REPS times each and alternating so that machine noise hits all
 * alike: (a) the source alone (generate and discard), (b) the bare loop:
 * generate and route, each message's machine found (or created) in the
 * table the way phase 1 finds it, batch and prefetch included, but no state
 * machine, no payload check and no dump, (c) the machine loop: the bare
 * loop plus sm_apply() on each machine, and nothing else, (d) phase 1's
 * real loop (phase1_run: source -> table -> machine). Prints the median
 * and the spread (min-max) of messages/s, the source's share of phase 1's
 * time and three ratios: phase 1 over the bare loop (what the state machine
 * and the loop's bookkeeping cost), the machine loop over the bare loop
 * (what the state machine alone costs: the most phase 1 over the bare loop
 * can reach while it keeps SPEC §3's counters) and phase 1 over the machine
 * loop (what phase 1's own bookkeeping costs: signals, queries, status,
 * payloads, --recover and --work-ns checks). --json prints the rates as
 * one JSON line (the benchmark harness reads it).
 *
 *     build/bin/core_bench [--messages 20000000] [--ids 10000] [--reps 5] [--json]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clock.h"
#include "phase1.h"
#include "shard.h"
#include "source.h"
#include "table.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double source_alone(const struct gen_config *g)
{
    struct source s;
    if (source_init_generator(&s, g) < 0)
        exit(1);
    struct msg m;
    uint64_t sink = 0, t0 = now_ns();
    while (source_next(&s, &m))
        sink += m.seq ^ m.id_hash ^ m.event; /* use every field so nothing is skipped */
    double secs = (double)(now_ns() - t0) / 1e9;
    if (sink == 42)
        puts("");
    source_free(&s);
    return secs;
}

/* Phase 1's loop less its bookkeeping: the same 64-message batches, each
 * machine prefetched as its message is pulled, then found or created, and
 * with apply, sm_apply() on it (0-byte payloads: always intact). One
 * function for both loops, so that they differ in that call alone: a copy
 * of each, or one inlined with a constant flag, is laid out differently,
 * and code layout alone moves a loop's rate as much as the state machine's
 * smaller costs do. */
static double route_loop(const struct gen_config *g, bool apply)
{
    enum { BATCH = 64 };
    struct source s;
    struct table t;
    if (source_init_generator(&s, g) < 0 || table_init(&t, g->ids) < 0)
        exit(1);
    struct msg msgs[BATCH];
    uint64_t sink = 0, t0 = now_ns();
    for (bool more = true; more;) {
        int n = 0;
        while (n < BATCH && source_next(&s, &msgs[n]))
            table_prefetch(&t, msgs[n++].id_hash);
        more = n == BATCH;
        for (int i = 0; i < n; i++) {
            struct machine *mc = table_upsert(&t, msgs[i].id, msgs[i].id_len, msgs[i].id_hash);
            if (!mc)
                exit(1);
            if (apply)
                sm_apply(mc, msgs[i].seq, (enum event)msgs[i].event, 0, true);
            sink += mc->state ^ msgs[i].event; /* read the machine so the lookup is not skipped */
        }
    }
    double secs = (double)(now_ns() - t0) / 1e9;
    if (sink == 42)
        puts("");
    table_free(&t);
    source_free(&s);
    return secs;
}

static double bare_loop(const struct gen_config *g)
{
    return route_loop(g, false);
}

static double machine_loop(const struct gen_config *g)
{
    return route_loop(g, true);
}

static double phase1(const struct gen_config *g)
{
    struct options o = {.gen = *g, .workers = 1};
    struct source s;
    struct shard sh;
    struct hist *h = malloc(sizeof *h);
    if (!h || source_init_generator(&s, g) < 0 || shard_init(&sh, g->ids, 0) < 0)
        exit(1);
    hist_init(h);
    struct run_summary sum = {0};
    if (phase1_run(&o, &s, &sh, h, &sum) < 0)
        exit(1);
    shard_free(&sh);
    source_free(&s);
    free(h);
    return sum.seconds;
}

struct rates {
    double median, min, max; /* messages/s */
};

/* secs[] sorted in place; the rates of its median, slowest and fastest run. */
static struct rates rates_of(double *secs, int reps, double messages)
{
    qsort(secs, (size_t)reps, sizeof secs[0], cmp_double);
    return (struct rates){messages / secs[reps / 2], messages / secs[reps - 1], messages / secs[0]};
}

/* The four loops, in the order they run. */
enum loop { SOURCE, BARE, MACHINE, PHASE1, LOOPS };
enum { MAX_REPS = 100 };

static void print_text(const struct gen_config *g, int reps, const struct rates *r)
{
    printf("core_bench: %llu messages, %u uniform ids, 0-byte payloads, %d repetitions (median, min-max)\n",
           (unsigned long long)g->messages, g->ids, reps);
    const char *names[LOOPS] = {"source alone", "bare loop", "machine loop", "phase 1"};
    for (int i = 0; i < LOOPS; i++)
        printf("  %-13s %7.2f M msgs/s  (%.2f-%.2f)\n", names[i], r[i].median / 1e6, r[i].min / 1e6, r[i].max / 1e6);
    printf("  source share of phase 1 time: %.0f %%\n", 100.0 * r[PHASE1].median / r[SOURCE].median);
    printf("  phase 1 / bare loop: %.2fx\n", r[PHASE1].median / r[BARE].median);
    printf("  machine loop / bare loop: %.2fx (the state machine alone)\n", r[MACHINE].median / r[BARE].median);
    printf("  phase 1 / machine loop: %.2fx (phase 1's bookkeeping)\n", r[PHASE1].median / r[MACHINE].median);
    if (r[PHASE1].max > 1.3 * r[PHASE1].min)
        printf(
            "  warning: phase 1 runs spread over %.0f %%: the machine is busy, trust the ratio more than the rates\n",
            100.0 * (r[PHASE1].max / r[PHASE1].min - 1));
}

static void print_json(const struct gen_config *g, int reps, const struct rates *r)
{
    printf("{\"messages\":%llu,\"ids\":%u,\"reps\":%d", (unsigned long long)g->messages, g->ids, reps);
    const char *names[LOOPS] = {"source", "bare", "machine", "phase1"};
    for (int i = 0; i < LOOPS; i++)
        printf(",\"%s_msgs_per_s\":%.0f,\"%s_msgs_per_s_min\":%.0f,\"%s_msgs_per_s_max\":%.0f", names[i], r[i].median,
               names[i], r[i].min, names[i], r[i].max);
    printf("}\n");
}

int main(int argc, char **argv)
{
    struct gen_config g = {.messages = 20000000, .ids = 10000, .dist = DIST_UNIFORM, .seed = 1};
    int reps = 5;
    bool ok = true, json = false;
    for (int i = 1; ok && i < argc; i++) {
        uint64_t v = 0;
        const char *val = i + 1 < argc ? argv[i + 1] : "";
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (strcmp(argv[i], "--messages") == 0 && cli_parse_u64(val, 1, UINT64_MAX / 2, &v))
            g.messages = v, i++;
        else if (strcmp(argv[i], "--ids") == 0 && cli_parse_u64(val, 1, 1u << 24, &v))
            g.ids = (uint32_t)v, i++;
        else if (strcmp(argv[i], "--reps") == 0 && cli_parse_u64(val, 1, MAX_REPS, &v))
            reps = (int)v, i++;
        else
            ok = false;
    }
    if (!ok) {
        fprintf(stderr, "usage: core_bench [--messages M] [--ids K] [--reps R] [--json]\n");
        return 2;
    }
    static double secs[LOOPS][MAX_REPS];
    source_alone(&g); /* warm-up, discarded */
    for (int r = 0; r < reps; r++) {
        secs[SOURCE][r] = source_alone(&g);
        secs[BARE][r] = bare_loop(&g);
        secs[MACHINE][r] = machine_loop(&g);
        secs[PHASE1][r] = phase1(&g);
    }
    struct rates rates[LOOPS];
    for (int i = 0; i < LOOPS; i++)
        rates[i] = rates_of(secs[i], reps, (double)g.messages);
    if (json)
        print_json(&g, reps, rates);
    else
        print_text(&g, reps, rates);
    return 0;
}

/* main.c - phase 2's program: parse, load, run the loop, dump, report. */
#include <stdio.h>

#include "cli.h"
#include "phase2.h"
#include "run.h"

static bool set_batch(void *ctx, const char *arg, char *why, size_t why_len)
{
    struct phase2_config *c = ctx;
    uint64_t v;
    if (!cli_parse_u64(arg, 1, PHASE2_BATCH_MAX, &v)) {
        snprintf(why, why_len, "--batch wants a whole number from 1 to %u", PHASE2_BATCH_MAX);
        return false;
    }
    c->batch = (uint32_t)v;
    return true;
}

static struct phase2_config config = {.batch = PHASE2_BATCH_DEFAULT,
                                      .query_spin_ns = CLI_QUERY_SPIN_US_DEFAULT * 1000ull};

static const struct cli_extra extras[] = {
    {"batch", "N",
     "messages the router applies per turn of the loop (default 256): larger amortises the "
     "turn, smaller lets queries and signals in sooner",
     set_batch, &config},
    {"query-spin-us", "US", CLI_QUERY_SPIN_HELP(CLI_QUERY_SPIN_US_DEFAULT), cli_set_query_spin, &config.query_spin_ns},
};

static const struct cli_program program = {
    .name = "phase2",
    .purpose = "Routes messages to state machines on one libuv event loop, with async queries (msgroute phase 2).",
    .phase = 2,
    .extras = extras,
    .nextras = sizeof extras / sizeof extras[0],
};

int main(int argc, char **argv)
{
    struct options o;
    struct source src;
    int status = run_begin(&program, argc, argv, &o, &src);
    if (status != RUN_GO)
        return status;

    struct shard shard;
    if (shard_init(&shard, source_ids_known(&src), o.work_ns) < 0) {
        fprintf(stderr, "phase2: out of memory\n");
        source_free(&src);
        return EXIT_NO_MEMORY;
    }
    struct hist queries; /* 58 KiB: fine on main's stack */
    hist_init(&queries);

    struct worker_stats self = {.index = 0, .alive = true};
    struct run_summary sum = {.phase = 2, .workers = 1, .queries = &queries, .per_worker = &self};
    status = phase2_run(&o, &config, &src, &shard, &queries, &sum, &self);
    if (status == EXIT_OK)
        status = run_check_source(&src);
    if (status != EXIT_OK)
        goto out; /* no dump: the state is incomplete */

    status = run_finish_shard(program.name, &o, &shard, &sum, &self);
out:
    shard_free(&shard);
    source_free(&src);
    return run_end(program.name, status);
}

/* main.c - phase 4's program: parse, load, run, dump, report. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "phase4.h"
#include "run.h"

static bool set_ring_kib(void *ctx, const char *arg, char *why, size_t why_len)
{
    struct phase4_config *c = ctx;
    uint64_t v;
    if (!cli_parse_u64(arg, PHASE4_RING_MIN_KIB, PHASE4_RING_MAX_KIB, &v) || (v & (v - 1)) != 0) {
        snprintf(why, why_len, "--ring-kib wants a power of two from %u to %u", PHASE4_RING_MIN_KIB,
                 PHASE4_RING_MAX_KIB);
        return false;
    }
    c->ring_kib = (uint32_t)v;
    return true;
}

static struct phase4_config config;

static const struct cli_extra extras[] = {
    {"ring-kib", "K",
     "data bytes of each worker's ring, in KiB (a power of two; default 4096, more when "
     "payloads need it so that a payload crosses in one record)",
     set_ring_kib, &config},
};

static const struct cli_program program = {
    .name = "phase4",
    .purpose = "Routes messages to worker processes through shared-memory rings; queries read a shared "
               "state table (msgroute phase 4).",
    .phase = 4,
    .has_workers = true,
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

    struct hist *queries = malloc(sizeof *queries);
    if (!queries) {
        fprintf(stderr, "phase4: out of memory\n");
        source_free(&src);
        return EXIT_NO_MEMORY;
    }
    hist_init(queries);

    struct run_summary sum = {.phase = 4, .workers = o.workers, .queries = queries};
    struct phase4_result res;
    status = phase4_run(&o, &config, &src, queries, &sum, &res);
    if (status == EXIT_OK)
        status = run_check_source(&src);
    if (status == EXIT_OK) {
        sum.per_worker = res.workers;
        status = run_finish_sorted(program.name, &o, &res.rows, &sum);
    }
    if (status == EXIT_OK && res.service && res.service->count)
        fprintf(stderr, "phase4: query reads of the state table alone: p50 %.3f us, p99 %.3f us, p99.9 %.3f us\n",
                (double)hist_percentile(res.service, 50) / 1000.0, (double)hist_percentile(res.service, 99) / 1000.0,
                (double)hist_percentile(res.service, 99.9) / 1000.0);
    extsort_free(&res.rows);
    free(res.workers);
    free(res.service);
    source_free(&src);
    free(queries);
    return run_end(program.name, status);
}

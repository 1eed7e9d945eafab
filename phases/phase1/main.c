/* main.c - phase 1's program: parse, load, run, dump, report. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"
#include "phase1.h"
#include "run.h"

static const struct cli_program program = {
    .name = "phase1",
    .purpose = "Routes messages to state machines in one thread, with a synchronous loop (msgroute phase 1).",
    .phase = 1,
};

int main(int argc, char **argv)
{
    struct options o;
    struct source src;
    int status = run_begin(&program, argc, argv, &o, &src);
    if (status != RUN_GO)
        return status;

    struct shard shard;
    struct hist *queries = malloc(sizeof *queries);
    if (!queries || shard_init(&shard, src.ids.count, o.work_ns) < 0) {
        fprintf(stderr, "phase1: out of memory\n");
        free(queries);
        source_free(&src);
        return EXIT_OUTPUT_FAILED;
    }
    hist_init(queries);

    struct worker_stats self = {.index = 0, .alive = true};
    struct run_summary sum = {.phase = 1, .workers = 1, .queries = queries, .per_worker = &self};
    if (phase1_run(&o, &src, &shard, queries, &sum) < 0) {
        status = EXIT_OUTPUT_FAILED;
        goto out;
    }

    const struct machine *ms = shard.table.machines;
    uint32_t n = table_count(&shard.table);
    status = run_write_dump(program.name, &o, ms, n);
    if (status == EXIT_OK) {
        summary_count_machines(&sum, ms, n);
        sum.rss_kb_max = rss_peak_self_kb();
        self.pid = (int)getpid();
        self.handled = shard.handled;
        self.busy_ns = (uint64_t)(sum.seconds * 1e9);
        self.rss_kb = sum.rss_kb_max;
        run_report(program.name, &o, &sum);
    }
out:
    shard_free(&shard);
    source_free(&src);
    free(queries);
    return status;
}

/* main.c - phase 1's program: parse, load, run, dump, report. */
#include <stdio.h>
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
    if (shard_init(&shard, source_ids_known(&src), o.work_ns) < 0) {
        fprintf(stderr, "phase1: out of memory\n");
        source_free(&src);
        return EXIT_NO_MEMORY;
    }
    struct hist queries; /* 58 KiB: fine on main's stack */
    hist_init(&queries);

    struct worker_stats self = {.index = 0, .alive = true};
    struct run_summary sum = {.phase = 1, .workers = 1, .queries = &queries, .per_worker = &self};
    status = phase1_run(&o, &src, &shard, &queries, &sum);
    if (status == EXIT_OK)
        status = run_check_source(&src);
    if (status != EXIT_OK)
        goto out;

    self.pid = (int)getpid();
    self.handled = shard.handled;
    self.busy_ns = (uint64_t)(sum.seconds * 1e9);
    status = run_finish_shard(program.name, &o, &shard, &sum, &self);
out:
    shard_free(&shard);
    source_free(&src);
    return run_end(program.name, status);
}

/* main.c - phase 3's program: parse, load, run the workers, dump, report. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "phase3.h"
#include "run.h"

static bool set_pipe_size(void *ctx, const char *arg, char *why, size_t why_len)
{
    struct p3_config *c = ctx;
    uint64_t v;
    if (!cli_parse_u64(arg, 0, 1u << 30, &v)) {
        snprintf(why, why_len, "want bytes from 0 (the kernel's default) to 1073741824");
        return false;
    }
    c->pipe_size = (uint32_t)v;
    return true;
}

static bool add_query(void *ctx, const char *arg, char *why, size_t why_len)
{
    struct p3_config *c = ctx;
    return cli_add_final_query(c->final_queries, &c->nfinal, P3_FINAL_QUERIES_MAX, arg, why, why_len);
}

int main(int argc, char **argv)
{
    struct p3_config cfg = {.pipe_size = P3_PIPE_SIZE_DEFAULT, .query_spin_ns = CLI_QUERY_SPIN_US_DEFAULT * 1000ull};
    const struct cli_extra extras[] = {
        {"pipe-size", "BYTES", "size of each message pipe (F_SETPIPE_SZ; 0: kernel default; default 1 MiB)",
         set_pipe_size, &cfg},
        {"query-spin-us", "US", CLI_QUERY_SPIN_HELP(CLI_QUERY_SPIN_US_DEFAULT), cli_set_query_spin, &cfg.query_spin_ns},
        {"query", "ID", "after the drain, ask ID's worker for its machine and print the answer (repeatable)", add_query,
         &cfg},
    };
    const struct cli_program program = {
        .name = "phase3",
        .purpose = "Routes messages to N worker processes over pipes, msgpack frames and a query channel "
                   "(msgroute phase 3).",
        .phase = 3,
        .has_workers = true,
        .extras = extras,
        .nextras = sizeof extras / sizeof extras[0],
    };
    struct options o;
    struct source src;
    int status = run_begin(&program, argc, argv, &o, &src);
    if (status != RUN_GO)
        return status;
    struct p3_result r;
    status = phase3_run(&o, &cfg, &src, &r);
    if (status == EXIT_OK)
        status = run_check_source(&src);
    if (status == EXIT_OK)
        status = run_finish_sorted(program.name, &o, &r.records, &r.sum);
    p3_result_free(&r);
    source_free(&src);
    return run_end(program.name, status);
}

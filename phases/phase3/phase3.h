/* phase3.h - phase 3: N worker processes, each with a pipe for messages,
 * a pipe for requests (queries, COLLECT) and a pipe for replies (answers,
 * statistics, the final records).
 *
 * The main process runs one libuv loop holding the source, the router, the
 * query issuer and the supervision of workers (pool.h); it never blocks:
 * every descriptor it writes is non-blocking, a full pipe stops the source
 * (backpressure), and a query completes in a callback or at its deadline. */
#ifndef MSGROUTE_PHASE3_H
#define MSGROUTE_PHASE3_H

#include <stddef.h>
#include <stdint.h>

#include "cli.h"
#include "extsort.h"
#include "hist.h"
#include "sm.h"
#include "source.h"
#include "summary.h"

#define P3_FINAL_QUERIES_MAX 16
/* Default pipe size: see phase3.c (setup_pipes) for why. */
#define P3_PIPE_SIZE_DEFAULT (1024u * 1024u)

/* Phase 3's own flags. */
struct p3_config {
    uint32_t pipe_size;                              /* F_SETPIPE_SZ in bytes; 0 keeps the kernel's default */
    const char *final_queries[P3_FINAL_QUERIES_MAX]; /* --query ID, asked after the drain */
    size_t nfinal;
    uint64_t query_spin_ns; /* --query-spin-us (cli.h), in ns: the query clock's spin lead */
};

/* What a finished run hands back to main(). Owned by the caller: free with
 * p3_result_free(). */
struct p3_result {
    struct extsort records; /* every machine of every worker, to be sorted (extsort.h) */
    struct worker_stats *per_worker;
    struct hist *queries;
    struct run_summary sum;
};

/* Runs the whole system over src. Returns the exit status of SPEC §7:
 * EXIT_OK (result filled: dump and report are the caller's), EXIT_WORKER_LOST
 * (a worker died; the message naming it is printed; no records),
 * EXIT_INTERRUPTED (second SIGINT; workers killed and reaped), or
 * EXIT_OUTPUT_FAILED (a setup step failed, reason printed). */
int phase3_run(const struct options *o, const struct p3_config *c, struct source *src, struct p3_result *r);

void p3_result_free(struct p3_result *r);

#endif

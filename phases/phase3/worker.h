/* worker.h - the body of one phase-3 worker process, a lesson module
 * (worker.c): its own libuv loop, its own machine table, messages in from
 * its pipe, queries in on its request pipe and answers out on its reply
 * pipe. It gets its three descriptors and its settings (struct
 * worker_setup), shares nothing else with the main process, and says how it
 * ended by its exit status, which the driver reports.
 *
 * Protocol, as the worker sees it (frames of codec.h):
 *   reply pipe out: READY once its loop runs;
 *   message pipe in: MSG frames until end of file, each applied through
 *     shard_deliver() in arrival order (the pipe keeps the router's order,
 *     so per-worker_id order holds); at end of file, STATS;
 *   request pipe in: QUERY (answered with ANSWER at once, between two reads of the
 *     pipe, so a query waits at most for one INQ_READ_CHUNK of messages);
 *     COLLECT (answered with RECORDS frames and END); end of file: exit 0.
 * A worker writes its reply pipe with a blocking helper: that cannot
 * deadlock, because the main process reads every reply pipe whenever it
 * runs, whatever else it is waiting for. */
#ifndef MSGROUTE_PHASE3_WORKER_H
#define MSGROUTE_PHASE3_WORKER_H

#include <stdint.h>

#include "exits.h"
#include "pool.h"

struct recover_area;

/* Exit statuses of a worker, from the one table of exits.h, reported by
 * the main process as "worker 1 (pid 4242): exited with status 7 (a
 * protocol violation)". */
enum worker_exit {
    WORKER_EXIT_OK = EXIT_OK,
    WORKER_EXIT_PROTOCOL = EXIT_PROTOCOL, /* a bad frame, or a pipe ended inside one */
    WORKER_EXIT_IO = EXIT_PEER_GONE,      /* a read or write failed (the main process is gone) */
    WORKER_EXIT_NOMEM = EXIT_NO_MEMORY,
    WORKER_EXIT_TODO = EXIT_NOT_WRITTEN, /* the lab's starter: a function of worker.c is not written yet */
};

struct worker_setup {
    uint32_t index;
    int msg_fd;            /* read end of the message pipe */
    int ctl_fd;            /* read end of the request pipe */
    int rep_fd;            /* write end of the reply pipe */
    uint32_t expected_ids; /* table size hint */
    uint64_t work_ns;
    struct recover_area *recover; /* --recover: its checkpoint area (recover.h), else NULL */
};

/* Runs the worker s describes to its end, publishing its counters in slot;
 * returns its exit status. */
int worker_run(const struct worker_setup *s, struct pool_slot *slot);

#endif

/* qclient.h - the load of --queries Q: Q queries per second at random known
 * ids, submitted to the query server while messages flow, each one's latency
 * recorded from its intended time (qload.h) to its callback.
 *
 * It owns a fixed pool of request objects, so it allocates nothing per
 * query and never has more than QCLIENT_POOL in flight; a query due while
 * the pool is empty would be counted as failed rather than queued without
 * bound (and cannot be, see QCLIENT_BURST). */
#ifndef MSGROUTE_PHASE2_QCLIENT_H
#define MSGROUTE_PHASE2_QCLIENT_H

#include <stdint.h>
#include <uv.h>

#include "hist.h"
#include "ptimer.h"
#include "qload.h"
#include "query.h"
#include "source.h"

/* Queries are submitted at most twice between two turns of the server (by
 * the prepare handle, then by the timer in the poll that follows), each time at most
 * a burst of QCLIENT_BURST (qload.h): a pool of two bursts never runs dry.
 * A loop stalled for longer than a burst's worth of queries (50 ms at
 * 10 000 queries/s) forfeits the rest, as a full bucket overflows. */
#define QCLIENT_BURST 512
#define QCLIENT_POOL (2 * QCLIENT_BURST)

/* One request of the pool: the query and when it was meant to be asked. */
struct qclient_req {
    struct query q;
    struct idkey key; /* the query's id: q holds a pointer to it */
    uint64_t intended_ns, submitted_ns;
    struct qclient *client;
    struct qclient_req *next_free;
};

struct qclient {
    struct ptimer wake; /* wakes a sleeping loop when the next query is due */
    uv_prepare_t tick;  /* submits due queries on every turn of a busy loop */
    struct query_server *server;
    struct hist *latency; /* intended time -> callback: what a client sees */
    struct hist service;  /* submission -> callback: the loop's part of it */
    struct qload load;    /* which query is due when, at which id */
    struct qclient_req pool[QCLIENT_POOL];
    struct qclient_req *free_list;
    uint64_t submitted, completed, not_found, failed;
};

/* Starts per_s queries per second (per_s > 0) on loop, its clock with a
 * spin lead of spin_ns (ptimer.h; 0: none). 0 or a libuv error; on error
 * nothing is left open. */
int qclient_start(struct qclient *c, uv_loop_t *loop, struct query_server *server, const struct source *src,
                  double per_s, uint64_t spin_ns, uint64_t seed, struct hist *latency);

/* Stops issuing queries and closes both handles. Queries already submitted
 * are still completed by the server (query_server_close). */
void qclient_close(struct qclient *c);

#endif

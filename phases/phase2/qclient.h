/* qclient.h - the load of --queries Q: Q queries per second at random known
 * ids, submitted to the query server while messages flow, each one's latency
 * recorded from its intended time (pacer.h) to its callback.
 *
 * It owns a fixed pool of request objects, so it allocates nothing per
 * query and never has more than QCLIENT_POOL in flight; a query due while
 * the pool is empty is counted as failed rather than queued without bound. */
#ifndef MSGROUTE_PHASE2_QCLIENT_H
#define MSGROUTE_PHASE2_QCLIENT_H

#include <stdint.h>
#include <uv.h>

#include "hist.h"
#include "pacer.h"
#include "query.h"
#include "rng.h"
#include "source.h"

#define QCLIENT_POOL 256

/* One request of the pool: the query and when it was meant to be asked. */
struct qclient_req {
    struct query q;
    uint64_t intended_ns;
    struct qclient *client;
    struct qclient_req *next_free;
};

struct qclient {
    uv_timer_t wake;   /* wakes a sleeping loop when the next query is due */
    uv_prepare_t tick; /* submits due queries on every turn of a busy loop */
    struct query_server *server;
    const struct source *src;
    struct hist *latency;
    struct pacer pace;
    struct rng rng;
    struct qclient_req pool[QCLIENT_POOL];
    struct qclient_req *free_list;
    uint64_t submitted, completed, not_found, failed;
};

/* Starts per_s queries per second (per_s > 0) on loop. 0 or a libuv error;
 * on error nothing is left open. */
int qclient_start(struct qclient *c, uv_loop_t *loop, struct query_server *server, const struct source *src,
                  double per_s, uint64_t seed, struct hist *latency);

/* Stops issuing queries and closes both handles. Queries already submitted
 * are still completed by the server (query_server_close). */
void qclient_close(struct qclient *c);

#endif

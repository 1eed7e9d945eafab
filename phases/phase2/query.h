/* query.h - asynchronous queries of phase 2: "what is the state of machine X?"
 * asked of the event loop and answered by a callback.
 *
 * A query is a request object in the libuv manner (compare uv_fs_t): the
 * caller owns the struct query, fills in what it asks, submits it and gets
 * it back in its callback with the answer filled in. The server never
 * allocates; its pending list is threaded through the requests themselves,
 * so it is bounded by however many requests the caller owns.
 *
 * The server answers every pending query on the next turn of the loop,
 * between two router batches: a query waits for at most the batch being
 * routed, never for the rest of the stream. One loop, one thread: the
 * callback runs on the loop, and the answer is a copy, consistent because no
 * message is applied while a callback runs. */
#ifndef MSGROUTE_PHASE2_QUERY_H
#define MSGROUTE_PHASE2_QUERY_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "idmap.h"
#include "sm.h"
#include "table.h"

struct query;
typedef void (*query_cb)(struct query *q);

struct query {
    void *data; /* the caller's, untouched */
    /* the question */
    const struct idkey *key;
    /* the answer, valid in the callback */
    int status; /* 0: found; -ENOENT: the id never received a message;
                 * -ECANCELED: the server closed before answering */
    struct machine result;
    /* private to the server */
    query_cb cb;
    struct query *next;
};

struct query_server {
    uv_idle_t serve; /* active while queries are pending: keeps the loop from sleeping */
    const struct table *table;
    struct query *head, *tail;
    uint64_t pending, answered;
    bool closing;
};

/* Serves queries about the machines of table, on loop. 0 or a libuv error. */
int query_server_init(struct query_server *s, uv_loop_t *loop, const struct table *table);

/* Submits q, about the machine of key; cb(q) runs on a later turn of the
 * loop (never from inside query_submit). q must stay alive until then. */
void query_submit(struct query_server *s, struct query *q, const struct idkey *key, query_cb cb);

/* Answers every pending query now, then closes the server's handle. */
void query_server_close(struct query_server *s);

#endif

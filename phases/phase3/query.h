/* query.h - phase 3's query channel, a lesson module (query.c over the
 * table of querytab.h): a query becomes a QUERY frame with a correlation id
 * on its worker's request buffer, is completed by the ANSWER that carries
 * the same id, or fails at its deadline. The module keeps the counts and
 * the latencies of the run.
 *
 * It owns no descriptor, no timer and no worker: the driver (ask.c) paces
 * the queries, picks their ids and workers, writes the request buffers to
 * the pipes, prints final answers and decides what a failure means; each
 * call here returns what happened to one query, with its entry in *e (valid
 * until QT_SLOTS later queries reuse its slot). One owner: the main loop. */
#ifndef MSGROUTE_PHASE3_QUERY_H
#define MSGROUTE_PHASE3_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "hist.h"
#include "pacer.h"
#include "querytab.h"

struct queries {
    struct querytab tab;
    struct hist *latency;    /* of each answered query, from its intended time (pacer.h) */
    uint64_t failed;         /* refused at once or timed out */
    uint64_t not_found;      /* answered: no such machine */
    uint64_t late;           /* answers that came after their deadline, dropped */
    const char *not_written; /* with QUERY_NOT_WRITTEN: the function (else see tab.not_written) */
};

enum query_status {
    QUERY_SENT = 0,    /* query_send(): its frame is queued */
    QUERY_DUE,         /* query_due(): one more query is due now */
    QUERY_TOO_MANY,    /* query_send(): QT_SLOTS queries in flight; no entry (*e is NULL) */
    QUERY_NOT_RUNNING, /* query_send(): the worker takes no request (req was NULL) */
    QUERY_PIPE_FULL,   /* query_send(): its request buffer is full (the worker is not reading) */
    QUERY_ANSWERED,    /* query_answer(): found, latency recorded */
    QUERY_NOT_FOUND,   /* query_answer(): no such machine, latency recorded */
    QUERY_LATE,        /* query_answer(): nobody waits for it any more (*e is NULL) */
    QUERY_TIMED_OUT,   /* query_expire(): *e passed its deadline */
    QUERY_NONE,        /* query_due(), query_expire(): nothing is */
    QUERY_NOT_WRITTEN, /* the starter: a function is still a stub */
};

/* --queries: whether one more query is due at now_ns by pace (pacer.h),
 * taken from it: QUERY_DUE with the time it was due in *intended_ns, the
 * time its latency is measured from, or QUERY_NONE. */
int query_due(struct queries *q, struct pacer *pace, uint64_t now_ns, uint64_t *intended_ns);

/* Opens an entry for a query of id (len bytes) to worker, intended at
 * intended_ns, and queues its QUERY frame on req, that worker's request
 * buffer, or NULL when the worker cannot take one. Never waits. QUERY_SENT,
 * or the reason it failed at once (counted in failed). */
int query_send(struct queries *q, struct codec_buf *req, uint32_t worker, const char *id, size_t len,
               uint64_t intended_ns, uint64_t now_ns, struct qt_entry **e);

/* An ANSWER frame f arrived at now_ns: completes its query. QUERY_ANSWERED,
 * QUERY_NOT_FOUND or QUERY_LATE. */
int query_answer(struct queries *q, const struct codec_frame *f, uint64_t now_ns, struct qt_entry **e);

/* The next query whose deadline has passed by now_ns: QUERY_TIMED_OUT
 * (counted in failed) or QUERY_NONE. */
int query_expire(struct queries *q, uint64_t now_ns, struct qt_entry **e);

#endif

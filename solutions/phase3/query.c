/* query.c - phase 3's queries as the main process keeps them: a
 * correlation id and a deadline each (querytab.h), a QUERY frame on the
 * owning worker's request buffer, an ANSWER matched back by its id. Never
 * waits; says what happened to each query and lets the driver (ask.c)
 * decide what to print and when the run goes on (query.h). */
#include "query.h"

#include <stdbool.h>

/* The status of a query whose table call said st (not QT_OK). */
static int from_table(int st, int none)
{
    return st == QT_NOT_WRITTEN ? QUERY_NOT_WRITTEN : none;
}

int query_due(struct queries *q, struct pacer *pace, uint64_t now_ns, uint64_t *intended_ns)
{
    /* LAB: One query of the --queries schedule, if the pacer says one is due
     * by now_ns: take it from the pacer, and give its intended time (when it
     * was due, not now: a loop that stalled must not hide its stall in the
     * latency) in *intended_ns. QUERY_DUE or QUERY_NONE. */
    /* LAB STUB: (void)pace; */
    /* LAB STUB: (void)now_ns; */
    /* LAB STUB: (void)intended_ns; */
    /* LAB STUB: q->not_written = "query_due()"; */
    /* LAB STUB: return QUERY_NOT_WRITTEN; */
    (void)q;
    if (pacer_due(pace, now_ns) == 0)
        return QUERY_NONE;
    *intended_ns = pacer_next_due(pace);
    pacer_take(pace, 1);
    return QUERY_DUE;
    /* END LAB */
}

int query_send(struct queries *q, struct codec_buf *req, uint32_t worker, const char *id, size_t len,
               uint64_t intended_ns, uint64_t now_ns, struct qt_entry **e)
{
    /* LAB: Open an entry for the query in the table (its correlation id,
     * intended time and deadline) and queue its QUERY frame on req, the
     * worker's request buffer; the driver writes it. When the table is full
     * (QUERY_TOO_MANY, *e NULL), the worker takes no request (req NULL:
     * QUERY_NOT_RUNNING) or its buffer has no room (QUERY_PIPE_FULL), the
     * query fails now: count it, and leave no entry pending. A frame that
     * does not fit must not leave half of itself in the buffer. */
    /* LAB STUB: (void)req; */
    /* LAB STUB: (void)worker; */
    /* LAB STUB: (void)id; */
    /* LAB STUB: (void)len; */
    /* LAB STUB: (void)intended_ns; */
    /* LAB STUB: (void)now_ns; */
    /* LAB STUB: *e = NULL; */
    /* LAB STUB: q->not_written = "query_send()"; */
    /* LAB STUB: return QUERY_NOT_WRITTEN; */
    int st = qt_open(&q->tab, intended_ns, now_ns, worker, id, len, e);
    if (st != QT_OK) {
        *e = NULL;
        if (st == QT_NONE)
            q->failed++;
        return from_table(st, QUERY_TOO_MANY);
    }
    int why = QUERY_SENT;
    if (!req) {
        why = QUERY_NOT_RUNNING;
    } else {
        struct codec_buf b = *req; /* a copy: a frame that does not fit leaves nothing behind */
        if (codec_put_query(&b, (*e)->corr, id, len) < 0)
            why = QUERY_PIPE_FULL;
        else
            req->len = b.len;
    }
    if (why != QUERY_SENT) {
        (*e)->pending = false;
        q->failed++;
    }
    return why;
    /* END LAB */
}

int query_answer(struct queries *q, const struct codec_frame *f, uint64_t now_ns, struct qt_entry **e)
{
    /* LAB: Match the ANSWER frame f to its pending query by correlation id.
     * An answer nobody waits for any more (its deadline has passed, the
     * query already counted failed) is only counted late: QUERY_LATE.
     * Otherwise complete the query: no longer pending, its latency recorded
     * from its intended time (not from when it was sent: a stalled loop
     * must not hide its stall), "not found" counted. */
    /* LAB STUB: (void)f; */
    /* LAB STUB: (void)now_ns; */
    /* LAB STUB: *e = NULL; */
    /* LAB STUB: q->not_written = "query_answer()"; */
    /* LAB STUB: return QUERY_NOT_WRITTEN; */
    *e = NULL;
    int st = qt_match(&q->tab, f->u.answer.corr, e);
    if (st != QT_OK) {
        *e = NULL;
        if (st == QT_NONE)
            q->late++;
        return from_table(st, QUERY_LATE);
    }
    (*e)->pending = false;
    hist_record(q->latency, now_ns - (*e)->intended_ns);
    if (f->u.answer.found)
        return QUERY_ANSWERED;
    q->not_found++;
    return QUERY_NOT_FOUND;
    /* END LAB */
}

int query_expire(struct queries *q, uint64_t now_ns, struct qt_entry **e)
{
    /* LAB: The next pending query whose deadline has passed by now_ns, out of
     * the pending set and counted failed: QUERY_TIMED_OUT. QUERY_NONE when
     * none has (the driver calls this until it says so). */
    /* LAB STUB: (void)now_ns; */
    /* LAB STUB: (void)from_table; */
    /* LAB STUB: *e = NULL; */
    /* LAB STUB: q->not_written = "query_expire()"; */
    /* LAB STUB: return QUERY_NOT_WRITTEN; */
    *e = NULL;
    int st = qt_expired(&q->tab, now_ns, e);
    if (st != QT_OK) {
        *e = NULL;
        return from_table(st, QUERY_NONE);
    }
    q->failed++;
    return QUERY_TIMED_OUT;
    /* END LAB */
}

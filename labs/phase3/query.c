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
    /* TODO: One query of the --queries schedule, if the pacer says one is due
     * by now_ns: take it from the pacer, and give its intended time (when it
     * was due, not now: a loop that stalled must not hide its stall in the
     * latency) in *intended_ns. QUERY_DUE or QUERY_NONE. */
    (void)pace;
    (void)now_ns;
    (void)intended_ns;
    q->not_written = "query_due()";
    return QUERY_NOT_WRITTEN;
}

int query_send(struct queries *q, struct codec_buf *req, uint32_t worker, const char *id, size_t len,
               uint64_t intended_ns, uint64_t now_ns, struct qt_entry **e)
{
    /* TODO: Open an entry for the query in the table (its correlation id,
     * intended time and deadline) and queue its QUERY frame on req, the
     * worker's request buffer; the driver writes it. When the table is full
     * (QUERY_TOO_MANY, *e NULL), the worker takes no request (req NULL:
     * QUERY_NOT_RUNNING) or its buffer has no room (QUERY_PIPE_FULL), the
     * query fails now: count it, and leave no entry pending. A frame that
     * does not fit must not leave half of itself in the buffer. */
    (void)req;
    (void)worker;
    (void)id;
    (void)len;
    (void)intended_ns;
    (void)now_ns;
    *e = NULL;
    q->not_written = "query_send()";
    return QUERY_NOT_WRITTEN;
}

int query_answer(struct queries *q, const struct codec_frame *f, uint64_t now_ns, struct qt_entry **e)
{
    /* TODO: Match the ANSWER frame f to its pending query by correlation id.
     * An answer nobody waits for any more (its deadline has passed, the
     * query already counted failed) is only counted late: QUERY_LATE.
     * Otherwise complete the query: no longer pending, its latency recorded
     * from its intended time (not from when it was sent: a stalled loop
     * must not hide its stall), "not found" counted. */
    (void)f;
    (void)now_ns;
    *e = NULL;
    q->not_written = "query_answer()";
    return QUERY_NOT_WRITTEN;
}

int query_expire(struct queries *q, uint64_t now_ns, struct qt_entry **e)
{
    /* TODO: The next pending query whose deadline has passed by now_ns, out of
     * the pending set and counted failed: QUERY_TIMED_OUT. QUERY_NONE when
     * none has (the driver calls this until it says so). */
    (void)now_ns;
    (void)from_table;
    *e = NULL;
    q->not_written = "query_expire()";
    return QUERY_NOT_WRITTEN;
}

/* query.c - the query server: a pending list and one idle handle.
 *
 * Why an idle handle: while one is active, libuv polls for I/O without
 * blocking, so a submitted query is answered on the very next turn of the
 * loop even when no message is flowing (under --rate the loop would
 * otherwise sleep until its next timer). The handle is stopped when the list
 * is empty, so an idle server costs nothing. libuv runs idle callbacks
 * newest-started first: a server started by a new query is newer than the
 * router, which runs on every turn, so the query is answered before the
 * router's next batch, not after it. */
#include "query.h"

#include <errno.h>
#include <string.h>

#include "log.h"

static void answer(struct query_server *s, struct query *q, bool cancel)
{
    /* LAB: Complete q: unless cancel, look its machine up (table_find, which
     * never creates one) and copy it into q->result with status 0; a machine
     * that does not exist is -ENOENT, a cancelled query -ECANCELED
     * (query.h). Count it as answered and hand q back through its callback. */
    /* LAB STUB: (void)s; */
    /* LAB STUB: (void)q; */
    /* LAB STUB: (void)cancel; */
    const struct machine *m = cancel ? NULL : table_find(s->table, q->key->s, q->key->len, q->key->hash);
    if (m) {
        q->status = 0;
        q->result = *m;
    } else {
        q->status = cancel ? -ECANCELED : -ENOENT;
    }
    s->answered++;
    q->cb(q);
    /* END LAB */
}

/* Answers every query pending now; one submitted by a callback waits for
 * the next turn, so a callback that resubmits cannot starve the router. */
static void serve_all(struct query_server *s, bool cancel)
{
    /* LAB: Answer every query pending now, oldest first. Take the whole list
     * off the server before the first answer: a callback may submit a new
     * query, which then waits for the next turn instead of being answered
     * in this loop (a callback that always resubmits would starve the
     * router). */
    /* LAB STUB: static bool told; */
    /* LAB STUB: (void)cancel; */
    /* LAB STUB: (void)answer; */
    /* LAB STUB: if (!told) */
    /* LAB STUB:     log_error("serve_all() is not written yet: see labs/phase2/README.md"); */
    /* LAB STUB: told = true; */
    /* LAB STUB: s->head = s->tail = NULL; */
    /* LAB STUB: s->pending = 0; */
    struct query *q = s->head;
    s->head = s->tail = NULL;
    s->pending = 0;
    while (q) {
        struct query *next = q->next;
        answer(s, q, cancel);
        q = next;
    }
    /* END LAB */
}

static void on_serve(uv_idle_t *h)
{
    /* LAB: The server's turn: answer what is pending, and stop the idle
     * handle when nothing is left (an idle handle left running keeps the
     * loop from ever sleeping: 100 % CPU with nothing to do). */
    /* LAB STUB: (void)serve_all; */
    /* LAB STUB: uv_idle_stop(h); */
    struct query_server *s = h->data;
    serve_all(s, false);
    if (!s->head)
        uv_idle_stop(h);
    /* END LAB */
}

int query_server_init(struct query_server *s, uv_loop_t *loop, const struct table *table)
{
    memset(s, 0, sizeof *s);
    s->table = table;
    int rc = uv_idle_init(loop, &s->serve);
    if (rc == 0)
        s->serve.data = s;
    return rc;
}

void query_submit(struct query_server *s, struct query *q, const struct idkey *key, query_cb cb)
{
    /* LAB: Record the question and the callback in q, append q to the
     * server's pending list (threaded through q->next: no allocation),
     * and make sure the server runs on the next turn of the loop by
     * starting its idle handle, unless the server is closing. Never answer
     * from in here: the caller may not be ready for its callback yet. */
    /* LAB STUB: static bool told; */
    /* LAB STUB: (void)s; */
    /* LAB STUB: (void)q; */
    /* LAB STUB: (void)key; */
    /* LAB STUB: (void)cb; */
    /* LAB STUB: (void)on_serve; */
    /* LAB STUB: if (!told) */
    /* LAB STUB:     log_error("query_submit() is not written yet: see labs/phase2/README.md"); */
    /* LAB STUB: told = true; */
    q->key = key;
    q->cb = cb;
    q->next = NULL;
    if (s->tail)
        s->tail->next = q;
    else
        s->head = q;
    s->tail = q;
    s->pending++;
    if (!s->closing)
        uv_idle_start(&s->serve, on_serve); /* cannot fail with a callback */
    /* END LAB */
}

void query_server_close(struct query_server *s)
{
    if (s->closing)
        return;
    s->closing = true;
    /* LAB: The run is over. Give every pending query its real answer (the
     * machines are final now), then complete as cancelled whatever those
     * callbacks submitted meanwhile (nothing will serve it any more), and
     * close the server's handle: uv_loop_close() fails while any handle is
     * open. */
    /* The stream has drained (or the run was interrupted): the machines are
     * final, so the last pending queries get real answers. */
    serve_all(s, false);
    /* A query submitted from one of those callbacks cannot be served any
     * more: complete it as cancelled rather than leave it hanging. */
    while (s->head)
        serve_all(s, true);
    log_debug("query server: %llu queries answered, closing", (unsigned long long)s->answered);
    uv_close((uv_handle_t *)&s->serve, NULL);
    /* END LAB */
}

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
    /* TODO: Complete q: unless cancel, look its machine up (table_find, which
     * never creates one) and copy it into q->result with status 0; a machine
     * that does not exist is -ENOENT, a cancelled query -ECANCELED
     * (query.h). Count it as answered and hand q back through its callback. */
    (void)s;
    (void)q;
    (void)cancel;
}

/* Answers every query pending now; one submitted by a callback waits for
 * the next turn, so a callback that resubmits cannot starve the router. */
static void serve_all(struct query_server *s, bool cancel)
{
    /* TODO: Answer every query pending now, oldest first. Take the whole list
     * off the server before the first answer: a callback may submit a new
     * query, which then waits for the next turn instead of being answered
     * in this loop (a callback that always resubmits would starve the
     * router). */
    static bool told;
    (void)cancel;
    (void)answer;
    if (!told)
        log_error("serve_all() is not written yet: see labs/phase2/README.md");
    told = true;
    s->head = s->tail = NULL;
    s->pending = 0;
}

static void on_serve(uv_idle_t *h)
{
    /* TODO: The server's turn: answer what is pending, and stop the idle
     * handle when nothing is left (an idle handle left running keeps the
     * loop from ever sleeping: 100 % CPU with nothing to do). */
    (void)serve_all;
    uv_idle_stop(h);
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
    /* TODO: Record the question and the callback in q, append q to the
     * server's pending list (threaded through q->next: no allocation),
     * and make sure the server runs on the next turn of the loop by
     * starting its idle handle, unless the server is closing. Never answer
     * from in here: the caller may not be ready for its callback yet. */
    static bool told;
    (void)s;
    (void)q;
    (void)key;
    (void)cb;
    (void)on_serve;
    if (!told)
        log_error("query_submit() is not written yet: see labs/phase2/README.md");
    told = true;
}

void query_server_close(struct query_server *s)
{
    if (s->closing)
        return;
    s->closing = true;
    /* TODO: The run is over. Give every pending query its real answer (the
     * machines are final now), then complete as cancelled whatever those
     * callbacks submitted meanwhile (nothing will serve it any more), and
     * close the server's handle: uv_loop_close() fails while any handle is
     * open. */
}

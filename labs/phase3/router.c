/* router.c - phase 3's source into the workers' pipes: route each message
 * to route_worker(hash, N), batch it in that worker's outq, flush at
 * OUTQ_BATCH and at the end of every loop turn, and stop the source when a
 * pipe is full (backpressure) until it is writable again. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "fnv.h"
#include "log.h"
#include "p3.h"

static void on_pump(uv_idle_t *h);
static int flush_msgs(struct phase3 *p, uint32_t i);

void router_start(struct phase3 *p)
{
    if (!p->pumping && p->stage == ST_RUN) {
        uv_idle_start(&p->pump, on_pump);
        p->pumping = true;
    }
}

static void on_rate_timer(uv_timer_t *h)
{
    router_start(h->loop->data);
}

static void on_msg_closed(uv_handle_t *h)
{
    struct wk *w = h->data;
    /* Closing the write end is what tells the worker "no more messages". */
    if (close(w->msg_fd) < 0)
        log_warn("worker %u: close of its pipe: %s", w->index, strerror(errno));
    w->msg_fd = -1;
}

static void close_msgs(struct phase3 *p, uint32_t i)
{
    struct wk *w = &p->w[i];
    if (w->msg_closed)
        return;
    w->msg_closed = true;
    log_debug("worker %u: pipe flushed after %llu messages; closing it", i, (unsigned long long)w->out.pushed);
    uv_close((uv_handle_t *)&w->msg_poll, on_msg_closed);
}

static void on_msg_writable(uv_poll_t *h, int status, int events)
{
    /* TODO: The message pipe of worker h->data can take bytes again (or
     * reported an error, which ends the run naming that worker: see
     * p3_worker_failed()). Write what the worker's queue holds; if
     * the pipe is emptied and the source was paused for this very worker,
     * resume the source; while draining, close the pipe once all is out. */
    (void)status;
    (void)events;
    (void)close_msgs;
    p3_not_written(h->loop->data, "on_msg_writable()");
}

static int flush_msgs(struct phase3 *p, uint32_t i)
{
    /* TODO: Write worker i's queued bytes (outq_flush). When the pipe is full,
     * ask the loop to call on_msg_writable() once it can take more, and make
     * sure that request is withdrawn once the queue is empty. On any other
     * error (the worker is gone) stop feeding the source. Return what
     * outq_flush() returned. */
    (void)on_msg_writable;
    p3_not_written(p, "flush_msgs()");
    (void)i;
    return -ENOSYS;
}

static void on_pump(uv_idle_t *h)
{
    /* TODO: One loop turn of the source: route up to PUMP_TURN messages (fewer
     * under --rate, and none until the next is due: sleep on rate_timer) to
     * their worker by route_worker() of the id's hash, each into that
     * worker's outq; flush a queue that reaches OUTQ_BATCH, and at the end of
     * the turn flush every queue that holds bytes. A message that a full
     * pipe refuses is kept (p->held), sent first next time, and the source
     * pauses until that worker's pipe is writable. At the end of the source,
     * drain. */
    (void)on_rate_timer;
    (void)flush_msgs;
    p3_not_written(h->loop->data, "on_pump()");
}

void router_drain(struct phase3 *p)
{
    /* TODO: No new message from now on: leave stage RUN for DRAIN, stop the pump
     * and the rate timer, forget a held message (it was never sent), and for
     * every worker push out what its queue holds, then close its pipe: the
     * end of file is how a worker learns that no message will follow. A
     * pipe that cannot take everything now is closed when it can. */
    p3_not_written(p, "router_drain()");
}

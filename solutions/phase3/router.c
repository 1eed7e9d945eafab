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
    /* LAB: The message pipe of worker h->data can take bytes again (or
     * reported an error, which ends the run naming that worker: see
     * p3_worker_failed()). Write what the worker's queue holds; if
     * the pipe is emptied and the source was paused for this very worker,
     * resume the source; while draining, close the pipe once all is out. */
    /* LAB STUB: (void)status; */
    /* LAB STUB: (void)events; */
    /* LAB STUB: (void)close_msgs; */
    /* LAB STUB: p3_not_written(h->loop->data, "on_msg_writable()"); */
    struct wk *w = h->data;
    struct phase3 *p = w->msg_poll.loop->data;
    (void)events;
    if (status < 0) {
        p3_worker_failed(p, w->index, "its pipe reported an error");
        return;
    }
    int rc = flush_msgs(p, w->index);
    if (rc == -EAGAIN)
        return;
    if (rc < 0)
        return; /* reported by flush_msgs */
    /* Resume only for the worker the held message waits on: another
     * worker's pipe draining would just refuse that message again. */
    bool waited_on = !p->have_held || route_worker(p->held.id_hash, p->n) == w->index;
    if (p->stage == ST_RUN && !p->pumping && waited_on) {
        log_debug("worker %u: pipe writable again; resuming the source", w->index);
        router_start(p);
    } else if (p->stage == ST_DRAIN) {
        close_msgs(p, w->index);
    }
    /* END LAB */
}

static int flush_msgs(struct phase3 *p, uint32_t i)
{
    /* LAB: Write worker i's queued bytes (outq_flush). When the pipe is full,
     * ask the loop to call on_msg_writable() once it can take more, and make
     * sure that request is withdrawn once the queue is empty. On any other
     * error (the worker is gone) stop feeding the source. Return what
     * outq_flush() returned. */
    /* LAB STUB: (void)on_msg_writable; */
    /* LAB STUB: p3_not_written(p, "flush_msgs()"); */
    /* LAB STUB: (void)i; */
    /* LAB STUB: return -ENOSYS; */
    struct wk *w = &p->w[i];
    int rc = outq_flush(&w->out);
    if (rc == -EAGAIN) {
        if (!w->msg_writable_armed) {
            uv_poll_start(&w->msg_poll, UV_WRITABLE, on_msg_writable);
            w->msg_writable_armed = true;
        }
        return rc;
    }
    if (w->msg_writable_armed) {
        uv_poll_stop(&w->msg_poll);
        w->msg_writable_armed = false;
    }
    if (rc < 0) {
        /* EPIPE: the worker has closed its end, which it only does by
         * dying. Stop feeding; SIGCHLD will name the cause. */
        log_debug("worker %u: write to its pipe: %s", i, strerror(-rc));
        if (p->pumping) {
            uv_idle_stop(&p->pump);
            p->pumping = false;
        }
    }
    return rc;
    /* END LAB */
}

static void on_pump(uv_idle_t *h)
{
    /* LAB: One loop turn of the source: route up to PUMP_TURN messages (fewer
     * under --rate, and none until the next is due: sleep on rate_timer) to
     * their worker by route_worker() of the id's hash, each into that
     * worker's outq; flush a queue that reaches OUTQ_BATCH, and at the end of
     * the turn flush every queue that holds bytes. A message that a full
     * pipe refuses is kept (p->held), sent first next time, and the source
     * pauses until that worker's pipe is writable. At the end of the source,
     * drain. */
    /* LAB STUB: (void)on_rate_timer; */
    /* LAB STUB: (void)flush_msgs; */
    /* LAB STUB: p3_not_written(h->loop->data, "on_pump()"); */
    struct phase3 *p = h->loop->data;
    uint64_t now = now_ns();
    uint64_t budget = PUMP_TURN;
    if (p->o->rate > 0) {
        budget = pacer_due(&p->rate, now);
        if (budget > PUMP_TURN)
            budget = PUMP_TURN;
        if (budget == 0) {
            /* Nothing due: sleep in the loop until the next message is. */
            uint64_t wait = pacer_next_due(&p->rate) - now;
            uv_idle_stop(&p->pump);
            p->pumping = false;
            uv_timer_start(&p->rate_timer, on_rate_timer, (wait + 999999) / 1000000, 0);
            return;
        }
    }
    uint64_t done = 0;
    for (; done < budget; done++) {
        struct msg m;
        if (p->have_held) {
            m = p->held;
        } else if (!source_next(p->src, &m)) {
            router_drain(p);
            break;
        }
        uint32_t i = route_worker(m.id_hash, p->n);
        struct wk *w = &p->w[i];
        if (outq_push(&w->out, &m) < 0) {
            int rc = flush_msgs(p, i);
            if (rc < 0 || outq_push(&w->out, &m) < 0) {
                /* The pipe is full: backpressure. Keep the message, stop
                 * the source until on_msg_writable() restarts it. */
                p->held = m;
                p->have_held = true;
                if (p->pumping) {
                    uv_idle_stop(&p->pump);
                    p->pumping = false;
                }
                log_debug("worker %u: pipe full; source paused", i);
                break;
            }
        }
        p->have_held = false;
        p->routed++;
        if (outq_buffered(&w->out) >= OUTQ_BATCH)
            flush_msgs(p, i);
    }
    if (p->o->rate > 0)
        pacer_take(&p->rate, done);
    /* End of the turn: whatever is buffered leaves now, so a slow source
     * never leaves messages waiting for a batch to fill. */
    for (uint32_t i = 0; i < p->n; i++)
        if (!p->w[i].msg_closed && outq_dirty(&p->w[i].out) && !p->w[i].msg_writable_armed)
            flush_msgs(p, i);
    /* END LAB */
}

void router_drain(struct phase3 *p)
{
    /* LAB: No new message from now on: leave stage RUN for DRAIN, stop the pump
     * and the rate timer, forget a held message (it was never sent), and for
     * every worker push out what its queue holds, then close its pipe: the
     * end of file is how a worker learns that no message will follow. A
     * pipe that cannot take everything now is closed when it can. */
    /* LAB STUB: p3_not_written(p, "router_drain()"); */
    if (p->stage > ST_RUN)
        return;
    log_debug("draining: %llu messages routed", (unsigned long long)p->routed);
    p->stage = ST_DRAIN;
    if (p->pumping) {
        uv_idle_stop(&p->pump);
        p->pumping = false;
    }
    uv_timer_stop(&p->rate_timer);
    /* A message refused by a full pipe was never sent: it is not part of
     * the run, and the dump will not count it. */
    p->have_held = false;
    for (uint32_t i = 0; i < p->n; i++) {
        if (p->w[i].msg_closed)
            continue;
        int rc = flush_msgs(p, i);
        if (rc == 0)
            close_msgs(p, i);
    }
    /* END LAB */
}

/* pump.c - the driver of phase 3's message pipes: the pump (a uv_idle
 * handle, so one loop turn is one batch), --rate, the writable watch on
 * full pipes, the drain and the close of each pipe (its end of file is how
 * a worker learns that no message follows). What goes where, and when a
 * queue is written, is the router's (router.h); this file acts on what the
 * router returns. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "p3.h"

static void on_pump(uv_idle_t *h);
static void on_msg_writable(uv_poll_t *h, int status, int events);

void pump_start(struct phase3 *p)
{
    if (!p->pumping && p->stage == ST_RUN) {
        uv_idle_start(&p->pump, on_pump);
        p->pumping = true;
    }
}

void pump_stop(struct phase3 *p)
{
    if (p->pumping) {
        uv_idle_stop(&p->pump);
        p->pumping = false;
    }
}

static void on_rate_timer(uv_timer_t *h)
{
    pump_start(h->loop->data);
}

/* Watches worker i's message pipe for writable exactly while the router
 * says it is full: a watch on an empty queue would spin the loop. */
static void watch(struct phase3 *p, uint32_t i)
{
    struct wk *w = &p->w[i];
    bool want = p->rt.pipe[i].full && !w->msg_closed && w->closing == 0;
    if (want == w->msg_writable_armed)
        return;
    if (want)
        uv_poll_start(&w->msg_poll, UV_WRITABLE, on_msg_writable);
    else
        uv_poll_stop(&w->msg_poll);
    w->msg_writable_armed = want;
}

static void on_msg_closed(uv_handle_t *h)
{
    struct wk *w = h->data;
    if (close(w->msg_fd) < 0)
        log_warn("worker %u: close of its pipe: %s", w->index, strerror(errno));
    w->msg_fd = -1;
    respawn_on_closed(h->loop->data, w);
}

void pump_close_msgs(struct phase3 *p, uint32_t i)
{
    struct wk *w = &p->w[i];
    if (w->msg_closed)
        return;
    w->msg_closed = true;
    w->msg_writable_armed = false;
    log_debug("worker %u: pipe flushed after %llu messages; closing it", i, (unsigned long long)p->rt.pipe[i].q.pushed);
    uv_close((uv_handle_t *)&w->msg_poll, on_msg_closed);
}

/* What every router call may return but OK and END. */
static void on_router(struct phase3 *p, int rc)
{
    switch (rc) {
    case ROUTER_BLOCKED:
        pump_stop(p);
        log_debug("source paused: a pipe is full");
        break;
    case ROUTER_LOST:
        /* The worker has closed its end, which it only does by dying:
         * stop feeding; its death (SIGCHLD) names the cause. */
        pump_stop(p);
        log_debug("worker %u: write to its pipe failed; source paused", p->rt.lost);
        break;
    case ROUTER_NOT_WRITTEN: p3_not_written(p, p->rt.not_written); break;
    default: break;
    }
}

static void on_pump(uv_idle_t *h)
{
    struct phase3 *p = h->loop->data;
    uint64_t now = now_ns();
    int rc = router_turn(&p->rt, p->src, PUMP_TURN, now);
    for (uint32_t i = 0; i < p->n; i++)
        watch(p, i);
    if (rc == ROUTER_SLEEP) {
        /* --rate: nothing due; sleep in the loop until the next message is. */
        pump_stop(p);
        uint64_t wait = p->rt.wake_ns > now ? p->rt.wake_ns - now : 0;
        uv_timer_start(&p->rate_timer, on_rate_timer, (wait + 999999) / 1000000, 0);
    } else if (rc == ROUTER_END) {
        pump_drain(p);
    } else {
        on_router(p, rc);
    }
}

static void on_msg_writable(uv_poll_t *h, int status, int events)
{
    struct wk *w = h->data;
    struct phase3 *p = h->loop->data;
    (void)events;
    if (status < 0) {
        p3_worker_failed(p, w->index, "its pipe reported an error");
        return;
    }
    int rc = router_writable(&p->rt, w->index);
    watch(p, w->index);
    if (rc == ROUTER_BLOCKED)
        return; /* still full: the watch stays */
    if (rc != ROUTER_OK && rc != ROUTER_RESUME) {
        on_router(p, rc);
        return;
    }
    if (p->stage == ST_DRAIN) {
        pump_close_msgs(p, w->index);
    } else if (rc == ROUTER_RESUME && p->stage == ST_RUN && !p->pumping) {
        log_debug("worker %u: pipe writable again; resuming the source", w->index);
        pump_start(p);
    }
}

void pump_drain(struct phase3 *p)
{
    if (p->stage > ST_RUN)
        return;
    log_debug("draining: %llu messages routed", (unsigned long long)p->rt.routed);
    p->stage = ST_DRAIN;
    pump_stop(p);
    uv_timer_stop(&p->rate_timer);
    int rc = router_drain(&p->rt);
    if (rc == ROUTER_NOT_WRITTEN) {
        on_router(p, rc);
        return;
    }
    /* A pipe whose queue is out is closed now; a full one once writable
     * has emptied it; a failed one never (its worker is dead); a restarting
     * worker's after its replay (respawn.c). */
    for (uint32_t i = 0; i < p->n; i++) {
        watch(p, i);
        if (p->w[i].closing == 0 && !p->rt.pipe[i].full && !outq_dirty(&p->rt.pipe[i].q))
            pump_close_msgs(p, i);
    }
}

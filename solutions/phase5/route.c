/* route.c - the source into the workers: each message routed to
 * route_worker(hash, N) (SPEC §4) and appended, as a phase 3 MSG frame, to
 * that worker's batch; a batch is one ZeroMQ message. A frame is appended
 * only when the worker has credit for it (p5.h: the invariant), so a slow
 * or stopped worker stops the source, as a full pipe does in phase 3.
 * With --recover each message routed is logged as the next position of its
 * worker (recover.h), and a worker whose log is full or whose replay is not
 * out stops the source the same way. */
#include <errno.h>
#include <string.h>

#include <zmq.h>

#include "clock.h"
#include "fnv.h"
#include "lab.h"
#include "log.h"
#include "p5.h"
#include "payload.h"
#include "timeline.h"

static void on_pump(uv_idle_t *h);

void route_start(struct coord *p)
{
    if (!p->pumping && p->stage == ST_RUN && p->exit_status == EXIT_OK) {
        uv_idle_start(&p->pump, on_pump);
        p->pumping = true;
    }
}

static void route_pause(struct coord *p)
{
    if (p->pumping) {
        uv_idle_stop(&p->pump);
        p->pumping = false;
    }
}

static void on_rate_timer(uv_timer_t *h)
{
    route_start(h->loop->data);
}

/* --rate: everything due is routed; the pump sleeps until the next message
 * is due. A uv_timer wakes on the next millisecond at the earliest, so each
 * turn routes what fell due meanwhile as one batch per worker. Staying in
 * the idle loop instead would route the one or two messages due at each
 * turn, each the start of a ZeroMQ message, a worker's wake-up and its
 * credit reply: the loop would spin, and a query would queue behind those
 * wake-ups at both ends. */
static void rate_sleep(struct coord *p, uint64_t now)
{
    uint64_t next = pacer_next_due(&p->rate);
    uint64_t wait = next > now ? next - now : 0;
    route_pause(p);
    uv_timer_start(&p->rate_timer, on_rate_timer, (wait + 999999) / 1000000, 0);
}

/* The identity part then the body, never blocking. With ZMQ_ROUTER_MANDATORY
 * a ROUTER reports what it would otherwise drop in silence: EAGAIN when the
 * peer's queue is at its high-water mark (the message is kept here and
 * retried), EHOSTUNREACH when no connection has that routing id any more.
 * Once the first part is accepted the second is too: a multipart message
 * is queued whole or not at all. */
static int zsend(struct coord *p, struct wk *w, const void *body, size_t len)
{
    /* LAB: Send w's routing id (w->rid, w->rid_len) then body, as one
     * two-part message on p->router, never blocking (ZMQ_DONTWAIT; the
     * first part with ZMQ_SNDMORE). Retry a send interrupted by a signal.
     * 0, or -errno of the failed send (the caller tells EAGAIN from
     * EHOSTUNREACH). Record the send on the timeline: tl_span(TL_NET_SEND,
     * t0, len, w->index) with t0 = tl_now() taken first. */
    /* LAB STUB: lab_end_run(p, "zsend()"); */
    /* LAB STUB: (void)w; */
    /* LAB STUB: (void)body; */
    /* LAB STUB: (void)len; */
    /* LAB STUB: return -ENOSYS; */
    uint64_t t0 = tl_now();
    for (;;) {
        if (zmq_send(p->router, w->rid, w->rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
            break;
        if (errno != EINTR)
            return -errno;
    }
    for (;;) {
        if (zmq_send(p->router, body, len, ZMQ_DONTWAIT) >= 0) {
            tl_span(TL_NET_SEND, t0, len, w->index);
            return 0;
        }
        if (errno != EINTR)
            return -errno;
    }
    /* END LAB */
}

static void arm_retry(struct coord *p)
{
    p->zw.want_out = true;
    if (!p->retrying) {
        uv_timer_start(&p->retry_timer, route_on_retry, RETRY_MS, RETRY_MS);
        p->retrying = true;
    }
}

/* The envelope of w's batch, the next message of its stream: WIRE_DATA, or
 * WIRE_CKPT while the batch holds the checkpoint a remote worker starts
 * from (ckpt.c), whose aux tells it how often to send its own. */
static struct wire_hdr batch_envelope(const struct coord *p, const struct wk *w)
{
    if (w->ckpt_batch)
        return (struct wire_hdr){.kind = WIRE_CKPT, .aux = p->rec.area[w->index]->every_max, .seq = w->seq_out + 1};
    return (struct wire_hdr){.kind = WIRE_DATA, .seq = w->seq_out + 1};
}

void route_batch_empty(struct wk *w)
{
    w->batch.len = WIRE_HDR;
    w->batch_msgs = 0;
    w->sealed = false;
    w->ckpt_batch = false;
}

/* Can w's batch take a frame now? Not while it is sealed behind a full
 * queue, w is dead (--recover), or w is still being sent the checkpoint it
 * starts from (--remote --recover, ckpt.c). */
static bool batch_open(const struct wk *w)
{
    return !w->sealed && !w->dead && !w->restoring;
}

int route_send(struct coord *p, struct wk *w)
{
    /* LAB: Send w's batch (nothing to do when it holds no frame, w is dead
     * or the run is ending): write its envelope (batch_envelope()) with
     * wire_put_hdr(), then zsend() it. -EAGAIN (ZeroMQ's queue to w is full): seal the batch,
     * arm_retry(), return -EAGAIN; the batch is sent later, whole. Any
     * other error (EHOSTUNREACH: its connection is gone) loses the worker
     * with p5_worker_lost(), naming why. Sent: count its messages in
     * w->sent_msgs, advance w->seq_out, and empty the batch
     * (route_batch_empty()). */
    /* LAB STUB: lab_end_run(p, "route_send()"); */
    /* LAB STUB: (void)w; */
    /* LAB STUB: (void)arm_retry; */
    /* LAB STUB: (void)batch_envelope; */
    /* LAB STUB: return -ENOSYS; */
    if (w->batch.len == WIRE_HDR || w->dead || p->exit_status != EXIT_OK)
        return 0;
    struct wire_hdr h = batch_envelope(p, w);
    wire_put_hdr(w->batch.data, &h);
    int rc = zsend(p, w, w->batch.data, w->batch.len);
    if (rc == -EAGAIN) {
        w->sealed = true;
        arm_retry(p);
        return rc;
    }
    if (rc < 0) {
        char why[160];
        snprintf(why, sizeof why, "cannot send to it: %s",
                 rc == -EHOSTUNREACH ? "its connection is gone (closed, or its keepalive found no host)"
                                     : zmq_strerror(-rc));
        p5_worker_lost(p, w->index, why);
        return rc;
    }
    w->seq_out++;
    w->sent_msgs += w->batch_msgs;
    route_batch_empty(w);
    return 0;
    /* END LAB */
}

void route_send_exit(struct coord *p, struct wk *w)
{
    if (!w->hello || w->exit_sent)
        return; /* never connected: nowhere to send it */
    uint8_t buf[WIRE_HDR];
    struct wire_hdr h = {.kind = WIRE_EXIT, .seq = ++w->seq_out};
    wire_put_hdr(buf, &h);
    int rc = zsend(p, w, buf, sizeof buf);
    w->exit_sent = true;
    if (rc < 0 && p->pool.w[w->index].alive) {
        /* Everything it owed has arrived: nothing is lost by ending it. */
        log_warn("worker %u: cannot send it WIRE_EXIT (%s); killing it", w->index, zmq_strerror(-rc));
        kill(p->pool.w[w->index].pid, SIGKILL);
    } else if (rc < 0) {
        log_debug("worker %u: cannot send it WIRE_EXIT (%s): its connection is gone", w->index, zmq_strerror(-rc));
    }
}

/* Credit for a frame of size bytes: one frame and its bytes, or, for a
 * frame larger than the whole byte window, nothing else in flight. */
static bool has_credit(const struct wk *w, size_t size)
{
    return w->credit_frames > 0 && (w->credit_bytes >= (int64_t)size || w->credit_bytes == (int64_t)w->window_bytes);
}

/* Appends m to its worker's batch: 0, -EAGAIN when it must wait (no credit,
 * the batch is sealed behind a full ZeroMQ queue, or --recover: the worker
 * is dead or its checkpoint is not all out), or another negative value when
 * the send of the batch failed (the run is ending, or under --recover the
 * worker is now dead). */
int route_append(struct coord *p, struct wk *w, const struct msg *m)
{
    /* LAB: Append m to w's batch as a MSG frame, paid for with credit.
     * -EAGAIN while the batch cannot take it (batch_open(): sealed behind a
     * full queue, or --recover: w is dead). Send the batch first when the
     * frame might not fit. Write the frame's head (codec_put_msg_head());
     * if has_credit() refuses the frame's exact size, take the head back
     * and send what the batch holds (unsent frames never come back as
     * credit), then -EAGAIN. Else fill the payload in (payload_fill()),
     * count the message and charge one frame and its bytes. A batch of
     * p->c->batch_frames messages or BATCH_BYTES is sent at once; a send
     * failing then is returned only when the run is ending. */
    /* LAB STUB: lab_end_run(p, "route_append()"); */
    /* LAB STUB: (void)w; */
    /* LAB STUB: (void)m; */
    /* LAB STUB: (void)has_credit; */
    /* LAB STUB: (void)batch_open; */
    /* LAB STUB: return -ENOSYS; */
    size_t size = CODEC_MSG_OVERHEAD + (size_t)m->payload_len; /* at most: the credit is charged exactly below */
    if (!batch_open(w))
        return -EAGAIN;
    if (w->batch.cap - w->batch.len < size) {
        int rc = route_send(p, w);
        if (rc < 0)
            return rc;
    }
    size_t before = w->batch.len;
    if (codec_put_msg_head(&w->batch, m) < 0)
        return -ENOBUFS; /* cannot happen: the batch is sized for the largest payload */
    size_t frame = w->batch.len - before + m->payload_len;
    if (!has_credit(w, frame)) {
        w->batch.len = before;
        /* Frames sitting in an unsent batch would never come back as
         * credit: out of credit, send what is here at once. */
        int rc = route_send(p, w);
        return rc < 0 && rc != -EAGAIN ? rc : -EAGAIN;
    }
    payload_fill(w->batch.data + w->batch.len, m->seq, m->payload_len);
    w->batch.len += m->payload_len;
    w->batch_msgs++;
    w->credit_frames--;
    w->credit_bytes -= (int64_t)frame;
    if (w->batch_msgs >= p->c->batch_frames || w->batch.len - WIRE_HDR >= BATCH_BYTES) {
        /* m is in the batch: a send that fails now does not undo that (under
         * --recover the log has m, and the worker's successor gets it). */
        int rc = route_send(p, w);
        if (rc < 0 && rc != -EAGAIN && p->exit_status != EXIT_OK)
            return rc;
    }
    return 0;
    /* END LAB */
}

/* --recover: may the source route one more message to w? Not while w's
 * log is full, or its replay is not out (recover.h, I4, I5); then what w's
 * batch holds is sent first, so that w can reach its next checkpoint. */
static bool route_log_room(struct coord *p, struct wk *w)
{
    if (!p->o->recover || recover_room(&p->rec, w->index))
        return true;
    if (!w->sealed)
        route_send(p, w);
    return false;
}

static void flush_all(struct coord *p)
{
    for (uint32_t i = 0; i < p->n && p->exit_status == EXIT_OK; i++)
        if (!p->w[i].sealed)
            route_send(p, &p->w[i]);
}

static void on_pump(uv_idle_t *h)
{
    struct coord *p = h->loop->data;
    uint64_t now = now_ns();
    uint64_t budget = PUMP_TURN;
    if (p->o->rate > 0) {
        budget = pacer_due(&p->rate, now);
        if (budget > PUMP_TURN)
            budget = PUMP_TURN;
        if (budget == 0) {
            rate_sleep(p, now);
            return;
        }
    }
    uint64_t done = 0, t0 = tl_now();
    while (done < budget) {
        struct msg m;
        if (p->have_held) {
            m = p->held;
        } else if (!source_next(p->src, &m)) {
            flush_all(p);
            tl_span(TL_ROUTE_BATCH, t0, done, 0);
            route_drain(p);
            return;
        }
        struct wk *w = &p->w[route_worker(m.id_hash, p->n)];
        int rc = route_log_room(p, w) ? route_append(p, w, &m) : -EAGAIN;
        if (rc < 0 && p->exit_status == EXIT_OK)
            rc = -EAGAIN; /* --recover: w died as its batch left; m waits for its successor */
        if (rc == -EAGAIN) {
            /* Backpressure: keep the message, stop the source until this
             * worker has credit (route_credit) or its queue drains. */
            p->held = m;
            p->have_held = true;
            route_pause(p);
            break;
        }
        if (rc < 0)
            return;
        if (p->o->recover)
            recover_push(&p->rec, w->index, &m);
        p->have_held = false;
        p->routed++;
        done++;
    }
    if (p->o->rate > 0) {
        pacer_take(&p->rate, done);
        if (p->pumping && done < PUMP_TURN)
            rate_sleep(p, now); /* caught up: not held back, not cut short by the turn */
    }
    flush_all(p);
    tl_span(TL_ROUTE_BATCH, t0, done, 0);
}

/* Worker w's share of the drain: its batch out, then its tail (the --query
 * list, then COLLECT) in the same ordered stream, so that the queries see
 * the final state and COLLECT comes after every message. */
void route_drain_worker(struct coord *p, struct wk *w)
{
    if (w->tail_sent || w->sealed || w->dead || w->replaying || w->restoring || p->exit_status != EXIT_OK)
        return; /* --recover: a restarted worker gets its tail after its replay (respawn.c) */
    if (route_send(p, w) < 0)
        return;
    query_ask_final(p, w);
    if (codec_put_collect(&w->batch) < 0) {
        p5_worker_lost(p, w->index, "no room for COLLECT (cannot happen)");
        return;
    }
    w->tail_sent = true;
    route_send(p, w);
}

void route_drain(struct coord *p)
{
    if (p->stage != ST_RUN)
        return;
    p->stage = ST_DRAIN;
    route_pause(p);
    uv_timer_stop(&p->rate_timer);
    p->have_held = false; /* a message refused for lack of credit was not routed */
    log_debug("draining after %llu messages", (unsigned long long)p->routed);
    tl_instant(TL_DRAIN, p->routed, 0);
    for (uint32_t i = 0; i < p->n; i++)
        route_drain_worker(p, &p->w[i]);
}

void route_credit(struct coord *p, struct wk *w, uint32_t frames, uint32_t bytes)
{
    /* LAB: Take back the frames and bytes w hands back (count the frames in
     * w->credited_msgs). More credit than its window is a protocol error
     * that loses w (p5_worker_lost()). With credit back: a replaying worker
     * (--recover) sends more of its replay (respawn_replay()), and a source
     * held on a message for w starts again (route_start()). */
    /* LAB STUB: lab_end_run(p, "route_credit()"); */
    /* LAB STUB: (void)w; */
    /* LAB STUB: (void)frames; */
    /* LAB STUB: (void)bytes; */
    w->credit_frames += frames;
    w->credit_bytes += bytes;
    w->credited_msgs += frames;
    if (w->credit_frames > w->window_frames || w->credit_bytes > (int64_t)w->window_bytes) {
        p5_worker_lost(p, w->index, "handed back more credit than it granted (protocol error)");
        return;
    }
    if (w->replaying && (frames || bytes))
        respawn_replay(p, w);
    if ((frames || bytes) && p->have_held && route_worker(p->held.id_hash, p->n) == w->index)
        route_start(p);
    /* END LAB */
}

void route_on_retry(uv_timer_t *h)
{
    route_retry(h->loop->data);
}

void route_on_writable(struct zwatch *z)
{
    route_retry(z->data);
}

void route_retry(struct coord *p)
{
    /* LAB: Send every sealed batch ZeroMQ takes now (route_send()). A
     * worker whose batch left goes on where it stopped: its replay
     * (respawn_replay()) when it is replaying or still being sent its
     * checkpoint (w->restoring, --remote --recover), its tail in the drain
     * (route_drain_worker()), or the held source when the held message is
     * its. Then, unless some batch is still sealed (look again: the sends
     * above may have sealed one) and the run goes on, stop the retry timer,
     * clear p->retrying and p->zw.want_out. */
    /* LAB STUB: lab_end_run(p, "route_retry()"); */
    for (uint32_t i = 0; i < p->n && p->exit_status == EXIT_OK; i++) {
        struct wk *w = &p->w[i];
        if (!w->sealed || route_send(p, w) < 0)
            continue;
        if (w->replaying || w->restoring)
            respawn_replay(p, w);
        else if (p->stage == ST_DRAIN)
            route_drain_worker(p, w); /* may seal w again, with its tail */
        else if (p->have_held && route_worker(p->held.id_hash, p->n) == i)
            route_start(p);
    }
    /* Whatever sealed a batch during this pass found the timer running:
     * look again now rather than trust what the sends above returned. */
    bool still = false;
    for (uint32_t i = 0; i < p->n; i++)
        still = still || p->w[i].sealed;
    if (!still || p->exit_status != EXIT_OK) {
        uv_timer_stop(&p->retry_timer);
        p->retrying = false;
        p->zw.want_out = false;
    }
    /* END LAB */
}

/* control.c - the control pipes, main process side: READY, STATS,
 * ANSWER, RECORDS and END from each worker, queries and COLLECT to it, and
 * the stage changes (p3.h) those frames drive: the driver's own stage
 * machine, which moves on what the lesson modules report. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "p3.h"
#include "pin.h"
#include "run.h"
#include "timeline.h"

static void on_req_writable(uv_poll_t *h, int status, int events);
static void send_collect(struct phase3 *p, struct wk *w);

static void ctl_set_events(struct phase3 *p, struct wk *w, bool writable)
{
    (void)p;
    if (w->ctl_closed || writable == w->req_writable_armed)
        return;
    if (writable)
        uv_poll_start(&w->req_poll, UV_WRITABLE, on_req_writable);
    else
        uv_poll_stop(&w->req_poll);
    w->req_writable_armed = writable;
}

/* Writes queued control frames (queries, COLLECT) without blocking. */
void control_flush(struct phase3 *p, struct wk *w)
{
    while (w->ctl_head < w->ctl_out.len) {
        ssize_t n = write(w->req_fd, w->ctl_out.data + w->ctl_head, w->ctl_out.len - w->ctl_head);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                ctl_set_events(p, w, true);
                return;
            }
            log_debug("worker %u: write to its request pipe: %s", w->index, strerror(errno));
            return; /* the worker is gone; SIGCHLD reports it */
        }
        w->ctl_head += (size_t)n;
    }
    w->ctl_head = w->ctl_out.len = 0;
    ctl_set_events(p, w, false);
}

static void start_run(struct phase3 *p)
{
    log_debug("all %u workers ready; starting the source", p->n);
    p->stage = ST_RUN;
    p->start_ns = now_ns();
    pacer_init(&p->rate, p->o->rate, p->start_ns, PUMP_TURN);
    p->rt.rate = p->o->rate > 0 ? &p->rate : NULL;
    p->rt.linger_ns = LINGER_NS * pin_workers_per_cpu(p->o->pin, p->n);
    pacer_init(&p->qpace, p->o->queries, p->start_ns, 1000);
    if (p->o->queries > 0)
        ask_start(p);
    pump_start(p);
}

static void after_drain(struct phase3 *p)
{
    p->end_ns = now_ns();
    tl_instant(TL_DRAIN, p->rt.routed, 0);
    log_debug("all workers drained");
    if (p->c->nfinal == 0) {
        control_collect(p);
        return;
    }
    p->stage = ST_FINAL;
    ask_final(p);
}

static void on_req_writable(uv_poll_t *h, int status, int events)
{
    struct wk *w = h->data;
    (void)events;
    if (status < 0) {
        log_debug("worker %u: request pipe: %s", w->index, uv_strerror(status));
        uv_poll_stop(h);
        return;
    }
    control_flush(h->loop->data, w);
}

static void send_collect(struct phase3 *p, struct wk *w)
{
    struct codec_buf b = w->ctl_out;
    if (codec_put_collect(&b) < 0) {
        p3_worker_failed(p, w->index, "its request pipe is full");
        return;
    }
    w->ctl_out.len = b.len;
    control_flush(p, w);
}

/* The records cannot be kept (no memory, no room for the spill file): the
 * run ends with no dump. */
static void collect_failed(struct phase3 *p, int rc)
{
    p->exit_status = run_sorter_failed(PROGRAM, &p->records, rc);
    pool_signal_all(&p->pool, SIGKILL);
    uv_stop(&p->loop);
}

/* A RECORDS frame of worker i, which has sent no more than it holds. */
static void take_records(struct phase3 *p, uint32_t i, const struct codec_frame *f)
{
    int rc = extsort_add_all(&p->records, f->records, f->u.records.count, i);
    if (rc < 0) {
        collect_failed(p, rc);
        return;
    }
    p->w[i].records_got += f->u.records.count;
}

void control_collect(struct phase3 *p)
{
    p->stage = ST_COLLECT;
    int rc = run_sorter_init(p->o, &p->records);
    if (rc < 0) {
        collect_failed(p, rc);
        return;
    }
    /* A worker restarted by --recover and not drained yet gets COLLECT
     * once it is (its STATS). */
    for (uint32_t i = 0; i < p->n && p->exit_status == EXIT_OK; i++)
        if (p->w[i].drained)
            send_collect(p, &p->w[i]);
}

static void on_req_closed(uv_handle_t *h)
{
    struct wk *w = h->data;
    /* End of file on its request pipe is how a worker learns to exit. */
    if (close(w->req_fd) < 0)
        log_warn("worker %u: close of its request pipe: %s", w->index, strerror(errno));
    w->req_fd = -1;
    respawn_on_closed(h->loop->data, w);
}

static void on_rep_closed(uv_handle_t *h)
{
    struct wk *w = h->data;
    if (close(w->rep_fd) < 0)
        log_warn("worker %u: close of its reply pipe: %s", w->index, strerror(errno));
    w->rep_fd = -1;
    respawn_on_closed(h->loop->data, w);
}

static void close_ctl(struct wk *w)
{
    if (w->ctl_closed)
        return;
    w->ctl_closed = true;
    uv_close((uv_handle_t *)&w->req_poll, on_req_closed);
    uv_close((uv_handle_t *)&w->rep_poll, on_rep_closed);
}

static void finish(struct phase3 *p)
{
    log_debug("all records in (%llu machines); releasing the workers",
              (unsigned long long)extsort_total(&p->records).machines);
    p->stage = ST_EXIT;
    uv_timer_stop(&p->sweep_timer);
    for (uint32_t i = 0; i < p->n; i++)
        close_ctl(&p->w[i]);
    if (pool_alive(&p->pool) == 0)
        uv_stop(&p->loop);
}

/* One frame from worker i's reply pipe. */
static void on_ctl_frame(struct phase3 *p, uint32_t i, const struct codec_frame *f)
{
    struct wk *w = &p->w[i];
    switch (f->type) {
    case CODEC_READY:
        if (w->ready || f->u.ready.index != i)
            break;
        w->ready = true;
        log_debug("worker %u (pid %lld): ready", i, (long long)f->u.ready.pid);
        if (++p->ready_count == p->n && p->stage == ST_START)
            start_run(p);
        return;
    case CODEC_STATS:
        if (w->drained || !w->msg_closed)
            break;
        w->drained = true;
        w->handled = f->u.stats.handled;
        w->busy_ns = f->u.stats.busy_ns;
        w->machines = f->u.stats.machines;
        w->rss_kb = f->u.stats.rss_kb;
        if (++p->drained_count == p->n && p->stage == ST_DRAIN)
            after_drain(p);
        else if (p->stage == ST_COLLECT)
            send_collect(p, w); /* a restarted worker (--recover) drained again */
        return;
    case CODEC_ANSWER: ask_on_answer(p, f); return;
    case CODEC_RECORDS:
        if (p->stage != ST_COLLECT || w->ended || w->records_got + f->u.records.count > w->machines)
            break;
        take_records(p, i, f);
        return;
    case CODEC_END:
        if (p->stage != ST_COLLECT || w->ended || f->u.end.records_sent != w->records_got ||
            w->records_got != w->machines)
            break;
        w->ended = true;
        if (++p->ended_count == p->n)
            finish(p);
        return;
    }
    p3_worker_failed(p, i, "sent an unexpected frame on its reply pipe");
}

/* Takes the next whole reply frame of w and acts on it. False when none is
 * complete yet, or when the stream is broken (the worker then fails). */
static bool next_reply(struct phase3 *p, struct wk *w)
{
    struct codec_frame f = {.records = p->scratch};
    int rc = inq_next(&w->ctl_in, &f);
    if (rc == CODEC_INCOMPLETE)
        return false;
    if (rc < 0) {
        char what[128];
        snprintf(what, sizeof what, "bad frame on its reply pipe: %s", codec_strerror(rc));
        p3_worker_failed(p, w->index, what);
        return false;
    }
    on_ctl_frame(p, w->index, &f);
    return true;
}

void control_on_replies(uv_poll_t *h, int status, int events)
{
    struct wk *w = h->data;
    struct phase3 *p = h->loop->data;
    (void)events;
    if (status < 0) {
        log_debug("worker %u: reply pipe: %s", w->index, uv_strerror(status));
        uv_poll_stop(h);
        return;
    }
    ssize_t n = inq_read(&w->ctl_in, w->rep_fd);
    if (n == -EAGAIN)
        return;
    if (n <= 0) {
        /* End of file or an error: the worker has gone, and SIGCHLD will
         * say how. Stop watching so the loop does not spin on it. */
        log_debug("worker %u: reply pipe closed by the worker", w->index);
        uv_poll_stop(h);
        return;
    }
    /* Every whole frame the read completed; a frame can end the run or
     * release the worker (its pipes closed): then nothing more is read. */
    while (p->exit_status == EXIT_OK && !w->ctl_closed && next_reply(p, w))
        ;
}

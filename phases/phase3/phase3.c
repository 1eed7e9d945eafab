/* phase3.c - the main process of phase 3: one libuv loop that starts the
 * workers, routes the source into their pipes, issues queries, and walks
 * the run through its stages to the final records.
 *
 * Stages (struct phase3.stage), each entered once, in order:
 *   START    workers forked; waiting for READY from each (orderly start:
 *            no message is routed before every worker runs its loop);
 *   RUN      the pump (a uv_idle handle, so one loop turn is one batch)
 *            routes up to PUMP_TURN messages per turn, then flushes every
 *            dirty pipe: one write() per worker per turn at most, plus one
 *            whenever a worker's batch reaches OUTQ_BATCH;
 *   DRAIN    the source has ended or SIGINT/SIGTERM arrived: no new message;
 *            each pipe is flushed and closed, and its worker, at end of
 *            file, replies STATS;
 *   FINAL    --query answers, asked once every worker has drained, so they
 *            see the final state;
 *   COLLECT  COLLECT to each worker; RECORDS frames arrive until END;
 *   EXIT     control sockets closed; the workers exit 0 and are reaped.
 * A worker that dies in any stage but EXIT, or exits non-zero, ends the run
 * with exit 3 and no records; a second SIGINT ends it with 130. Either way
 * the remaining workers are SIGKILLed and reaped before phase3_run returns. */
#define _GNU_SOURCE
#include "phase3.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <uv.h>

#include "clock.h"
#include "codec.h"
#include "fnv.h"
#include "inq.h"
#include "log.h"
#include "outq.h"
#include "pacer.h"
#include "pin.h"
#include "pool.h"
#include "querytab.h"
#include "run.h"
#include "worker.h"

#define PROGRAM "phase3"
/* Messages routed per loop turn: about a millisecond of work, which bounds
 * how long a query answer, a signal or a writable pipe waits for the pump. */
#define PUMP_TURN 8192
#define QUERY_CHECK_EVERY 1024 /* messages between two looks at the query clock */
#define CTL_INQ_CAP (256u * 1024u)
#define CTL_OUT_CAP (64u * 1024u) /* queued queries per worker: about 800 */
#define SWEEP_MS 5                /* deadline resolution of queries */

enum stage { ST_START, ST_RUN, ST_DRAIN, ST_FINAL, ST_COLLECT, ST_EXIT };

/* The main process's view of one worker. */
struct wk {
    uint32_t index;
    int pid;
    int msg_fd, ctl_fd;     /* main's ends: pipe write end, control socket */
    int msg_rfd, ctl_wfd;   /* the worker's ends, closed here after the fork */
    struct outq out;
    struct inq ctl_in;
    struct codec_buf ctl_out;
    size_t ctl_head; /* bytes of ctl_out already written */
    uv_poll_t msg_poll, ctl_poll;
    bool msg_writable_armed, ctl_writable_armed;
    bool msg_closed, ctl_closed;
    bool ready, drained, ended;
    uint64_t handled, busy_ns, machines, records_got;
    int64_t rss_kb;
    bool query_warned;
};

struct phase3 {
    const struct options *o;
    const struct p3_config *c;
    struct source *src;
    uint32_t n;
    struct wk *w;
    struct pool pool;
    bool pool_started;
    uv_loop_t loop;
    uv_idle_t pump;
    uv_timer_t rate_timer, sweep_timer, status_timer;
    uv_poll_t qtimer_poll;
    int qtimer_fd;
    uv_signal_t sigint, sigterm, sigusr1;

    enum stage stage;
    int exit_status; /* EXIT_OK until something decides otherwise */
    unsigned interrupts;

    struct pacer rate, qpace;
    struct rng qrng;
    struct querytab qt;
    struct hist *hist;
    uint64_t q_failed, q_not_found, q_late;
    uint32_t final_left;

    struct msg held; /* refused by a full pipe; routed first when it drains */
    bool have_held;
    bool pumping;
    uint64_t routed, start_ns, end_ns;
    uint32_t ready_count, drained_count, ended_count;

    struct machine *records, *scratch;
    size_t nrecords, records_cap;
};

static void worker_failed(struct phase3 *p, uint32_t i, const char *what);
static void begin_drain(struct phase3 *p);
static void collect(struct phase3 *p);

/* ------------------------------------------------------------- the pump */

static void on_pump(uv_idle_t *h);

static void pump_start(struct phase3 *p)
{
    if (!p->pumping && p->stage == ST_RUN) {
        uv_idle_start(&p->pump, on_pump);
        p->pumping = true;
    }
}

static void on_rate_timer(uv_timer_t *h)
{
    pump_start(h->loop->data);
}

/* Writes worker i's pipe as far as it goes; arms the writable watch when
 * bytes remain. Returns outq_flush()'s result. */
static int flush_msgs(struct phase3 *p, uint32_t i);

static void close_msgs(struct phase3 *p, uint32_t i);

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
    struct wk *w = h->data;
    struct phase3 *p = w->msg_poll.loop->data;
    (void)events;
    if (status < 0) {
        worker_failed(p, w->index, "its pipe reported an error");
        return;
    }
    int rc = flush_msgs(p, w->index);
    if (rc == -EAGAIN)
        return;
    if (rc < 0)
        return; /* reported by flush_msgs */
    if (p->stage == ST_RUN && !p->pumping) {
        log_debug("worker %u: pipe writable again; resuming the source", w->index);
        pump_start(p);
    } else if (p->stage == ST_DRAIN) {
        close_msgs(p, w->index);
    }
}

static int flush_msgs(struct phase3 *p, uint32_t i)
{
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
}

static void issue_due_queries(struct phase3 *p, uint64_t now);

static void on_pump(uv_idle_t *h)
{
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
            begin_drain(p);
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
        if (done % QUERY_CHECK_EVERY == QUERY_CHECK_EVERY - 1 && p->o->queries > 0)
            issue_due_queries(p, now_ns());
    }
    if (p->o->rate > 0)
        pacer_take(&p->rate, done);
    /* End of the turn: whatever is buffered leaves now, so a slow source
     * never leaves messages waiting for a batch to fill. */
    for (uint32_t i = 0; i < p->n; i++)
        if (!p->w[i].msg_closed && outq_dirty(&p->w[i].out) && !p->w[i].msg_writable_armed)
            flush_msgs(p, i);
}

static void begin_drain(struct phase3 *p)
{
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
}

/* ------------------------------------------------------ control sockets */

static void on_ctl(uv_poll_t *h, int status, int events);

static void ctl_set_events(struct phase3 *p, struct wk *w, bool writable)
{
    (void)p;
    if (w->ctl_closed || writable == w->ctl_writable_armed)
        return;
    uv_poll_start(&w->ctl_poll, UV_READABLE | (writable ? UV_WRITABLE : 0), on_ctl);
    w->ctl_writable_armed = writable;
}

/* Writes queued control frames (queries, COLLECT) without blocking. */
static void ctl_flush(struct phase3 *p, struct wk *w)
{
    while (w->ctl_head < w->ctl_out.len) {
        ssize_t n = write(w->ctl_fd, w->ctl_out.data + w->ctl_head, w->ctl_out.len - w->ctl_head);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                ctl_set_events(p, w, true);
                return;
            }
            log_debug("worker %u: write to its control socket: %s", w->index, strerror(errno));
            return; /* the worker is gone; SIGCHLD reports it */
        }
        w->ctl_head += (size_t)n;
    }
    w->ctl_head = w->ctl_out.len = 0;
    ctl_set_events(p, w, false);
}

/* ------------------------------------------------------------- queries */

static void print_answer(struct phase3 *p, const struct qt_entry *e, const struct machine *m, const char *failure)
{
    FILE *f = (p->o->json || (p->o->dump && strcmp(p->o->dump, "-") == 0)) ? stderr : stdout;
    if (failure)
        fprintf(f, "query %s: failed: %s\n", e->id, failure);
    else if (!m)
        fprintf(f, "query %s: not found\n", e->id);
    else
        fprintf(f, "query %s: %s,%s,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%016llx\n", e->id, m->id,
                state_name((enum state)m->state), (unsigned long long)m->msgs, (unsigned long long)m->transitions,
                (unsigned long long)m->invalid, (unsigned long long)m->jobs, (unsigned long long)m->failures,
                (unsigned long long)m->bytes, (unsigned long long)m->last_seq, (unsigned long long)m->ooo,
                (unsigned long long)m->corrupt, (unsigned long long)m->checksum);
}

static void final_done(struct phase3 *p)
{
    if (p->final_left > 0 && --p->final_left == 0 && p->stage == ST_FINAL)
        collect(p);
}

static void query_failed(struct phase3 *p, const struct qt_entry *e, const char *why)
{
    p->q_failed++;
    struct wk *w = &p->w[e->worker];
    if (e->final) {
        print_answer(p, e, NULL, why);
    } else if (!w->query_warned) {
        /* One line per worker, not one per query: a stalled worker at
         * 1000 queries/s would otherwise flood the terminal. */
        w->query_warned = true;
        log_warn("query %llu for '%s' to worker %u (pid %d): %s (further failures are counted in the summary)",
                 (unsigned long long)e->corr, e->id, e->worker, (int)p->pool.w[e->worker].pid, why);
    }
    if (e->final)
        final_done(p);
}

/* Sends one query for id to its worker; intended is its pacer time. */
static void issue_query(struct phase3 *p, const char *id, size_t len, uint64_t hash, uint64_t intended, bool final)
{
    uint32_t i = route_worker(hash, p->n);
    struct wk *w = &p->w[i];
    uint64_t now = now_ns();
    struct qt_entry *e = qt_open(&p->qt, intended, now, i, id, len);
    if (!e) {
        struct qt_entry tmp = {.worker = i, .final = final, .id_len = (uint8_t)len};
        memcpy(tmp.id, id, len);
        query_failed(p, &tmp, "too many queries in flight");
        return;
    }
    e->final = final;
    if (!p->pool.w[i].alive || w->ctl_closed) {
        e->pending = false;
        query_failed(p, e, "the worker is not running");
        return;
    }
    struct codec_buf b = w->ctl_out;
    if (codec_put_query(&b, e->corr, id, len) < 0) {
        e->pending = false;
        query_failed(p, e, "its control socket is full (the worker is not reading)");
        return;
    }
    w->ctl_out.len = b.len;
}

/* Sends every worker's queued queries: one write per worker for a whole
 * burst of due queries, not one per query. */
static void flush_queries(struct phase3 *p)
{
    for (uint32_t i = 0; i < p->n; i++) {
        struct wk *w = &p->w[i];
        if (!w->ctl_closed && !w->ctl_writable_armed && w->ctl_out.len > w->ctl_head)
            ctl_flush(p, w);
    }
}

static void arm_query_timer(struct phase3 *p)
{
    uint64_t due = pacer_next_due(&p->qpace);
    struct itimerspec its = {.it_value = {.tv_sec = (time_t)(due / 1000000000u), .tv_nsec = (long)(due % 1000000000u)}};
    if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
        its.it_value.tv_nsec = 1; /* zero would disarm */
    if (timerfd_settime(p->qtimer_fd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
        log_warn("timerfd_settime: %s", strerror(errno));
}

static void issue_due_queries(struct phase3 *p, uint64_t now)
{
    uint64_t due = pacer_due(&p->qpace, now);
    for (uint64_t k = 0; k < due; k++) {
        uint64_t intended = pacer_next_due(&p->qpace);
        pacer_take(&p->qpace, 1);
        const struct idkey *key = source_random_seen(p->src, &p->qrng);
        if (key)
            issue_query(p, key->s, key->len, key->hash, intended, false);
    }
    if (due)
        flush_queries(p);
}

/* The query clock: a timerfd, because libuv timers count whole
 * milliseconds and a query round trip is tens of microseconds. */
static void on_query_timer(uv_poll_t *h, int status, int events)
{
    struct phase3 *p = h->loop->data;
    (void)events;
    (void)status;
    uint64_t ticks;
    if (read(p->qtimer_fd, &ticks, sizeof ticks) < 0 && errno != EAGAIN && errno != EINTR)
        log_warn("timerfd read: %s", strerror(errno));
    if (p->stage != ST_RUN)
        return;
    issue_due_queries(p, now_ns());
    arm_query_timer(p);
}

static void on_answer(struct phase3 *p, const struct codec_frame *f)
{
    struct qt_entry *e = qt_match(&p->qt, f->u.answer.corr);
    if (!e) {
        p->q_late++; /* answered after its deadline: already counted failed */
        return;
    }
    e->pending = false;
    hist_record(p->hist, now_ns() - e->intended_ns);
    if (!f->u.answer.found)
        p->q_not_found++;
    if (e->final) {
        print_answer(p, e, f->u.answer.found ? &f->u.answer.rec : NULL, NULL);
        final_done(p);
    }
}

static void on_sweep(uv_timer_t *h)
{
    struct phase3 *p = h->loop->data;
    uint64_t now = now_ns();
    struct qt_entry *e;
    char why[64];
    snprintf(why, sizeof why, "no answer within %u ms", p->o->query_timeout_ms);
    while ((e = qt_expired(&p->qt, now)))
        query_failed(p, e, why);
}

/* ------------------------------------------------------- stage changes */

static void start_run(struct phase3 *p)
{
    log_debug("all %u workers ready; starting the source", p->n);
    p->stage = ST_RUN;
    p->start_ns = now_ns();
    pacer_init(&p->rate, p->o->rate, p->start_ns, PUMP_TURN);
    pacer_init(&p->qpace, p->o->queries, p->start_ns, 1000);
    if (p->o->queries > 0)
        arm_query_timer(p);
    pump_start(p);
}

static void after_drain(struct phase3 *p)
{
    p->end_ns = now_ns();
    log_debug("all workers drained");
    if (p->c->nfinal == 0) {
        collect(p);
        return;
    }
    p->stage = ST_FINAL;
    p->final_left = (uint32_t)p->c->nfinal;
    for (size_t k = 0; k < p->c->nfinal; k++) {
        const char *id = p->c->final_queries[k];
        size_t len = strlen(id);
        issue_query(p, id, len, fnv1a64(id, len), now_ns(), true);
    }
    flush_queries(p);
}

static void collect(struct phase3 *p)
{
    p->stage = ST_COLLECT;
    size_t total = 0;
    for (uint32_t i = 0; i < p->n; i++)
        total += p->w[i].machines;
    p->records_cap = total;
    p->records = malloc((total ? total : 1) * sizeof *p->records);
    if (!p->records) {
        fprintf(stderr, "%s: out of memory for %zu records\n", PROGRAM, total);
        p->exit_status = EXIT_OUTPUT_FAILED;
        pool_signal_all(&p->pool, SIGKILL);
        uv_stop(&p->loop);
        return;
    }
    for (uint32_t i = 0; i < p->n; i++) {
        struct wk *w = &p->w[i];
        struct codec_buf b = w->ctl_out;
        if (codec_put_collect(&b) < 0) {
            worker_failed(p, i, "its control socket is full");
            return;
        }
        w->ctl_out.len = b.len;
        ctl_flush(p, w);
    }
}

static void on_ctl_closed(uv_handle_t *h)
{
    struct wk *w = h->data;
    if (close(w->ctl_fd) < 0)
        log_warn("worker %u: close of its control socket: %s", w->index, strerror(errno));
    w->ctl_fd = -1;
}

static void close_ctl(struct wk *w)
{
    if (w->ctl_closed)
        return;
    w->ctl_closed = true;
    uv_close((uv_handle_t *)&w->ctl_poll, on_ctl_closed);
}

static void finish(struct phase3 *p)
{
    log_debug("all records in (%zu machines); releasing the workers", p->nrecords);
    p->stage = ST_EXIT;
    uv_timer_stop(&p->sweep_timer);
    for (uint32_t i = 0; i < p->n; i++)
        close_ctl(&p->w[i]);
    if (pool_alive(&p->pool) == 0)
        uv_stop(&p->loop);
}

/* One frame from worker i's control socket. */
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
        if (++p->drained_count == p->n)
            after_drain(p);
        return;
    case CODEC_ANSWER:
        on_answer(p, f);
        return;
    case CODEC_RECORDS:
        if (p->stage != ST_COLLECT || w->ended || w->records_got + f->u.records.count > w->machines ||
            p->nrecords + f->u.records.count > p->records_cap)
            break;
        memcpy(p->records + p->nrecords, f->records, f->u.records.count * sizeof *f->records);
        p->nrecords += f->u.records.count;
        w->records_got += f->u.records.count;
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
    worker_failed(p, i, "sent an unexpected frame on its control socket");
}

static void on_ctl(uv_poll_t *h, int status, int events)
{
    struct wk *w = h->data;
    struct phase3 *p = h->loop->data;
    if (status < 0) {
        log_debug("worker %u: control socket: %s", w->index, uv_strerror(status));
        uv_poll_stop(h);
        return;
    }
    if (events & UV_WRITABLE)
        ctl_flush(p, w);
    if (!(events & UV_READABLE))
        return;
    ssize_t n = inq_read(&w->ctl_in, w->ctl_fd);
    if (n == -EAGAIN)
        return;
    if (n <= 0) {
        /* End of file or an error: the worker has gone, and SIGCHLD will
         * say how. Stop watching so the loop does not spin on it. */
        log_debug("worker %u: control socket closed by the worker", w->index);
        uv_poll_stop(h);
        return;
    }
    struct codec_frame f = {.records = p->scratch};
    int rc;
    while ((rc = inq_next(&w->ctl_in, &f)) == CODEC_OK) {
        on_ctl_frame(p, w->index, &f);
        if (p->exit_status != EXIT_OK || w->ctl_closed)
            return;
    }
    if (rc < 0) {
        char what[128];
        snprintf(what, sizeof what, "bad frame on its control socket: %s", codec_strerror(rc));
        worker_failed(p, w->index, what);
    }
}

/* ------------------------------------------------ supervision, signals */

/* Ends the run with exit 3: SPEC §8, no dump when a worker is lost. */
static void worker_failed(struct phase3 *p, uint32_t i, const char *what)
{
    if (p->exit_status != EXIT_OK)
        return;
    fprintf(stderr, "%s: worker %u (pid %d): %s\n", PROGRAM, i, (int)p->pool.w[i].pid, what);
    p->exit_status = EXIT_WORKER_LOST;
    pool_signal_all(&p->pool, SIGKILL);
    uv_stop(&p->loop);
}

static void on_worker_exit(struct pool *pool, uint32_t i, pid_t pid, int wstatus, void *arg)
{
    struct phase3 *p = arg;
    (void)pool;
    if (p->stage == ST_EXIT && WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) {
        log_debug("worker %u (pid %d): exited", i, (int)pid);
        if (pool_alive(&p->pool) == 0)
            uv_stop(&p->loop);
        return;
    }
    if (p->exit_status != EXIT_OK)
        return; /* already ending: these are the workers we killed */
    char how[64];
    pool_describe_exit(wstatus, how, sizeof how);
    worker_failed(p, i, how);
}

static void print_status(struct phase3 *p)
{
    struct worker_stats ws[CLI_MAX_WORKERS];
    for (uint32_t i = 0; i < p->n; i++) {
        struct pool_slot *s = pool_slot(&p->pool, i);
        uint64_t handled = atomic_load_explicit(&s->handled, memory_order_relaxed);
        long rss = 0;
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/statm", (int)p->pool.w[i].pid);
        FILE *f = p->pool.w[i].alive ? fopen(path, "r") : NULL;
        if (f) {
            long pages, resident;
            if (fscanf(f, "%ld %ld", &pages, &resident) == 2)
                rss = resident * (sysconf(_SC_PAGESIZE) / 1024);
            fclose(f);
        }
        ws[i] = (struct worker_stats){
            .index = i,
            .pid = (int)p->pool.w[i].pid,
            .alive = p->pool.w[i].alive,
            .handled = handled,
            .queue_depth = p->w[i].out.pushed > handled ? p->w[i].out.pushed - handled : 0,
            .busy_ns = atomic_load_explicit(&s->busy_ns, memory_order_relaxed),
            .rss_kb = rss,
        };
    }
    status_print(stderr, PROGRAM, ws, p->n);
}

static void on_status_timer(uv_timer_t *h)
{
    print_status(h->loop->data);
}

static void on_signal(uv_signal_t *h, int sig)
{
    struct phase3 *p = h->loop->data;
    if (sig == SIGUSR1) {
        print_status(p);
        return;
    }
    if (++p->interrupts == 1) {
        log_warn("%s: stopping the source after %llu messages and draining (again to abort)", strsignal(sig),
                 (unsigned long long)p->routed);
        if (p->stage == ST_START) {
            /* No message was routed: drain an empty run. */
            p->stage = ST_RUN;
            p->start_ns = now_ns();
        }
        begin_drain(p);
        return;
    }
    if (p->exit_status == EXIT_OK) {
        fprintf(stderr, "%s: interrupted again: killing the workers\n", PROGRAM);
        p->exit_status = EXIT_INTERRUPTED;
        pool_signal_all(&p->pool, SIGKILL);
        uv_stop(&p->loop);
    }
}

/* ------------------------------------------------------------- set-up */

static int body(struct pool *pool, uint32_t index, void *arg)
{
    struct phase3 *p = arg;
    struct worker_setup s = {
        .index = index,
        .msg_fd = p->w[index].msg_rfd,
        .ctl_fd = p->w[index].ctl_wfd,
        .expected_ids = p->src->ids.count / p->n + 64,
        .work_ns = p->o->work_ns,
    };
    return worker_run(&s, pool_slot(pool, index));
}

static size_t keep_fds(uint32_t index, int *fds, void *arg)
{
    struct phase3 *p = arg;
    fds[0] = p->w[index].msg_rfd;
    fds[1] = p->w[index].ctl_wfd;
    return 2;
}

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ? -errno : 0;
}

/* One pipe and one control socket per worker.
 *
 * Pipe size: Linux gives a pipe 64 KiB. We ask for 1 MiB by default (the
 * largest an unprivileged process may, /proc/sys/fs/pipe-max-size): with 64
 * KiB the pipe holds one OUTQ_BATCH, so the main process blocks on nearly
 * every batch and the two sides wake each other per batch; 1 MiB lets the
 * main process run 16 batches ahead, so each side sleeps and wakes far less
 * often, and a 1 MiB payload crosses in one fill instead of sixteen. The
 * cost is bounded kernel memory: 1 MiB per worker, the backlog a stopped
 * worker can hold before backpressure reaches the source. --pipe-size
 * changes it so the difference can be measured. */
static int setup_ipc(struct phase3 *p)
{
    for (uint32_t i = 0; i < p->n; i++) {
        struct wk *w = &p->w[i];
        int pfd[2], sfd[2];
        if (pipe2(pfd, O_CLOEXEC) < 0)
            return -errno;
        w->msg_rfd = pfd[0];
        w->msg_fd = pfd[1];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sfd) < 0)
            return -errno;
        w->ctl_fd = sfd[0];
        w->ctl_wfd = sfd[1];
        if (p->c->pipe_size && fcntl(w->msg_fd, F_SETPIPE_SZ, (int)p->c->pipe_size) < 0)
            log_warn("worker %u: F_SETPIPE_SZ %u: %s; keeping the default size", i, p->c->pipe_size,
                     strerror(errno));
        int rc;
        if ((rc = set_nonblock(w->msg_fd)) < 0 || (rc = set_nonblock(w->msg_rfd)) < 0 ||
            (rc = set_nonblock(w->ctl_fd)) < 0 || (rc = set_nonblock(w->ctl_wfd)) < 0)
            return rc;
        if (outq_init(&w->out, w->msg_fd) < 0 || inq_init(&w->ctl_in, CTL_INQ_CAP) < 0)
            return -ENOMEM;
        w->ctl_out.cap = CTL_OUT_CAP;
        w->ctl_out.data = malloc(CTL_OUT_CAP);
        if (!w->ctl_out.data)
            return -ENOMEM;
    }
    return 0;
}

static int setup_loop(struct phase3 *p)
{
    int rc;
    if ((rc = uv_loop_init(&p->loop)) < 0)
        return rc;
    p->loop.data = p;
    uv_idle_init(&p->loop, &p->pump);
    uv_timer_init(&p->loop, &p->rate_timer);
    uv_timer_init(&p->loop, &p->sweep_timer);
    uv_timer_init(&p->loop, &p->status_timer);
    uv_signal_init(&p->loop, &p->sigint);
    uv_signal_init(&p->loop, &p->sigterm);
    uv_signal_init(&p->loop, &p->sigusr1);
    if ((rc = uv_poll_init(&p->loop, &p->qtimer_poll, p->qtimer_fd)) < 0)
        return rc;
    for (uint32_t i = 0; i < p->n; i++) {
        struct wk *w = &p->w[i];
        if ((rc = uv_poll_init(&p->loop, &w->msg_poll, w->msg_fd)) < 0 ||
            (rc = uv_poll_init(&p->loop, &w->ctl_poll, w->ctl_fd)) < 0)
            return rc;
        w->msg_poll.data = w->ctl_poll.data = w;
        if ((rc = uv_poll_start(&w->ctl_poll, UV_READABLE, on_ctl)) < 0)
            return rc;
    }
    if ((rc = uv_signal_start(&p->sigint, on_signal, SIGINT)) < 0 ||
        (rc = uv_signal_start(&p->sigterm, on_signal, SIGTERM)) < 0 ||
        (rc = uv_signal_start(&p->sigusr1, on_signal, SIGUSR1)) < 0)
        return rc;
    if ((rc = uv_poll_start(&p->qtimer_poll, UV_READABLE, on_query_timer)) < 0)
        return rc;
    uv_timer_start(&p->sweep_timer, on_sweep, SWEEP_MS, SWEEP_MS);
    if (p->o->status_every > 0) {
        uint64_t ms = (uint64_t)(p->o->status_every * 1000.0);
        uv_timer_start(&p->status_timer, on_status_timer, ms ? ms : 1, ms ? ms : 1);
    }
    return pool_watch(&p->pool, &p->loop);
}

static void close_one(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void teardown(struct phase3 *p, bool loop_made)
{
    if (loop_made) {
        /* The fds of poll handles closed here are closed below, after the
         * handles: libuv must stop watching an fd before it is closed. */
        uv_walk(&p->loop, close_one, NULL);
        uv_run(&p->loop, UV_RUN_DEFAULT);
        if (uv_loop_close(&p->loop) < 0)
            log_warn("the main loop still had open handles at exit");
    }
    for (uint32_t i = 0; p->w && i < p->n; i++) {
        struct wk *w = &p->w[i];
        int fds[] = {w->msg_fd, w->ctl_fd, w->msg_rfd, w->ctl_wfd};
        for (size_t k = 0; k < 4; k++)
            if (fds[k] >= 0)
                close(fds[k]);
        outq_free(&w->out);
        inq_free(&w->ctl_in);
        free(w->ctl_out.data);
    }
    if (p->qtimer_fd >= 0)
        close(p->qtimer_fd);
    if (p->pool_started)
        pool_reap_all(&p->pool, 1000);
    pool_free(&p->pool);
    qt_free(&p->qt);
    free(p->scratch);
    free(p->w);
}

/* Moves what main() needs out of p. Every worker has been reaped by now
 * (the EXIT stage ends when the last one is), so the peak RSS of the
 * children is known. */
static int take_result(struct phase3 *p, struct p3_result *r)
{
    r->per_worker = calloc(p->n, sizeof *r->per_worker);
    if (!r->per_worker) {
        fprintf(stderr, "%s: out of memory\n", PROGRAM);
        return EXIT_OUTPUT_FAILED;
    }
    for (uint32_t i = 0; i < p->n; i++)
        r->per_worker[i] = (struct worker_stats){
            .index = i,
            .pid = p->w[i].pid,
            .alive = false,
            .handled = p->w[i].handled,
            .busy_ns = p->w[i].busy_ns,
            .rss_kb = (long)p->w[i].rss_kb,
        };
    r->records = p->records;
    r->nrecords = p->nrecords;
    p->records = NULL;
    r->queries = p->hist;
    p->hist = NULL;
    long self = rss_peak_self_kb(), kids = rss_peak_children_kb();
    r->sum = (struct run_summary){
        .phase = 3,
        .workers = p->n,
        .messages = p->routed,
        .seconds = p->end_ns > p->start_ns ? (double)(p->end_ns - p->start_ns) / 1e9 : 0,
        .queries = r->queries,
        .query_failed = p->q_failed,
        .query_not_found = p->q_not_found,
        .rss_kb_max = self > kids ? self : kids,
        .per_worker = r->per_worker,
    };
    return EXIT_OK;
}

int phase3_run(const struct options *o, const struct p3_config *c, struct source *src, struct p3_result *r)
{
    memset(r, 0, sizeof *r);
    struct phase3 *p = calloc(1, sizeof *p);
    if (!p) {
        fprintf(stderr, "%s: out of memory\n", PROGRAM);
        return EXIT_OUTPUT_FAILED;
    }
    *p = (struct phase3){.o = o, .c = c, .src = src, .n = o->workers, .qtimer_fd = -1};
    int status = EXIT_OUTPUT_FAILED;
    bool loop_made = false;
    const char *step = "memory";
    int rc = -ENOMEM;

    /* A closed pipe must be an EPIPE to handle, not a signal that kills us. */
    signal(SIGPIPE, SIG_IGN);
    rng_seed(&p->qrng, o->gen.seed ^ 0x71755e57ull);
    p->w = calloc(p->n, sizeof *p->w);
    p->hist = malloc(sizeof *p->hist);
    p->scratch = malloc(CODEC_RECORDS_MAX * sizeof *p->scratch);
    if (!p->w || !p->hist || !p->scratch || qt_init(&p->qt, (uint64_t)o->query_timeout_ms * 1000000ull) < 0)
        goto fail;
    hist_init(p->hist);
    for (uint32_t i = 0; i < p->n; i++)
        p->w[i] = (struct wk){.index = i, .msg_fd = -1, .ctl_fd = -1, .msg_rfd = -1, .ctl_wfd = -1};

    step = "pipes";
    if ((rc = setup_ipc(p)) < 0)
        goto fail;
    step = "worker pool";
    if ((rc = pool_init(&p->pool, p->n, o->pin, body, keep_fds, on_worker_exit, p)) < 0)
        goto fail;
    /* Fork before the loop exists (pool.h): the workers start clean. */
    if ((rc = pool_start(&p->pool)) < 0)
        goto fail;
    p->pool_started = true;
    for (uint32_t i = 0; i < p->n; i++) {
        close(p->w[i].msg_rfd);
        close(p->w[i].ctl_wfd);
        p->w[i].msg_rfd = p->w[i].ctl_wfd = -1;
        p->w[i].pid = (int)p->pool.w[i].pid;
    }
    if (pin_self(o->pin, PIN_MAIN) < 0)
        log_warn("--pin: cannot set CPU affinity; running unpinned");

    step = "query timer";
    /* Linux lets a sleeping timer fire up to 50 us late by default (timer
     * slack, to batch wake-ups). A query schedule that is 50 us late reads
     * as 50 us of latency, more than a whole round trip: ask for none. */
    if (o->queries > 0 && prctl(PR_SET_TIMERSLACK, 1ul, 0, 0, 0) < 0)
        log_warn("PR_SET_TIMERSLACK: %s", strerror(errno));
    p->qtimer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (p->qtimer_fd < 0) {
        rc = -errno;
        goto fail;
    }
    step = "event loop";
    loop_made = true;
    if ((rc = setup_loop(p)) < 0) {
        fprintf(stderr, "%s: cannot set up the %s: %s\n", PROGRAM, step, uv_strerror(rc));
        pool_signal_all(&p->pool, SIGKILL);
        goto out;
    }

    uv_run(&p->loop, UV_RUN_DEFAULT);
    status = p->exit_status;
    if (status == EXIT_OK)
        status = take_result(p, r);
    goto out;

fail:
    fprintf(stderr, "%s: cannot set up the %s: %s\n", PROGRAM, step, strerror(-rc));
    if (p->pool_started)
        pool_signal_all(&p->pool, SIGKILL);
out:
    teardown(p, loop_made);
    free(p->records);
    free(p->hist);
    free(p);
    return status;
}

void p3_result_free(struct p3_result *r)
{
    free(r->records);
    free(r->per_worker);
    free(r->queries);
    memset(r, 0, sizeof *r);
}

/* loop.c - phase 2's event loop: the source, the bounded queue, the router,
 * the signals and the status output, each one a libuv handle on one loop.
 *
 *   source   an idle handle (it runs on every turn of the loop) while it
 *            has messages to push, and under --rate a timer while it waits
 *            for the next one to be due; it pushes at most one batch per
 *            turn into the queue
 *   router   an idle handle, active while the queue holds messages; it
 *            applies one batch per turn with shard_deliver()
 *   queries  query.c (the server) and qclient.c (the --queries load)
 *   signals  SIGINT/SIGTERM stop the source (the second ends the run at
 *            once), SIGUSR1 prints the status table
 *
 * Phase 1 was one call chain, source -> machine. Here the two ends are
 * separate callbacks that meet only at the queue, which is what lets the
 * loop interleave queries, timers and signals between batches, and what
 * phase 3 will stretch across a pipe. The loop ends by itself: when the
 * source is done and the queue is empty, finish() closes every handle, and
 * uv_run() returns because nothing is left open. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "clock.h"
#include "log.h"
#include "pacer.h"
#include "payload.h"
#include "phase2.h"
#include "qclient.h"
#include "query.h"
#include "queue.h"

#define PROGRESS_MS 500

struct loop {
    uv_loop_t uv;
    const struct options *o;
    const struct phase2_config *cfg;
    struct source *src;
    struct shard *shard;
    struct queue q;

    uv_idle_t produce_idle;   /* the source, when it has messages to push now */
    uv_timer_t produce_timer; /* the source under --rate, asleep until the next is due */
    uv_idle_t route;          /* the router */
    uv_idle_t wrap_up;        /* ends the run one turn after the drain */
    uv_signal_t sig_int, sig_term, sig_usr1;
    uv_timer_t status_timer, progress_timer;
    struct query_server qs;
    struct qclient qc;
    bool has_qs, has_qc;

    struct hist *queries;
    struct pacer rate;
    struct msg held; /* taken from the source, refused by a full queue */
    bool holding, waiting;
    bool source_done, stop_requested, interrupted, failed, closing;
    uint64_t start_ns, end_ns, start_hr;
};

static void finish(struct loop *l);
static void wrap_up_soon(struct loop *l);

/* ---- status ---------------------------------------------------------- */

static void fill_status(struct loop *l, struct worker_stats *w)
{
    /* Busy time is what the loop did not spend blocked in poll: libuv
     * measures it for us (UV_METRICS_IDLE_TIME). */
    uint64_t elapsed = uv_hrtime() - l->start_hr, idle = uv_metrics_idle_time(&l->uv);
    *w = (struct worker_stats){
        .index = 0,
        .pid = (int)getpid(),
        .alive = true,
        .handled = l->shard->handled,
        .queue_depth = queue_depth(&l->q),
        .busy_ns = elapsed > idle ? elapsed - idle : 0,
        .rss_kb = rss_now_kb(),
    };
}

static void print_status(struct loop *l)
{
    struct worker_stats w;
    fill_status(l, &w);
    status_print(stderr, "phase2", &w, 1);
}

static void on_status_timer(uv_timer_t *t)
{
    print_status(t->data);
}

static void on_progress(uv_timer_t *t)
{
    struct loop *l = t->data;
    double s = (double)(now_ns() - l->start_ns) / 1e9;
    fprintf(stderr, "\rphase2: %llu / %llu messages, %.2f M msgs/s, queue %llu   ",
            (unsigned long long)l->shard->handled, (unsigned long long)l->src->total,
            s > 0 ? (double)l->shard->handled / s / 1e6 : 0.0, (unsigned long long)queue_depth(&l->q));
}

/* ---- the source ------------------------------------------------------ */

static void on_route(uv_idle_t *h);
static void on_produce_idle(uv_idle_t *h);
static void on_produce_timer(uv_timer_t *t);

/* The source is finished: it ran out, or a signal stopped it. A message it
 * handed out but the queue refused is dropped here, never applied, so the
 * dump covers exactly the messages routed. */
static void source_finished(struct loop *l)
{
    if (l->source_done)
        return;
    l->source_done = true;
    l->holding = false;
    uv_idle_stop(&l->produce_idle);
    if (l->o->rate > 0)
        uv_timer_stop(&l->produce_timer);
    log_debug("source: done after %llu messages; %llu still queued", (unsigned long long)l->q.tail,
              (unsigned long long)queue_depth(&l->q));
    if (queue_depth(&l->q) == 0)
        wrap_up_soon(l);
}

/* Pushes up to want messages into the queue; returns how many it pushed. */
static uint64_t produce(struct loop *l, uint64_t want)
{
    uint64_t n = 0;
    bool ended = false;
    while (n < want) {
        if (!l->holding) {
            if (!source_next(l->src, &l->held)) {
                ended = true;
                break;
            }
            l->holding = true;
        }
        uint8_t *payload;
        if (!queue_push(&l->q, &l->held, &payload)) {
            /* Backpressure: keep the message and let the router catch up. */
            if (!l->waiting)
                log_debug("source: queue full at %llu messages, waiting for the router",
                          (unsigned long long)queue_depth(&l->q));
            l->waiting = true;
            break;
        }
        if (l->held.payload_len)
            payload_fill(payload, l->held.seq, l->held.payload_len);
        l->holding = false;
        n++;
    }
    if (n) {
        if (l->waiting && !l->holding) {
            log_debug("source: the queue had room again (%llu queued)", (unsigned long long)queue_depth(&l->q));
            l->waiting = false;
        }
        uv_idle_start(&l->route, on_route);
    }
    if (ended)
        source_finished(l);
    return n;
}

/* One turn of the source. At full speed it pushes a batch and its idle
 * handle keeps it running on every turn. Under --rate it pushes what the
 * token bucket (pacer.h) says is due, at most a batch, and then either
 *   - is behind (messages still due: more than a batch, or a full queue):
 *     it keeps the idle handle on, so the next turn continues, after the
 *     router has had its turn to drain; or
 *   - is on time: it stops the idle handle and sleeps on a timer until the
 *     next message is due.
 * Re-arming the timer for "now" instead would be a trap: libuv 1.44 runs a
 * timer that is due again in the same pass over the timers, so with a full
 * queue the source would spin there forever and the router never run.
 *
 * The bucket runs on uv_now(), the time the current turn began, in
 * milliseconds. It is in closed form (message k is due at start + k / rate),
 * so millisecond steps never accumulate into drift: over 2 s the error is at
 * most one step, 0.05 % (phase2 --rate 100000 --messages 200000 --json gave
 * 99 954 to 100 028 msgs/s in five runs on a busy 2-CPU machine). */
static void source_turn(struct loop *l)
{
    bool paced = l->o->rate > 0;
    uint64_t now = uv_now(&l->uv) * 1000000ull;
    uint64_t due = paced ? pacer_due(&l->rate, now) : UINT64_MAX;
    uint64_t n = produce(l, due < l->cfg->batch ? due : l->cfg->batch);
    if (!paced || l->source_done)
        return;
    pacer_take(&l->rate, n);
    if (n < due) {
        uv_timer_stop(&l->produce_timer);
        uv_idle_start(&l->produce_idle, on_produce_idle);
        return;
    }
    uv_idle_stop(&l->produce_idle);
    uint64_t next = pacer_next_due(&l->rate); /* > now: every due message was taken */
    uint64_t ms = (next - now + 999999) / 1000000;
    uv_timer_start(&l->produce_timer, on_produce_timer, ms ? ms : 1, 0);
}

static void on_produce_idle(uv_idle_t *h)
{
    source_turn(h->data);
}

static void on_produce_timer(uv_timer_t *t)
{
    source_turn(t->data);
}

/* ---- the router ------------------------------------------------------ */

static void on_route(uv_idle_t *h)
{
    struct loop *l = h->data;
    uint64_t n = queue_depth(&l->q);
    if (n > l->cfg->batch)
        n = l->cfg->batch;
    /* Ask for the batch's machines first, then apply: with 10 000 machines
     * the table is larger than L2, and prefetching lets the cache misses of
     * a batch overlap instead of being paid one after another (phase 1 does
     * the same with the batch it pulls). The batch is read in place and
     * released at once: no copy out of the queue. */
    for (uint64_t i = 0; i < n; i++)
        shard_prefetch(l->shard, queue_peek(&l->q, i));
    for (uint64_t i = 0; i < n; i++) {
        const struct msg *m = queue_peek(&l->q, i);
        if (shard_deliver(l->shard, m, queue_peek_payload(&l->q, i)) < 0) {
            log_error("out of memory creating machine '%s'", m->id);
            queue_drop(&l->q, i);
            l->failed = true;
            finish(l);
            return;
        }
    }
    queue_drop(&l->q, n);
    if (queue_depth(&l->q) == 0) {
        uv_idle_stop(h);
        if (l->source_done)
            wrap_up_soon(l);
    }
}

/* ---- signals --------------------------------------------------------- */

static void on_stop_signal(uv_signal_t *h, int signum)
{
    struct loop *l = h->data;
    if (l->stop_requested) {
        /* Second one: the user wants out now (SPEC §8). uv_stop() makes
         * uv_run() return after this turn; phase2_run() closes the handles. */
        log_warn("second %s: exiting without draining", signum == SIGINT ? "SIGINT" : "SIGTERM");
        l->interrupted = true;
        uv_stop(&l->uv);
        return;
    }
    l->stop_requested = true;
    log_warn("%s: stopping the source after %llu messages; draining %llu queued (again to exit at once)",
             signum == SIGINT ? "SIGINT" : "SIGTERM", (unsigned long long)l->q.tail,
             (unsigned long long)queue_depth(&l->q));
    source_finished(l);
}

static void on_usr1(uv_signal_t *h, int signum)
{
    (void)signum;
    print_status(h->data);
}

/* After the loop. Closing the last signal handle gives each signal back its
 * default action, and the default of SIGINT, SIGTERM and SIGUSR1 is to
 * terminate: a Ctrl-C or a status request while main() writes the dump
 * would kill the run with no dump. So the rule of SPEC §8 is carried on
 * without the loop, as phase 1 does it: a stop request has nothing left to
 * stop (the source is done, the queue drained), but the second one exits
 * with 130 at once; a status request is ignored. */
static volatile sig_atomic_t late_stops;

static void on_late_stop(int sig)
{
    (void)sig;
    if (++late_stops >= 2)
        _exit(EXIT_INTERRUPTED); /* async-signal-safe; exit() is not */
}

static void guard_signals_after_loop(bool stop_requested)
{
    late_stops = stop_requested ? 1 : 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_late_stop;
    if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
        log_warn("sigaction: %s; a signal during the dump will end the run", strerror(errno));
    sa.sa_handler = SIG_IGN;
    if (sigaction(SIGUSR1, &sa, NULL) < 0)
        log_warn("sigaction(SIGUSR1): %s", strerror(errno));
}

/* ---- lifecycle ------------------------------------------------------- */

static void close_handle(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void on_wrap_up(uv_idle_t *h)
{
    finish(h->data);
}

/* The queue is drained and the source done: end the run on the next turn,
 * not now. In between, the loop polls once, so a second SIGINT that arrived
 * while the last batch ran is seen (and ends the run with 130, as asked)
 * rather than lost when finish() closes the signal handles. */
static void wrap_up_soon(struct loop *l)
{
    l->end_ns = now_ns();
    uv_idle_start(&l->wrap_up, on_wrap_up);
}

/* Ends the run: answers pending queries, then closes every handle. With
 * nothing left open, uv_run() returns. Idempotent. */
static void finish(struct loop *l)
{
    if (l->closing)
        return;
    l->closing = true;
    if (!l->end_ns)
        l->end_ns = now_ns();
    log_debug("loop: finishing, %llu messages applied, %llu queued; closing every handle",
              (unsigned long long)l->shard->handled, (unsigned long long)queue_depth(&l->q));
    if (l->has_qc)
        qclient_close(&l->qc);
    if (l->has_qs)
        query_server_close(&l->qs);
    uv_walk(&l->uv, close_handle, NULL);
}

static int start_signal(struct loop *l, uv_signal_t *s, uv_signal_cb cb, int signum)
{
    int rc = uv_signal_init(&l->uv, s);
    if (rc < 0)
        return rc;
    s->data = l;
    return uv_signal_start(s, cb, signum);
}

/* A repeating timer every ms milliseconds (at least 1: libuv's resolution,
 * and a repeat of 0 would mean "once"). */
static int start_timer(struct loop *l, uv_timer_t *t, uv_timer_cb cb, uint64_t ms)
{
    if (ms == 0)
        ms = 1;
    int rc = uv_timer_init(&l->uv, t);
    if (rc < 0)
        return rc;
    t->data = l;
    return uv_timer_start(t, cb, ms, ms);
}

static uint32_t largest_payload(const struct source *s)
{
    if (!s->is_trace)
        return s->gen.payload_max;
    uint32_t max = 0;
    for (uint64_t i = 0; i < s->total; i++)
        if (s->recs[i].payload_len > max)
            max = s->recs[i].payload_len;
    return max;
}

/* Opens every handle of the run. 0 or a negative libuv error code; on error
 * the handles already open are closed by finish(). */
static int setup(struct loop *l)
{
    const struct options *o = l->o;
    uint32_t big = largest_payload(l->src);
    uint64_t bytes = big == 0 ? 0 : big > PHASE2_QUEUE_PAYLOAD_BYTES ? big : PHASE2_QUEUE_PAYLOAD_BYTES;
    int rc = queue_init(&l->q, l->cfg->batch * PHASE2_QUEUE_BATCHES, bytes);
    if (rc < 0)
        return UV_ENOMEM;
    log_debug("queue: %u slots, %llu payload bytes", queue_capacity(&l->q), (unsigned long long)bytes);

    if ((rc = start_signal(l, &l->sig_int, on_stop_signal, SIGINT)) < 0 ||
        (rc = start_signal(l, &l->sig_term, on_stop_signal, SIGTERM)) < 0 ||
        (rc = start_signal(l, &l->sig_usr1, on_usr1, SIGUSR1)) < 0)
        return rc;
    if ((rc = uv_idle_init(&l->uv, &l->route)) < 0 || (rc = uv_idle_init(&l->uv, &l->wrap_up)) < 0)
        return rc;
    l->route.data = l;
    l->wrap_up.data = l;
    if ((rc = query_server_init(&l->qs, &l->uv, &l->shard->table)) < 0)
        return rc;
    l->has_qs = true;
    if (o->queries > 0) {
        if ((rc = qclient_start(&l->qc, &l->uv, &l->qs, l->src, o->queries, o->gen.seed ^ 0x71755e57ull, l->queries)) <
            0)
            return rc;
        l->has_qc = true;
    }
    if (o->status_every > 0 &&
        (rc = start_timer(l, &l->status_timer, on_status_timer, (uint64_t)(o->status_every * 1000))) < 0)
        return rc;
    if (isatty(STDERR_FILENO) && (rc = start_timer(l, &l->progress_timer, on_progress, PROGRESS_MS)) < 0)
        return rc;

    if ((rc = uv_idle_init(&l->uv, &l->produce_idle)) < 0)
        return rc;
    l->produce_idle.data = l;
    if (o->rate > 0) {
        /* A stall of up to 20 ms (a busy shared machine) is made up in a
         * burst; credit beyond that is forfeited, as a full bucket
         * overflows, so a long stall never becomes an unbounded burst. */
        uint64_t burst = (uint64_t)(o->rate / 50);
        uv_update_time(&l->uv);
        pacer_init(&l->rate, o->rate, uv_now(&l->uv) * 1000000ull, burst > l->cfg->batch ? burst : l->cfg->batch);
        if ((rc = uv_timer_init(&l->uv, &l->produce_timer)) < 0)
            return rc;
        l->produce_timer.data = l;
    }
    /* The first turn decides: full speed stays on the idle handle, --rate
     * moves to the timer once it is on time. */
    return uv_idle_start(&l->produce_idle, on_produce_idle);
}

enum phase2_end phase2_run(const struct options *o, const struct phase2_config *c, struct source *src,
                           struct shard *shard, struct hist *queries, struct run_summary *out,
                           struct worker_stats *self)
{
    /* The loop struct holds the query pool (tens of KiB): heap, not stack. */
    struct loop *l = calloc(1, sizeof *l);
    if (!l) {
        log_error("out of memory");
        return PHASE2_FAILED;
    }
    l->o = o;
    l->cfg = c;
    l->src = src;
    l->shard = shard;
    l->queries = queries;

    int rc = uv_loop_init(&l->uv);
    if (rc < 0) {
        log_error("uv_loop_init: %s", uv_strerror(rc));
        free(l);
        return PHASE2_FAILED;
    }
    if ((rc = uv_loop_configure(&l->uv, UV_METRICS_IDLE_TIME)) < 0)
        log_warn("uv_loop_configure(UV_METRICS_IDLE_TIME): %s; busy time will read as elapsed time", uv_strerror(rc));

    l->start_hr = uv_hrtime();
    rc = setup(l);
    l->start_ns = now_ns();
    if (rc < 0) {
        log_error("cannot start the loop: %s", uv_strerror(rc));
        l->failed = true;
        finish(l);
    } else {
        log_debug("loop: running, batch %u, source on %s", c->batch,
                  o->rate > 0 ? "a timer (--rate)" : "an idle handle (full speed)");
        uv_run(&l->uv, UV_RUN_DEFAULT);
    }
    /* uv_run() returned early only after uv_stop() (a second signal): close
     * what is still open, then run once more so the close callbacks run. */
    finish(l);
    uv_run(&l->uv, UV_RUN_DEFAULT);
    if (l->progress_timer.data)
        fputc('\n', stderr);

    fill_status(l, self);

    /* Every handle must be closed by now; if one is not, this is a bug in
     * the handle lifecycle, and we name the culprit rather than exit quietly. */
    rc = uv_loop_close(&l->uv);
    if (rc != 0) {
        log_error("uv_loop_close: %s; handles still open:", uv_strerror(rc));
        uv_print_all_handles(&l->uv, stderr);
        abort();
    }
    log_debug("loop: closed cleanly (uv_loop_close returned 0, every handle closed)");
    guard_signals_after_loop(l->stop_requested);

    if (l->stop_requested)
        log_warn("interrupted: routed %llu messages before the source stopped", (unsigned long long)shard->handled);
    out->messages = shard->handled;
    out->seconds = (double)(l->end_ns - l->start_ns) / 1e9;
    if (l->has_qc) {
        out->query_not_found = l->qc.not_found;
        out->query_failed = l->qc.failed;
    }
    enum phase2_end end = l->failed ? PHASE2_FAILED : l->interrupted ? PHASE2_INTERRUPTED : PHASE2_DRAINED;
    queue_free(&l->q);
    free(l);
    return end;
}

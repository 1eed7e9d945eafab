/* loop.c - phase 2's event loop around the stream: set-up of every handle,
 * the status output, SIGUSR1, and the end of the run (every handle closed,
 * so that uv_loop_close() returns 0). The callbacks that move messages,
 * the source and the router and the stop signals, are stream.c's; the
 * queries are query.c's (the server) and qclient.c's (the --queries load).
 *
 * The loop ends by itself: when the source is done and the queue is empty,
 * loop_finish() closes every handle, and uv_run() returns because nothing
 * is left open. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "clock.h"
#include "log.h"
#include "loop.h"
#include "signals.h"
#include "timeline.h"

#define PROGRESS_MS 500

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

/* ---- signals --------------------------------------------------------- */

static void on_usr1(uv_signal_t *h, int signum)
{
    tl_instant(TL_SIGNAL, (uint64_t)signum, 0);
    print_status(h->data);
}

/* SIGINT and SIGTERM are stream.c's; the timeline marks them here. */
static void on_stop_signal(uv_signal_t *h, int signum)
{
    tl_instant(TL_SIGNAL, (uint64_t)signum, 0);
    stream_on_stop_signal(h, signum);
}

/* ---- lifecycle ------------------------------------------------------- */

static void close_handle(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

/* Closing the last libuv handle of a signal gives it back its default
 * action, which terminates: the common handlers (signals.h) take over in
 * the same instant, the signals held in between, so that a request while
 * the handles close or the dump is written is still kept (SPEC §8). */
static void close_every_handle(struct loop *l)
{
    sigset_t held;
    signals_hold(&held);
    uv_walk(&l->uv, close_handle, NULL);
    signals_resume(l->stop_requested ? 1 : 0);
    signals_release(&held);
}

static void on_wrap_up(uv_idle_t *h)
{
    loop_finish(h->data);
}

/* The queue is drained and the source done: end the run on the next turn,
 * not now. In between, the loop polls once, so a second SIGINT that arrived
 * while the last batch ran is seen (and ends the run with 130, as asked)
 * rather than lost when loop_finish() closes the signal handles. */
void loop_wrap_up_soon(struct loop *l)
{
    l->end_ns = now_ns();
    tl_instant(TL_DRAIN, l->q.tail, 0);
    uv_idle_start(&l->wrap_up, on_wrap_up);
}

/* Ends the run: answers pending queries, then closes every handle. With
 * nothing left open, uv_run() returns. Idempotent. */
void loop_finish(struct loop *l)
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
    close_every_handle(l);
}

void loop_not_written(struct loop *l, const char *func)
{
    if (l->closing)
        return;
    log_error("%s is not written yet: see labs/phase2/README.md", func);
    l->failed = true;
    l->failure = EXIT_NOT_WRITTEN;
    loop_finish(l);
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

/* Opens every handle of the run. 0 or a negative libuv error code; on error
 * the handles already open are closed by loop_finish(). */
static int setup(struct loop *l)
{
    const struct options *o = l->o;
    uint32_t big = source_payload_max(l->src);
    uint64_t bytes = big == 0 ? 0 : big > PHASE2_QUEUE_PAYLOAD_BYTES ? big : PHASE2_QUEUE_PAYLOAD_BYTES;
    int rc = queue_init(&l->q, l->cfg->batch * PHASE2_QUEUE_BATCHES, bytes);
    if (rc < 0)
        return UV_ENOMEM;

    if ((rc = start_signal(l, &l->sig_int, on_stop_signal, SIGINT)) < 0 ||
        (rc = start_signal(l, &l->sig_term, on_stop_signal, SIGTERM)) < 0 ||
        (rc = start_signal(l, &l->sig_usr1, on_usr1, SIGUSR1)) < 0)
        return rc;
    signals_stops_interrupt_reads();
    if ((rc = uv_idle_init(&l->uv, &l->route)) < 0 || (rc = uv_idle_init(&l->uv, &l->wrap_up)) < 0)
        return rc;
    if ((rc = tl_loop_watch(&l->turns, &l->uv, &l->shard->handled)) < 0)
        return rc;
    l->route.data = l;
    l->wrap_up.data = l;
    if ((rc = query_server_init(&l->qs, &l->uv, &l->shard->table)) < 0)
        return rc;
    l->has_qs = true;
    if (o->queries > 0) {
        if ((rc = qclient_start(&l->qc, &l->uv, &l->qs, l->src, o->queries, l->cfg->query_spin_ns,
                                o->gen.seed ^ 0x71755e57ull, l->queries)) < 0)
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
    return uv_idle_start(&l->produce_idle, stream_on_produce_idle);
}

int phase2_run(const struct options *o, const struct phase2_config *c, struct source *src, struct shard *shard,
               struct hist *queries, struct run_summary *out, struct worker_stats *self)
{
    /* The loop struct holds the query pool (tens of KiB): heap, not stack. */
    struct loop *l = calloc(1, sizeof *l);
    if (!l) {
        log_error("out of memory");
        return EXIT_NO_MEMORY;
    }
    l->o = o;
    l->cfg = c;
    l->src = src;
    l->shard = shard;
    l->queries = queries;
    l->failure = EXIT_NO_MEMORY;

    int rc = uv_loop_init(&l->uv);
    if (rc < 0) {
        log_error("uv_loop_init: %s", uv_strerror(rc));
        free(l);
        return EXIT_SETUP_FAILED;
    }
    if ((rc = uv_loop_configure(&l->uv, UV_METRICS_IDLE_TIME)) < 0)
        log_warn("uv_loop_configure(UV_METRICS_IDLE_TIME): %s; busy time will read as elapsed time", uv_strerror(rc));

    l->start_hr = uv_hrtime();
    rc = setup(l);
    l->start_ns = now_ns();
    if (rc < 0) {
        log_error("cannot start the loop: %s", uv_strerror(rc));
        l->failed = true;
        l->failure = rc == UV_ENOMEM ? EXIT_NO_MEMORY : EXIT_SETUP_FAILED;
        loop_finish(l);
    } else {
        log_debug("loop: running, batch %u, source on %s", c->batch,
                  o->rate > 0 ? "a timer (--rate)" : "an idle handle (full speed)");
        /* libuv delivers the signals now; one counted before (while the
         * trace loaded) is handed to the loop as if it came now. */
        if (signals_stops() > 0)
            stream_on_stop_signal(&l->sig_int, SIGINT);
        uv_run(&l->uv, UV_RUN_DEFAULT);
    }
    /* uv_run() returned early only after uv_stop() (a second signal): close
     * what is still open, then run once more so the close callbacks run. */
    loop_finish(l);
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

    if (l->stop_requested)
        log_warn("interrupted: routed %llu messages before the source stopped", (unsigned long long)shard->handled);
    out->messages = shard->handled;
    out->seconds = (double)(l->end_ns - l->start_ns) / 1e9;
    if (l->has_qc) {
        out->query_not_found = l->qc.not_found;
        out->query_failed = l->qc.failed;
    }
    int end = l->failed ? l->failure : l->interrupted ? EXIT_INTERRUPTED : EXIT_OK;
    queue_free(&l->q);
    free(l);
    return end;
}

/* phase1.c - the whole system in one thread: source -> router -> machine,
 * one synchronous loop, queries answered by a direct call.
 *
 * Every later phase is this loop pulled apart. There is nothing to route to
 * (one worker owns every machine), nothing to wait for and nothing to lock;
 * what phase 1 cannot do is use a second core or answer a query while a
 * message is being applied. Queries, the rate limit, status and progress are
 * checked every CHECK_EVERY messages so that reading the clock costs well
 * under a nanosecond per message. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "pacer.h"
#include "payload.h"
#include "phase1.h"
#include "qload.h"
#include "shard.h"
#include "signals.h"
#include "summary.h"
#include "timeline.h"

#define CHECK_EVERY 64
#define PROGRESS_NS 500000000ull

/* Set by the signal handlers; read at every checkpoint. */
static volatile sig_atomic_t stop_requested, status_requested;

static void on_stop(int sig)
{
    /* TODO: SIGINT and SIGTERM. The first one only asks the loop to stop (it
     * then drains, dumps and exits 0); a second one ends the process at once
     * with status 130 (SPEC §8). A handler may call only async-signal-safe
     * functions. */
    (void)sig;
}

static void on_status(int sig)
{
    /* TODO: SIGUSR1 asks for the status table without stopping the run. */
    (void)sig;
}

static int install_signals(void)
{
    /* TODO: Install on_stop for SIGINT and SIGTERM and on_status for SIGUSR1.
     * Decide for each whether an interrupted system call should restart.
     * Return 0, or a negative errno when sigaction() fails. */
    (void)on_stop;
    (void)on_status;
    return 0;
}

struct loop {
    const struct options *o;
    struct source *src;
    struct shard *shard;
    struct hist *queries;
    struct pacer rate;
    struct qload query_load; /* which query is due when, at which id */
    uint64_t start_ns, slept_ns, next_progress_ns, next_status_ns;
    uint64_t not_found;
    bool progress;
    uint8_t *payload; /* scratch, as large as the largest payload so far */
    uint32_t payload_cap;
    uint64_t tl_since, tl_handled; /* --timeline: the batch under way */
};

/* Payloads are written on the source side and verified by the machine, as
 * they would be across a boundary; here the boundary is a function call.
 * NULL when out of memory. */
static const uint8_t *write_payload(struct loop *l, const struct msg *m)
{
    /* TODO: Return m's payload (SPEC §2) written into the loop's scratch
     * buffer, growing the buffer when m needs more. NULL when out of memory. */
    (void)l;
    (void)m;
    return NULL;
}

static void fill_status(const struct loop *l, struct worker_stats *w, uint64_t now)
{
    *w = (struct worker_stats){
        .index = 0,
        .pid = (int)getpid(),
        .alive = true,
        .handled = l->shard->handled,
        .queue_depth = 0, /* a synchronous loop has no queue */
        .busy_ns = now - l->start_ns - l->slept_ns,
        .rss_kb = rss_now_kb(),
    };
}

/* Answers every query that is due: a direct table lookup, timed from the
 * query's intended time so that a query kept waiting by a batch counts it. */
static void run_queries(struct loop *l, uint64_t now)
{
    /* TODO: Answer every query the query load (l->query_load, qload.h) says
     * is due by now: look its machine up, count it in not_found if it has
     * none, and record the latency from the query's intended time (not from
     * now) in the histogram. */
    (void)l;
    (void)now;
}

/* --timeline: checkpoints cut the run into batches, so the time from one
 * checkpoint to the next that routed messages is one batch (with the
 * checkpoint before it). A stretch that routed nothing, a --rate sleep, is
 * no batch. */
static void timeline_batch(struct loop *l, uint64_t now)
{
    uint64_t n = l->shard->handled - l->tl_handled;
    if (n && l->tl_since)
        tl_span_at(TL_ROUTE_BATCH, l->tl_since, now, n, 0);
    l->tl_since = now;
    l->tl_handled = l->shard->handled;
}

static void checkpoint(struct loop *l, uint64_t now)
{
    if (tl_on)
        timeline_batch(l, now);
    if (l->o->queries > 0)
        run_queries(l, now);
    bool timed_status = l->o->status_every > 0 && now >= l->next_status_ns;
    if (status_requested || timed_status) {
        if (status_requested)
            tl_instant(TL_SIGNAL, SIGUSR1, 0);
        status_requested = 0;
        if (timed_status)
            l->next_status_ns = now + (uint64_t)(l->o->status_every * 1e9);
        struct worker_stats w;
        fill_status(l, &w, now);
        status_print(stderr, "phase1", &w, 1);
    }
    if (l->progress && now >= l->next_progress_ns) {
        l->next_progress_ns = now + PROGRESS_NS;
        double s = (double)(now - l->start_ns) / 1e9;
        fprintf(stderr, "\rphase1: %llu / %llu messages, %.2f M msgs/s   ", (unsigned long long)l->src->emitted,
                (unsigned long long)l->src->total, s > 0 ? (double)l->src->emitted / s / 1e6 : 0.0);
    }
}

/* The loop itself: until the source ends or a stop is asked for, take a
 * checkpoint, then route one batch of at most CHECK_EVERY messages (fewer
 * when --rate paces the source). Returns 0, or -ENOMEM when out of memory. */
static int route_all(struct loop *l)
{
    /* TODO: Route every message of l->src into l->shard with shard_deliver(),
     * a batch at a time: call checkpoint() between batches (never per
     * message), honour --rate through l->rate (pacer_grant(); when no
     * message is due, sleep until the next message or query is,
     * qload_wake_at(), and count the sleep in slept_ns), stop early when stop_requested is set, and give each
     * message with a payload its bytes from write_payload(). Return -ENOMEM
     * with a log_error() line when memory runs out. */
    (void)l;
    (void)write_payload;
    (void)checkpoint;
    log_error("route_all() is not written yet: see labs/phase1/README.md");
    return -ENOSYS;
}

/* The lesson's handlers take over from the common ones (signals.h) for the
 * loop, and hand back after it. The signals are held while they change
 * hands, so none is lost in between, and a stop asked for before the loop
 * (while the trace loaded) stops it before its first message. */
static int take_signals(void)
{
    sigset_t held;
    signals_hold(&held);
    int err = install_signals();
    if (signals_stops() > 0)
        stop_requested = 1;
    signals_release(&held);
    return err;
}

int phase1_run(const struct options *o, struct source *src, struct shard *shard, struct hist *queries,
               struct run_summary *out)
{
    struct loop l = {.o = o, .src = src, .shard = shard, .queries = queries};
    l.progress = isatty(STDERR_FILENO);
    int err = take_signals();
    if (err < 0) {
        log_error("cannot install the signal handlers: %s", strerror(-err));
        signals_resume(0);
        return EXIT_SETUP_FAILED;
    }

    l.start_ns = now_ns();
    l.next_status_ns = l.start_ns + (uint64_t)(o->status_every * 1e9);
    /* A sleep overshoots by tens of microseconds: let the source catch up on
     * 10 ms worth of messages, or a high --rate would silently fall short. */
    uint64_t burst = (uint64_t)(o->rate / 100);
    pacer_init(&l.rate, o->rate, l.start_ns, burst > CHECK_EVERY ? burst : CHECK_EVERY);
    qload_init(&l.query_load, src, o->queries, l.start_ns, 1000, o->gen.seed ^ 0x71755e57ull);
    if (o->queries > 0)
        clock_exact_sleeps(); /* --rate's sleeps end at queries' due times */

    int rc = route_all(&l);
    uint64_t end = now_ns();
    if (tl_on)
        timeline_batch(&l, end);
    if (stop_requested) {
        tl_instant(TL_STOP, src->emitted, 0);
        tl_instant(TL_DRAIN, src->emitted, 0);
    }
    /* From here to the end of main(), the dump included, the common
     * handlers keep SPEC §8's promise. */
    signals_resume(stop_requested ? 1 : 0);
    if (l.progress)
        fputc('\n', stderr);
    if (stop_requested)
        log_warn("interrupted: stopped the source after %llu messages", (unsigned long long)src->emitted);
    free(l.payload);
    out->messages = shard->handled;
    out->seconds = (double)(end - l.start_ns) / 1e9;
    out->query_not_found = l.not_found;
    return rc == 0 ? EXIT_OK : rc == -ENOMEM ? EXIT_NO_MEMORY : EXIT_NOT_WRITTEN;
}

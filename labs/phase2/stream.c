/* stream.c - the callbacks that move messages through phase 2's loop: the
 * source pushes into the bounded queue, the router drains it in batches,
 * and a stop signal ends the source.
 *
 *   source   an idle handle (it runs on every turn of the loop) while it
 *            has messages to push, and under --rate a timer while it waits
 *            for the next one to be due; it pushes at most one batch per
 *            turn into the queue
 *   router   an idle handle, active while the queue holds messages; it
 *            applies one batch per turn with shard_deliver()
 *
 * Phase 1 was one call chain, source -> machine. Here the two ends are
 * separate callbacks that meet only at the queue, which is what lets the
 * loop interleave queries, timers and signals between batches, and what
 * phase 3 will stretch across a pipe. Set-up, status and the end of the run
 * are loop.c's. */
#include <signal.h>

#include "log.h"
#include "loop.h"
#include "payload.h"
#include "timeline.h"

static void on_route(uv_idle_t *h);
static void on_produce_timer(uv_timer_t *t);

/* The source is finished: it ran out, or a signal stopped it. A message it
 * handed out but the queue refused is dropped here, never applied, so the
 * dump covers exactly the messages routed. */
static void source_finished(struct loop *l)
{
    /* TODO: The source is finished (it ran out, or a stop was asked for).
     * Once only: mark it done, forget a message the queue refused (it was
     * never routed, so the dump must not count it), stop both of the
     * source's handles (the timer exists only under --rate), and when the
     * queue is already empty end the run with loop_wrap_up_soon(); if it
     * is not, the router does that once it has drained the queue. */
    loop_not_written(l, "source_finished()");
}

/* Pushes up to want messages into the queue; returns how many it pushed. */
static uint64_t produce(struct loop *l, uint64_t want)
{
    /* TODO: Move up to want messages from the source (source_next) into the
     * queue (queue_push), writing each payload where queue_push says
     * (payload_fill). A message the full queue refuses is kept in l->held
     * and pushed first next time, and the source stops for this turn: that
     * is the backpressure. A refusal by an empty queue can never clear up:
     * log it and end the run as failed. When anything was pushed, make
     * sure the router runs; when the source runs out, source_finished().
     * Return how many messages were pushed. */
    (void)want;
    (void)on_route;
    loop_not_written(l, "produce()");
    return 0;
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
    /* TODO: One turn of the source. Without --rate, produce() one batch
     * (l->cfg->batch): the idle handle brings the source back next turn.
     * Under --rate, produce() what l->rate says is due by uv_now() (in ns),
     * at most a batch, and take what was pushed from the bucket; then, if
     * messages are still due (or the queue refused one), stay on the idle
     * handle; if not, stop it and start produce_timer for the millisecond
     * the next message is due, never for "now" (see the pitfalls). Once
     * the source is finished, or the run is ending (l->closing), start
     * nothing. */
    (void)produce;
    (void)on_produce_timer;
    loop_not_written(l, "source_turn()");
}

/* --timeline: one turn of the source is one span, even when the full queue
 * took nothing (that is what backpressure looks like), then the depth. */
static void timed_source_turn(struct loop *l)
{
    uint64_t t0 = tl_now(), pushed = l->q.tail;
    source_turn(l);
    tl_span(TL_SOURCE_BATCH, t0, l->q.tail - pushed, 0);
    tl_counter(TL_QUEUE_DEPTH, queue_depth(&l->q), 0);
}

void stream_on_produce_idle(uv_idle_t *h)
{
    timed_source_turn(h->data);
}

static void on_produce_timer(uv_timer_t *t)
{
    timed_source_turn(t->data);
}

/* One turn of the router: one batch out of the queue into the machines. */
static void on_route(uv_idle_t *h)
{
    /* TODO: Apply up to one batch (l->cfg->batch) of the queued messages,
     * oldest first, with shard_deliver(), reading each message and its
     * payload in place (queue_peek, queue_peek_payload), then release the
     * batch with one queue_drop(). On an error from shard_deliver (out of
     * memory) log it and end the run as failed. When the queue is empty,
     * stop this handle (an idle handle left running spins the loop at
     * 100 % CPU), and if the source is finished too, loop_wrap_up_soon().
     * For --timeline, record the batch with tl_span(TL_ROUTE_BATCH, ...)
     * (timeline.h). */
    loop_not_written(h->data, "on_route()");
}

void stream_on_stop_signal(uv_signal_t *h, int signum)
{
    /* TODO: SIGINT or SIGTERM (SPEC §8). The first one stops the source
     * (source_finished): what is queued is still applied, and the run
     * drains, dumps and exits 0. A second one ends the run at once: mark it
     * interrupted and make uv_run() return after this turn (phase2_run then
     * closes the handles, and main() exits 130 without a dump). Log each
     * with log_warn: the tests wait for "stopping the source" in that log
     * line before they send the second. */
    (void)signum;
    (void)source_finished;
    loop_not_written(h->data, "stream_on_stop_signal()");
}

/* router.c - phase 3's source into the workers' message queues: route each
 * message to route_worker(hash, N), batch it in that worker's outq, flush
 * at OUTQ_BATCH and at the end of every turn, and hold a message a full
 * pipe refuses (backpressure). It says what happened; the driver (pump.c)
 * owns the loop, the pipes and the stages (router.h). */
#include "router.h"

#include <errno.h>
#include <stddef.h>

#include "fnv.h"

/* The status of two results taken together: a lost worker outweighs a
 * full pipe, which outweighs success. */
static int worse(int a, int b)
{
    if (a == ROUTER_LOST || b == ROUTER_LOST)
        return ROUTER_LOST;
    return a == ROUTER_BLOCKED || b == ROUTER_BLOCKED ? ROUTER_BLOCKED : a;
}

static int flush_pipe(struct router *r, uint32_t i)
{
    /* TODO: Write worker i's queued bytes (outq_flush) and keep pipe[i].full
     * true exactly while its pipe refuses them (router.h: the driver
     * watches a full pipe for writable, and only a full one). ROUTER_OK
     * when the queue is empty, ROUTER_BLOCKED when the pipe is full,
     * ROUTER_LOST (naming worker i in r->lost) on any other error: the
     * worker is gone. */
    (void)i;
    r->not_written = "flush_pipe()";
    return ROUTER_NOT_WRITTEN;
}

/* After a full turn at full speed the next turn follows at once, so a
 * small batch can wait for more: it leaves once it is worth a worker's
 * wake-up (OUTQ_TURN_MIN) or has waited linger_ns (a cold worker under
 * Zipf, whose queue fills slowly). With one or two workers a turn fills
 * every queue past OUTQ_TURN_MIN anyway. */
static bool worth_writing(const struct router *r, uint32_t i, uint64_t now_ns)
{
    const struct router_pipe *pp = &r->pipe[i];
    return outq_buffered(&pp->q) >= OUTQ_TURN_MIN || now_ns - pp->dirty_ns >= r->linger_ns;
}

int router_turn(struct router *r, struct source *src, uint64_t budget, uint64_t now_ns)
{
    /* TODO: Route up to budget messages; under --rate (r->rate), only those
     * the pacer says are due by now_ns, and when none is, ROUTER_SLEEP with
     * the time the next one is due in r->wake_ns. The held message goes
     * first, then the source's (at its end, ROUTER_END), each to
     * route_worker() of its id's hash,
     * into that worker's outq. A queue that refuses a message is flushed
     * and asked again; if it still refuses (its pipe is full, or it failed),
     * hold the message in r->held and stop: ROUTER_BLOCKED (or ROUTER_LOST).
     * Flush a queue that reaches OUTQ_BATCH unless its pipe is full (that
     * write could only fail until the writable callback), and before
     * returning flush every queue that holds bytes and whose pipe is not
     * full, so a slow source never leaves messages waiting for a batch to
     * fill; but after a
     * full turn at full speed (no --rate, nothing held), only the queues
     * worth_writing() says so of: the next turn follows at once. Note when
     * each queue went from empty to holding bytes (pipe[i].dirty_ns). Count
     * what you route in r->routed, and take it from the pacer. */
    (void)src;
    (void)budget;
    (void)now_ns;
    (void)worse;
    (void)flush_pipe;
    (void)worth_writing;
    r->not_written = "router_turn()";
    return ROUTER_NOT_WRITTEN;
}

int router_writable(struct router *r, uint32_t i)
{
    /* TODO: Pipe i can take bytes again: write what its queue holds. While it
     * is still full, ROUTER_BLOCKED. Once the queue is empty, ROUTER_RESUME
     * if the held message is for worker i (the source waits on this very
     * pipe), else ROUTER_OK: resuming the source for another worker's pipe
     * would only have the held message refused again. */
    (void)i;
    r->not_written = "router_writable()";
    return ROUTER_NOT_WRITTEN;
}

int router_drain(struct router *r)
{
    /* TODO: No new message from now on. A held message was never sent: it is
     * not part of the run (the dump will not count it), so forget it. Then
     * push out every queue: ROUTER_OK when all are empty, ROUTER_BLOCKED
     * when a pipe is full (the driver closes it once writable empties it),
     * ROUTER_LOST when a write failed. */
    r->not_written = "router_drain()";
    return ROUTER_NOT_WRITTEN;
}

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
    /* LAB: Write worker i's queued bytes (outq_flush) and keep pipe[i].full
     * true exactly while its pipe refuses them (router.h: the driver
     * watches a full pipe for writable, and only a full one). ROUTER_OK
     * when the queue is empty, ROUTER_BLOCKED when the pipe is full,
     * ROUTER_LOST (naming worker i in r->lost) on any other error: the
     * worker is gone. */
    /* LAB STUB: (void)i; */
    /* LAB STUB: r->not_written = "flush_pipe()"; */
    /* LAB STUB: return ROUTER_NOT_WRITTEN; */
    struct router_pipe *pp = &r->pipe[i];
    int rc = outq_flush(&pp->q);
    pp->full = rc == -EAGAIN;
    if (rc == -EAGAIN)
        return ROUTER_BLOCKED;
    if (rc < 0) {
        /* EPIPE: the worker has closed its end, which it only does by
         * dying; its death tells the driver why. */
        r->lost = i;
        return ROUTER_LOST;
    }
    return ROUTER_OK;
    /* END LAB */
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
    /* LAB: Route up to budget messages; under --rate (r->rate), only those
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
    /* LAB STUB: (void)src; */
    /* LAB STUB: (void)budget; */
    /* LAB STUB: (void)now_ns; */
    /* LAB STUB: (void)worse; */
    /* LAB STUB: (void)flush_pipe; */
    /* LAB STUB: (void)worth_writing; */
    /* LAB STUB: r->not_written = "router_turn()"; */
    /* LAB STUB: return ROUTER_NOT_WRITTEN; */
    if (r->rate) {
        uint64_t due = pacer_due(r->rate, now_ns);
        if (due == 0) {
            r->wake_ns = pacer_next_due(r->rate);
            return ROUTER_SLEEP;
        }
        if (due < budget)
            budget = due;
    }
    int status = ROUTER_OK;
    uint64_t done = 0;
    for (; done < budget; done++) {
        struct msg m;
        if (r->have_held) {
            m = r->held;
        } else if (!source_next(src, &m)) {
            status = ROUTER_END;
            break;
        }
        uint32_t i = route_worker(m.id_hash, r->n);
        struct outq *q = &r->pipe[i].q;
        if (!outq_dirty(q))
            r->pipe[i].dirty_ns = now_ns;
        if (outq_push(q, &m) < 0) {
            int rc = flush_pipe(r, i);
            if (rc != ROUTER_OK || outq_push(q, &m) < 0) {
                /* Backpressure: keep the message; the source waits. */
                r->held = m;
                r->have_held = true;
                status = rc == ROUTER_LOST ? ROUTER_LOST : ROUTER_BLOCKED;
                break;
            }
        }
        r->have_held = false;
        r->routed++;
        /* A full pipe is not written again until it is writable: a write
         * per message would only fail (EAGAIN) until the queue fills. */
        if (outq_buffered(q) >= OUTQ_BATCH && !r->pipe[i].full && flush_pipe(r, i) == ROUTER_LOST)
            status = ROUTER_LOST;
    }
    if (r->rate)
        pacer_take(r->rate, done);
    /* End of the turn: what is buffered leaves now, all of it when the
     * source is slow or stopped (nothing else would send it soon). A full
     * pipe is not asked again: its writable callback comes first. */
    bool all = r->rate || status != ROUTER_OK;
    for (uint32_t i = 0; i < r->n; i++)
        if (!r->pipe[i].full && outq_dirty(&r->pipe[i].q) && (all || worth_writing(r, i, now_ns)) &&
            flush_pipe(r, i) == ROUTER_LOST)
            status = ROUTER_LOST;
    return status;
    /* END LAB */
}

int router_writable(struct router *r, uint32_t i)
{
    /* LAB: Pipe i can take bytes again: write what its queue holds. While it
     * is still full, ROUTER_BLOCKED. Once the queue is empty, ROUTER_RESUME
     * if the held message is for worker i (the source waits on this very
     * pipe), else ROUTER_OK: resuming the source for another worker's pipe
     * would only have the held message refused again. */
    /* LAB STUB: (void)i; */
    /* LAB STUB: r->not_written = "router_writable()"; */
    /* LAB STUB: return ROUTER_NOT_WRITTEN; */
    int rc = flush_pipe(r, i);
    if (rc != ROUTER_OK)
        return rc;
    return r->have_held && route_worker(r->held.id_hash, r->n) == i ? ROUTER_RESUME : ROUTER_OK;
    /* END LAB */
}

int router_drain(struct router *r)
{
    /* LAB: No new message from now on. A held message was never sent: it is
     * not part of the run (the dump will not count it), so forget it. Then
     * push out every queue: ROUTER_OK when all are empty, ROUTER_BLOCKED
     * when a pipe is full (the driver closes it once writable empties it),
     * ROUTER_LOST when a write failed. */
    /* LAB STUB: r->not_written = "router_drain()"; */
    /* LAB STUB: return ROUTER_NOT_WRITTEN; */
    r->have_held = false;
    int status = ROUTER_OK;
    for (uint32_t i = 0; i < r->n; i++)
        status = worse(status, flush_pipe(r, i));
    return status;
    /* END LAB */
}

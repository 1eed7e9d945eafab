/* router.h - phase 3's router, a lesson module (router.c): messages from
 * the source into the workers' message queues, by hash, in batches, with
 * backpressure. It owns no descriptor and no loop handle: the driver
 * (pump.c) calls it once per loop turn, when a full pipe becomes writable
 * and at the drain, and acts on what each call returns.
 *
 * Invariants the driver relies on:
 *   - every message of one worker_id goes to pipe route_worker(hash, n), in
 *     source order; a message refused by a full pipe is held, and routed
 *     first at the next turn, never dropped and never sent twice;
 *   - pipe[i].full is true exactly while worker i's queue holds bytes its
 *     pipe refused (outq_flush() said -EAGAIN): the driver watches that pipe
 *     for writable while it is set, and only then, so the loop never spins
 *     on an always-writable pipe;
 *   - the router never closes a pipe and never ends the run: it says what
 *     happened, and the driver decides.
 * One owner (the main loop); nothing here blocks. */
#ifndef MSGROUTE_PHASE3_ROUTER_H
#define MSGROUTE_PHASE3_ROUTER_H

#include <stdbool.h>
#include <stdint.h>

#include "msg.h"
#include "outq.h"
#include "pacer.h"
#include "source.h"

/* The router's view of one worker's message pipe. */
struct router_pipe {
    struct outq q;     /* the batch queue (outq.h); set up by the driver */
    bool full;         /* its pipe refused bytes: wait until it is writable */
    uint64_t dirty_ns; /* when its queue last went from empty to holding bytes */
};

struct router {
    uint32_t n;               /* workers */
    struct router_pipe *pipe; /* n, the driver's */
    struct msg held;          /* refused by a full pipe; routed first next time */
    bool have_held;
    uint64_t routed;         /* messages accepted by a queue */
    struct pacer *rate;      /* --rate: when messages are due (pacer.h); NULL: as fast as possible */
    uint64_t wake_ns;        /* with ROUTER_SLEEP: when the next message is due */
    uint64_t linger_ns;      /* longest a small batch waits for more at the end of a full turn */
    uint32_t lost;           /* with ROUTER_LOST: the worker whose pipe failed */
    const char *not_written; /* with ROUTER_NOT_WRITTEN: the function */
};

enum router_status {
    ROUTER_OK = 0,      /* done: the budget was routed, or the queue is empty */
    ROUTER_RESUME,      /* router_writable(): empty now, and the held message waits on this pipe */
    ROUTER_BLOCKED,     /* a full pipe refused a message (held) or still holds bytes: wait for it */
    ROUTER_END,         /* router_turn(): the source has ended */
    ROUTER_SLEEP,       /* router_turn(): no message is due before wake_ns (--rate) */
    ROUTER_LOST,        /* a write failed (EPIPE: worker `lost` has gone); the driver waits for its death */
    ROUTER_NOT_WRITTEN, /* the starter: `not_written` is still a stub */
};

/* One loop turn at now_ns: routes up to budget messages from src (fewer
 * under --rate: those due; the held one first), flushes a queue that
 * reaches OUTQ_BATCH, and at the end flushes every queue that holds bytes
 * and whose pipe is not full; after a full turn of a source at full speed,
 * only those that hold OUTQ_TURN_MIN bytes or have held bytes for
 * linger_ns. ROUTER_OK, ROUTER_SLEEP, ROUTER_BLOCKED (a message is held),
 * ROUTER_END, ROUTER_LOST. */
int router_turn(struct router *r, struct source *src, uint64_t budget, uint64_t now_ns);

/* Pipe i can take bytes again: flushes it. ROUTER_BLOCKED (still full),
 * ROUTER_RESUME or ROUTER_OK (empty; RESUME when the held message is for
 * i), ROUTER_LOST. */
int router_writable(struct router *r, uint32_t i);

/* No new message from now on: forgets the held message (it was never
 * sent) and flushes every queue. ROUTER_OK (every queue is empty),
 * ROUTER_BLOCKED (some pipe is full), ROUTER_LOST. */
int router_drain(struct router *r);

#endif

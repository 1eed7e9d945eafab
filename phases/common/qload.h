/* qload.h - the load of --queries Q: Q queries per second, each at a random
 * id the source has already emitted, each with its intended time. Every
 * phase that asks queries from its main loop takes them from here: how a
 * query is answered (a table lookup, a query server, the shared state
 * table) is what a phase teaches; which query is due when is not.
 *
 * The intended time is the pacer's (pacer.h): the query's due time, not
 * when it was finally asked. Latency counts from it, so a stalled loop
 * cannot hide its stall (no coordinated omission). A late caller gets the
 * queries it missed back to back, at most `burst` of them.
 *
 * One qload per loop, used by one thread. */
#ifndef MSGROUTE_QLOAD_H
#define MSGROUTE_QLOAD_H

#include <stdbool.h>
#include <stdint.h>

#include "idmap.h"
#include "pacer.h"
#include "rng.h"
#include "source.h"

struct qload {
    struct pacer pace;
    struct rng rng;
    const struct source *src;
    struct idkey key; /* the last query's id */
};

/* One query to ask: which id, and when it was due. key points into the
 * qload and holds until its next qload_next(); its string is the source's
 * and outlives the run. */
struct qload_query {
    const struct idkey *key;
    uint32_t index; /* the id's index in the source (phase 4's state-table slot) */
    uint64_t intended_ns;
};

/* per_s queries per second from start_ns (none when per_s is 0), ids drawn
 * from src with a generator seeded with seed. */
void qload_init(struct qload *q, const struct source *src, double per_s, uint64_t start_ns, uint64_t burst,
                uint64_t seed);

/* Takes the next query due by now into *out; false when none is. A query
 * that falls due before the source has emitted any id is dropped: there is
 * nothing to ask about yet. */
bool qload_next(struct qload *q, uint64_t now, struct qload_query *out);

/* When the next query is due: a loop that sleeps wakes by then. */
static inline uint64_t qload_next_due(const struct qload *q)
{
    return pacer_next_due(&q->pace);
}

/* When a loop that answers its own queries and sleeps until its next
 * message (msg_due, e.g. pacer_next_due() of --rate) must wake instead:
 * the next query's due time when that comes first. A loop that slept to
 * msg_due alone would keep such a query waiting up to a whole gap between
 * messages, 10 ms at --rate 100. */
static inline uint64_t qload_wake_at(const struct qload *q, uint64_t msg_due)
{
    if (q->pace.period_ns == 0)
        return msg_due; /* no queries */
    uint64_t due = qload_next_due(q);
    return due < msg_due ? due : msg_due;
}

#endif

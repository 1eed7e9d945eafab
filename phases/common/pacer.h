/* pacer.h - events at a steady rate: --rate for messages, --queries for
 * queries. A token bucket in closed form: event k is due at
 * start + k / rate, so a pacer never drifts the way "sleep 1/rate after each
 * event" does, and a late caller catches up in a burst of at most `burst`
 * events (older credit is forfeited, as a full bucket overflows).
 *
 * The due time of an event is also its intended time: measuring latency
 * from it, not from when the event was finally issued, keeps a stalled
 * system from hiding its stall (no coordinated omission). */
#ifndef MSGROUTE_PACER_H
#define MSGROUTE_PACER_H

#include <stdint.h>

struct pacer {
    double period_ns; /* 1e9 / rate */
    uint64_t start_ns;
    uint64_t issued; /* events taken since start_ns */
    uint64_t burst;
};

static inline void pacer_init(struct pacer *p, double per_s, uint64_t start_ns, uint64_t burst)
{
    p->period_ns = per_s > 0 ? 1e9 / per_s : 0;
    p->start_ns = start_ns;
    p->issued = 0;
    p->burst = burst ? burst : 1;
}

/* The intended time of the next event. */
static inline uint64_t pacer_next_due(const struct pacer *p)
{
    return p->start_ns + (uint64_t)((double)p->issued * p->period_ns);
}

/* How many events are due at now (0 if none), after forfeiting credit beyond
 * the burst. Take them with pacer_take(). */
static inline uint64_t pacer_due(struct pacer *p, uint64_t now)
{
    if (p->period_ns == 0 || now < p->start_ns)
        return 0;
    uint64_t owed = (uint64_t)((double)(now - p->start_ns) / p->period_ns) + 1;
    if (owed <= p->issued)
        return 0;
    if (owed - p->issued > p->burst) {
        /* Move the origin so that exactly `burst` events are due now. */
        uint64_t skip = owed - p->issued - p->burst;
        p->start_ns += (uint64_t)((double)skip * p->period_ns);
        return p->burst;
    }
    return owed - p->issued;
}

static inline void pacer_take(struct pacer *p, uint64_t n)
{
    p->issued += n;
}

/* How many of a batch of at most max events may go at now, taken: what a
 * loop that sends batches asks before each one. max when the pacer is
 * unpaced (a rate of 0); 0 when none is due yet, and the next one is then
 * due at pacer_next_due(). Events due beyond max stay due for the next
 * call. */
static inline uint64_t pacer_grant(struct pacer *p, uint64_t now, uint64_t max)
{
    if (p->period_ns == 0)
        return max;
    uint64_t n = pacer_due(p, now);
    if (n > max)
        n = max;
    pacer_take(p, n);
    return n;
}

#endif

/* hist.c - bucket arithmetic for the log-linear histogram.
 *
 * Values below HIST_SUB are counted exactly, one bucket each. Above that, a
 * value keeps its top HIST_SUB_BITS + 1 bits: shifting it right until it lies
 * in [HIST_SUB, 2 * HIST_SUB) gives a shift count (the group) and a remainder
 * (the sub-bucket). The bucket index grows monotonically with the value, so
 * a percentile is one pass over the counters. */
#include "hist.h"

#include <string.h>

static unsigned bucket_of(uint64_t v)
{
    if (v < HIST_SUB)
        return (unsigned)v;
    unsigned b = 63u - (unsigned)__builtin_clzll(v);  /* highest set bit, >= HIST_SUB_BITS */
    unsigned shift = b - HIST_SUB_BITS;               /* drop the bits below the sub-bucket */
    unsigned sub = (unsigned)(v >> shift) - HIST_SUB; /* 0..HIST_SUB-1 */
    return (shift + 1) * HIST_SUB + sub;
}

/* The largest value that lands in bucket i. */
static uint64_t upper_edge(unsigned i)
{
    if (i < HIST_SUB)
        return i;
    unsigned shift = i / HIST_SUB - 1;
    uint64_t sub = i % HIST_SUB + HIST_SUB;
    return ((sub + 1) << shift) - 1;
}

void hist_init(struct hist *h)
{
    memset(h, 0, sizeof *h);
    h->min = UINT64_MAX;
}

void hist_record(struct hist *h, uint64_t v)
{
    h->counts[bucket_of(v)]++;
    h->count++;
    h->sum += (double)v;
    if (v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
}

void hist_merge(struct hist *into, const struct hist *from)
{
    for (unsigned i = 0; i < HIST_BUCKETS; i++)
        into->counts[i] += from->counts[i];
    into->count += from->count;
    into->sum += from->sum;
    if (from->min < into->min)
        into->min = from->min;
    if (from->max > into->max)
        into->max = from->max;
}

uint64_t hist_percentile(const struct hist *h, double p)
{
    if (h->count == 0)
        return 0;
    /* The rank of the p-th percentile, 1-based, at least 1. */
    uint64_t rank = (uint64_t)(p / 100.0 * (double)h->count + 0.5);
    if (rank < 1)
        rank = 1;
    if (rank > h->count)
        rank = h->count;
    uint64_t seen = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            uint64_t edge = upper_edge(i);
            return edge > h->max ? h->max : edge;
        }
    }
    return h->max;
}

double hist_mean(const struct hist *h)
{
    return h->count ? h->sum / (double)h->count : 0.0;
}

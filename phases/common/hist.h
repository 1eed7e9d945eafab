/* hist.h - a latency histogram of fixed size with log-linear buckets, in the
 * manner of HdrHistogram: values are grouped by their power of two, and each
 * power of two is split into HIST_SUB linear sub-buckets, so every recorded
 * value is kept to within 1/HIST_SUB (0.8 %) of its true value from 1 ns to
 * hours, in 64 * HIST_SUB counters (about 64 KiB) and O(1) per record.
 *
 * Plain data: merge two by adding counters, ship one through a pipe as bytes. */
#ifndef MSGROUTE_HIST_H
#define MSGROUTE_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 7
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_BUCKETS ((64 - HIST_SUB_BITS + 1) * HIST_SUB)

struct hist {
    uint64_t count, min, max;
    double sum;
    uint64_t counts[HIST_BUCKETS];
};

void hist_init(struct hist *h);
void hist_record(struct hist *h, uint64_t value);
void hist_merge(struct hist *into, const struct hist *from);

/* The smallest recorded-bucket value v such that at least p percent of the
 * values are <= v (reported as the bucket's upper edge, so never an
 * under-estimate). 0 when the histogram is empty. */
uint64_t hist_percentile(const struct hist *h, double p);
double hist_mean(const struct hist *h);

#endif

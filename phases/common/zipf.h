/* zipf.h - O(1) sampling of ranks 0..K-1 with P(k) proportional to 1/(k+1)^s.
 *
 * Walker's alias method (as in Vose, 1991): O(K) to build, then one uniform
 * draw and one comparison per sample, whatever K and s. Memory is 12 bytes per
 * rank. Rank 0 is the hottest id. */
#ifndef MSGROUTE_ZIPF_H
#define MSGROUTE_ZIPF_H

#include <stdint.h>

#include "rng.h"

struct zipf {
    uint32_t n;
    double *prob;    /* acceptance probability of column i */
    uint32_t *alias; /* the other rank of column i */
};

int zipf_init(struct zipf *z, uint32_t n, double s);
void zipf_free(struct zipf *z);

/* The exact probability of rank k, for tests and the load-balance maths. */
double zipf_pmf(uint32_t n, double s, uint32_t k);

static inline uint32_t zipf_sample(const struct zipf *z, struct rng *r)
{
    /* One 64-bit draw gives both the column (the integer part of x * n / 2^64)
     * and the coin (its fractional part, which is uniform and independent of
     * the column). Taking the coin from x's low bits instead would bias it,
     * since a column spans a non-integral number of their cycles. */
    unsigned __int128 p = (unsigned __int128)rng_next(r) * z->n;
    uint32_t col = (uint32_t)(p >> 64);
    double u = (double)((uint64_t)p >> 11) * 0x1.0p-53;
    return u < z->prob[col] ? col : z->alias[col];
}

#endif

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
    uint64_t x = rng_next(r);
    uint32_t col = (uint32_t)(((unsigned __int128)x * z->n) >> 64);
    /* The low 53 bits are independent enough of the high ones used above. */
    double u = (double)(x & ((1ull << 53) - 1)) * 0x1.0p-53;
    return u < z->prob[col] ? col : z->alias[col];
}

#endif

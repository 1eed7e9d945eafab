/* zipf.c - building the alias table (Vose's stable variant). */
#include "zipf.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

static double harmonic(uint32_t n, double s)
{
    /* Summed from the smallest term up so that rounding errors stay small. */
    double sum = 0;
    for (uint32_t k = n; k >= 1; k--)
        sum += pow((double)k, -s);
    return sum;
}

double zipf_pmf(uint32_t n, double s, uint32_t k)
{
    return pow((double)k + 1, -s) / harmonic(n, s);
}

int zipf_init(struct zipf *z, uint32_t n, double s)
{
    z->n = n;
    z->prob = malloc((size_t)n * sizeof *z->prob);
    z->alias = malloc((size_t)n * sizeof *z->alias);
    uint32_t *small = malloc((size_t)n * sizeof *small);
    uint32_t *large = malloc((size_t)n * sizeof *large);
    if (!z->prob || !z->alias || !small || !large || n == 0) {
        free(small);
        free(large);
        zipf_free(z);
        return n == 0 ? -EINVAL : -ENOMEM;
    }
    double h = harmonic(n, s);
    uint32_t ns = 0, nl = 0;
    for (uint32_t k = 0; k < n; k++) {
        z->prob[k] = pow((double)k + 1, -s) / h * n; /* scaled so the mean is 1 */
        z->alias[k] = k;
        if (z->prob[k] < 1.0)
            small[ns++] = k;
        else
            large[nl++] = k;
    }
    /* Each small column is topped up to 1 by a large one, which gives that much away. */
    while (ns && nl) {
        uint32_t lo = small[--ns], hi = large[nl - 1];
        z->alias[lo] = hi;
        z->prob[hi] -= 1.0 - z->prob[lo];
        if (z->prob[hi] < 1.0) {
            nl--;
            small[ns++] = hi;
        }
    }
    /* Whatever is left is 1 up to rounding. */
    while (nl)
        z->prob[large[--nl]] = 1.0;
    while (ns)
        z->prob[small[--ns]] = 1.0;
    free(small);
    free(large);
    return 0;
}

void zipf_free(struct zipf *z)
{
    free(z->prob);
    free(z->alias);
    z->prob = NULL;
    z->alias = NULL;
}

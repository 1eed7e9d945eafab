/* qload.c - which query is due when, and at which id (qload.h). */
#include "qload.h"

void qload_init(struct qload *q, const struct source *src, double per_s, uint64_t start_ns, uint64_t burst,
                uint64_t seed)
{
    pacer_init(&q->pace, per_s, start_ns, burst);
    rng_seed(&q->rng, seed);
    q->src = src;
}

bool qload_next(struct qload *q, uint64_t now, struct qload_query *out)
{
    /* pacer_due() forfeits the credit beyond the burst once; asked again
     * after each take, it counts the rest down to 0. */
    while (pacer_due(&q->pace, now) > 0) {
        out->intended_ns = pacer_next_due(&q->pace);
        pacer_take(&q->pace, 1);
        uint32_t i = source_random_seen(q->src, &q->rng);
        if (i != IDMAP_NONE) {
            q->key = source_id(q->src, i);
            out->key = &q->key;
            out->index = i;
            return true;
        }
    }
    return false;
}

/* shard.c - delivering one message to its machine. */
#include "shard.h"

#include <errno.h>

#include "payload.h"
#include "work.h"

int shard_init(struct shard *s, uint32_t expected_ids, uint64_t work_ns)
{
    s->handled = 0;
    s->work_iters = work_iterations_for(work_ns);
    return table_init(&s->table, expected_ids);
}

void shard_free(struct shard *s)
{
    table_free(&s->table);
}

void shard_apply_to(struct shard *s, struct machine *mc, const struct msg *m, const uint8_t *payload)
{
    bool intact = m->payload_len == 0 || payload_check(payload, m->seq, m->payload_len);
    if (s->work_iters)
        work_run(s->work_iters);
    sm_apply(mc, m->seq, (enum event)m->event, m->payload_len, intact);
    s->handled++;
}

struct machine *shard_apply(struct shard *s, const struct msg *m, const uint8_t *payload)
{
    struct machine *mc = table_upsert(&s->table, m->id, m->id_len, m->id_hash);
    if (mc)
        shard_apply_to(s, mc, m, payload);
    return mc;
}

int shard_deliver(struct shard *s, const struct msg *m, const uint8_t *payload)
{
    return shard_apply(s, m, payload) ? 0 : -ENOMEM;
}

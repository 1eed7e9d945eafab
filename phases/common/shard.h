/* shard.h - the machines one worker owns and the one way a message reaches
 * them: look up (or create) the machine, verify the payload, do the simulated
 * work, apply the event. Every phase delivers through shard_deliver(), so
 * "the same input gives the same dump" is a property of this file, not of
 * each phase's care.
 *
 * Owned by exactly one thread of one process. */
#ifndef MSGROUTE_SHARD_H
#define MSGROUTE_SHARD_H

#include "fnv.h"
#include "table.h"

struct recover_area;

struct shard {
    struct table table;
    uint64_t work_iters; /* --work-ns, as loop iterations (work.h) */
    uint64_t handled;
    /* --recover (recover.h): NULL without it, so a run without it pays one
     * predictable branch per message. */
    struct recover_area *rec;
    uint64_t rec_next;   /* handled count of the next checkpoint */
    uint64_t poison_seq; /* the test hook of recover.h; 0 = none */
};

int shard_init(struct shard *s, uint32_t expected_ids, uint64_t work_ns);
void shard_free(struct shard *s);

/* --recover, in a worker after shard_init(): loads the area's last
 * checkpoint (after a restart), then keeps one there every area->every
 * messages and publishes the position of each message applied. A NULL area
 * (no --recover) does nothing. 0, or -ENOMEM. */
int shard_recover_from(struct shard *s, struct recover_area *area);

/* Applies m. payload holds m->payload_len bytes as they arrived. Returns 0,
 * or -ENOMEM when a new machine cannot be created (the message is not
 * applied, and the caller must not pretend it was). */
int shard_deliver(struct shard *s, const struct msg *m, const uint8_t *payload);

/* The machine of m's id, created IDLE if new; NULL when out of memory (a
 * machine that cannot be created gets no message: -ENOMEM above). With
 * shard_apply_to(), shard_deliver() in two steps, for a phase that keeps
 * where each machine is (phase 4, by state-table slot) and so looks up only
 * a machine it has not met. The pointer is valid until the next machine is
 * created. */
static inline struct machine *shard_machine(struct shard *s, const struct msg *m)
{
    return table_upsert(&s->table, m->id, m->id_len, m->id_hash);
}

/* Applies m to mc, which must be this shard's machine of m's id (a pointer
 * shard_machine() returned, or table_at() of a handle it had). */
void shard_apply_to(struct shard *s, struct machine *mc, const struct msg *m, const uint8_t *payload);

/* The machine of id, or NULL: a lookup that creates nothing, as a query's. */
static inline const struct machine *shard_find(const struct shard *s, const char *id, size_t len)
{
    return table_find(&s->table, id, len, fnv1a64(id, len));
}

/* A hint that m will be delivered soon (see table_prefetch). */
static inline void shard_prefetch(const struct shard *s, const struct msg *m)
{
    table_prefetch(&s->table, m->id_hash);
}

#endif

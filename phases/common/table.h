/* table.h - the machines of one worker (or of the one loop in phases 1-2),
 * keyed by worker_id, created on first sight.
 *
 * Machines sit in a dense array in creation order, indexed by an idmap, so a
 * message costs one hash probe and no allocation; the array grows by doubling
 * when a new id arrives (amortised, never per message). Not thread-safe: each
 * table has exactly one owner. Pointers into it are valid until the next
 * table_upsert(). */
#ifndef MSGROUTE_TABLE_H
#define MSGROUTE_TABLE_H

#include "idmap.h"
#include "sm.h"

struct table {
    struct idmap index;
    struct machine *machines; /* index.count valid entries */
    uint32_t cap;
};

int table_init(struct table *t, uint32_t expected);
void table_free(struct table *t);

static inline uint32_t table_count(const struct table *t)
{
    return t->index.count;
}

/* The machine of id, or NULL when it has never received a message.
 *
 * The same probe as idmap_find(), but it compares against the machine's own
 * copy of its id: the machine's cache lines are needed anyway, so a hit costs
 * two lines (slot, machine) instead of three (slot, key, machine). With
 * 10 000 machines the table is larger than L2, and that line is ~20 % of
 * phase 1's time (bench/core_bench). */
static inline struct machine *table_find(const struct table *t, const char *id, size_t len, uint64_t hash)
{
    const struct idmap *ix = &t->index;
    for (uint32_t pos = (uint32_t)hash & ix->mask;; pos = (pos + 1) & ix->mask) {
        uint32_t v = ix->slots[pos];
        if (v == 0)
            return NULL;
        struct machine *m = &t->machines[v - 1];
        if (m->id_hash == hash && m->id_len == len && memcmp(m->id, id, len) == 0)
            return m;
    }
}

/* Asks the CPU to start loading the machine of an id that will be looked up
 * soon. Only a hint: with 10 000 machines the table is larger than L2, and
 * pulling a batch of messages first and prefetching as they are pulled lets
 * those cache misses overlap instead of being paid one after another. */
static inline void table_prefetch(const struct table *t, uint64_t hash)
{
    uint32_t v = t->index.slots[(uint32_t)hash & t->index.mask];
    if (v) {
        const char *m = (const char *)&t->machines[v - 1];
        __builtin_prefetch(m, 1);
        __builtin_prefetch(m + 64, 0);
    }
}

/* Creates the machine of id (IDLE); the slow path of table_upsert. NULL only
 * when out of memory or past IDMAP_MAX_IDS machines. */
struct machine *table_create(struct table *t, const char *id, size_t len, uint64_t hash);

/* The machine of id, created IDLE if new. NULL as table_create. */
static inline struct machine *table_upsert(struct table *t, const char *id, size_t len, uint64_t hash)
{
    struct machine *m = table_find(t, id, len, hash);
    return m ? m : table_create(t, id, len, hash);
}

#endif

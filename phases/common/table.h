/* table.h - the machines of one worker (or of the one loop in phases 1-2),
 * keyed by worker_id, created on first sight.
 *
 * Machines sit in a dense array in creation order, found through a probe
 * array of their indexes (linear probing, kept at most half full, as
 * idmap.c). The machine is its own key: it holds its id and the id's hash,
 * so the table keeps no second copy of either, and a machine costs its
 * struct plus two probe slots. A message costs one hash probe and no
 * allocation; both arrays grow by doubling when a new id arrives
 * (amortised, never per message). Not thread-safe: each table has exactly
 * one owner. Pointers into it are valid until the next table_upsert(). */
#ifndef MSGROUTE_TABLE_H
#define MSGROUTE_TABLE_H

#include <string.h>

#include "idmap.h"
#include "sm.h"

struct table {
    struct machine *machines; /* count valid entries, in creation order */
    uint32_t *slots;          /* probe array of index+1 (0 = empty), mask+1 entries */
    uint32_t count, cap, mask;
};

int table_init(struct table *t, uint32_t expected);
void table_free(struct table *t);

static inline uint32_t table_count(const struct table *t)
{
    return t->count;
}

/* The probe slot holding the machine of id, or the empty slot where it
 * would go. It compares against the machine's own copy of its id: the
 * machine's cache lines are needed anyway, so a hit costs two lines (slot,
 * machine). With 10 000 machines the table is larger than L2, and that
 * line is ~20 % of phase 1's time (bench/core_bench). */
static inline uint32_t table_probe(const struct table *t, const char *id, size_t len, uint64_t hash)
{
    for (uint32_t pos = (uint32_t)hash & t->mask;; pos = (pos + 1) & t->mask) {
        uint32_t v = t->slots[pos];
        if (v == 0)
            return pos;
        const struct machine *m = &t->machines[v - 1];
        if (m->id_hash == hash && m->id_len == len && memcmp(m->id, id, len) == 0)
            return pos;
    }
}

/* The machine of id, or NULL when it has never received a message. */
static inline struct machine *table_find(const struct table *t, const char *id, size_t len, uint64_t hash)
{
    uint32_t v = t->slots[table_probe(t, id, len, hash)];
    return v ? &t->machines[v - 1] : NULL;
}

/* Asks the CPU to start loading the machine of an id that will be looked up
 * soon. Only a hint: with 10 000 machines the table is larger than L2, and
 * pulling a batch of messages first and prefetching as they are pulled lets
 * those cache misses overlap instead of being paid one after another. */
static inline void table_prefetch(const struct table *t, uint64_t hash)
{
    uint32_t v = t->slots[(uint32_t)hash & t->mask];
    if (v) {
        const char *m = (const char *)&t->machines[v - 1];
        __builtin_prefetch(m, 1);
        __builtin_prefetch(m + 64, 0);
    }
}

/* Creates the machine of id (IDLE); the slow path of table_upsert (an id
 * that has a machine already gets that one back, untouched). NULL only when
 * out of memory, past IDMAP_MAX_IDS machines, or for an id of 0 or more
 * than MSG_ID_MAX bytes. */
struct machine *table_create(struct table *t, const char *id, size_t len, uint64_t hash);

/* The machine of id, created IDLE if new. NULL as table_create. */
static inline struct machine *table_upsert(struct table *t, const char *id, size_t len, uint64_t hash)
{
    struct machine *m = table_find(t, id, len, hash);
    return m ? m : table_create(t, id, len, hash);
}

/* For machines that arrive as a list from outside (a checkpoint another
 * host sent): the index of the first machine whose id an earlier one of the
 * list already has, n when every id is distinct, or -ENOMEM. A list of n
 * machines costs a probe array of 2n slots while it runs. */
int64_t table_first_repeat(const struct machine *ms, uint32_t n);

#endif

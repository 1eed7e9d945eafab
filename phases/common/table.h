/* table.h - the machines of one worker (or of the one loop in phases 1-2),
 * keyed by worker_id, created on first sight.
 *
 * Machines sit back to back in one block in creation order, each only as
 * long as its id needs (machine_size(), sm.h): a machine of a 9-byte id
 * takes 112 bytes, not sizeof(struct machine). A probe array (linear
 * probing, kept at most half full, as idmap.c) holds each machine's handle,
 * its offset in the block in 8-byte words plus one, so 0 is an empty slot.
 * The machine is its own key: it holds its id and the id's hash, so the
 * table keeps no second copy of either, and a machine costs its record
 * plus two probe slots. A message costs one hash probe and no allocation;
 * both arrays grow by doubling when a new id arrives (amortised, never per
 * message). Not thread-safe: each table has exactly one owner.
 *
 * The block always has a whole struct machine's bytes free after its last
 * record, so copying any machine out as a struct (q->result = *m) stays in
 * bounds; the bytes past the id's NUL are then not the machine's. Pointers
 * into it are valid until the next table_upsert(); handles, for the life
 * of the table. */
#ifndef MSGROUTE_TABLE_H
#define MSGROUTE_TABLE_H

#include <string.h>

#include "idmap.h"
#include "sm.h"

struct table {
    uint8_t *recs;   /* count machines back to back, in creation order */
    size_t used;     /* bytes of recs the machines take */
    size_t cap;      /* bytes of recs allocated, always >= used + sizeof(struct machine) */
    uint32_t *slots; /* probe array of handles (0 = empty), mask+1 entries */
    uint32_t count, mask;
};

int table_init(struct table *t, uint32_t expected);
void table_free(struct table *t);

static inline uint32_t table_count(const struct table *t)
{
    return t->count;
}

/* The machine of a handle that table_handle() gave for this table. */
static inline struct machine *table_at(const struct table *t, uint32_t handle)
{
    return (struct machine *)(t->recs + (size_t)(handle - 1) * 8);
}

/* A number >= 1 that finds m again (table_at()) however the table grows. */
static inline uint32_t table_handle(const struct table *t, const struct machine *m)
{
    return (uint32_t)(((const uint8_t *)m - t->recs) / 8 + 1);
}

/* The first machine created, or NULL in an empty table; with table_next(),
 * every machine in creation order. */
static inline struct machine *table_first(const struct table *t)
{
    return t->count ? (struct machine *)t->recs : NULL;
}

/* The machine created after m, or NULL when m is the last. */
static inline struct machine *table_next(const struct table *t, const struct machine *m)
{
    const uint8_t *next = (const uint8_t *)m + machine_size(m->id_len);
    return next < t->recs + t->used ? (struct machine *)next : NULL;
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
        const struct machine *m = table_at(t, v);
        if (m->id_hash == hash && m->id_len == len && memcmp(m->id, id, len) == 0)
            return pos;
    }
}

/* The machine of id, or NULL when it has never received a message. */
static inline struct machine *table_find(const struct table *t, const char *id, size_t len, uint64_t hash)
{
    uint32_t v = t->slots[table_probe(t, id, len, hash)];
    return v ? table_at(t, v) : NULL;
}

/* Asks the CPU to start loading the machine of an id that will be looked up
 * soon. Only a hint: with 10 000 machines the table is larger than L2, and
 * pulling a batch of messages first and prefetching as they are pulled lets
 * those cache misses overlap instead of being paid one after another. */
static inline void table_prefetch(const struct table *t, uint64_t hash)
{
    uint32_t v = t->slots[(uint32_t)hash & t->mask];
    if (v) {
        const char *m = (const char *)table_at(t, v);
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

/* Places a copy of m, a whole machine from outside (a checkpoint), in the
 * table: its machine of m's id, created if new, then every field of m, but
 * only the bytes machine_size() gives it. NULL as table_create. */
struct machine *table_put(struct table *t, const struct machine *m);

/* Copies up to max machines into out, whole structs, in creation order from
 * *from on (table_first() to begin), and moves *from past them: NULL after
 * the last. Returns how many it copied. For machines that leave the table
 * as a list of whole structs: a frame of records, a checkpoint. */
uint32_t table_copy_out(const struct table *t, const struct machine **from, struct machine *out, uint32_t max);

/* For machines that arrive as a list from outside (a checkpoint another
 * host sent): the index of the first machine whose id an earlier one of the
 * list already has, n when every id is distinct, or -ENOMEM. A list of n
 * machines costs a probe array of 2n slots while it runs. */
int64_t table_first_repeat(const struct machine *ms, uint32_t n);

#endif

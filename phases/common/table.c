/* table.c - machines back to back in one block, behind a probe array of
 * handles. */
#include "table.h"

#include <errno.h>
#include <stdlib.h>

/* Rebuilds the probe array at nslots (a power of two) from the machines'
 * own hashes: nothing else holds them. */
static int grow_slots(struct table *t, uint32_t nslots)
{
    uint32_t *slots = calloc(nslots, sizeof *slots);
    if (!slots)
        return -ENOMEM;
    uint32_t mask = nslots - 1;
    for (const struct machine *m = table_first(t); m; m = table_next(t, m)) {
        /* Every machine the walk meets is set; clang's analyzer loses that
         * count is 0 when table_init() calls here.
         * NOLINTNEXTLINE(clang-analyzer-core.CallAndMessage) */
        probe_place(slots, mask, m->id_hash, table_handle(t, m));
    }
    free(t->slots);
    t->slots = slots;
    t->mask = mask;
    return 0;
}

/* Probe slots for n machines: a power of two, at least 16, at most half
 * full. */
static uint32_t slots_for(uint32_t n)
{
    uint32_t nslots = 16;
    while (nslots < 2 * (uint64_t)n)
        nslots *= 2;
    return nslots;
}

/* Makes room for one more machine of any id, keeping a whole struct's
 * bytes free after it (struct table's cap). The block doubles, so a table
 * that grows to n machines copies each about once; pages of it that no
 * machine has reached yet are never touched. */
static int reserve_record(struct table *t)
{
    if (t->cap - t->used >= 2 * sizeof(struct machine))
        return 0;
    size_t cap = t->cap * 2;
    uint8_t *recs = realloc(t->recs, cap);
    if (!recs)
        return -ENOMEM;
    t->recs = recs;
    t->cap = cap;
    return 0;
}

int table_init(struct table *t, uint32_t expected)
{
    memset(t, 0, sizeof *t);
    uint32_t n = expected < IDMAP_MAX_IDS ? expected : IDMAP_MAX_IDS;
    /* Ids of up to 15 bytes, the common case, take machine_size(15) each:
     * a table sized for them grows only when ids run longer. */
    t->cap = (size_t)(n ? n : 64) * machine_size(15) + sizeof(struct machine);
    t->recs = malloc(t->cap);
    if (!t->recs || grow_slots(t, slots_for(n)) < 0) {
        table_free(t);
        return -ENOMEM;
    }
    return 0;
}

void table_free(struct table *t)
{
    free(t->recs);
    free(t->slots);
    memset(t, 0, sizeof *t);
}

struct machine *table_create(struct table *t, const char *id, size_t len, uint64_t hash)
{
    if (t->count >= IDMAP_MAX_IDS || len == 0 || len > MSG_ID_MAX)
        return NULL;
    if (reserve_record(t) < 0)
        return NULL;
    if (2 * (uint64_t)(t->count + 1) > (uint64_t)t->mask + 1 && grow_slots(t, (t->mask + 1) * 2) < 0)
        return NULL;
    uint32_t pos = table_probe(t, id, len, hash);
    if (t->slots[pos]) /* not new after all: a create is never a reset */
        return table_at(t, t->slots[pos]);
    struct machine *m = (struct machine *)(t->recs + t->used);
    sm_init(m, id, len, hash); /* a whole struct: reserve_record() made room */
    t->slots[pos] = table_handle(t, m);
    t->used += machine_size(len);
    t->count++;
    return m;
}

struct machine *table_put(struct table *t, const struct machine *m)
{
    struct machine *dst = table_create(t, m->id, m->id_len, m->id_hash);
    if (dst)
        memcpy(dst, m, machine_size(m->id_len)); /* past that is the next machine's */
    return dst;
}

uint32_t table_copy_out(const struct table *t, const struct machine **from, struct machine *out, uint32_t max)
{
    uint32_t n = 0;
    for (; *from && n < max; n++) {
        size_t size = machine_size((*from)->id_len);
        /* The record alone, and zeros for the rest of the id: whatever
         * follows a record in the block is not this machine's. */
        memcpy(&out[n], *from, size);
        memset((uint8_t *)&out[n] + size, 0, sizeof out[n] - size);
        *from = table_next(t, *from);
    }
    return n;
}

int64_t table_first_repeat(const struct machine *ms, uint32_t n)
{
    /* A table whose block is the list: whole structs are records too, so a
     * list machine's handle is its index times sizeof(struct machine) / 8,
     * plus one. Its probe array alone is new. */
    _Static_assert(sizeof(struct machine) % 8 == 0, "a whole struct machine is a record");
    const uint32_t words = sizeof(struct machine) / 8;
    struct table seen = {.recs = (uint8_t *)ms};
    uint32_t nslots = slots_for(n);
    if (!(seen.slots = calloc(nslots, sizeof *seen.slots)))
        return -ENOMEM;
    seen.mask = nslots - 1;
    uint32_t i = 0;
    for (; i < n; i++) {
        uint32_t pos = table_probe(&seen, ms[i].id, ms[i].id_len, ms[i].id_hash);
        if (seen.slots[pos])
            break;
        seen.slots[pos] = i * words + 1;
    }
    free(seen.slots);
    return i;
}

/* table.c - machines in a dense array behind a probe array of indexes. */
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
    for (uint32_t i = 0; i < t->count; i++) {
        /* machines[0, count) are always set; clang's analyzer loses that
         * count is 0 when table_init() calls here.
         * NOLINTNEXTLINE(clang-analyzer-core.CallAndMessage) */
        probe_place(slots, mask, t->machines[i].id_hash, i + 1);
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

int table_init(struct table *t, uint32_t expected)
{
    memset(t, 0, sizeof *t);
    uint32_t nslots = slots_for(expected < IDMAP_MAX_IDS ? expected : IDMAP_MAX_IDS);
    t->cap = expected ? expected : 64;
    t->machines = malloc((size_t)t->cap * sizeof *t->machines);
    if (!t->machines || grow_slots(t, nslots) < 0) {
        table_free(t);
        return -ENOMEM;
    }
    return 0;
}

void table_free(struct table *t)
{
    free(t->machines);
    free(t->slots);
    memset(t, 0, sizeof *t);
}

struct machine *table_create(struct table *t, const char *id, size_t len, uint64_t hash)
{
    if (t->count >= IDMAP_MAX_IDS || len == 0 || len > MSG_ID_MAX)
        return NULL;
    if (t->count == t->cap) {
        uint32_t cap = t->cap * 2;
        struct machine *ms = realloc(t->machines, (size_t)cap * sizeof *ms);
        if (!ms)
            return NULL;
        t->machines = ms;
        t->cap = cap;
    }
    if (2 * (uint64_t)(t->count + 1) > (uint64_t)t->mask + 1 && grow_slots(t, (t->mask + 1) * 2) < 0)
        return NULL;
    uint32_t pos = table_probe(t, id, len, hash);
    if (t->slots[pos]) /* not new after all: a create is never a reset */
        return &t->machines[t->slots[pos] - 1];
    uint32_t i = t->count++;
    sm_init(&t->machines[i], id, len, hash);
    t->slots[pos] = i + 1;
    return &t->machines[i];
}

int64_t table_first_repeat(const struct machine *ms, uint32_t n)
{
    /* A table whose machines are the list: its probe array alone is new. */
    struct table seen = {.machines = (struct machine *)ms};
    uint32_t nslots = slots_for(n);
    if (!(seen.slots = calloc(nslots, sizeof *seen.slots)))
        return -ENOMEM;
    seen.mask = nslots - 1;
    uint32_t i = 0;
    for (; i < n; i++) {
        uint32_t pos = table_probe(&seen, ms[i].id, ms[i].id_len, ms[i].id_hash);
        if (seen.slots[pos])
            break;
        seen.slots[pos] = i + 1;
    }
    free(seen.slots);
    return i;
}

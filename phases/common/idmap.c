/* idmap.c - linear probing over a power-of-two array kept at most half full.
 *
 * Half full bounds an unsuccessful probe to about 2.5 slots on average; the
 * slots hold 32-bit indexes, not keys, so the probe array of 10 000 ids is
 * 128 KiB and stays in L2 while the keys stay dense for iteration.
 *
 * Both arrays are main-process memory (mainmem.h): the map is the source's,
 * and a forked worker neither inherits nor reads it. */
#include "idmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mainmem.h"

static int grow_slots(struct idmap *m, uint32_t nslots)
{
    uint32_t *slots = mainmem_alloc((size_t)nslots * sizeof *slots, false);
    if (!slots)
        return -ENOMEM;
    uint32_t mask = nslots - 1;
    for (uint32_t i = 0; i < m->count; i++) {
        /* keys[0, count) are always set; clang's analyzer loses that count
         * is 0 when idmap_init() calls here.
         * NOLINTNEXTLINE(clang-analyzer-core.CallAndMessage) */
        probe_place(slots, mask, m->keys[i].hash, i + 1);
    }
    if (m->slots)
        mainmem_free(m->slots, ((size_t)m->mask + 1) * sizeof *m->slots);
    m->slots = slots;
    m->mask = mask;
    return 0;
}

int idmap_init(struct idmap *m, uint32_t expected)
{
    memset(m, 0, sizeof *m);
    uint32_t nslots = 16;
    while (nslots < 2 * (uint64_t)expected && nslots < 2 * IDMAP_MAX_IDS)
        nslots *= 2;
    m->keys_cap = expected ? expected : 8;
    m->keys = mainmem_alloc((size_t)m->keys_cap * sizeof *m->keys, false);
    if (!m->keys || grow_slots(m, nslots) < 0) {
        idmap_free(m);
        return -ENOMEM;
    }
    return 0;
}

int idmap_init_fixed(struct idmap *m, uint32_t cap)
{
    int rc = idmap_init(m, cap);
    m->fixed = true;
    return rc;
}

void idmap_free(struct idmap *m)
{
    mainmem_free(m->keys, (size_t)m->keys_cap * sizeof *m->keys);
    if (m->slots)
        mainmem_free(m->slots, ((size_t)m->mask + 1) * sizeof *m->slots);
    memset(m, 0, sizeof *m);
}

uint32_t idmap_intern(struct idmap *m, const char *id, size_t len, uint64_t hash, int *inserted)
{
    uint32_t pos = idmap_probe(m, id, len, hash);
    if (m->slots[pos]) {
        if (inserted)
            *inserted = 0;
        return m->slots[pos] - 1;
    }
    if (m->count >= IDMAP_MAX_IDS || len == 0 || len > MSG_ID_MAX)
        return IDMAP_NONE;
    if (m->count == m->keys_cap) {
        if (m->fixed)
            return IDMAP_NONE;
        uint32_t cap = m->keys_cap * 2;
        struct idkey *keys = mainmem_resize(m->keys, (size_t)m->keys_cap * sizeof *keys, (size_t)cap * sizeof *keys);
        if (!keys)
            return IDMAP_NONE;
        m->keys = keys;
        m->keys_cap = cap;
    }
    if (2 * (uint64_t)(m->count + 1) > (uint64_t)m->mask + 1) {
        if (grow_slots(m, (m->mask + 1) * 2) < 0)
            return IDMAP_NONE;
        pos = idmap_probe(m, id, len, hash);
    }
    uint32_t index = m->count++;
    struct idkey *k = &m->keys[index];
    k->hash = hash;
    k->len = (uint8_t)len;
    memcpy(k->s, id, len);
    k->s[len] = '\0';
    m->slots[pos] = index + 1;
    if (inserted)
        *inserted = 1;
    return index;
}

/* idmap.h - an open-addressing map from worker_id to a dense index 0..count-1.
 *
 * A trace's source interns its ids with it, so that a message carries a
 * pointer to its id, and phase 4 names its shared state-table slots by its
 * indexes. (The generator's ids are "id-<index>" and need no map: source.h.)
 * Lookups compare the cached 64-bit hash before any bytes, so a hit costs
 * one probe into a small array and one memcmp. Its arrays are main-process
 * memory (mainmem.h): no forked worker inherits them. (A machine table,
 * table.h, does not use it: a machine is its own key.)
 *
 * A key is 24 bytes and its string lives apart, packed in chunks that are
 * never moved or freed before the map: an id costs what it is long, not
 * MSG_ID_MAX, and the string a message borrows stays where it is however
 * the map grows.
 *
 * Not thread-safe. Indexes and id strings are stable; growth rehashes the
 * probe array and reallocates the key array, so pointers returned by
 * idmap_key() are valid only until the next insertion. */
#ifndef MSGROUTE_IDMAP_H
#define MSGROUTE_IDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "msg.h"

#define IDMAP_MAX_IDS (1u << 24) /* 16 M distinct ids: a stated limit, not a guess */
#define IDMAP_NONE UINT32_MAX

struct idkey {
    uint64_t hash;
    const char *s; /* NUL-terminated, in the map's string chunks */
    uint8_t len;
};

struct idchunk; /* idmap.c: a block of id strings */

struct idmap {
    struct idkey *keys; /* dense, count entries */
    uint32_t *slots;    /* probe array of index+1 (0 = empty), mask+1 entries */
    uint32_t count, keys_cap, mask;
    bool fixed;             /* keys never move: idmap_key() pointers stay valid (at most keys_cap ids) */
    struct idchunk *chunks; /* newest first */
    char *free_at;          /* the next string's place in chunks */
    size_t free_len;        /* bytes left there */
};

/* Puts value (an index + 1) in the first empty slot from hash's home: the
 * insertion step of linear probing, shared by every probe array of the
 * suite (this map's and a machine table's, table.c) when it is rebuilt.
 * An id's home is its hash's low bits, never its high ones: FNV-1a's prime
 * is 2^40 + 0x1b3, so the last bytes of an id reach the high bits only
 * through carries, and ids that differ only in their last digits ("id-17",
 * "id-18") mostly share their high bits and would crowd the same slots. */
static inline void probe_place(uint32_t *slots, uint32_t mask, uint64_t hash, uint32_t value)
{
    uint32_t pos = (uint32_t)hash & mask;
    while (slots[pos])
        pos = (pos + 1) & mask;
    slots[pos] = value;
}

int idmap_init(struct idmap *m, uint32_t expected);

/* A map whose keys never move, for ids handed out while more are interned:
 * room for exactly cap ids, allocated once (the pages are touched only as
 * ids arrive); idmap_intern() returns IDMAP_NONE past cap. */
int idmap_init_fixed(struct idmap *m, uint32_t cap);

void idmap_free(struct idmap *m);

/* The slot of the probe array holding id, or the empty slot where it would
 * go. Inline: it is the one lookup on every message's path. */
static inline uint32_t idmap_probe(const struct idmap *m, const char *id, size_t len, uint64_t hash)
{
    uint32_t pos = (uint32_t)hash & m->mask;
    for (;;) {
        uint32_t v = m->slots[pos];
        if (v == 0)
            return pos;
        const struct idkey *k = &m->keys[v - 1];
        if (k->hash == hash && k->len == len && memcmp(k->s, id, len) == 0)
            return pos;
        pos = (pos + 1) & m->mask;
    }
}

/* The index of id, or IDMAP_NONE. */
static inline uint32_t idmap_find(const struct idmap *m, const char *id, size_t len, uint64_t hash)
{
    uint32_t v = m->slots[idmap_probe(m, id, len, hash)];
    return v ? v - 1 : IDMAP_NONE;
}

/* The index of id, inserting it if new (*inserted tells which). Returns
 * IDMAP_NONE when out of memory or past IDMAP_MAX_IDS. */
uint32_t idmap_intern(struct idmap *m, const char *id, size_t len, uint64_t hash, int *inserted);

static inline const struct idkey *idmap_key(const struct idmap *m, uint32_t index)
{
    return &m->keys[index];
}

#endif

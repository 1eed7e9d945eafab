/* layout.c - each worker's records together in the state table (layout.h). */
#include "layout.h"

#include <errno.h>
#include <stdlib.h>

#include "fnv.h"
#include "mainmem.h"

/* Three bytes a slot, and the byte layout_slot()'s 4-byte load of the last
 * one reads past it. */
static size_t slot_bytes(uint32_t n)
{
    return (size_t)n * LAYOUT_SLOT_BYTES + 1;
}

static void set_slot(struct layout *l, uint32_t index, uint32_t slot)
{
    uint8_t *b = l->slot + (size_t)index * LAYOUT_SLOT_BYTES;
    b[0] = (uint8_t)slot;
    b[1] = (uint8_t)(slot >> 8);
    b[2] = (uint8_t)(slot >> 16);
}

/* Two passes over the ids: count each worker's (slot[] holds each id's
 * worker meanwhile), then hand out each worker's slots from its first one,
 * in the order the source interned the ids. */
int layout_place(struct layout *l, const struct source *src, uint32_t nworkers)
{
    *l = (struct layout){0};
    if (src->is_stream || nworkers == 1)
        return 0; /* one worker's run is the whole table, in index order */
    uint32_t n = source_ids_known(src);
    uint32_t *next = calloc(nworkers, sizeof *next);
    l->slot = n ? mainmem_alloc(slot_bytes(n), false) : NULL;
    l->count = l->slot ? n : 0;
    if (!next || (n && !l->slot)) {
        free(next);
        layout_free(l);
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < n; i++) {
        uint32_t w = route_worker(source_id(src, i).hash, nworkers);
        set_slot(l, i, w);
        next[w]++;
    }
    uint32_t first = 0;
    for (uint32_t w = 0; w < nworkers; w++) {
        uint32_t owned = next[w];
        next[w] = first;
        first += owned;
    }
    for (uint32_t i = 0; i < n; i++)
        set_slot(l, i, next[layout_slot(l, i)]++);
    free(next);
    return 0;
}

void layout_free(struct layout *l)
{
    mainmem_free(l->slot, slot_bytes(l->count));
    *l = (struct layout){0};
}

/* layout.c - each worker's records together in the state table (layout.h). */
#include "layout.h"

#include <errno.h>
#include <stdlib.h>

#include "fnv.h"
#include "mainmem.h"

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
    l->slot = n ? mainmem_alloc((size_t)n * sizeof *l->slot, false) : NULL;
    l->count = l->slot ? n : 0;
    if (!next || (n && !l->slot)) {
        free(next);
        layout_free(l);
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < n; i++) {
        l->slot[i] = route_worker(source_id(src, i).hash, nworkers);
        next[l->slot[i]]++;
    }
    uint32_t first = 0;
    for (uint32_t w = 0; w < nworkers; w++) {
        uint32_t owned = next[w];
        next[w] = first;
        first += owned;
    }
    for (uint32_t i = 0; i < n; i++)
        l->slot[i] = next[l->slot[i]]++;
    free(next);
    return 0;
}

void layout_free(struct layout *l)
{
    mainmem_free(l->slot, (size_t)l->count * sizeof *l->slot);
    *l = (struct layout){0};
}

/* table.c - machines in a dense array behind an idmap. */
#include "table.h"

#include <errno.h>
#include <stdlib.h>

int table_init(struct table *t, uint32_t expected)
{
    t->cap = expected ? expected : 64;
    t->machines = malloc((size_t)t->cap * sizeof *t->machines);
    if (!t->machines || idmap_init(&t->index, expected) < 0) {
        free(t->machines);
        t->machines = NULL;
        return -ENOMEM;
    }
    return 0;
}

void table_free(struct table *t)
{
    idmap_free(&t->index);
    free(t->machines);
    t->machines = NULL;
    t->cap = 0;
}

struct machine *table_create(struct table *t, const char *id, size_t len, uint64_t hash)
{
    if (t->index.count == t->cap) {
        /* Grow before interning so that a failed realloc leaves both in step. */
        uint32_t cap = t->cap * 2;
        struct machine *ms = realloc(t->machines, (size_t)cap * sizeof *ms);
        if (!ms)
            return NULL;
        t->machines = ms;
        t->cap = cap;
    }
    uint32_t i = idmap_intern(&t->index, id, len, hash, NULL);
    if (i == IDMAP_NONE)
        return NULL;
    sm_init(&t->machines[i], id, len, hash);
    return &t->machines[i];
}

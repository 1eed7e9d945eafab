/* statetab.c - machine records under seqlocks in shared memory. */
#include "statetab.h"

#include <stddef.h>
#include <string.h>

_Static_assert(sizeof(struct machine) % 8 == 0, "struct machine must copy as whole words");
_Static_assert(sizeof(struct statetab_slot) % 64 == 0, "a slot must fill whole cache lines");

/* The word view of a machine, so that no pointer is type-punned. */
union machine_words {
    struct machine m;
    uint64_t w[STATETAB_WORDS];
};

size_t statetab_bytes(uint32_t nslots)
{
    return (size_t)nslots * sizeof(struct statetab_slot);
}

void statetab_attach(struct statetab *t, void *mem, uint32_t nslots)
{
    t->slots = mem;
    t->nslots = nslots;
}

/* The words of a machine that a message can change: everything between
 * id_hash (first) and the id (last), which are written once, with the
 * machine's first message. After that a publish stores 11 words per copy
 * instead of 20. The range is computed from the layout, so a reordering of
 * struct machine cannot silently leave a counter out. */
#define HOT_FIRST 1
#define HOT_END ((offsetof(struct machine, id) + 7) / 8)
_Static_assert(offsetof(struct machine, id_hash) == 0, "id_hash must be the first word of struct machine");
_Static_assert(offsetof(struct machine, id) + MSG_ID_MAX + 1 + 8 > sizeof(struct machine),
               "the id must be the last field of struct machine");

void statetab_publish(struct statetab *t, uint32_t slot, const struct machine *m)
{
    struct statetab_slot *s = &t->slots[slot];
    union machine_words u;
    u.m = *m;
    size_t first = HOT_FIRST, end = HOT_END;
    if (m->msgs == 1) { /* a new machine: write it whole */
        first = 0;
        end = STATETAB_WORDS;
    }
    seqlock_latch_flip(&s->lock); /* odd: readers use copy 1 */
    seqlock_store_words(s->words[0] + first, u.w + first, end - first);
    seqlock_latch_flip(&s->lock); /* even: readers use copy 0 */
    seqlock_store_words(s->words[1] + first, u.w + first, end - first);
}

int statetab_read(const struct statetab *t, uint32_t slot, struct machine *out, unsigned tries)
{
    const struct statetab_slot *s = &t->slots[slot];
    union machine_words u;
    for (unsigned i = 0; i < tries; i++) {
        uint32_t seq = seqlock_read_begin(&s->lock);
        seqlock_load_words(u.w, s->words[seq & 1], STATETAB_WORDS);
        if (seqlock_latch_retry(&s->lock, seq))
            continue;
        /* A machine that was written has msgs >= 1; zeros are a copy nobody
         * has written yet (no message, or the first one still in flight).
         * Asking the data, not the sequence, keeps this true after the
         * sequence wraps at 2^32 writes. */
        if (u.m.msgs == 0)
            return STATETAB_EMPTY;
        *out = u.m;
        out->id[MSG_ID_MAX] = '\0';
        if (out->id_len > MSG_ID_MAX)
            out->id_len = MSG_ID_MAX;
        out->id[out->id_len] = '\0';
        return STATETAB_OK;
    }
    return STATETAB_BUSY;
}

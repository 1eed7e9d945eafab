/* statetab.c - machine records under seqlocks in shared memory. */
#include "statetab.h"

#include <stddef.h>
#include <string.h>

#include "lab.h"

_Static_assert(sizeof(struct machine) % 8 == 0, "struct machine must copy as whole words");
_Static_assert(offsetof(struct machine, id_hash) == 0, "id_hash must be the first word of struct machine");
_Static_assert(offsetof(struct machine, id) + MSG_ID_MAX + 1 + 8 > sizeof(struct machine),
               "the id must be the last field of struct machine");
_Static_assert(sizeof(struct statetab_slot) <= 192, "the changing part must fit in three cache lines");

/* The word view of a machine, so that no pointer is type-punned. */
union machine_words {
    struct machine m;
    uint64_t w[STATETAB_WORDS];
};

size_t statetab_bytes(uint32_t nslots)
{
    return (size_t)nslots * (sizeof(struct statetab_slot) + sizeof(struct statetab_cold));
}

void statetab_attach(struct statetab *t, void *mem, uint32_t nslots)
{
    t->slots = mem;
    t->cold = (struct statetab_cold *)((char *)mem + (size_t)nslots * sizeof(struct statetab_slot));
    t->nslots = nslots;
}

/* Stores n words of the machine at m, from word `from` on, into dst. Word by
 * word straight from the machine: copying the whole struct first (as the
 * reader does) would load 16 bytes at a time from fields sm_apply() has just
 * stored 8 bytes at a time, and every such load waits for the stores to
 * retire (a failed store-to-load forward, about a tenth of a worker's time). */
static inline void store_from(_Atomic uint64_t *dst, const struct machine *m, size_t from, size_t n)
{
    const unsigned char *src = (const unsigned char *)m + from * 8;
    /* n is a constant at every call: unrolled, a word costs a load and a
     * store, where the loop's own bookkeeping would double that (the
     * worker writes 22 words for every message). */
#pragma GCC unroll 16
    for (size_t i = 0; i < n; i++) {
        uint64_t w;
        memcpy(&w, src + i * 8, 8);
        atomic_store_explicit(&dst[i], w, memory_order_relaxed);
    }
}

void statetab_publish(struct statetab *t, uint32_t slot, const struct machine *m)
{
    /* TODO: Publish m as slot's state so that a reader in another process
     * never sees half of it and never waits for this writer (the latch in
     * seqlock.h, two copies of the hot words). On the machine's first
     * message (m->msgs == 1), write its cold words (id_hash, the id) first,
     * before the sequence moves. Then: move the sequence so readers use the
     * other copy, rewrite copy 0, move it back, rewrite copy 1. store_from()
     * copies words of m. */
    lab_not_written("statetab_publish()");
    (void)t;
    (void)slot;
    (void)m;
    (void)store_from;
}

int statetab_read(const struct statetab *t, uint32_t slot, struct machine *out, unsigned tries)
{
    /* TODO: Copy slot's state into out, at most tries attempts: read the
     * sequence, copy the hot words of the copy it names and the cold words,
     * and discard the attempt if the sequence moved meanwhile. Never wait
     * for the writer to finish. A copy with msgs == 0 was never written
     * (STATETAB_EMPTY); STATETAB_BUSY when every attempt was discarded.
     * Sanitise what you hand out: the id must end in NUL within its array
     * and id_len be in range, whatever the shared memory held. */
    lab_not_written("statetab_read()");
    (void)t;
    (void)slot;
    (void)out;
    (void)tries;
    return STATETAB_BUSY;
}

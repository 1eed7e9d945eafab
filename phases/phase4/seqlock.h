/* seqlock.h - a sequence lock for one writer and any number of readers in
 * other processes: the writer never waits, a reader retries until it has read
 * a record no write overlapped, and a reader never writes shared memory (so a
 * query costs the worker nothing).
 *
 * The protected data is an array of _Atomic uint64_t copied with relaxed
 * loads and stores. On x86-64 those are plain moves, exactly what memcpy would
 * do; declaring them atomic is what makes the concurrent read well defined in
 * C11 (a plain memcpy racing with the writer would be a data race, i.e.
 * undefined behaviour, even though the sequence check discards its result).
 * See H.-J. Boehm, "Can seqlocks get along with programming language memory
 * models?" (MSPC 2012), whose fence placement this follows.
 *
 * Not a lock between writers: exactly one process writes a given seqlock. */
#ifndef MSGROUTE_SEQLOCK_H
#define MSGROUTE_SEQLOCK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An even value: no write in progress; odd: a write is in progress. 0 means
 * "never written", so a reader can tell an empty record from a zero one. */
struct seqlock {
    _Atomic uint32_t seq;
};

static inline void seqlock_write_begin(struct seqlock *l)
{
    uint32_t s = atomic_load_explicit(&l->seq, memory_order_relaxed);
    atomic_store_explicit(&l->seq, s + 1, memory_order_relaxed);
    /* Release fence: the odd value above is ordered before every data store
     * that follows. A reader that sees any of those stores therefore also
     * sees (through its acquire fence) a sequence number that moved, and
     * retries. Pairs with the acquire fence in seqlock_read_retry(). */
    atomic_thread_fence(memory_order_release);
}

static inline void seqlock_write_end(struct seqlock *l)
{
    uint32_t s = atomic_load_explicit(&l->seq, memory_order_relaxed);
    /* Release: every data store of this write is visible to a reader whose
     * acquire load in seqlock_read_begin() returns this even value. */
    atomic_store_explicit(&l->seq, s + 1, memory_order_release);
}

/* The sequence number to hand to seqlock_read_retry(); odd while a write is
 * in progress (the caller retries or gives up: it must not spin forever on a
 * writer that was killed mid-write). */
static inline uint32_t seqlock_read_begin(const struct seqlock *l)
{
    /* Acquire: pairs with the release store of seqlock_write_end(), so the
     * data loads that follow see at least that write. */
    return atomic_load_explicit(&((struct seqlock *)l)->seq, memory_order_acquire);
}

/* True when the data read since seqlock_read_begin() returned s may be torn
 * (a write was in progress or happened meanwhile) and must be discarded. */
static inline bool seqlock_read_retry(const struct seqlock *l, uint32_t s)
{
    /* Acquire fence: orders the data loads before the re-read of the
     * sequence. Pairs with the release fence of seqlock_write_begin(). */
    atomic_thread_fence(memory_order_acquire);
    return (s & 1) || atomic_load_explicit(&((struct seqlock *)l)->seq, memory_order_relaxed) != s;
}

/* ---- the latch variant: readers never wait for a writer ----
 *
 * A plain seqlock makes a reader retry for as long as a write is in
 * progress, and a writer process can be preempted, stopped (SIGSTOP) or
 * killed in the middle of one: its readers would then spin for a whole time
 * slice, or forever. The latch (Linux's seqcount_latch) keeps two copies of
 * the data. The writer flips the sequence to odd, rewrites copy 0, flips it
 * to even, rewrites copy 1; a reader reads copy (seq & 1), the one the writer
 * is not touching, so a stalled writer never stalls a reader. A reader still
 * retries when the sequence moved under it, which happens only while the
 * writer is actually running. */
static inline void seqlock_latch_flip(struct seqlock *l)
{
    uint32_t s = atomic_load_explicit(&l->seq, memory_order_relaxed);
    /* Release: the copy written before this flip is complete for a reader
     * whose acquire load in seqlock_read_begin() sees the new value. */
    atomic_store_explicit(&l->seq, s + 1, memory_order_release);
    /* Release fence: the new value is ordered before the stores to the other
     * copy that follow, so a reader that sees one of them also sees the
     * sequence move (its acquire fence in seqlock_read_retry()). */
    atomic_thread_fence(memory_order_release);
}

/* For a latch reader: true when the data read since seqlock_read_begin()
 * returned s must be discarded (the sequence moved meanwhile). Unlike
 * seqlock_read_retry(), an odd s is fine: it names the copy to read. */
static inline bool seqlock_latch_retry(const struct seqlock *l, uint32_t s)
{
    atomic_thread_fence(memory_order_acquire); /* pairs with the release fence of the flip */
    return atomic_load_explicit(&((struct seqlock *)l)->seq, memory_order_relaxed) != s;
}

/* Word-wise copies of the protected data, relaxed on both sides. */
static inline void seqlock_store_words(_Atomic uint64_t *dst, const uint64_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        atomic_store_explicit(&dst[i], src[i], memory_order_relaxed);
}

static inline void seqlock_load_words(uint64_t *dst, const _Atomic uint64_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = atomic_load_explicit((_Atomic uint64_t *)&src[i], memory_order_relaxed);
}

#endif

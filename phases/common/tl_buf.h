/* tl_buf.h - the layout of the timeline's shared buffer, for the two files
 * that use it: timeline.c (claiming slots, recording) and tl_json.c
 * (reading every slot at the end). Not a public interface.
 *
 *   [struct tl_buf][nslots x struct tl_slot][nslots x (cap + TL_RARE_RECORDS) x struct tl_rec]
 *
 * A slot keeps two rings: the bulk of its records (batches, waits, counters,
 * wake-ups) in cap records, and the rare ones (signals, deaths, restarts,
 * the drain) in TL_RARE_RECORDS of their own, so that a flood of the first
 * kind never pushes out the moments a reader looks for first.
 *
 * A slot's count is written by its own process only and read by the main
 * process after that process has been reaped. */
#ifndef MSGROUTE_TL_BUF_H
#define MSGROUTE_TL_BUF_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "timeline.h"

#define TL_MAIN_INDEX UINT32_MAX /* tl_slot.index of the main process */
#define TL_RARE_RECORDS 1024u    /* per slot, a power of two */

struct tl_slot {
    _Atomic uint64_t count; /* bulk records ever written; the last cap of them are kept */
    _Atomic uint64_t rare;  /* rare records ever written; the last TL_RARE_RECORDS are kept */
    int32_t pid;
    uint32_t index; /* worker index, or TL_MAIN_INDEX */
    _Atomic uint32_t used;
} __attribute__((aligned(64))); /* one writer per cache line */

struct tl_buf {
    _Atomic uint32_t next;       /* the next slot to claim */
    uint32_t nslots, cap;        /* cap: records per slot, a power of two */
    _Atomic uint32_t unrecorded; /* workers that found every slot taken */
    size_t bytes;                /* of the whole mapping */
    struct tl_slot slots[];
};

static inline struct tl_rec *tl_slot_recs(struct tl_buf *b, uint32_t slot)
{
    struct tl_rec *first = (struct tl_rec *)(b->slots + b->nslots);
    return first + (size_t)slot * (b->cap + TL_RARE_RECORDS);
}

/* The rare ring of a slot, just after its bulk records. */
static inline struct tl_rec *tl_slot_rare(struct tl_buf *b, uint32_t slot)
{
    return tl_slot_recs(b, slot) + b->cap;
}

static inline bool tl_is_rare(enum tl_what what)
{
    return what == TL_SIGNAL || what == TL_STOP || what == TL_WORKER_DIED || what == TL_RESTART || what == TL_DRAIN;
}

/* tl_json.c: writes buf as trace-event JSON to path. 0, or -1 with err. */
int tl_json_write(struct tl_buf *buf, const char *path, char *err, size_t err_len);

#endif

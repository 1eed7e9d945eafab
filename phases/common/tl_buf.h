/* tl_buf.h - the layout of the timeline's shared buffer, for the two files
 * that use it: timeline.c (claiming slots, recording) and tl_json.c
 * (reading every slot at the end). Not a public interface.
 *
 *   [struct tl_buf][nslots x struct tl_slot][nslots x cap x struct tl_rec]
 *
 * A slot's count is written by its own process only and read by the main
 * process after that process has been reaped. */
#ifndef MSGROUTE_TL_BUF_H
#define MSGROUTE_TL_BUF_H

#include <stdatomic.h>
#include <stdint.h>

#include "timeline.h"

#define TL_MAIN_INDEX UINT32_MAX /* tl_slot.index of the main process */

struct tl_slot {
    _Atomic uint64_t count; /* records ever written; the last cap of them are kept */
    int32_t pid;
    uint32_t index;     /* worker index, or TL_MAIN_INDEX */
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
    return first + (size_t)slot * b->cap;
}

/* tl_json.c: writes buf as trace-event JSON to path. 0, or -1 with err. */
int tl_json_write(struct tl_buf *buf, const char *path, char *err, size_t err_len);

#endif

/* outq.h - the sending end of one worker's message pipe: messages are
 * encoded into a bounded buffer and leave in large write()s, not one
 * syscall per message.
 *
 * The buffer holds OUTQ_CAP bytes. A payload that does not fit is streamed:
 * its frame head goes in, and its bytes (a pure function of seq, SPEC §2)
 * are generated into the buffer as the pipe takes them, so a 16 MiB message
 * costs the main process no 16 MiB buffer. While a payload streams, the
 * queue takes no other message: frames never interleave.
 *
 * Backpressure: outq_push() refuses a message (-ENOBUFS) when the buffer is
 * full; the caller flushes, and if the pipe is full too (-EAGAIN) it stops
 * its source until the pipe is writable again. Memory is therefore bounded
 * by OUTQ_CAP per worker plus the pipe, whatever a stalled worker does.
 * One owner; the fd is non-blocking. */
#ifndef MSGROUTE_PHASE3_OUTQ_H
#define MSGROUTE_PHASE3_OUTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg.h"

struct recover;

#define OUTQ_CAP (256u * 1024u)
/* Flush once this much is buffered: large enough that a write() carries
 * thousands of small messages, small enough to keep the worker busy while
 * the main process fills the next batch. */
#define OUTQ_BATCH (64u * 1024u)
/* The least a write at the end of a loop turn carries when the source runs
 * at full speed and the next turn follows at once (router.h): a turn of
 * PUMP_TURN messages spread over many workers leaves a few dozen per queue,
 * and a write of those to a worker asleep in its loop wakes it for
 * microseconds of work, a pair of context switches each time when processes
 * outnumber CPUs. */
#define OUTQ_TURN_MIN (8u * 1024u)

struct outq {
    int fd;
    uint8_t *buf;
    size_t head, tail; /* bytes [head, tail) not yet written */
    uint64_t stream_seq;
    uint32_t stream_off, stream_left; /* payload still to generate */
    uint64_t pushed;                  /* messages accepted */
    /* --recover (recover.h): every message pushed is logged as the next
     * position of worker rec_w; NULL without --recover. */
    struct recover *rec;
    uint32_t rec_w;
    uint32_t tl_worker;     /* --timeline: whose pipe this is */
    uint64_t tl_full_since; /* --timeline: when a write last found the pipe full */
};

int outq_init(struct outq *q, int fd);
void outq_free(struct outq *q);

/* Encodes m. 0, or -ENOBUFS when there is no room now (flush first). Under
 * --recover, also -ENOBUFS while the worker's log is full or its replay is
 * not out (recover_room()): the caller's backpressure is the same. */
int outq_push(struct outq *q, const struct msg *m);

/* Encodes m, a message of the worker's replay: already logged, so it is not
 * logged again and the log's room is not asked. 0 or -ENOBUFS. */
int outq_push_again(struct outq *q, const struct msg *m);

/* Forgets every byte not yet written and writes to fd from now on (a
 * restarted worker's new pipe). */
void outq_reset(struct outq *q, int fd);

/* Writes as much as the pipe takes: 0 when everything is out, -EAGAIN when
 * the pipe is full and bytes remain, another negative errno (-EPIPE: the
 * worker is gone) on failure. */
int outq_flush(struct outq *q);

/* True while bytes wait to be written. */
static inline bool outq_dirty(const struct outq *q)
{
    return q->tail > q->head || q->stream_left > 0;
}

static inline size_t outq_buffered(const struct outq *q)
{
    return q->tail - q->head;
}

#endif

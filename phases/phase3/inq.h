/* inq.h - the receiving end of a byte stream of frames (codec.h): read what
 * the kernel has, hand out every whole frame, keep the partial one.
 *
 * One read() per call of inq_read(), at most INQ_READ_CHUNK bytes, so that a
 * process reading a flood of messages returns to its event loop often enough
 * to answer a query (the chunk bounds how long a query can wait behind
 * messages). The buffer starts at `cap` bytes and grows only when one frame
 * is larger than it, up to CODEC_FRAME_MAX (a 16 MiB payload); it never
 * shrinks, so growth happens at most a few times per process, never per
 * message. Frames handed out borrow from the buffer until the next
 * inq_read(). One owner. */
#ifndef MSGROUTE_PHASE3_INQ_H
#define MSGROUTE_PHASE3_INQ_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "codec.h"

#define INQ_READ_CHUNK (64u * 1024u)

struct inq {
    uint8_t *buf;
    size_t head, tail, cap; /* bytes [head, tail) are unread */
    /* --timeline: one span per read and the frames handed out after it */
    uint16_t tl_what; /* TL_PIPE_READ, TL_REQUESTS or TL_REPLIES; 0: none */
    uint32_t tl_b, tl_frames;
    uint64_t tl_t0;
};

int inq_init(struct inq *q, size_t cap);

/* Records each read and the frames taken after it as one span `what` (enum
 * tl_what, argument b) on the timeline, and the QUERY and ANSWER frames
 * handed out as points of their query's flow. */
static inline void inq_timeline(struct inq *q, uint16_t what, uint32_t b)
{
    q->tl_what = what;
    q->tl_b = b;
}
void inq_free(struct inq *q);

/* One read() from fd into the buffer: bytes read (> 0), 0 at end of file,
 * or a negative errno (-EAGAIN when nothing is there). EINTR is retried. */
ssize_t inq_read(struct inq *q, int fd);

/* The next whole frame: CODEC_OK, CODEC_INCOMPLETE (read more), a negative
 * codec error, or -ENOMEM when a large frame cannot get its buffer. */
int inq_next(struct inq *q, struct codec_frame *f);

static inline size_t inq_pending(const struct inq *q)
{
    return q->tail - q->head;
}

#endif

/* inq.c - frames out of a byte stream. */
#include "inq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "timeline.h"

int inq_init(struct inq *q, size_t cap)
{
    *q = (struct inq){.cap = cap};
    q->buf = malloc(cap);
    return q->buf ? 0 : -ENOMEM;
}

void inq_free(struct inq *q)
{
    free(q->buf);
    q->buf = NULL;
}

/* Moves the unread bytes to the front. Cheap in practice: what is left is
 * at most one partial frame. */
static void compact(struct inq *q)
{
    if (q->head == 0)
        return;
    memmove(q->buf, q->buf + q->head, q->tail - q->head);
    q->tail -= q->head;
    q->head = 0;
}

ssize_t inq_read(struct inq *q, int fd)
{
    if (q->head == q->tail)
        q->head = q->tail = 0;
    else if (q->cap - q->tail < INQ_READ_CHUNK)
        compact(q);
    size_t room = q->cap - q->tail;
    if (room > INQ_READ_CHUNK)
        room = INQ_READ_CHUNK;
    if (room == 0)
        return -ENOBUFS; /* cannot happen: inq_next grows for a whole frame */
    if (q->tl_what) {
        q->tl_t0 = tl_now();
        q->tl_frames = 0;
    }
    ssize_t n;
    do
        n = read(fd, q->buf + q->tail, room);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    q->tail += (size_t)n;
    return n;
}

/* The timeline's view of one frame handed out, and of the end of a read's
 * frames: the span began in inq_read(). */
static void timeline_frame(struct inq *q, const struct codec_frame *f, int rc)
{
    if (rc != CODEC_OK) {
        if (q->tl_t0)
            tl_span(q->tl_what, q->tl_t0, q->tl_frames, q->tl_b);
        q->tl_t0 = 0;
        return;
    }
    q->tl_frames++;
    if (f->type == CODEC_QUERY)
        tl_flow('t', TL_QUERY, f->u.query.corr);
    else if (f->type == CODEC_ANSWER)
        tl_flow('f', TL_QUERY, f->u.answer.corr);
}

int inq_next(struct inq *q, struct codec_frame *f)
{
    size_t used;
    int rc = codec_decode_frame(q->buf + q->head, q->tail - q->head, f, &used);
    if (tl_on && q->tl_what)
        timeline_frame(q, f, rc);
    if (rc == CODEC_OK) {
        q->head += used;
        return CODEC_OK;
    }
    if (rc != CODEC_INCOMPLETE)
        return rc;
    /* Make sure the whole frame will fit once it has arrived. */
    size_t size;
    if (codec_frame_size(q->buf + q->head, q->tail - q->head, &size) != CODEC_OK)
        return CODEC_INCOMPLETE; /* not even the prefix yet */
    if (size > q->cap - q->head) {
        compact(q);
        if (size > q->cap) {
            /* codec_frame_size() capped size at CODEC_FRAME_MAX. */
            uint8_t *b = realloc(q->buf, size);
            if (!b)
                return -ENOMEM;
            q->buf = b;
            q->cap = size;
        }
    }
    return CODEC_INCOMPLETE;
}

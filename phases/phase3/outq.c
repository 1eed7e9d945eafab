/* outq.c - batching messages into a pipe. */
#include "outq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "codec.h"
#include "payload.h"
#include "recover.h"
#include "timeline.h"

int outq_init(struct outq *q, int fd)
{
    memset(q, 0, sizeof *q);
    q->fd = fd;
    q->buf = malloc(OUTQ_CAP);
    return q->buf ? 0 : -ENOMEM;
}

void outq_free(struct outq *q)
{
    free(q->buf);
    q->buf = NULL;
}

static void compact(struct outq *q)
{
    if (q->head == 0)
        return;
    memmove(q->buf, q->buf + q->head, q->tail - q->head);
    q->tail -= q->head;
    q->head = 0;
}

/* Generates as much of the streaming payload as there is room for. */
static void stream_more(struct outq *q)
{
    if (q->stream_left == 0)
        return;
    if (OUTQ_CAP - q->tail < OUTQ_BATCH)
        compact(q);
    size_t n = OUTQ_CAP - q->tail;
    if (n > q->stream_left)
        n = q->stream_left;
    payload_fill(q->buf + q->tail, q->stream_seq + q->stream_off, n);
    q->tail += n;
    q->stream_off += (uint32_t)n;
    q->stream_left -= (uint32_t)n;
}

int outq_push(struct outq *q, const struct msg *m)
{
    if (q->rec && !recover_room(q->rec, q->rec_w))
        return -ENOBUFS;
    int rc = outq_push_again(q, m);
    if (rc == 0 && q->rec)
        recover_push(q->rec, q->rec_w, m);
    return rc;
}

void outq_reset(struct outq *q, int fd)
{
    q->fd = fd;
    q->head = q->tail = 0;
    q->stream_left = 0;
}

int outq_push_again(struct outq *q, const struct msg *m)
{
    if (q->stream_left)
        return -ENOBUFS;
    if (OUTQ_CAP - q->tail < CODEC_MSG_OVERHEAD)
        compact(q);
    struct codec_buf b = {.data = q->buf, .len = q->tail, .cap = OUTQ_CAP};
    if (codec_put_msg_head(&b, m) < 0)
        return -ENOBUFS;
    q->tail = b.len;
    /* A payload that fits is written at once; the rest streams. */
    size_t n = OUTQ_CAP - q->tail;
    if (n > m->payload_len)
        n = m->payload_len;
    payload_fill(q->buf + q->tail, m->seq, n);
    q->tail += n;
    if (n < m->payload_len) {
        q->stream_seq = m->seq;
        q->stream_off = (uint32_t)n;
        q->stream_left = m->payload_len - (uint32_t)n;
    }
    q->pushed++;
    return 0;
}

/* --timeline: one flush is one span; the time from a write that found the
 * pipe full to the next write that got bytes in is a wait on the pipe's
 * lane; and the bytes waiting for the worker (in its pipe, FIONREAD, and
 * here) are its queue depth. */
static void timeline_flush(struct outq *q, uint64_t t0, uint64_t bytes, int rc)
{
    if (bytes && q->tl_full_since) {
        tl_lane_span(TL_PIPE_FULL, q->tl_full_since, outq_buffered(q), q->tl_worker, (uint8_t)(q->tl_worker % 255 + 1));
        q->tl_full_since = 0;
    }
    if (rc == -EAGAIN && !q->tl_full_since)
        q->tl_full_since = now_ns();
    if (bytes == 0 && rc == 0)
        return; /* nothing was written: no span */
    tl_span(TL_PIPE_WRITE, t0, bytes, q->tl_worker);
    int in_pipe;
    if (ioctl(q->fd, FIONREAD, &in_pipe) == 0)
        tl_counter(TL_QUEUE_DEPTH, (uint64_t)in_pipe + outq_buffered(q), q->tl_worker);
}

static int flush(struct outq *q, uint64_t *bytes)
{
    for (;;) {
        stream_more(q);
        if (q->head == q->tail)
            return 0;
        ssize_t n = write(q->fd, q->buf + q->head, q->tail - q->head);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno; /* EAGAIN: the pipe is full; the caller waits */
        }
        *bytes += (uint64_t)n;
        q->head += (size_t)n;
        if (q->head == q->tail)
            q->head = q->tail = 0;
    }
}

int outq_flush(struct outq *q)
{
    uint64_t t0 = tl_now(), bytes = 0;
    int rc = flush(q, &bytes);
    if (tl_on)
        timeline_flush(q, t0, bytes, rc);
    return rc;
}

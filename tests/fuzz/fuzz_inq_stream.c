/* fuzz_inq_stream.c - fuzz target: phase 3's frame reassembly (inq.h), the
 * layer between a pipe and the frame decoder: partial frames across reads,
 * compaction, and growth of the buffer for a frame larger than it.
 *
 * Input layout: 1 byte seeding the sizes of the pieces the stream is cut
 * into, then the stream. The pieces go through a real pipe into an inq that
 * starts small (64 bytes), read as a worker reads: every whole frame is taken
 * before the next read(). Checked: the frames that come out, and the error
 * that stops them if any, are exactly those codec_decode_frame() finds in
 * the same bytes laid out in one piece. However the stream is cut, a reader
 * sees the same frames. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "fuzz.h"
#include "inq.h"

/* What identifies a decoded frame well enough to tell two apart. */
static uint64_t digest(const struct codec_frame *f)
{
    uint64_t h = 1469598103934665603ull ^ f->type;
    switch (f->type) {
    case CODEC_MSG:
        h = h * 1099511628211ull ^ f->u.msg.m.seq;
        h = h * 1099511628211ull ^ f->u.msg.m.payload_len;
        for (uint32_t i = 0; i < f->u.msg.m.payload_len; i++)
            h = h * 1099511628211ull ^ f->u.msg.payload[i];
        break;
    case CODEC_QUERY: h = h * 1099511628211ull ^ f->u.query.corr; break;
    case CODEC_ANSWER: h = h * 1099511628211ull ^ f->u.answer.corr; break;
    case CODEC_RECORDS: h = h * 1099511628211ull ^ f->u.records.count; break;
    case CODEC_END: h = h * 1099511628211ull ^ f->u.end.records_sent; break;
    default: break;
    }
    return h;
}

#define MAX_FRAMES 4096

/* The reference: frames decoded from the stream in one piece. Returns how
 * many, and in *stop the result that ended the walk. */
static size_t reference(const uint8_t *s, size_t len, uint64_t *out, struct machine *records, int *stop)
{
    size_t n = 0;
    for (;;) {
        struct codec_frame f;
        memset(&f, 0, sizeof f);
        f.records = records;
        size_t used = 0;
        int rc = codec_decode_frame(s, len, &f, &used);
        if (rc != CODEC_OK || n == MAX_FRAMES) {
            *stop = rc;
            return n;
        }
        out[n++] = digest(&f);
        s += used;
        len -= used;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct machine records[CODEC_RECORDS_MAX];
    static uint64_t want[MAX_FRAMES];
    if (size < 1)
        return 0;
    uint32_t cut = data[0] * 2654435761u | 1;
    const uint8_t *stream = data + 1;
    size_t len = size - 1;
    int want_stop;
    size_t nwant = reference(stream, len, want, records, &want_stop);

    int fds[2];
    FUZZ_CHECK(pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0);
    struct inq q;
    FUZZ_CHECK(inq_init(&q, 64) == 0);
    size_t got = 0, sent = 0;
    int stop = CODEC_INCOMPLETE;
    while (stop == CODEC_INCOMPLETE && got < nwant + 1) {
        /* Take every whole frame before reading more, as a worker does. */
        for (;;) {
            struct codec_frame f;
            memset(&f, 0, sizeof f);
            f.records = records;
            stop = inq_next(&q, &f);
            if (stop != CODEC_OK)
                break;
            if (got == MAX_FRAMES) {
                stop = CODEC_OK; /* as far as the reference looked */
                break;
            }
            FUZZ_CHECK(got < nwant && digest(&f) == want[got]);
            got++;
        }
        if (stop != CODEC_INCOMPLETE)
            break;
        ssize_t r = inq_read(&q, fds[0]);
        if (r > 0)
            continue;
        FUZZ_CHECK(r == -EAGAIN); /* the pipe is empty: send the next piece */
        if (sent == len)
            break;
        cut = cut * 1103515245u + 12345u;
        size_t piece = 1 + (cut >> 16) % 700;
        if (piece > len - sent)
            piece = len - sent;
        FUZZ_CHECK(write(fds[1], stream + sent, piece) == (ssize_t)piece);
        sent += piece;
    }
    FUZZ_CHECK(got == nwant);
    FUZZ_CHECK(stop == want_stop || (got == MAX_FRAMES && stop == CODEC_OK));
    inq_free(&q);
    close(fds[0]);
    close(fds[1]);
    return 0;
}

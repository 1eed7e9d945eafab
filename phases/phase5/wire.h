/* wire.h - what one ZeroMQ message between phase 5's coordinator and a
 * worker carries: a fixed envelope, then zero or more codec frames (codec.h,
 * the msgpack frames of phase 3), so that one ZeroMQ message moves a whole
 * batch and its per-message cost is paid once per batch, not per frame.
 *
 *   +----------------------------------------------+------------------------+
 *   | envelope, WIRE_HDR bytes, little-endian:     | codec frames, each     |
 *   |   u32 magic, u8 kind, u8 0, u16 0,           | [u32 len][msgpack body]|
 *   |   u32 aux, u64 seq, u32 credit_frames,       | ...                    |
 *   |   u32 credit_bytes                           |                        |
 *   +----------------------------------------------+------------------------+
 *
 * seq counts the messages of one direction of one worker's connection from
 * 1 with no gap: ZeroMQ delivers a connection's messages in order or not at
 * all, so a gap means a message was lost (a reconnect) and the receiver
 * stops with a protocol error rather than apply a stream with a hole.
 * credit_* carry flow control (coord.h): the window a HELLO grants, the
 * credit a worker hands back once it has applied a batch.
 *
 * This is not a second serialisation of messages: the frames are phase 3's,
 * decoded by codec.c's hostile-input reader. Not thread-safe in the obvious
 * sense only: a buffer has one owner. */
#ifndef MSGROUTE_PHASE5_WIRE_H
#define MSGROUTE_PHASE5_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"

#define WIRE_MAGIC 0x3530524du /* "MR05" in memory order */
#define WIRE_HDR 28u

enum wire_kind {
    WIRE_HELLO = 1, /* worker -> coordinator: one READY frame; aux = N; credit = the window granted */
    WIRE_DATA,      /* both ways: frames (MSG, QUERY, COLLECT / ANSWER, STATS, RECORDS, END) and returned credit */
    WIRE_LEASE,     /* worker -> coordinator: no frames; "still alive" (coord.c: the lease) */
    WIRE_EXIT,      /* coordinator -> worker: no frames; the run is over, exit 0 (but see wire_gone) */
    WIRE_CKPT,      /* both ways, --remote --recover only: a checkpoint (below) */
};

/* A checkpoint (recover.h) of a worker on another host: its machines as of
 * position P of its stream, in the shape of a COLLECT reply, STATS (handled
 * = P, machines = their count), RECORDS..., END, over one or more WIRE_CKPT
 * messages. A worker sends one every aux messages it applies, where aux is
 * that of the checkpoint the coordinator sends it before anything else: the
 * one it restarts from (empty at a first start). */

/* A WIRE_EXIT with seq 0 goes to a peer that is no worker of the run, so
 * outside any connection's count: a remote worker the coordinator has
 * replaced, or one started while the worker it would replace still holds
 * its place. aux says which; the worker ends with exit 8 and says so,
 * rather than wait for a run that will never send it anything. */
enum wire_gone {
    WIRE_GONE_REPLACED = 1, /* it was taken for lost, and another worker has its index */
    WIRE_GONE_TAKEN = 2,    /* its index belongs to a worker that is still connected */
};

struct wire_hdr {
    uint8_t kind; /* enum wire_kind */
    uint32_t aux;
    uint64_t seq;
    uint32_t credit_frames, credit_bytes;
};

/* Writes h as the first WIRE_HDR bytes of buf. */
void wire_put_hdr(uint8_t *buf, const struct wire_hdr *h);

/* Reads the envelope of a message of len bytes, trusting nothing: the
 * length, the magic, the kind and the zero bytes are checked. 0, or -1 with
 * the reason in why. */
int wire_get_hdr(const uint8_t *buf, size_t len, struct wire_hdr *h, char *why, size_t why_len);

/* The frames after the envelope, one at a time. */
struct wire_iter {
    const uint8_t *p;
    size_t left;
};

static inline void wire_iter_init(struct wire_iter *it, const uint8_t *buf, size_t len)
{
    it->p = buf + WIRE_HDR;
    it->left = len - WIRE_HDR;
}

/* The next frame into f (strings and payloads borrow from the message) and
 * its whole size in *used: 1; 0 at the exact end; or a negative
 * codec_result (a frame cut short is CODEC_E_TRUNCATED: a ZeroMQ message is
 * whole, there is no "more bytes later"). */
int wire_next(struct wire_iter *it, struct codec_frame *f, size_t *used);

#endif

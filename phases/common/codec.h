/* codec.h - the frames that cross a process boundary (phases 3 and 5):
 * messages, queries and their answers, final-state records and worker
 * statistics, as msgpack inside length-prefixed frames.
 *
 * Frame layout:
 *
 *   +----------------------+------------------------------------------+
 *   | u32 body length (LE) | body: one msgpack array [type, fields...] |
 *   +----------------------+------------------------------------------+
 *
 * The prefix is little-endian (the byte order of every machine the labs run
 * on, so it costs no swap); the body is standard msgpack (big-endian inside,
 * as msgpack defines), readable by any msgpack library: `msgpack.unpackb`
 * in Python decodes a body as it is. Bodies:
 *
 *   MSG      [1, seq, worker_id:str, event, payload:bin]
 *   QUERY    [2, corr, worker_id:str]
 *   ANSWER   [3, corr, record | nil]         nil: no such machine
 *   RECORDS  [4, [record, ...]]              at most CODEC_RECORDS_MAX
 *   STATS    [5, index, handled, busy_ns, machines, rss_kb]
 *   READY    [6, index, pid]
 *   COLLECT  [7]
 *   END      [8, records_sent]
 *   record = [worker_id:str, state, msgs, transitions, invalid, jobs,
 *             failures, bytes, last_seq, ooo, corrupt, checksum]
 *
 * Encoding uses msgpack-c's packer writing into a caller's bounded buffer
 * (no allocation). Decoding is this file's own strict reader of exactly the
 * msgpack subset above, and that is deliberate: msgpack-c's object unpacker
 * allocates a zone per call (an allocation per message) and sizes arrays
 * from the count a frame claims before it has seen the bytes, so a 5-byte
 * hostile header could ask for gigabytes. The reader here treats every frame
 * as hostile: each length is checked against the bytes present before it is
 * used, each type is checked, the body must be consumed exactly, and it
 * never allocates; a bad frame is an error code, never a crash or an
 * out-of-bounds read. Decoded strings and payloads borrow from the input.
 *
 * Not thread-safe only in the obvious sense: a buffer has one owner. */
#ifndef MSGROUTE_CODEC_H
#define MSGROUTE_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg.h"
#include "sm.h"
#include "table.h"

#define CODEC_PREFIX 4 /* bytes of the length prefix */
/* Largest body: a 16 MiB payload plus its message header, with room to
 * spare. A prefix above it is rejected before anything is allocated. */
#define CODEC_BODY_MAX (MSG_PAYLOAD_MAX + 256u)
#define CODEC_FRAME_MAX (CODEC_PREFIX + CODEC_BODY_MAX)
/* Most bytes a MSG frame takes besides its payload: prefix, array and type
 * bytes, a u64 seq, a str8 of MSG_ID_MAX bytes, the event and a bin32 header. */
#define CODEC_MSG_OVERHEAD (CODEC_PREFIX + 1 + 1 + 9 + 2 + MSG_ID_MAX + 1 + 5)
#define CODEC_RECORDS_MAX 1024 /* records per RECORDS frame */
/* Most bytes one encoded record takes: array header, id, 1 state, 10 u64. */
#define CODEC_RECORD_MAX (1 + 2 + MSG_ID_MAX + 1 + 10 * 9)

enum codec_type {
    CODEC_MSG = 1,
    CODEC_QUERY,
    CODEC_ANSWER,
    CODEC_RECORDS,
    CODEC_STATS,
    CODEC_READY,
    CODEC_COLLECT,
    CODEC_END,
};

/* Decoder results: 0 is a whole frame, CODEC_INCOMPLETE asks for more bytes,
 * negative values are errors (codec_strerror names them). */
enum codec_result {
    CODEC_OK = 0,
    CODEC_INCOMPLETE = 1,
    CODEC_E_TOO_BIG = -1,   /* prefix over CODEC_BODY_MAX */
    CODEC_E_TRUNCATED = -2, /* a length inside the body runs past its end */
    CODEC_E_TYPE = -3,      /* a msgpack item of the wrong type */
    CODEC_E_SHAPE = -4,     /* wrong array length or unknown frame type */
    CODEC_E_VALUE = -5,     /* a value out of its range (bad id, event, state) */
    CODEC_E_TRAILING = -6,  /* bytes left in the body after the last field */
    CODEC_E_NOSPACE = -7,   /* RECORDS frame but no room given for records */
};

const char *codec_strerror(int rc);

/* msg_id_valid() by table lookup: the check the decoder runs per message. */
bool codec_id_valid(const char *id, size_t len);

/* One decoded frame. Pointers borrow from the decoded buffer. */
struct codec_frame {
    uint8_t type; /* enum codec_type */
    union {
        struct {
            struct msg m;           /* m.id points into the buffer, not NUL-terminated */
            const uint8_t *payload; /* m.payload_len bytes */
        } msg;
        struct {
            uint64_t corr;
            const char *id;
            uint8_t id_len;
        } query;
        struct {
            uint64_t corr;
            bool found;
            struct machine rec; /* valid when found */
        } answer;
        struct {
            uint32_t count; /* records written to the caller's array */
        } records;
        struct {
            uint32_t index;
            uint64_t handled, busy_ns, machines;
            int64_t rss_kb;
        } stats;
        struct {
            uint32_t index;
            int64_t pid;
        } ready;
        struct {
            uint64_t records_sent;
        } end;
    } u;
    /* Set by the caller before decoding: where RECORDS go (room for
     * CODEC_RECORDS_MAX machines), or NULL to refuse RECORDS frames. */
    struct machine *records;
};

/* Decodes the first frame of buf[0..len). On CODEC_OK, *used is the frame's
 * whole size (prefix included). CODEC_INCOMPLETE when buf holds less than a
 * whole frame (a valid prefix tells how much is needed: see
 * codec_frame_size). Never reads outside buf, never allocates: the entry
 * point for fuzzers. */
int codec_decode_frame(const uint8_t *buf, size_t len, struct codec_frame *f, size_t *used);

/* Decodes a body without its prefix (exactly len bytes). */
int codec_decode_body(const uint8_t *body, size_t len, struct codec_frame *f);

/* The whole size of the frame that starts buf, once its prefix is present:
 * CODEC_OK with *size set, CODEC_INCOMPLETE under CODEC_PREFIX bytes, or
 * CODEC_E_TOO_BIG. Lets a reader size its buffer before the body arrives. */
int codec_frame_size(const uint8_t *buf, size_t len, size_t *size);

/* A bounded output buffer the encoders append to. The owner allocates data
 * (cap bytes) once; the encoders never grow it. */
struct codec_buf {
    uint8_t *data;
    size_t len, cap;
};

/* Each encoder appends one whole frame and returns 0, or returns -ENOBUFS
 * and leaves the buffer as it was when the frame does not fit. */

/* The MSG frame of m up to and including the bin header: the caller appends
 * exactly m->payload_len payload bytes after it (at once or streamed later),
 * which is how a 16 MiB payload crosses without a 16 MiB buffer. */
int codec_put_msg_head(struct codec_buf *b, const struct msg *m);
int codec_put_query(struct codec_buf *b, uint64_t corr, const char *id, size_t id_len);
int codec_put_answer(struct codec_buf *b, uint64_t corr, const struct machine *rec /* NULL: not found */);
int codec_put_records(struct codec_buf *b, const struct machine *recs, size_t n);
/* RECORDS of a table's machines, at most max of them (at most
 * CODEC_RECORDS_MAX), from *from on in creation order (table_first() to
 * begin); moves *from past those it packed, NULL after the last. Returns
 * how many it packed, or -ENOBUFS with *from unmoved. */
int codec_put_table(struct codec_buf *b, const struct table *t, const struct machine **from, uint32_t max);
int codec_put_stats(struct codec_buf *b, uint32_t index, uint64_t handled, uint64_t busy_ns, uint64_t machines,
                    int64_t rss_kb);
int codec_put_ready(struct codec_buf *b, uint32_t index, int64_t pid);
int codec_put_collect(struct codec_buf *b);
int codec_put_end(struct codec_buf *b, uint64_t records_sent);

#endif

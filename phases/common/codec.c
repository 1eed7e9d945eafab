/* codec.c - msgpack frames: msgpack-c's packer on the way out, a strict
 * bounds-checked reader of our own schema on the way in (see codec.h for
 * why). */
#include "codec.h"

#include <errno.h>
#include <string.h>

#include <msgpack.h>

#include "fnv.h"
#include "timeline.h"

const char *codec_strerror(int rc)
{
    switch (rc) {
    case CODEC_OK: return "ok";
    case CODEC_INCOMPLETE: return "incomplete frame";
    case CODEC_E_TOO_BIG: return "frame length over the limit";
    case CODEC_E_TRUNCATED: return "a length runs past the end of the frame";
    case CODEC_E_TYPE: return "a field has the wrong msgpack type";
    case CODEC_E_SHAPE: return "unknown frame type or wrong number of fields";
    case CODEC_E_VALUE: return "a field is out of range";
    case CODEC_E_TRAILING: return "bytes left after the last field";
    case CODEC_E_NOSPACE: return "records frame with nowhere to put the records";
    }
    return "unknown codec error";
}

/* ---------------------------------------------------------------- encoding */

/* The packer's sink: appends to the buffer, or refuses past cap. A refused
 * write makes every later one fail too, and the frame is abandoned whole. */
struct sink {
    struct codec_buf *b;
    size_t len;
    bool full;
};

static int sink_write(void *data, const char *buf, size_t len)
{
    struct sink *s = data;
    if (s->full || len > s->b->cap - s->len) {
        s->full = true;
        return -1;
    }
    memcpy(s->b->data + s->len, buf, len);
    s->len += len;
    return 0;
}

/* Opens a frame: room for the prefix, then the packer writes the body. */
static bool frame_begin(struct codec_buf *b, struct sink *s, msgpack_packer *pk)
{
    s->b = b;
    s->len = b->len + CODEC_PREFIX;
    s->full = b->cap < s->len;
    msgpack_packer_init(pk, s, sink_write);
    return !s->full;
}

/* Closes a frame whose body will be `extra` bytes longer than what was
 * packed (the payload the caller appends). */
static int frame_end(struct codec_buf *b, struct sink *s, size_t extra)
{
    if (s->full)
        return -ENOBUFS;
    uint32_t body = (uint32_t)(s->len - b->len - CODEC_PREFIX + extra);
    uint8_t *p = b->data + b->len;
    p[0] = (uint8_t)body;
    p[1] = (uint8_t)(body >> 8);
    p[2] = (uint8_t)(body >> 16);
    p[3] = (uint8_t)(body >> 24);
    b->len = s->len;
    return 0;
}

int codec_put_msg_head(struct codec_buf *b, const struct msg *m)
{
    struct sink s;
    msgpack_packer pk;
    if (!frame_begin(b, &s, &pk))
        return -ENOBUFS;
    msgpack_pack_array(&pk, 5);
    msgpack_pack_uint8(&pk, CODEC_MSG);
    msgpack_pack_uint64(&pk, m->seq);
    msgpack_pack_str(&pk, m->id_len);
    msgpack_pack_str_body(&pk, m->id, m->id_len);
    msgpack_pack_uint8(&pk, m->event);
    msgpack_pack_bin(&pk, m->payload_len);
    return frame_end(b, &s, m->payload_len);
}

int codec_put_query(struct codec_buf *b, uint64_t corr, const char *id, size_t id_len)
{
    struct sink s;
    msgpack_packer pk;
    if (!frame_begin(b, &s, &pk))
        return -ENOBUFS;
    msgpack_pack_array(&pk, 3);
    msgpack_pack_uint8(&pk, CODEC_QUERY);
    msgpack_pack_uint64(&pk, corr);
    msgpack_pack_str(&pk, id_len);
    msgpack_pack_str_body(&pk, id, id_len);
    int rc = frame_end(b, &s, 0);
    /* --timeline: a query's flow starts where its frame is made; the inq of
     * the worker that reads it, and of the main process that reads its
     * answer, carry it on (phases/phase3/inq.c). */
    if (rc == 0)
        tl_flow('s', TL_QUERY, corr);
    return rc;
}

static void pack_record(msgpack_packer *pk, const struct machine *m)
{
    msgpack_pack_array(pk, 12);
    msgpack_pack_str(pk, m->id_len);
    msgpack_pack_str_body(pk, m->id, m->id_len);
    msgpack_pack_uint8(pk, m->state);
    msgpack_pack_uint64(pk, m->msgs);
    msgpack_pack_uint64(pk, m->transitions);
    msgpack_pack_uint64(pk, m->invalid);
    msgpack_pack_uint64(pk, m->jobs);
    msgpack_pack_uint64(pk, m->failures);
    msgpack_pack_uint64(pk, m->bytes);
    msgpack_pack_uint64(pk, m->last_seq);
    msgpack_pack_uint64(pk, m->ooo);
    msgpack_pack_uint64(pk, m->corrupt);
    msgpack_pack_uint64(pk, m->checksum);
}

int codec_put_answer(struct codec_buf *b, uint64_t corr, const struct machine *rec)
{
    struct sink s;
    msgpack_packer pk;
    if (!frame_begin(b, &s, &pk))
        return -ENOBUFS;
    msgpack_pack_array(&pk, 3);
    msgpack_pack_uint8(&pk, CODEC_ANSWER);
    msgpack_pack_uint64(&pk, corr);
    if (rec)
        pack_record(&pk, rec);
    else
        msgpack_pack_nil(&pk);
    return frame_end(b, &s, 0);
}

/* Opens a RECORDS frame of n records: the caller packs them and ends it. */
static bool records_begin(struct codec_buf *b, struct sink *s, msgpack_packer *pk, uint32_t n)
{
    if (!frame_begin(b, s, pk))
        return false;
    msgpack_pack_array(pk, 2);
    msgpack_pack_uint8(pk, CODEC_RECORDS);
    msgpack_pack_array(pk, n);
    return true;
}

int codec_put_records(struct codec_buf *b, const struct machine *recs, size_t n)
{
    if (n > CODEC_RECORDS_MAX)
        return -EINVAL;
    struct sink s;
    msgpack_packer pk;
    if (!records_begin(b, &s, &pk, (uint32_t)n))
        return -ENOBUFS;
    for (size_t i = 0; i < n && !s.full; i++)
        pack_record(&pk, &recs[i]);
    return frame_end(b, &s, 0);
}

int codec_put_table(struct codec_buf *b, const struct table *t, const struct machine **from, uint32_t max)
{
    if (max > CODEC_RECORDS_MAX)
        return -EINVAL;
    uint32_t n = 0;
    for (const struct machine *m = *from; m && n < max; m = table_next(t, m))
        n++;
    struct sink s;
    msgpack_packer pk;
    if (!records_begin(b, &s, &pk, n))
        return -ENOBUFS;
    const struct machine *m = *from;
    for (uint32_t i = 0; i < n && !s.full; i++, m = table_next(t, m))
        pack_record(&pk, m);
    int rc = frame_end(b, &s, 0);
    if (rc < 0)
        return rc;
    *from = m;
    return (int)n;
}

int codec_put_stats(struct codec_buf *b, uint32_t index, uint64_t handled, uint64_t busy_ns, uint64_t machines,
                    int64_t rss_kb)
{
    struct sink s;
    msgpack_packer pk;
    if (!frame_begin(b, &s, &pk))
        return -ENOBUFS;
    msgpack_pack_array(&pk, 6);
    msgpack_pack_uint8(&pk, CODEC_STATS);
    msgpack_pack_uint32(&pk, index);
    msgpack_pack_uint64(&pk, handled);
    msgpack_pack_uint64(&pk, busy_ns);
    msgpack_pack_uint64(&pk, machines);
    msgpack_pack_uint64(&pk, rss_kb > 0 ? (uint64_t)rss_kb : 0);
    return frame_end(b, &s, 0);
}

int codec_put_ready(struct codec_buf *b, uint32_t index, int64_t pid)
{
    struct sink s;
    msgpack_packer pk;
    if (!frame_begin(b, &s, &pk))
        return -ENOBUFS;
    msgpack_pack_array(&pk, 3);
    msgpack_pack_uint8(&pk, CODEC_READY);
    msgpack_pack_uint32(&pk, index);
    msgpack_pack_uint64(&pk, pid > 0 ? (uint64_t)pid : 0);
    return frame_end(b, &s, 0);
}

int codec_put_collect(struct codec_buf *b)
{
    struct sink s;
    msgpack_packer pk;
    if (!frame_begin(b, &s, &pk))
        return -ENOBUFS;
    msgpack_pack_array(&pk, 1);
    msgpack_pack_uint8(&pk, CODEC_COLLECT);
    return frame_end(b, &s, 0);
}

int codec_put_end(struct codec_buf *b, uint64_t records_sent)
{
    struct sink s;
    msgpack_packer pk;
    if (!frame_begin(b, &s, &pk))
        return -ENOBUFS;
    msgpack_pack_array(&pk, 2);
    msgpack_pack_uint8(&pk, CODEC_END);
    msgpack_pack_uint64(&pk, records_sent);
    return frame_end(b, &s, 0);
}

/* ---------------------------------------------------------------- decoding */

/* A cursor over one body. Every read first checks that its bytes are there;
 * `end` is never passed. */
struct rd {
    const uint8_t *p, *end;
};

static inline size_t rd_left(const struct rd *r)
{
    return (size_t)(r->end - r->p);
}

static inline uint64_t be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* Reads a big-endian length or value of n bytes after a one-byte tag. */
static int rd_tagged(struct rd *r, int n, uint64_t *v)
{
    if (rd_left(r) < 1 + (size_t)n)
        return CODEC_E_TRUNCATED;
    *v = be(r->p + 1, n);
    r->p += 1 + n;
    return 0;
}

static int rd_array(struct rd *r, uint32_t *n)
{
    if (rd_left(r) < 1)
        return CODEC_E_TRUNCATED;
    uint8_t t = *r->p;
    uint64_t v;
    int rc;
    if (t >= 0x90 && t <= 0x9f) {
        *n = t & 0x0f;
        r->p++;
        return 0;
    }
    if (t == 0xdc || t == 0xdd) {
        if ((rc = rd_tagged(r, t == 0xdc ? 2 : 4, &v)) < 0)
            return rc;
        /* Each element takes at least one byte: a count beyond the bytes
         * left is a lie, caught here before anyone loops on it. */
        if (v > rd_left(r))
            return CODEC_E_TRUNCATED;
        *n = (uint32_t)v;
        return 0;
    }
    return CODEC_E_TYPE;
}

static int rd_uint(struct rd *r, uint64_t *v)
{
    if (rd_left(r) < 1)
        return CODEC_E_TRUNCATED;
    uint8_t t = *r->p;
    if (t <= 0x7f) {
        *v = t;
        r->p++;
        return 0;
    }
    switch (t) {
    case 0xcc: return rd_tagged(r, 1, v);
    case 0xcd: return rd_tagged(r, 2, v);
    case 0xce: return rd_tagged(r, 4, v);
    case 0xcf: return rd_tagged(r, 8, v);
    }
    return CODEC_E_TYPE;
}

static int rd_uint_max(struct rd *r, uint64_t max, uint64_t *v)
{
    int rc = rd_uint(r, v);
    if (rc == 0 && *v > max)
        return CODEC_E_VALUE;
    return rc;
}

/* A str or bin of its declared length, which must be present in full. */
static int rd_bytes(struct rd *r, bool bin, const uint8_t **ptr, uint64_t *len)
{
    if (rd_left(r) < 1)
        return CODEC_E_TRUNCATED;
    uint8_t t = *r->p;
    int rc;
    if (!bin && t >= 0xa0 && t <= 0xbf) {
        *len = t & 0x1f;
        r->p++;
    } else {
        int n = bin ? (t == 0xc4   ? 1
                       : t == 0xc5 ? 2
                       : t == 0xc6 ? 4
                                   : 0)
                    : (t == 0xd9   ? 1
                       : t == 0xda ? 2
                       : t == 0xdb ? 4
                                   : 0);
        if (n == 0)
            return CODEC_E_TYPE;
        if ((rc = rd_tagged(r, n, len)) < 0)
            return rc;
    }
    if (*len > rd_left(r))
        return CODEC_E_TRUNCATED;
    *ptr = r->p;
    r->p += *len;
    return 0;
}

/* SPEC §2's worker_id alphabet [A-Za-z0-9_.:-] as a table: one load per
 * byte. The same set as msg_id_valid() (test_codec checks all 256 bytes),
 * but the decoder runs it on every message, where callgrind counted
 * msg_id_valid's compare chain at about 13 instructions a byte, 14 % of a
 * worker's instructions. */
/* clang-format off */
static const uint8_t id_byte_ok[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 00 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 10 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, /* 20 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, /* 30 */
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 40 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, /* 50 */
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 60 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, /* 70 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 80 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 90 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* a0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* b0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* c0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* d0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* e0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* f0 */
};
/* clang-format on */

bool codec_id_valid(const char *id, size_t len)
{
    if (len == 0 || len > MSG_ID_MAX)
        return false;
    uint8_t all = 1;
    for (size_t i = 0; i < len; i++)
        all &= id_byte_ok[(uint8_t)id[i]];
    return all;
}

static int rd_id(struct rd *r, const char **id, uint8_t *id_len)
{
    const uint8_t *p;
    uint64_t len;
    int rc = rd_bytes(r, false, &p, &len);
    if (rc < 0)
        return rc;
    if (!codec_id_valid((const char *)p, (size_t)len))
        return CODEC_E_VALUE;
    *id = (const char *)p;
    *id_len = (uint8_t)len;
    return 0;
}

static int rd_record(struct rd *r, struct machine *m)
{
    uint32_t n;
    int rc;
    if ((rc = rd_array(r, &n)) < 0)
        return rc;
    if (n != 12)
        return CODEC_E_SHAPE;
    const char *id;
    uint8_t id_len;
    uint64_t state;
    if ((rc = rd_id(r, &id, &id_len)) < 0 || (rc = rd_uint_max(r, ST_COUNT - 1, &state)) < 0)
        return rc;
    uint64_t *fields[] = {&m->msgs,  &m->transitions, &m->invalid, &m->jobs,    &m->failures,
                          &m->bytes, &m->last_seq,    &m->ooo,     &m->corrupt, &m->checksum};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if ((rc = rd_uint(r, fields[i])) < 0)
            return rc;
    memcpy(m->id, id, id_len);
    m->id[id_len] = '\0';
    m->id_len = id_len;
    m->id_hash = fnv1a64(id, id_len);
    m->state = (uint8_t)state;
    return 0;
}

/* The fields of each frame type after [type, ...: how many the array holds. */
static const uint8_t fields_of[] = {
    [CODEC_MSG] = 5,   [CODEC_QUERY] = 3, [CODEC_ANSWER] = 3,  [CODEC_RECORDS] = 2,
    [CODEC_STATS] = 6, [CODEC_READY] = 3, [CODEC_COLLECT] = 1, [CODEC_END] = 2,
};

static int decode_fields(struct rd *r, struct codec_frame *f)
{
    uint64_t a, b;
    int rc = 0;
    switch (f->type) {
    case CODEC_MSG: {
        const uint8_t *payload;
        struct msg *m = &f->u.msg.m;
        if ((rc = rd_uint(r, &a)) < 0 || (rc = rd_id(r, &m->id, &m->id_len)) < 0 ||
            (rc = rd_uint_max(r, EV_COUNT - 1, &b)) < 0)
            return rc;
        if (a == 0)
            return CODEC_E_VALUE; /* SPEC §2: seq >= 1 */
        uint64_t len;
        if ((rc = rd_bytes(r, true, &payload, &len)) < 0)
            return rc;
        if (len > MSG_PAYLOAD_MAX)
            return CODEC_E_VALUE;
        m->seq = a;
        m->event = (uint8_t)b;
        m->payload_len = (uint32_t)len;
        m->id_hash = fnv1a64(m->id, m->id_len);
        f->u.msg.payload = payload;
        return 0;
    }
    case CODEC_QUERY:
        if ((rc = rd_uint(r, &f->u.query.corr)) < 0)
            return rc;
        return rd_id(r, &f->u.query.id, &f->u.query.id_len);
    case CODEC_ANSWER:
        if ((rc = rd_uint(r, &f->u.answer.corr)) < 0)
            return rc;
        if (rd_left(r) >= 1 && *r->p == 0xc0) { /* nil: not found */
            r->p++;
            f->u.answer.found = false;
            return 0;
        }
        f->u.answer.found = true;
        return rd_record(r, &f->u.answer.rec);
    case CODEC_RECORDS: {
        uint32_t n;
        if ((rc = rd_array(r, &n)) < 0)
            return rc;
        if (n > CODEC_RECORDS_MAX)
            return CODEC_E_VALUE;
        if (!f->records)
            return CODEC_E_NOSPACE;
        for (uint32_t i = 0; i < n; i++)
            if ((rc = rd_record(r, &f->records[i])) < 0)
                return rc;
        f->u.records.count = n;
        return 0;
    }
    case CODEC_STATS:
        if ((rc = rd_uint_max(r, UINT32_MAX, &a)) < 0)
            return rc;
        f->u.stats.index = (uint32_t)a;
        if ((rc = rd_uint(r, &f->u.stats.handled)) < 0 || (rc = rd_uint(r, &f->u.stats.busy_ns)) < 0 ||
            (rc = rd_uint(r, &f->u.stats.machines)) < 0 || (rc = rd_uint_max(r, INT64_MAX, &b)) < 0)
            return rc;
        f->u.stats.rss_kb = (int64_t)b;
        return 0;
    case CODEC_READY:
        if ((rc = rd_uint_max(r, UINT32_MAX, &a)) < 0 || (rc = rd_uint_max(r, INT64_MAX, &b)) < 0)
            return rc;
        f->u.ready.index = (uint32_t)a;
        f->u.ready.pid = (int64_t)b;
        return 0;
    case CODEC_COLLECT: return 0;
    case CODEC_END: return rd_uint(r, &f->u.end.records_sent);
    }
    return CODEC_E_SHAPE;
}

int codec_decode_body(const uint8_t *body, size_t len, struct codec_frame *f)
{
    struct rd r = {body, body + len};
    uint32_t n;
    uint64_t type;
    int rc;
    if ((rc = rd_array(&r, &n)) < 0)
        return rc;
    if (n < 1)
        return CODEC_E_SHAPE;
    if ((rc = rd_uint(&r, &type)) < 0)
        return rc;
    if (type < CODEC_MSG || type > CODEC_END || fields_of[type] != n)
        return CODEC_E_SHAPE;
    f->type = (uint8_t)type;
    if ((rc = decode_fields(&r, f)) < 0)
        return rc;
    return r.p == r.end ? CODEC_OK : CODEC_E_TRAILING;
}

int codec_frame_size(const uint8_t *buf, size_t len, size_t *size)
{
    if (len < CODEC_PREFIX)
        return CODEC_INCOMPLETE;
    uint32_t body = (uint32_t)buf[0] | (uint32_t)buf[1] << 8 | (uint32_t)buf[2] << 16 | (uint32_t)buf[3] << 24;
    if (body > CODEC_BODY_MAX)
        return CODEC_E_TOO_BIG;
    *size = CODEC_PREFIX + (size_t)body;
    return CODEC_OK;
}

int codec_decode_frame(const uint8_t *buf, size_t len, struct codec_frame *f, size_t *used)
{
    size_t size;
    int rc = codec_frame_size(buf, len, &size);
    if (rc != CODEC_OK)
        return rc;
    if (len < size)
        return CODEC_INCOMPLETE;
    rc = codec_decode_body(buf + CODEC_PREFIX, size - CODEC_PREFIX, f);
    if (rc == CODEC_OK)
        *used = size;
    return rc;
}

/* codec_check.c - what a decoded frame must satisfy, and the round trip. */
#include "codec_check.h"

#include <string.h>

#include "fnv.h"
#include "fuzz.h"

static void check_within(const void *p, size_t n, const uint8_t *body, size_t len)
{
    const uint8_t *q = p;
    FUZZ_CHECK(q >= body && n <= len && q - body <= (ptrdiff_t)(len - n));
}

static void check_record(const struct machine *m)
{
    FUZZ_CHECK(m->id_len >= 1 && m->id_len <= MSG_ID_MAX && m->id[m->id_len] == '\0');
    FUZZ_CHECK(msg_id_valid(m->id, m->id_len) && m->id_hash == fnv1a64(m->id, m->id_len));
    FUZZ_CHECK(m->state < ST_COUNT);
}

void codec_check_frame(const struct codec_frame *f, const uint8_t *body, size_t len)
{
    switch (f->type) {
    case CODEC_MSG: {
        const struct msg *m = &f->u.msg.m;
        FUZZ_CHECK(m->seq >= 1 && m->event < EV_COUNT && m->payload_len <= MSG_PAYLOAD_MAX);
        FUZZ_CHECK(msg_id_valid(m->id, m->id_len) && m->id_hash == fnv1a64(m->id, m->id_len));
        check_within(m->id, m->id_len, body, len);
        check_within(f->u.msg.payload, m->payload_len, body, len);
        break;
    }
    case CODEC_QUERY:
        FUZZ_CHECK(msg_id_valid(f->u.query.id, f->u.query.id_len));
        check_within(f->u.query.id, f->u.query.id_len, body, len);
        break;
    case CODEC_ANSWER:
        if (f->u.answer.found)
            check_record(&f->u.answer.rec);
        break;
    case CODEC_RECORDS:
        FUZZ_CHECK(f->u.records.count <= CODEC_RECORDS_MAX && f->records != NULL);
        for (uint32_t i = 0; i < f->u.records.count; i++)
            check_record(&f->records[i]);
        break;
    case CODEC_STATS: FUZZ_CHECK(f->u.stats.rss_kb >= 0); break;
    case CODEC_READY: FUZZ_CHECK(f->u.ready.pid >= 0); break;
    case CODEC_COLLECT:
    case CODEC_END: break;
    default: FUZZ_CHECK(!"a frame type codec.h does not declare");
    }
}

static bool same_record(const struct machine *a, const struct machine *b)
{
    return a->id_len == b->id_len && memcmp(a->id, b->id, a->id_len) == 0 && a->id_hash == b->id_hash &&
           a->state == b->state && a->msgs == b->msgs && a->transitions == b->transitions && a->invalid == b->invalid &&
           a->jobs == b->jobs && a->failures == b->failures && a->bytes == b->bytes && a->last_seq == b->last_seq &&
           a->ooo == b->ooo && a->corrupt == b->corrupt && a->checksum == b->checksum;
}

/* Big enough for any frame the fuzzers can produce again from their inputs
 * (inputs are at most a few hundred KiB; a record re-encodes to at most
 * CODEC_RECORD_MAX bytes). */
#define ROUND_TRIP_MAX (CODEC_RECORDS_MAX * CODEC_RECORD_MAX + (1u << 20))

void codec_check_round_trip(const struct codec_frame *f)
{
    static uint8_t buf[ROUND_TRIP_MAX];
    static struct machine records[CODEC_RECORDS_MAX];
    struct codec_buf b = {buf, 0, sizeof buf};
    int rc = -1;
    switch (f->type) {
    case CODEC_MSG: {
        uint32_t n = f->u.msg.m.payload_len;
        rc = codec_put_msg_head(&b, &f->u.msg.m);
        if (rc == 0 && b.cap - b.len < n)
            return; /* a payload bigger than the round-trip buffer: nothing to learn */
        if (rc == 0 && n > 0) {
            memcpy(b.data + b.len, f->u.msg.payload, n);
            b.len += n;
        }
        break;
    }
    case CODEC_QUERY: rc = codec_put_query(&b, f->u.query.corr, f->u.query.id, f->u.query.id_len); break;
    case CODEC_ANSWER: rc = codec_put_answer(&b, f->u.answer.corr, f->u.answer.found ? &f->u.answer.rec : NULL); break;
    case CODEC_RECORDS: rc = codec_put_records(&b, f->records, f->u.records.count); break;
    case CODEC_STATS:
        rc = codec_put_stats(&b, f->u.stats.index, f->u.stats.handled, f->u.stats.busy_ns, f->u.stats.machines,
                             f->u.stats.rss_kb);
        break;
    case CODEC_READY: rc = codec_put_ready(&b, f->u.ready.index, f->u.ready.pid); break;
    case CODEC_COLLECT: rc = codec_put_collect(&b); break;
    case CODEC_END: rc = codec_put_end(&b, f->u.end.records_sent); break;
    }
    FUZZ_CHECK(rc == 0);

    struct codec_frame g;
    memset(&g, 0, sizeof g);
    g.records = records;
    size_t used = 0;
    FUZZ_CHECK(codec_decode_frame(b.data, b.len, &g, &used) == CODEC_OK && used == b.len);
    FUZZ_CHECK(g.type == f->type);
    switch (f->type) {
    case CODEC_MSG: {
        const struct msg *x = &f->u.msg.m, *y = &g.u.msg.m;
        FUZZ_CHECK(x->seq == y->seq && x->event == y->event && x->payload_len == y->payload_len);
        FUZZ_CHECK(x->id_len == y->id_len && memcmp(x->id, y->id, x->id_len) == 0 && x->id_hash == y->id_hash);
        FUZZ_CHECK(x->payload_len == 0 || memcmp(f->u.msg.payload, g.u.msg.payload, x->payload_len) == 0);
        break;
    }
    case CODEC_QUERY:
        FUZZ_CHECK(f->u.query.corr == g.u.query.corr && f->u.query.id_len == g.u.query.id_len);
        FUZZ_CHECK(memcmp(f->u.query.id, g.u.query.id, f->u.query.id_len) == 0);
        break;
    case CODEC_ANSWER:
        FUZZ_CHECK(f->u.answer.corr == g.u.answer.corr && f->u.answer.found == g.u.answer.found);
        FUZZ_CHECK(!f->u.answer.found || same_record(&f->u.answer.rec, &g.u.answer.rec));
        break;
    case CODEC_RECORDS:
        FUZZ_CHECK(f->u.records.count == g.u.records.count);
        for (uint32_t i = 0; i < f->u.records.count; i++)
            FUZZ_CHECK(same_record(&f->records[i], &g.records[i]));
        break;
    case CODEC_STATS:
        FUZZ_CHECK(f->u.stats.index == g.u.stats.index && f->u.stats.handled == g.u.stats.handled &&
                   f->u.stats.busy_ns == g.u.stats.busy_ns && f->u.stats.machines == g.u.stats.machines &&
                   f->u.stats.rss_kb == g.u.stats.rss_kb);
        break;
    case CODEC_READY: FUZZ_CHECK(f->u.ready.index == g.u.ready.index && f->u.ready.pid == g.u.ready.pid); break;
    case CODEC_END: FUZZ_CHECK(f->u.end.records_sent == g.u.end.records_sent); break;
    }
}

/* test_codec.c - the frames of codec.h: every type round-trips, the bytes
 * are msgpack any library reads, and hostile input (truncated, oversized,
 * mistyped, random) is an error code, never a crash or an over-read. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "codec.h"
#include "fnv.h"
#include "payload.h"

static uint8_t buf[1 << 20];

static struct codec_buf fresh(void)
{
    return (struct codec_buf){.data = buf, .len = 0, .cap = sizeof buf};
}

static struct machine sample_machine(const char *id)
{
    struct machine m;
    sm_init(&m, id, strlen(id), fnv1a64(id, strlen(id)));
    m.state = ST_PAUSED;
    m.msgs = 12;
    m.transitions = 5;
    m.invalid = 3;
    m.jobs = 1;
    m.failures = 2;
    m.bytes = 1ull << 40;
    m.last_seq = UINT64_MAX;
    m.ooo = 7;
    m.corrupt = 0;
    m.checksum = 0xdeadbeefcafef00dull;
    return m;
}

static void expect_same_machine(const struct machine *a, const struct machine *b)
{
    cr_expect_str_eq(a->id, b->id);
    cr_expect_eq(a->id_len, b->id_len);
    cr_expect_eq(a->id_hash, b->id_hash);
    cr_expect_eq(a->state, b->state);
    cr_expect_eq(a->msgs, b->msgs);
    cr_expect_eq(a->transitions, b->transitions);
    cr_expect_eq(a->invalid, b->invalid);
    cr_expect_eq(a->jobs, b->jobs);
    cr_expect_eq(a->failures, b->failures);
    cr_expect_eq(a->bytes, b->bytes);
    cr_expect_eq(a->last_seq, b->last_seq);
    cr_expect_eq(a->ooo, b->ooo);
    cr_expect_eq(a->corrupt, b->corrupt);
    cr_expect_eq(a->checksum, b->checksum);
}

Test(codec, a_message_round_trips_with_its_payload)
{
    struct codec_buf b = fresh();
    const char *id = "sensor-7:a.b_c";
    struct msg m = {.seq = 1ull << 33, .id = id, .id_len = (uint8_t)strlen(id), .event = EV_DATA, .payload_len = 1000};
    cr_assert_eq(codec_put_msg_head(&b, &m), 0);
    payload_fill(b.data + b.len, m.seq, m.payload_len);
    b.len += m.payload_len;
    struct codec_frame f;
    size_t used = 0;
    cr_assert_eq(codec_decode_frame(b.data, b.len, &f, &used), CODEC_OK);
    cr_expect_eq(used, b.len);
    cr_expect_eq(f.type, CODEC_MSG);
    cr_expect_eq(f.u.msg.m.seq, m.seq);
    cr_expect_eq(f.u.msg.m.id_len, m.id_len);
    cr_expect_eq(memcmp(f.u.msg.m.id, id, m.id_len), 0);
    cr_expect_eq(f.u.msg.m.id_hash, fnv1a64(id, m.id_len));
    cr_expect_eq(f.u.msg.m.event, EV_DATA);
    cr_expect_eq(f.u.msg.m.payload_len, 1000);
    cr_expect(payload_check(f.u.msg.payload, m.seq, 1000));
}

Test(codec, queries_answers_and_control_frames_round_trip)
{
    struct codec_buf b = fresh();
    struct machine m = sample_machine("id-42");
    cr_assert_eq(codec_put_query(&b, 77, "id-42", 5), 0);
    cr_assert_eq(codec_put_answer(&b, 77, &m), 0);
    cr_assert_eq(codec_put_answer(&b, 78, NULL), 0);
    cr_assert_eq(codec_put_stats(&b, 3, 1000, 2000, 30, 4096), 0);
    cr_assert_eq(codec_put_ready(&b, 5, 4242), 0);
    cr_assert_eq(codec_put_collect(&b), 0);
    cr_assert_eq(codec_put_end(&b, 12345), 0);
    size_t off = 0, used;
    struct codec_frame f;
    cr_assert_eq(codec_decode_frame(b.data + off, b.len - off, &f, &used), CODEC_OK);
    off += used;
    cr_expect_eq(f.type, CODEC_QUERY);
    cr_expect_eq(f.u.query.corr, 77);
    cr_expect_eq(f.u.query.id_len, 5);
    cr_assert_eq(codec_decode_frame(b.data + off, b.len - off, &f, &used), CODEC_OK);
    off += used;
    cr_expect_eq(f.type, CODEC_ANSWER);
    cr_expect(f.u.answer.found);
    expect_same_machine(&f.u.answer.rec, &m);
    cr_assert_eq(codec_decode_frame(b.data + off, b.len - off, &f, &used), CODEC_OK);
    off += used;
    cr_expect_eq(f.u.answer.corr, 78);
    cr_expect_not(f.u.answer.found);
    cr_assert_eq(codec_decode_frame(b.data + off, b.len - off, &f, &used), CODEC_OK);
    off += used;
    cr_expect_eq(f.type, CODEC_STATS);
    cr_expect_eq(f.u.stats.index, 3);
    cr_expect_eq(f.u.stats.handled, 1000);
    cr_expect_eq(f.u.stats.busy_ns, 2000);
    cr_expect_eq(f.u.stats.machines, 30);
    cr_expect_eq(f.u.stats.rss_kb, 4096);
    cr_assert_eq(codec_decode_frame(b.data + off, b.len - off, &f, &used), CODEC_OK);
    off += used;
    cr_expect_eq(f.type, CODEC_READY);
    cr_expect_eq(f.u.ready.pid, 4242);
    cr_assert_eq(codec_decode_frame(b.data + off, b.len - off, &f, &used), CODEC_OK);
    off += used;
    cr_expect_eq(f.type, CODEC_COLLECT);
    cr_assert_eq(codec_decode_frame(b.data + off, b.len - off, &f, &used), CODEC_OK);
    off += used;
    cr_expect_eq(f.type, CODEC_END);
    cr_expect_eq(f.u.end.records_sent, 12345);
    cr_expect_eq(off, b.len);
}

Test(codec, a_full_records_batch_round_trips)
{
    static struct machine in[CODEC_RECORDS_MAX], out[CODEC_RECORDS_MAX];
    for (int i = 0; i < CODEC_RECORDS_MAX; i++) {
        char id[MSG_ID_MAX + 1];
        /* Long ids too: the frame must still fit its stated maximum. */
        snprintf(id, sizeof id, "%0*d", i % 2 ? MSG_ID_MAX : 3, i);
        in[i] = sample_machine(id);
        in[i].msgs = (uint64_t)i;
    }
    struct codec_buf b = fresh();
    cr_assert_eq(codec_put_records(&b, in, CODEC_RECORDS_MAX), 0);
    cr_expect_leq(b.len, 64 + (size_t)CODEC_RECORDS_MAX * CODEC_RECORD_MAX);
    struct codec_frame f = {.records = out};
    size_t used;
    cr_assert_eq(codec_decode_frame(b.data, b.len, &f, &used), CODEC_OK);
    cr_assert_eq(f.u.records.count, CODEC_RECORDS_MAX);
    for (int i = 0; i < CODEC_RECORDS_MAX; i++)
        expect_same_machine(&out[i], &in[i]);
    f.records = NULL;
    cr_expect_eq(codec_decode_frame(b.data, b.len, &f, &used), CODEC_E_NOSPACE);
}

Test(codec, a_tables_machines_cross_in_frames_of_at_most_the_asked_count)
{
    /* Ids of 3 and of MSG_ID_MAX bytes side by side: the table keeps each
     * at its own size, and the frames must walk them so. */
    struct table t;
    cr_assert_eq(table_init(&t, 4), 0);
    enum { N = 2500, MAX = 1000 };
    for (int i = 0; i < N; i++) {
        char id[MSG_ID_MAX + 1];
        int len = snprintf(id, sizeof id, "%0*d", i % 2 ? MSG_ID_MAX : 4, i);
        struct machine *m = table_upsert(&t, id, (size_t)len, fnv1a64(id, (size_t)len));
        cr_assert_not_null(m);
        m->msgs = (uint64_t)i;
    }
    static struct machine out[MAX];
    const struct machine *from = table_first(&t), *expect = from;
    int frames = 0, got = 0;
    while (from) {
        struct codec_buf b = fresh();
        int n = codec_put_table(&b, &t, &from, MAX);
        cr_assert_eq(n, got + MAX <= N ? MAX : N - got);
        struct codec_frame f = {.records = out};
        size_t used;
        cr_assert_eq(codec_decode_frame(b.data, b.len, &f, &used), CODEC_OK);
        cr_assert_eq(f.u.records.count, (uint32_t)n);
        for (int k = 0; k < n; k++, expect = table_next(&t, expect))
            expect_same_machine(&out[k], expect);
        got += n;
        frames++;
    }
    cr_expect_eq(got, N);
    cr_expect_eq(frames, 3);
    cr_expect_null(expect);
    uint8_t small[16];
    struct codec_buf tight = {.data = small, .cap = sizeof small};
    from = table_first(&t);
    cr_expect_eq(codec_put_table(&tight, &t, &from, MAX), -ENOBUFS);
    cr_expect_eq(from, table_first(&t), "a frame that did not fit moves nothing");
    cr_expect_eq(tight.len, 0);
    table_free(&t);
}

Test(codec, an_encoder_that_runs_out_of_room_leaves_the_buffer_as_it_was)
{
    uint8_t small[40];
    struct codec_buf b = {.data = small, .cap = sizeof small};
    cr_assert_eq(codec_put_query(&b, 1, "a", 1), 0);
    size_t len = b.len;
    char id[MSG_ID_MAX + 1];
    memset(id, 'x', MSG_ID_MAX);
    cr_expect_eq(codec_put_query(&b, 2, id, MSG_ID_MAX), -ENOBUFS);
    cr_expect_eq(b.len, len);
}

Test(codec, the_body_is_plain_msgpack_that_msgpack_c_reads)
{
    struct codec_buf b = fresh();
    struct msg m = {.seq = 9, .id = "id-1", .id_len = 4, .event = EV_START, .payload_len = 3};
    cr_assert_eq(codec_put_msg_head(&b, &m), 0);
    payload_fill(b.data + b.len, 9, 3);
    b.len += 3;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    cr_assert_eq(msgpack_unpack_next(&u, (const char *)b.data + CODEC_PREFIX, b.len - CODEC_PREFIX, &off),
                 MSGPACK_UNPACK_SUCCESS);
    cr_expect_eq(off, b.len - CODEC_PREFIX);
    msgpack_object o = u.data;
    cr_assert_eq(o.type, MSGPACK_OBJECT_ARRAY);
    cr_assert_eq(o.via.array.size, 5);
    cr_expect_eq(o.via.array.ptr[0].via.u64, CODEC_MSG);
    cr_expect_eq(o.via.array.ptr[1].via.u64, 9);
    cr_expect_eq(o.via.array.ptr[2].type, MSGPACK_OBJECT_STR);
    cr_expect_eq(o.via.array.ptr[4].type, MSGPACK_OBJECT_BIN);
    cr_expect_eq(o.via.array.ptr[4].via.bin.size, 3);
    msgpack_unpacked_destroy(&u);
    /* The prefix is the body's length, little-endian. */
    cr_expect_eq(b.data[0] | b.data[1] << 8 | b.data[2] << 16 | (uint32_t)b.data[3] << 24, b.len - CODEC_PREFIX);
}

Test(codec, a_prefix_over_the_limit_is_rejected_before_the_body_arrives)
{
    uint8_t p[4];
    uint32_t big = CODEC_BODY_MAX + 1;
    memcpy(p, &big, 4);
    struct codec_frame f;
    size_t used, size;
    cr_expect_eq(codec_decode_frame(p, 4, &f, &used), CODEC_E_TOO_BIG);
    cr_expect_eq(codec_frame_size(p, 4, &size), CODEC_E_TOO_BIG);
    uint32_t max = CODEC_BODY_MAX;
    memcpy(p, &max, 4);
    cr_expect_eq(codec_decode_frame(p, 4, &f, &used), CODEC_INCOMPLETE);
    cr_expect_eq(codec_frame_size(p, 3, &size), CODEC_INCOMPLETE);
}

/* Decodes body bytes given as a literal. */
static int decode_body(const char *bytes, size_t n)
{
    struct codec_frame f;
    static struct machine recs[CODEC_RECORDS_MAX];
    f.records = recs;
    /* A heap copy of exactly n bytes, so an over-read is visible to ASan. */
    uint8_t *copy = malloc(n ? n : 1);
    memcpy(copy, bytes, n);
    int rc = codec_decode_body(copy, n, &f);
    free(copy);
    return rc;
}

Test(codec, hostile_bodies_are_clear_errors)
{
    /* [1, seq, "a", event, bin] with one thing wrong at a time. */
    cr_expect_eq(decode_body("\x95\x01\x05\xa1\x61\x07\xc4\x00", 8), CODEC_OK);
    cr_expect_eq(decode_body("\x95\x01\x00\xa1\x61\x07\xc4\x00", 8), CODEC_E_VALUE, "seq 0");
    cr_expect_eq(decode_body("\x95\x01\x05\xa1\x21\x07\xc4\x00", 8), CODEC_E_VALUE, "bad id byte");
    cr_expect_eq(decode_body("\x95\x01\x05\xa0\x07\xc4\x00", 7), CODEC_E_VALUE, "empty id");
    cr_expect_eq(decode_body("\x95\x01\x05\xa1\x61\x09\xc4\x00", 8), CODEC_E_VALUE, "event 9");
    cr_expect_eq(decode_body("\x95\x01\x05\xa1\x61\x07\xc4\x05", 8), CODEC_E_TRUNCATED, "bin longer than frame");
    cr_expect_eq(decode_body("\x95\x01\x05\xa1\x61\x07\xc6\xff\xff\xff\xff", 11), CODEC_E_TRUNCATED, "bin32 4G");
    cr_expect_eq(decode_body("\x95\x01\x05\xa5\x61\x07\xc4\x00", 8), CODEC_E_TRUNCATED, "str past the end");
    cr_expect_eq(decode_body("\x95\x01\x05\xc4\x01\x61\x07\xc4\x00", 9), CODEC_E_TYPE, "id as bin");
    cr_expect_eq(decode_body("\x94\x01\x05\xa1\x61\x07", 6), CODEC_E_SHAPE, "4 fields");
    cr_expect_eq(decode_body("\x95\x01\x05\xa1\x61\x07\xc4\x00\x00", 9), CODEC_E_TRAILING, "a byte too many");
    cr_expect_eq(decode_body("\x91\x09", 2), CODEC_E_SHAPE, "type 9");
    cr_expect_eq(decode_body("\x91\x00", 2), CODEC_E_SHAPE, "type 0");
    cr_expect_eq(decode_body("\x90", 1), CODEC_E_SHAPE, "empty array");
    cr_expect_eq(decode_body("\xdd\xff\xff\xff\xff\x04", 6), CODEC_E_TRUNCATED, "array32 of 4G elements");
    cr_expect_eq(decode_body("\x92\x04\xdd\x00\x01\x00\x00", 7), CODEC_E_TRUNCATED, "records count lies");
    cr_expect_eq(decode_body("\x92\x04\xdc\x04\x01", 5), CODEC_E_TRUNCATED, "1025 records claimed, none there");
    cr_expect_eq(decode_body("", 0), CODEC_E_TRUNCATED, "nothing");
    cr_expect_eq(decode_body("\x95\x01\xcf\x00", 4), CODEC_E_TRUNCATED, "u64 cut short");
    cr_expect_eq(decode_body("\x95\x01\xd3\x00\x00\x00\x00\x00\x00\x00\x05\xa1\x61\x07\xc4\x00", 16), CODEC_E_TYPE,
                 "seq as a signed int");
}

Test(codec, every_truncation_of_valid_frames_is_incomplete_never_a_crash)
{
    struct codec_buf b = fresh();
    struct machine m = sample_machine("trunc");
    struct msg msg = {.seq = 3, .id = "trunc", .id_len = 5, .event = EV_DATA, .payload_len = 50};
    cr_assert_eq(codec_put_msg_head(&b, &msg), 0);
    payload_fill(b.data + b.len, 3, 50);
    b.len += 50;
    cr_assert_eq(codec_put_answer(&b, 1, &m), 0);
    cr_assert_eq(codec_put_records(&b, &m, 1), 0);
    size_t off = 0;
    while (off < b.len) {
        size_t size;
        cr_assert_eq(codec_frame_size(b.data + off, b.len - off, &size), CODEC_OK);
        for (size_t cut = 0; cut < size; cut++) {
            uint8_t *copy = malloc(cut ? cut : 1);
            memcpy(copy, b.data + off, cut);
            struct codec_frame f;
            static struct machine recs[CODEC_RECORDS_MAX];
            f.records = recs;
            size_t used;
            cr_expect_eq(codec_decode_frame(copy, cut, &f, &used), CODEC_INCOMPLETE, "cut at %zu", cut);
            /* And the same bytes as a body with a lying length: an error. */
            cr_expect_neq(codec_decode_body(copy + (cut > 4 ? 4 : cut), cut > 4 ? cut - 4 : 0, &f), CODEC_OK);
            free(copy);
        }
        off += size;
    }
}

Test(codec, random_mutations_of_valid_frames_never_crash)
{
    struct codec_buf b = fresh();
    struct machine m = sample_machine("mut");
    cr_assert_eq(codec_put_answer(&b, 1, &m), 0);
    cr_assert_eq(codec_put_records(&b, &m, 1), 0);
    struct msg msg = {.seq = 3, .id = "mut", .id_len = 3, .event = EV_DATA, .payload_len = 4};
    cr_assert_eq(codec_put_msg_head(&b, &msg), 0);
    b.len += 4;
    srand(12345);
    uint8_t *copy = malloc(b.len);
    int ok = 0;
    for (int round = 0; round < 200000; round++) {
        memcpy(copy, b.data, b.len);
        for (int k = 0; k < 1 + round % 4; k++)
            copy[(size_t)rand() % b.len] = (uint8_t)rand();
        size_t off = 0;
        while (off < b.len) {
            struct codec_frame f;
            static struct machine recs[CODEC_RECORDS_MAX];
            f.records = recs;
            size_t used;
            int rc = codec_decode_frame(copy + off, b.len - off, &f, &used);
            if (rc != CODEC_OK)
                break;
            cr_assert_leq(used, b.len - off);
            ok++;
            off += used;
        }
    }
    free(copy);
    cr_expect_gt(ok, 0);
}

Test(codec, its_id_check_accepts_exactly_what_msg_id_valid_accepts)
{
    for (int c = 0; c < 256; c++) {
        char id[3] = {'a', (char)c, 'b'};
        cr_expect_eq(codec_id_valid(id, 3), msg_id_valid(id, 3), "byte %#x", c);
        cr_expect_eq(codec_id_valid(id + 1, 1), msg_id_valid(id + 1, 1), "byte %#x alone", c);
    }
    char longest[MSG_ID_MAX + 1];
    memset(longest, 'x', sizeof longest);
    cr_expect(codec_id_valid(longest, MSG_ID_MAX));
    cr_expect_not(codec_id_valid(longest, MSG_ID_MAX + 1));
    cr_expect_not(codec_id_valid(longest, 0));
}

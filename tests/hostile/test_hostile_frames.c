/* test_hostile_frames.c - frames to a worker and query requests/answers
 * (phase 3's pipes, codec.h) as hostile input, at the decoder every reader of
 * a pipe goes through: codec_decode_frame(). Each row of README.md is one
 * test: a frame a broken or hostile peer could write, and the error the
 * decoder must name, before it allocates or reads past the bytes present.
 *
 * Bodies are written out byte by byte in msgpack: 0x9N is an array of N,
 * 0x00-0x7f a small integer, 0xaN a string of N bytes, 0xc4 a bin8,
 * 0xc6 a bin32, 0xdb a str32, 0xdd an array32, 0xc0 nil. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

TestSuite(frames, .timeout = 30);
TestSuite(queries, .timeout = 30);

#define BYTES(...) ((const uint8_t[]){__VA_ARGS__}), sizeof((const uint8_t[]){__VA_ARGS__})

static struct machine records[CODEC_RECORDS_MAX];

/* Decodes prefix + body from a buffer of exactly that size (a read past it
 * is caught by the sanitizer build). as_worker: no room for RECORDS. */
static int decode(const uint8_t *body, size_t len, bool as_worker, struct codec_frame *f)
{
    uint8_t *buf = malloc(CODEC_PREFIX + len);
    cr_assert_not_null(buf);
    buf[0] = (uint8_t)len;
    buf[1] = (uint8_t)(len >> 8);
    buf[2] = (uint8_t)(len >> 16);
    buf[3] = (uint8_t)(len >> 24);
    memcpy(buf + CODEC_PREFIX, body, len);
    memset(f, 0, sizeof *f);
    f->records = as_worker ? NULL : records;
    size_t used = 0;
    int rc = codec_decode_frame(buf, CODEC_PREFIX + len, f, &used);
    free(buf);
    return rc;
}

static void expect_body(const uint8_t *body, size_t len, int want)
{
    struct codec_frame f;
    int rc = decode(body, len, true, &f);
    cr_expect_eq(rc, want, "decoded as %d (%s), want %d (%s)", rc, codec_strerror(rc), want, codec_strerror(want));
    cr_expect(strlen(codec_strerror(rc)) > 0);
}

/* --- the frame's length prefix --- */

Test(frames, prefix_over_the_body_limit_is_rejected_before_the_body_arrives)
{
    /* 16 MiB + 257: only the 4 prefix bytes are present, and that is enough. */
    uint32_t n = CODEC_BODY_MAX + 1;
    const uint8_t prefix[4] = {(uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), (uint8_t)(n >> 24)};
    size_t size = 0;
    cr_expect_eq(codec_frame_size(prefix, sizeof prefix, &size), CODEC_E_TOO_BIG);
    struct codec_frame f = {0};
    size_t used = 0;
    cr_expect_eq(codec_decode_frame(prefix, sizeof prefix, &f, &used), CODEC_E_TOO_BIG);
    const uint8_t all_ones[4] = {0xff, 0xff, 0xff, 0xff};
    cr_expect_eq(codec_frame_size(all_ones, 4, &size), CODEC_E_TOO_BIG);
}

Test(frames, short_prefix_or_body_asks_for_more_bytes)
{
    const uint8_t three[3] = {8, 0, 0};
    struct codec_frame f = {0};
    size_t used = 0;
    cr_expect_eq(codec_decode_frame(three, sizeof three, &f, &used), CODEC_INCOMPLETE);
    const uint8_t half[6] = {8, 0, 0, 0, 0x91, 0x07}; /* promises 8 body bytes, has 2 */
    cr_expect_eq(codec_decode_frame(half, sizeof half, &f, &used), CODEC_INCOMPLETE);
}

Test(frames, empty_body_is_rejected)
{
    struct codec_frame f;
    cr_expect_eq(decode((const uint8_t *)"", 0, true, &f), CODEC_E_TRUNCATED);
}

/* --- lengths inside the body that lie --- */

Test(frames, array_count_past_the_bytes_present_is_rejected)
{
    expect_body(BYTES(0xdd, 0xff, 0xff, 0xff, 0xff, 0x01), CODEC_E_TRUNCATED);
}

Test(frames, payload_length_past_the_bytes_present_is_rejected)
{
    expect_body(BYTES(0x95, 0x01, 0x01, 0xa1, 'a', 0x07, 0xc6, 0xff, 0xff, 0xff, 0xff, 0x00), CODEC_E_TRUNCATED);
}

Test(frames, worker_id_length_past_the_bytes_present_is_rejected)
{
    expect_body(BYTES(0x95, 0x01, 0x01, 0xdb, 0x7f, 0xff, 0xff, 0xff, 'a'), CODEC_E_TRUNCATED);
}

Test(frames, payload_over_16_mib_is_rejected)
{
    /* A real 16 MiB + 1 payload (bin32 length 0x01000001) in a body under
     * CODEC_BODY_MAX: the frame is whole, the value is out of range. */
    size_t n = MSG_PAYLOAD_MAX + 1;
    const uint8_t head[11] = {0x95, 0x01, 0x01, 0xa1, 'a', 0x07, 0xc6, 0x01, 0x00, 0x00, 0x01};
    uint8_t *body = calloc(1, sizeof head + n);
    cr_assert_not_null(body);
    memcpy(body, head, sizeof head);
    expect_body(body, sizeof head + n, CODEC_E_VALUE);
    free(body);
}

Test(frames, bytes_after_the_last_field_are_rejected)
{
    expect_body(BYTES(0x91, 0x07, 0x00), CODEC_E_TRAILING);
}

/* --- shapes and types --- */

Test(frames, unknown_frame_type_is_rejected)
{
    expect_body(BYTES(0x91, 0x09), CODEC_E_SHAPE);
    expect_body(BYTES(0x91, 0x00), CODEC_E_SHAPE);
}

Test(frames, wrong_field_count_is_rejected)
{
    expect_body(BYTES(0x94, 0x01, 0x01, 0xa1, 'a', 0x00), CODEC_E_SHAPE); /* MSG without payload */
    expect_body(BYTES(0x90), CODEC_E_SHAPE);
}

Test(frames, body_that_is_not_an_array_is_rejected)
{
    expect_body(BYTES(0xa3, 'M', 'S', 'G'), CODEC_E_TYPE);
}

Test(frames, field_of_the_wrong_type_is_rejected)
{
    expect_body(BYTES(0x95, 0x01, 0xa1, '1', 0xa1, 'a', 0x00, 0xc4, 0x00), CODEC_E_TYPE);  /* seq as a string */
    expect_body(BYTES(0x95, 0x01, 0xff, 0xa1, 'a', 0x00, 0xc4, 0x00), CODEC_E_TYPE);       /* seq -1 */
    expect_body(BYTES(0x95, 0x01, 0x01, 0xc4, 0x01, 'a', 0x00, 0xc4, 0x00), CODEC_E_TYPE); /* id as bin */
}

/* --- values out of their range (SPEC §2) --- */

Test(frames, seq_zero_is_rejected)
{
    expect_body(BYTES(0x95, 0x01, 0x00, 0xa1, 'a', 0x00, 0xc4, 0x00), CODEC_E_VALUE);
}

Test(frames, unknown_event_code_is_rejected)
{
    expect_body(BYTES(0x95, 0x01, 0x01, 0xa1, 'a', 0x09, 0xc4, 0x00), CODEC_E_VALUE);
}

Test(frames, bad_worker_id_is_rejected)
{
    expect_body(BYTES(0x95, 0x01, 0x01, 0xa3, 'a', '/', 'b', 0x00, 0xc4, 0x00), CODEC_E_VALUE);
    expect_body(BYTES(0x95, 0x01, 0x01, 0xa0, 0x00, 0xc4, 0x00), CODEC_E_VALUE);            /* empty */
    expect_body(BYTES(0x95, 0x01, 0x01, 0xa2, 'a', 0x00, 0x00, 0xc4, 0x00), CODEC_E_VALUE); /* NUL */
}

Test(frames, worker_id_over_63_bytes_is_rejected)
{
    uint8_t body[80] = {0x95, 0x01, 0x01, 0xd9, 64};
    memset(body + 5, 'x', 64);
    body[69] = 0x00;
    body[70] = 0xc4;
    body[71] = 0x00;
    expect_body(body, 72, CODEC_E_VALUE);
}

Test(frames, records_sent_to_a_worker_are_refused)
{
    expect_body(BYTES(0x92, 0x04, 0x90), CODEC_E_NOSPACE);
}

Test(frames, more_records_than_the_limit_are_rejected)
{
    /* An array32 of 1025 records with 1025 bytes behind it: the count is
     * plausible for the bytes, over CODEC_RECORDS_MAX. */
    size_t len = 7 + 1025;
    uint8_t *body = calloc(1, len);
    cr_assert_not_null(body);
    const uint8_t head[7] = {0x92, 0x04, 0xdd, 0x00, 0x00, 0x04, 0x01};
    memcpy(body, head, 7);
    memset(body + 7, 0xc0, len - 7);
    struct codec_frame f;
    int rc = decode(body, len, false, &f);
    cr_expect_eq(rc, CODEC_E_VALUE, "decoded as %d (%s)", rc, codec_strerror(rc));
    free(body);
}

Test(frames, a_valid_frame_still_decodes)
{
    /* The control row: the smallest valid MSG, [1, 1, "a", START, bin()]. */
    struct codec_frame f;
    cr_assert_eq(decode(BYTES(0x95, 0x01, 0x01, 0xa1, 'a', 0x00, 0xc4, 0x00), true, &f), CODEC_OK);
    cr_expect_eq(f.type, CODEC_MSG);
    cr_expect_eq(f.u.msg.m.seq, 1);
    cr_expect_eq(f.u.msg.m.id_len, 1);
    cr_expect_eq(f.u.msg.m.payload_len, 0);
}

/* --- query requests and answers --- */

Test(queries, query_with_a_bad_worker_id_is_rejected)
{
    expect_body(BYTES(0x93, 0x02, 0x01, 0xa3, 'a', ' ', 'b'), CODEC_E_VALUE);
}

Test(queries, query_without_a_worker_id_is_rejected)
{
    expect_body(BYTES(0x93, 0x02, 0x01, 0xc0), CODEC_E_TYPE);
    expect_body(BYTES(0x92, 0x02, 0x01), CODEC_E_SHAPE);
}

Test(queries, query_with_a_non_integer_correlation_id_is_rejected)
{
    expect_body(BYTES(0x93, 0x02, 0xa1, '1', 0xa1, 'a'), CODEC_E_TYPE);
}

Test(queries, answer_with_an_unknown_state_is_rejected)
{
    /* record = [id, state 5, ten counters] */
    expect_body(BYTES(0x93, 0x03, 0x01, 0x9c, 0xa1, 'a', 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), CODEC_E_VALUE);
}

Test(queries, answer_with_a_short_record_is_rejected)
{
    expect_body(BYTES(0x93, 0x03, 0x01, 0x9b, 0xa1, 'a', 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0), CODEC_E_SHAPE);
}

Test(queries, answer_with_a_truncated_record_is_rejected)
{
    expect_body(BYTES(0x93, 0x03, 0x01, 0x9c, 0xa1, 'a', 0x01, 0, 0, 0), CODEC_E_TRUNCATED);
}

Test(queries, answer_not_found_is_nil_not_an_error)
{
    struct codec_frame f;
    cr_assert_eq(decode(BYTES(0x93, 0x03, 0x2a, 0xc0), true, &f), CODEC_OK);
    cr_expect_eq(f.type, CODEC_ANSWER);
    cr_expect_eq(f.u.answer.corr, 42);
    cr_expect_not(f.u.answer.found);
}

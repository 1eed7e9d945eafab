/* test_hostile_ring.c - phase 4's ring records as hostile input: what a
 * broken or hostile producer could leave in shared memory, and the decoder
 * (ring_decode(), ring.h) refusing it as RING_CORRUPT instead of following a
 * length out of the mapping. One test per row of README.md. */
#include <criterion/criterion.h>
#include <string.h>

#include "ring.h"

TestSuite(ring, .timeout = 30);

#define AREA 256u /* the data area of these tests: a power of two */

static _Alignas(8) uint8_t area[AREA];

/* Writes a MSG record at offset off: id "a", frag_len payload bytes. */
static struct ring_rec *put_msg(uint32_t off, uint32_t frag_len)
{
    struct ring_rec h = {0};
    uint32_t at = (uint32_t)((sizeof h + 1 + 7) & ~7u);
    h.rec_len = (at + frag_len + 7) & ~7u;
    h.kind = RING_MSG;
    h.event = EV_DATA;
    h.id_len = 1;
    h.payload_len = frag_len;
    h.frag_len = frag_len;
    h.seq = 1;
    memcpy(area + off, &h, sizeof h);
    area[off + sizeof h] = 'a';
    return (struct ring_rec *)(area + off);
}

static int decode_at(uint64_t pos, uint64_t avail)
{
    struct ring_view v;
    uint32_t len = 0;
    return ring_decode(area, AREA, pos, avail, &v, &len);
}

static void setup(void)
{
    memset(area, 0, sizeof area);
}

Test(ring, a_valid_record_still_decodes, .init = setup)
{
    struct ring_rec *r = put_msg(0, 5);
    struct ring_view v;
    uint32_t len = 0;
    cr_assert_eq(ring_decode(area, AREA, 0, r->rec_len, &v, &len), RING_OK);
    cr_expect_eq(len, r->rec_len);
    cr_expect_eq(v.kind, RING_MSG);
    cr_expect_eq(v.frag_len, 5);
}

Test(ring, record_length_zero_is_corrupt, .init = setup)
{
    put_msg(0, 0)->rec_len = 0;
    cr_expect_eq(decode_at(0, 64), RING_CORRUPT);
}

Test(ring, record_length_past_the_published_bytes_is_corrupt, .init = setup)
{
    struct ring_rec *r = put_msg(0, 16);
    cr_expect_eq(decode_at(0, r->rec_len - 8), RING_CORRUPT);
    r->rec_len = 0xfffffff8u;
    cr_expect_eq(decode_at(0, AREA), RING_CORRUPT);
}

Test(ring, record_running_past_the_end_of_the_circle_is_corrupt, .init = setup)
{
    /* 48 bytes from the end, a record claiming 64: records never wrap. */
    put_msg(AREA - 48, 16)->rec_len = 64;
    cr_expect_eq(decode_at(AREA - 48, 128), RING_CORRUPT);
}

Test(ring, unaligned_length_or_position_is_corrupt, .init = setup)
{
    put_msg(0, 0)->rec_len = 44;
    cr_expect_eq(decode_at(0, 64), RING_CORRUPT);
    cr_expect_eq(decode_at(4, 64), RING_CORRUPT);
    cr_expect_eq(decode_at(0, 60), RING_CORRUPT); /* published bytes not a whole number of records */
}

Test(ring, more_published_than_the_ring_holds_is_corrupt, .init = setup)
{
    put_msg(0, 0);
    cr_expect_eq(decode_at(0, AREA + 8), RING_CORRUPT);
}

Test(ring, unknown_record_kind_is_corrupt, .init = setup)
{
    put_msg(0, 0)->kind = 9;
    cr_expect_eq(decode_at(0, 64), RING_CORRUPT);
}

Test(ring, bad_id_length_is_corrupt, .init = setup)
{
    put_msg(0, 0)->id_len = 0;
    cr_expect_eq(decode_at(0, 64), RING_CORRUPT);
    put_msg(0, 0)->id_len = MSG_ID_MAX + 1;
    cr_expect_eq(decode_at(0, 64), RING_CORRUPT);
}

Test(ring, unknown_event_is_corrupt, .init = setup)
{
    put_msg(0, 0)->event = EV_COUNT;
    cr_expect_eq(decode_at(0, 64), RING_CORRUPT);
}

Test(ring, fragment_past_its_payload_is_corrupt, .init = setup)
{
    struct ring_rec *r = put_msg(0, 8);
    r->frag_off = 0xfffffffcu; /* frag_off + frag_len wraps in 32 bits */
    r->payload_len = 16;
    cr_expect_eq(decode_at(0, 64), RING_CORRUPT);
    r = put_msg(0, 8);
    r->frag_len = 200; /* more payload bytes than the record holds */
    r->payload_len = 200;
    cr_expect_eq(decode_at(0, AREA), RING_CORRUPT);
}

Test(ring, payload_over_16_mib_is_corrupt, .init = setup)
{
    struct ring_rec *r = put_msg(0, 8);
    r->payload_len = MSG_PAYLOAD_MAX + 1;
    cr_expect_eq(decode_at(0, 64), RING_CORRUPT);
}

Test(ring, pad_that_stops_short_of_the_end_is_corrupt, .init = setup)
{
    struct ring_rec h = {.rec_len = 16, .kind = RING_PAD};
    memcpy(area, &h, 8);
    cr_expect_eq(decode_at(0, 64), RING_CORRUPT);
}

Test(ring, end_record_of_the_wrong_length_is_corrupt, .init = setup)
{
    struct ring_rec h = {.rec_len = 16, .kind = RING_END};
    memcpy(area, &h, 8);
    cr_expect_eq(decode_at(0, 64), RING_CORRUPT);
}

/* Writes a short record (ring.h) at offset off. */
static struct ring_short *put_short(uint32_t off)
{
    struct ring_short h = {.rec_len = sizeof h, .kind = RING_SHORT, .event = EV_DATA, .slot = 3, .seq = 1};
    memcpy(area + off, &h, sizeof h);
    return (struct ring_short *)(area + off);
}

Test(ring, a_valid_short_record_still_decodes, .init = setup)
{
    put_short(0);
    cr_expect_eq(decode_at(0, sizeof(struct ring_short)), RING_OK);
}

Test(ring, short_record_of_the_wrong_length_is_corrupt, .init = setup)
{
    put_short(0)->rec_len = 32;
    cr_expect_eq(decode_at(0, 64), RING_CORRUPT);
    put_short(0)->rec_len = 8;
    cr_expect_eq(decode_at(0, 64), RING_CORRUPT);
}

Test(ring, short_record_past_the_published_bytes_or_the_circle_is_corrupt, .init = setup)
{
    put_short(0);
    cr_expect_eq(decode_at(0, 16), RING_CORRUPT);
    /* The first 16 of its 24 bytes, in the last 16 of the circle. */
    struct ring_short h = {.rec_len = sizeof h, .kind = RING_SHORT, .event = EV_DATA, .slot = 3};
    memcpy(area + AREA - 16, &h, 16);
    cr_expect_eq(decode_at(AREA - 16, 64), RING_CORRUPT);
}

Test(ring, short_record_with_a_bad_event_or_reserved_bytes_is_corrupt, .init = setup)
{
    put_short(0)->event = EV_COUNT;
    cr_expect_eq(decode_at(0, 64), RING_CORRUPT);
    put_short(0)->reserved[0] = 0xff;
    cr_expect_eq(decode_at(0, 64), RING_CORRUPT);
    put_short(0)->reserved2 = 1;
    cr_expect_eq(decode_at(0, 64), RING_CORRUPT);
}

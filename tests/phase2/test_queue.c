/* test_queue.c - phase 2's bounded queue on its own: FIFO order, the limit
 * in slots and in payload bytes, payloads that wrap the byte ring, and a
 * payload as large as the whole ring. */
#include <criterion/criterion.h>
#include <string.h>

#include "payload.h"
#include "queue.h"

TestSuite(queue, .timeout = 10);

static struct msg msg_of(uint64_t seq, uint32_t len)
{
    return (struct msg){.seq = seq, .id = "x", .id_len = 1, .payload_len = len};
}

/* Pushes seq with its pattern payload; false when the queue refuses it. */
static bool push(struct queue *q, uint64_t seq, uint32_t len)
{
    struct msg m = msg_of(seq, len);
    uint8_t *p;
    if (!queue_push(q, &m, &p))
        return false;
    if (len)
        payload_fill(p, seq, len);
    return true;
}

/* Checks the oldest message is seq with an intact payload, then drops it. */
static void expect_front(struct queue *q, uint64_t seq, uint32_t len)
{
    cr_assert_gt(queue_depth(q), 0);
    const struct msg *m = queue_peek(q, 0);
    cr_assert_eq(m->seq, seq);
    cr_assert_eq(m->payload_len, len);
    if (len)
        cr_assert(payload_check(queue_peek_payload(q, 0), seq, len), "payload of %llu", (unsigned long long)seq);
    queue_drop(q, 1);
}

Test(queue, is_fifo_and_full_at_its_slot_count)
{
    struct queue q;
    cr_assert_eq(queue_init(&q, 5, 0), 0);
    cr_assert_eq(queue_capacity(&q), 8, "rounded up to a power of two");
    for (uint64_t s = 1; s <= 8; s++)
        cr_assert(push(&q, s, 0));
    cr_assert_not(push(&q, 9, 0), "a full queue refuses");
    cr_assert_eq(queue_depth(&q), 8);
    expect_front(&q, 1, 0);
    cr_assert(push(&q, 9, 0), "one drop makes room for one");
    for (uint64_t s = 2; s <= 9; s++)
        expect_front(&q, s, 0);
    cr_assert_eq(queue_depth(&q), 0);
    queue_free(&q);
}

Test(queue, refuses_a_payload_with_no_room_and_takes_it_after_a_drop)
{
    struct queue q;
    cr_assert_eq(queue_init(&q, 64, 1000), 0);
    cr_assert(push(&q, 1, 400));
    cr_assert(push(&q, 2, 400));
    cr_assert_not(push(&q, 3, 400), "800 of 1000 bytes used");
    cr_assert(push(&q, 3, 200), "but 200 fit");
    expect_front(&q, 1, 400);
    cr_assert(push(&q, 4, 300), "wraps to offset 0 once 1 is gone");
    expect_front(&q, 2, 400);
    expect_front(&q, 3, 200);
    expect_front(&q, 4, 300);
    queue_free(&q);
}

Test(queue, payloads_survive_many_laps_of_the_byte_ring)
{
    struct queue q;
    cr_assert_eq(queue_init(&q, 16, 4096), 0);
    uint64_t next_in = 1, next_out = 1;
    /* Lengths that never divide the ring evenly, zero-length ones among them. */
    for (int round = 0; round < 5000; round++) {
        while (push(&q, next_in, (uint32_t)((next_in * 37) % 1500)))
            next_in++;
        uint64_t k = 1 + (uint64_t)round % 3;
        for (uint64_t i = 0; i < k && queue_depth(&q); i++, next_out++)
            expect_front(&q, next_out, (uint32_t)((next_out * 37) % 1500));
    }
    cr_assert_gt(next_out, 5000);
    queue_free(&q);
}

Test(queue, a_payload_as_large_as_the_ring_fits_once_the_queue_is_empty)
{
    struct queue q;
    cr_assert_eq(queue_init(&q, 8, 1024), 0);
    cr_assert(push(&q, 1, 100));
    cr_assert(push(&q, 2, 0));
    cr_assert_not(push(&q, 3, 1024));
    expect_front(&q, 1, 100);
    cr_assert(push(&q, 3, 1024), "only zero-byte payloads are queued: the whole ring is free");
    expect_front(&q, 2, 0);
    expect_front(&q, 3, 1024);
    cr_assert_not(push(&q, 4, 1025), "larger than the ring: never");
    queue_free(&q);
}

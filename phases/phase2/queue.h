/* queue.h - the bounded queue between phase 2's source and its router: a ring
 * of struct msg by value, and beside it a ring of bytes that holds each
 * message's payload.
 *
 * Both rings are allocated once, at queue_init; push copies a message in,
 * the consumer reads it in place and drops it, and nothing allocates. At
 * the limit (no free slot, or no room for the payload) push fails and the
 * producer must wait for the consumer: that is the backpressure of SPEC §8,
 * and it is why memory stays bounded however fast the source is. Not thread-safe and needs no lock: producer and
 * consumer are callbacks of one event loop, which never runs two callbacks at once. */
#ifndef MSGROUTE_PHASE2_QUEUE_H
#define MSGROUTE_PHASE2_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "msg.h"

struct queue_slot {
    struct msg m;
    uint64_t payload_end; /* the byte counter just past this payload */
    uint32_t payload_off; /* where the payload starts in bytes[] */
};

struct queue {
    struct queue_slot *slots;
    uint32_t mask;       /* slots - 1; the slot count is a power of two */
    uint64_t head, tail; /* messages dropped and pushed since init */
    uint8_t *bytes;
    uint64_t bytes_cap;
    uint64_t bhead, btail; /* payload bytes released and reserved since init */
};

/* Room for `slots` messages (rounded up to a power of two) and `bytes` bytes
 * of payload. bytes must be at least the largest payload_len that will be
 * pushed, or that message could never enter. 0 or -ENOMEM. */
int queue_init(struct queue *q, uint32_t slots, uint64_t bytes);
void queue_free(struct queue *q);

static inline uint64_t queue_depth(const struct queue *q)
{
    return q->tail - q->head;
}

static inline uint32_t queue_capacity(const struct queue *q)
{
    return q->mask + 1;
}

/* The i-th oldest queued message (i < queue_depth) and its payload, read in
 * place: a consumer that handles a batch reads it where it lies and then
 * releases it with one queue_drop(), rather than copying each message out. */
static inline const struct msg *queue_peek(const struct queue *q, uint64_t i)
{
    return &q->slots[(q->head + i) & q->mask].m;
}

static inline const uint8_t *queue_peek_payload(const struct queue *q, uint64_t i)
{
    return q->bytes ? q->bytes + q->slots[(q->head + i) & q->mask].payload_off : NULL;
}

/* Releases the n oldest messages (n <= queue_depth) and their payloads. */
void queue_drop(struct queue *q, uint64_t n);

/* Copies m in and reserves m->payload_len bytes for its payload; the caller
 * writes the payload at *payload before the next queue call. False when the
 * queue is full (the caller keeps m and tries again after a drop). */
bool queue_push(struct queue *q, const struct msg *m, uint8_t **payload);

#endif

/* ring.h - a single-producer, single-consumer ring of message records in
 * shared memory: the way a message travels from the main process to one
 * worker in phase 4, with no system call and no serialisation on the way.
 *
 * The ring is a circle of bytes. A record is a fixed-layout header (struct
 * ring_rec), the worker_id bytes, then payload bytes, padded to 8 bytes. A
 * message with no payload, for a machine its worker has already had a full
 * record of, travels as a short record instead (struct ring_short: its slot,
 * event and seq, 24 bytes): the worker knows the id from that first record,
 * and the bytes the main process writes and the worker reads are most of
 * phase 4's cost per message. A record never wraps: when one does not fit before the end of the circle,
 * the producer writes a PAD record to the end and starts again at offset 0.
 * A payload larger than one record may carry (ring_frag_max(), a quarter of
 * the ring) crosses as several records, each a fragment with the same header
 * and its offset in the payload; the consumer reassembles them. A payload that
 * fits in one record is read where it lies, with no copy.
 *
 * Positions head and tail count bytes forever (64 bits never wrap in
 * practice); the offset in the circle is position & (size - 1). head is
 * written only by the producer, tail only by the consumer, each on its own
 * cache line, with C11 release stores and acquire loads (ring.c says what
 * pairs with what). Publication is batched: ring_put() writes records ahead
 * of the published head, and ring_publish() makes them all visible with one
 * store; the consumer likewise returns space with one store per batch
 * (ring_release()).
 *
 * Waiting: a consumer with nothing to read and a producer with no room sleep
 * on a futex in the shared block, and the other side wakes them only when
 * they announced they may be asleep, and in full flow only for a worthwhile
 * amount of work (ring_publish_lazy(), ring_release()). ring.c argues why a
 * wake-up cannot be lost.
 *
 * Trust: the consumer never trusts a length it reads from shared memory.
 * ring_decode() is a pure function over the ring's bytes that validates every
 * field of a record against the mapping before handing out pointers into it;
 * the fuzzer calls it directly.
 *
 * Process safety: exactly one producer process and one consumer process per
 * ring. The shared block is formatted once by ring_format() before the fork. */
#ifndef MSGROUTE_RING_H
#define MSGROUTE_RING_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg.h"

#define RING_MIN_BYTES (4u * 1024u) /* smallest data area */
#define RING_MAX_BYTES (1u << 30)   /* largest data area (1 GiB) */
#define RING_ALIGN 8u               /* every record starts 8-byte aligned */

enum ring_kind {
    RING_MSG = 1,  /* a message, or one fragment of its payload */
    RING_PAD = 2,  /* filler to the end of the circle; skip it */
    RING_END = 3,  /* the producer will send nothing more: drain and stop */
    RING_SHORT = 4 /* a payload-free message of a machine its worker already knows */
};

/* The fixed layout of every record, as it lies in shared memory. PAD and END
 * records use only rec_len and kind. */
struct ring_rec {
    uint32_t rec_len; /* bytes of the whole record, a multiple of 8 */
    uint8_t kind;     /* enum ring_kind */
    uint8_t event;    /* enum event */
    uint8_t id_len;   /* 1..MSG_ID_MAX bytes of id follow the header */
    uint8_t reserved;
    uint32_t slot;        /* the machine's record in the state table */
    uint32_t payload_len; /* the whole payload, all fragments together */
    uint32_t frag_off;    /* where this record's payload bytes go in it */
    uint32_t frag_len;    /* payload bytes in this record */
    uint64_t seq;
    uint64_t id_hash;
};

/* A short record: what the worker does not already know of a message. The
 * first eight bytes are laid out as in struct ring_rec (a decoder reads
 * the kind where it always is), and its length is always its size. */
struct ring_short {
    uint32_t rec_len; /* sizeof(struct ring_short) */
    uint8_t kind;     /* RING_SHORT */
    uint8_t event;    /* enum event */
    uint8_t reserved[2];
    uint32_t slot; /* the machine's record in the state table */
    uint32_t reserved2;
    uint64_t seq;
};

_Static_assert(offsetof(struct ring_short, kind) == offsetof(struct ring_rec, kind),
               "the kind is where a decoder looks");
_Static_assert(sizeof(struct ring_short) % RING_ALIGN == 0, "a short record keeps the next one aligned");

/* The block shared by the two processes: control words, then the data area.
 * Each control word that one side writes has a cache line of its own, so the
 * producer's stores to head never evict the line the consumer writes tail to
 * (and vice versa): that false sharing would cost a cache miss per batch on
 * each side. */
struct ring {
    alignas(64) _Atomic uint64_t head;           /* written by the producer */
    alignas(64) _Atomic uint64_t tail;           /* written by the consumer */
    alignas(64) _Atomic uint32_t consumer_sleep; /* 1: the consumer may be asleep on it */
    alignas(64) _Atomic uint32_t producer_sleep; /* 1: the producer may be asleep on it */
    alignas(64) uint32_t size;                   /* data bytes, a power of two; set before the fork */
    alignas(64) uint8_t data[];
};

/* Bytes of shared memory a ring with a data area of size bytes needs. */
size_t ring_bytes(uint32_t size);

/* Formats a ring at mem (zero-filled, 64-byte aligned). size must be a power
 * of two in [RING_MIN_BYTES, RING_MAX_BYTES]; returns 0 or -EINVAL. */
int ring_format(void *mem, uint32_t size);

/* Largest payload bytes one record carries; bigger payloads are fragmented. */
static inline uint32_t ring_frag_max(uint32_t size)
{
    return size / 4;
}

/* ---- producer (one process) ---- */

struct ring_producer {
    struct ring *r;
    uint32_t size;       /* copied once: never re-read from shared memory */
    uint64_t head;       /* next free byte, ahead of the published head */
    uint64_t published;  /* the head the consumer can see */
    uint64_t tail_cache; /* the consumer's tail when last read */
    uint64_t wakeups;    /* futex wakes issued: a cost worth seeing */
    uint64_t sleeps;     /* futex waits for room */
    uint64_t want;       /* bytes the last refused record needed */
};

void ring_producer_init(struct ring_producer *p, struct ring *r);

/* Writes the header and id of one record for m, carrying payload bytes
 * [frag_off, frag_off + frag_len) (frag_len <= ring_frag_max()), and returns
 * where the caller writes those frag_len payload bytes; NULL when the ring
 * has no room (publish, then wait with ring_wait_room()). The record becomes
 * visible at the next ring_publish(). */
uint8_t *ring_put(struct ring_producer *p, const struct msg *m, uint32_t slot, uint32_t frag_off, uint32_t frag_len);

/* Writes the short record of m, a message with no payload whose slot's
 * worker has had a ring_put() record of the same machine since its ring was
 * last formatted (the caller keeps track). False when the ring has no room.
 * Given code: it uses the lab's claim(). */
bool ring_put_short(struct ring_producer *p, const struct msg *m, uint32_t slot);

/* Appends the END record; false when the ring has no room. */
bool ring_put_end(struct ring_producer *p);

/* Makes every record written so far visible, and wakes the consumer if it
 * may be asleep. Cheap when there is nothing new. */
void ring_publish(struct ring_producer *p);

/* ring_publish() for a producer in full flow: wakes a sleeping consumer only
 * once 64 KiB (or a quarter of a small ring) wait for it, so that two
 * processes that share a CPU do not switch after every batch. Whoever uses it must call
 * ring_publish() before it stops producing for a while (it waits for room in
 * any ring, sleeps for --rate, ends), or the consumer sees the last records
 * only when its own sleep times out. */
void ring_publish_lazy(struct ring_producer *p);

/* Bytes written and not yet consumed (the ring's fill), as the producer sees it. */
uint64_t ring_fill(const struct ring_producer *p);

/* Sleeps until the consumer has returned space (or timeout_ms passes, or a
 * signal arrives). Publish first (ring_publish()): a consumer cannot free what
 * it cannot see, nor wake a producer whose head it does not know. Returns once
 * a quarter of the ring is free, not at the first free byte. */
void ring_wait_room(struct ring_producer *p, int timeout_ms);

/* ring_wait_room() with a timeout in nanoseconds, for a producer that has
 * something else due soon (a query). */
void ring_wait_room_ns(struct ring_producer *p, uint64_t timeout_ns);

/* ---- consumer (one process) ---- */

/* A validated record. id and frag point into the ring and stay valid until
 * the next ring_release(). A RING_SHORT view has its event, slot and seq
 * only: no id (NULL, id_len 0, id_hash 0) and no payload (frag points at
 * zero bytes); the worker fills in the id from the machine of that slot. */
struct ring_view {
    uint8_t kind;
    uint8_t event;
    uint8_t id_len;
    uint32_t slot, payload_len, frag_off, frag_len;
    uint64_t seq, id_hash;
    const char *id;
    const uint8_t *frag;
};

enum ring_status { RING_OK = 0, RING_EMPTY = 1, RING_CORRUPT = -1 };

/* Decodes the record at position pos of a data area of size bytes (a power of
 * two) of which avail bytes from pos on are published. Pure: reads only
 * data[0, size), trusts nothing in it, writes only out. On RING_OK, *len is
 * the record's length (>= 8: the consumer always makes progress). PAD and END
 * records come back as views of that kind. Short records are decoded by
 * given code; every other kind by the lab's decode_record(). */
int ring_decode(const uint8_t *data, uint32_t size, uint64_t pos, uint64_t avail, struct ring_view *out, uint32_t *len);

struct ring_consumer {
    struct ring *r;
    uint32_t size;       /* copied once: never re-read from shared memory */
    uint64_t tail;       /* next byte to read, ahead of the released tail */
    uint64_t released;   /* the tail the producer can see */
    uint64_t head_cache; /* the producer's head when last read */
    uint64_t wakeups;    /* futex wakes issued */
    uint64_t sleeps;     /* futex waits for data */
};

void ring_consumer_init(struct ring_consumer *c, struct ring *r);

/* The next MSG, SHORT or END record (PAD records are skipped): RING_OK, RING_EMPTY,
 * or RING_CORRUPT when the producer broke the format (the ring is then
 * unusable). */
int ring_next(struct ring_consumer *c, struct ring_view *v);

/* Returns the space of every record read so far to the producer, and wakes
 * it if it may be asleep and a quarter of the ring is free. Views obtained
 * before are invalid afterwards. */
void ring_release(struct ring_consumer *c);

/* Sleeps until the producer has published something new (or timeout_ms
 * passes, or a signal arrives). Release first. */
void ring_wait_data(struct ring_consumer *c, int timeout_ms);

#endif

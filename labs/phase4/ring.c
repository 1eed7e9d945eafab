/* ring.c - the SPSC ring: record layout, publication, waiting, decoding.
 *
 * Memory ordering in one paragraph. The producer writes record bytes with
 * plain stores, then publishes head with a release store; the consumer reads
 * head with an acquire load before it reads any record byte, so every byte of
 * a record it sees as published is the byte the producer wrote. In the other
 * direction the consumer finishes reading records, then returns their space
 * with a release store of tail; the producer reads tail with an acquire load
 * before it overwrites that space, so it never overwrites a byte still being
 * read. Those two pairs are the whole data protocol.
 *
 * Sleeping without losing a wake-up. A side that finds nothing to do (the
 * consumer: no data; the producer: no room) announces it by storing 1 in its
 * sleep word, issues a full fence, and looks at the other side's position
 * once more before calling futex_wait(word, 1). The other side, after its
 * release store of the position, issues a full fence and reads the sleep
 * word. This is the store-buffering pattern: with a sequentially consistent
 * fence between each side's store and its load, at least one of the two
 * loads sees the other's store. Either the sleeper sees the new position and
 * does not sleep, or the waker sees the 1, swaps it to 0 and calls
 * futex_wake. In that case the sleeper is either asleep already (and woken)
 * or not yet in futex_wait, and then the kernel, which compares the word with
 * 1 atomically with respect to futex_wake, finds 0 and returns at once. No
 * interleaving leaves a sleeper asleep with work pending. The waker pays a
 * system call only when the word says the other side may be asleep; at full
 * speed it pays one fence and one load of a line nobody writes. */
#define _GNU_SOURCE
#include "ring.h"

#include <errno.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lab.h"
#include "timeline.h"

/* Iterations a side polls before it sleeps. A futex sleep and wake-up costs
 * a few microseconds (tens across the virtual CPUs of a VM), while at full
 * speed the next batch is a fraction of a microsecond away. Short, because on
 * a machine with fewer cores than processes a spinning side steals the CPU
 * the other side needs. */
#define SPIN_TRIES 200

/* Hysteresis of the wake-ups: a sleeper is woken for a worthwhile amount of
 * work, not for every batch. When both processes share a CPU, each wake-up
 * is a context switch; waking the other side as soon as one batch is ready
 * can make them alternate every batch, and then the switches cost more than
 * the messages. (With the short spin before each sleep, above, a side rarely
 * sleeps at full speed: on the 2-vCPU development VM, `phase4 --messages
 * 10000000 --workers 1 --ids 10 --pin same` ran at 18-20 M msgs/s with ~460
 * voluntary switches whether it woke at every batch or with this
 * hysteresis; experiment 8 of the handout.) The producer is woken when a
 * quarter of the ring is free (room for a long run of records); the
 * consumer when WAKE_DATA bytes wait for it (about 1300 small records, tens
 * of microseconds of work against a few for the switch), or a quarter of a
 * small ring: more would leave it idle while work piles up. */
#define WAKE_DIVISOR 4
#define WAKE_DATA (64u * 1024u)

static inline uint64_t wake_data(uint32_t size)
{
    return size / WAKE_DIVISOR < WAKE_DATA ? size / WAKE_DIVISOR : WAKE_DATA;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static inline uint32_t align8(uint32_t n)
{
    return (n + (RING_ALIGN - 1)) & ~(RING_ALIGN - 1);
}

/* Not FUTEX_PRIVATE: the word lives in a mapping shared between processes. */
static void futex_wait(_Atomic uint32_t *word, uint32_t expected, uint64_t timeout_ns)
{
    struct timespec ts = {.tv_sec = (time_t)(timeout_ns / 1000000000u), .tv_nsec = (long)(timeout_ns % 1000000000u)};
    /* EAGAIN (the word changed: a wake-up came first), EINTR (a signal, which
     * the caller's loop looks at) and ETIMEDOUT are all "look again". Any
     * other error (EFAULT, ENOSYS: a bug, or no futex) would turn the wait
     * into a poll, never into a hang: every caller loops on its condition. */
    (void)syscall(SYS_futex, word, FUTEX_WAIT, expected, &ts, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *word)
{
    (void)syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* The waker's half of the protocol above, after its release store. */
static uint64_t wake_if_asleep(_Atomic uint32_t *word)
{
    /* TODO: The waker's half of the protocol at the top of this file, called
     * right after the release store of a position: a full fence, then, only
     * if the sleep word says the other side may be asleep, take the word
     * back to 0 (once, even if both sides race for it) and wake the futex.
     * Return the number of wake-ups issued (0 or 1). */
    lab_not_written("wake_if_asleep()");
    (void)word;
    (void)futex_wake;
    return 0;
}

/* The sleeper's half: announce, fence, look again, then sleep. idle(ctx) is
 * the "nothing to do" test on the other side's position. */
static void sleep_unless(_Atomic uint32_t *word, bool (*idle)(const void *), const void *ctx, uint64_t timeout_ns,
                         uint64_t *sleeps)
{
    /* TODO: The sleeper's half: announce that this side may sleep (1 in
     * word), a full fence, then look at the other side's position once more
     * (idle(ctx)); only if there is still nothing to do, count the sleep and
     * wait on the futex for the value 1, at most timeout_ns. Whatever woke
     * it, take the announcement back before returning. */
    lab_not_written("sleep_unless()");
    (void)word;
    (void)idle;
    (void)ctx;
    (void)timeout_ns;
    (void)sleeps;
    (void)futex_wait;
}

/* Every line of a record was last written by the other CPU, so reading it is
 * a cache miss served from that CPU; and the consumer cannot know where
 * record k+1 starts before record k's header has arrived, so left alone it
 * pays those misses one after another. Asking for the lines of a freshly
 * published range at once, and then a fixed distance ahead of the reader,
 * lets the misses overlap.
 * Bounded: at most PREFETCH_MAX bytes per call. */
#define PREFETCH_MAX 4096u
#define PREFETCH_AHEAD 512u /* bytes ahead of head the producer asks for */

static void prefetch_range(const uint8_t *data, uint32_t size, uint64_t from, uint64_t to)
{
    if (to - from > PREFETCH_MAX)
        to = from + PREFETCH_MAX;
    for (uint64_t pos = from & ~63ull; pos < to; pos += 64)
        __builtin_prefetch(data + (pos & (size - 1)), 0);
}

size_t ring_bytes(uint32_t size)
{
    return sizeof(struct ring) + size;
}

int ring_format(void *mem, uint32_t size)
{
    if (size < RING_MIN_BYTES || size > RING_MAX_BYTES || (size & (size - 1)) != 0)
        return -EINVAL;
    struct ring *r = mem;
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    atomic_init(&r->consumer_sleep, 0);
    atomic_init(&r->producer_sleep, 0);
    r->size = size;
    return 0;
}

/* ---- producer ---- */

void ring_producer_init(struct ring_producer *p, struct ring *r)
{
    p->r = r;
    p->size = r->size;
    p->head = p->published = atomic_load_explicit(&r->head, memory_order_relaxed);
    p->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
    p->wakeups = p->sleeps = 0;
    p->want = 0;
}

/* True when need more bytes fit. The consumer's tail is read only when the
 * cached value says the ring is full: a shared line touched once per lap,
 * not once per record. */
static bool has_room(struct ring_producer *p, uint64_t need)
{
    /* TODO: True when need more bytes fit between the producer's private head
     * and the consumer's tail. Decide on the cached tail first; read the
     * shared tail (with the ordering that makes its bytes safe to overwrite)
     * only when the cache says the ring is full. When the answer is still
     * no, remember need in p->want for ring_wait_room(). */
    lab_not_written("has_room()");
    (void)p;
    (void)need;
    return false;
}

/* Room for a record of len bytes, contiguous: returns its offset, writing a
 * PAD record first if it must start again at 0; UINT32_MAX when full. */
static uint32_t claim(struct ring_producer *p, uint32_t len)
{
    /* TODO: Find len contiguous bytes at the head: a record never wraps. If
     * it does not fit before the end of the circle, it needs room for a PAD
     * record to the end as well; write that PAD (rec_len and kind) and go on
     * at offset 0. Return the offset, or UINT32_MAX when there is no room
     * (has_room()). */
    lab_not_written("claim()");
    (void)p;
    (void)len;
    (void)has_room;
    return UINT32_MAX;
}

uint8_t *ring_put(struct ring_producer *p, const struct msg *m, uint32_t slot, uint32_t frag_off, uint32_t frag_len)
{
    /* TODO: One record for m (ring.h, struct ring_rec): the header, then the
     * id, then room for frag_len payload bytes, each part starting 8-byte
     * aligned; claim() the space, fill in every header field, copy the id,
     * advance the private head (not the published one) and return where the
     * payload bytes go. NULL when the ring is full. */
    lab_not_written("ring_put()");
    (void)align8;
    (void)p;
    (void)m;
    (void)slot;
    (void)frag_off;
    (void)frag_len;
    return NULL;
}

bool ring_put_short(struct ring_producer *p, const struct msg *m, uint32_t slot)
{
    uint32_t off = claim(p, sizeof(struct ring_short));
    if (off == UINT32_MAX)
        return false;
    __builtin_prefetch(p->r->data + ((p->head + PREFETCH_AHEAD) & (p->size - 1)), 1); /* as ring_put() does */
    *(struct ring_short *)(p->r->data + off) = (struct ring_short){
        .rec_len = sizeof(struct ring_short),
        .kind = RING_SHORT,
        .event = m->event,
        .slot = slot,
        .seq = m->seq,
    };
    p->head += sizeof(struct ring_short);
    return true;
}

bool ring_put_end(struct ring_producer *p)
{
    uint32_t off = claim(p, RING_ALIGN);
    if (off == UINT32_MAX)
        return false;
    struct ring_rec *end = (struct ring_rec *)(p->r->data + off);
    end->rec_len = RING_ALIGN;
    end->kind = RING_END;
    p->head += RING_ALIGN;
    return true;
}

/* The lazy waker: wake_if_asleep(), but only once wake_data() bytes really
 * wait. The cached tail cannot say so: it is refreshed once per lap of the
 * ring, so a lap-old tail makes every batch look worthwhile, and then a
 * consumer that sleeps after each short batch is woken for the next one;
 * with more processes than CPUs each of those wake-ups is a context switch
 * for a handful of records. The shared tail is read only when the consumer
 * may be asleep: then nobody writes its line, and reading it costs no
 * transfer from a CPU that is busy with it. */
static uint64_t wake_if_worthwhile(struct ring_producer *p)
{
    atomic_thread_fence(memory_order_seq_cst);
    if (!atomic_load_explicit(&p->r->consumer_sleep, memory_order_relaxed))
        return 0;
    /* Acquire: pairs with the release store in ring_release(), as in has_room(). */
    p->tail_cache = atomic_load_explicit(&p->r->tail, memory_order_acquire);
    if (p->published - p->tail_cache < wake_data(p->size))
        return 0;
    return wake_if_asleep(&p->r->consumer_sleep);
}

static void publish(struct ring_producer *p, bool force)
{
    /* TODO: Make every record written since the last call visible with one
     * store of head (which ordering?). Then wake the consumer if it may be
     * asleep (wake_if_asleep(), counted in p->wakeups): always when force,
     * otherwise only once at least wake_data() bytes wait for it
     * (wake_if_worthwhile()). */
    lab_not_written("publish()");
    (void)p;
    (void)force;
    (void)wake_data;
    (void)wake_if_asleep;
    (void)wake_if_worthwhile;
}

void ring_publish(struct ring_producer *p)
{
    publish(p, true);
}

void ring_publish_lazy(struct ring_producer *p)
{
    publish(p, false);
}

uint64_t ring_fill(const struct ring_producer *p)
{
    return p->head - atomic_load_explicit(&p->r->tail, memory_order_relaxed);
}

/* True while less than a quarter of the ring is free: the producer waits
 * for the same amount of room the consumer wakes it for (ring_release()), so
 * it resumes with room for a long run of records instead of refilling the
 * ring one consumer batch at a time (on a shared CPU each of those turns is
 * a context switch). */
static bool room_low(const void *ctx)
{
    const struct ring_producer *p = ctx;
    uint64_t tail = atomic_load_explicit(&p->r->tail, memory_order_relaxed);
    uint64_t room = p->size - (p->head - tail);
    /* A record can need more than a quarter (a large fragment after a PAD):
     * then wait for that much. The consumer wakes us at every release once a
     * quarter is free, so we look again and sleep again until it is. */
    uint64_t enough = p->want > p->size / WAKE_DIVISOR ? p->want : p->size / WAKE_DIVISOR;
    return room < enough;
}

void ring_wait_room_ns(struct ring_producer *p, uint64_t timeout_ns)
{
    for (int i = 0; i < SPIN_TRIES; i++) {
        if (!room_low(p))
            return;
        cpu_relax();
    }
    sleep_unless(&p->r->producer_sleep, room_low, p, timeout_ns, &p->sleeps);
}

void ring_wait_room(struct ring_producer *p, int timeout_ms)
{
    ring_wait_room_ns(p, (uint64_t)timeout_ms * 1000000u);
}

/* ---- consumer ---- */

/* Every record but a short one (ring_decode() below sends it here). */
static int decode_record(const uint8_t *data, uint32_t size, uint64_t pos, uint64_t avail, struct ring_view *out,
                         uint32_t *len)
{
    /* TODO: Decode the record at pos, trusting nothing in data: copy the
     * header out once and check only the copy (rec_len, kind, id_len, event,
     * payload_len, the fragment's place in the payload, and that the id and
     * the fragment end exactly where rec_len says), against what may be read
     * (avail bytes, and never past the end of the circle). RING_EMPTY when
     * avail is 0, RING_CORRUPT for anything a correct producer never writes;
     * on RING_OK fill *out (pointers into data) and *len. */
    lab_not_written("ring_decode()");
    (void)data;
    (void)size;
    (void)pos;
    (void)avail;
    (void)out;
    (void)len;
    return RING_CORRUPT;
}

/* A short record at offset off, of which room bytes may be read: the same
 * distrust as decode_record(), for a record with no variable part. */
static int decode_short(const uint8_t *data, uint32_t off, uint64_t room, struct ring_view *out, uint32_t *len)
{
    struct ring_short h;
    if (room < sizeof h)
        return RING_CORRUPT;
    memcpy(&h, data + off, sizeof h);
    if (h.rec_len != sizeof h || h.event >= EV_COUNT || h.reserved[0] != 0 || h.reserved[1] != 0 || h.reserved2 != 0)
        return RING_CORRUPT;
    *out = (struct ring_view){
        .kind = RING_SHORT,
        .event = h.event,
        .slot = h.slot,
        .seq = h.seq,
        .frag = data + off + sizeof h, /* no payload: zero bytes, but never NULL */
    };
    *len = sizeof h;
    return RING_OK;
}

/* Given: sends a short record to decode_short() and every other one to
 * decode_record(). The kind byte is read only where decode_record() would
 * accept the position and the published bytes; it is read once, and
 * decode_record() reads its own copy, so a producer that rewrites it
 * meanwhile gets RING_CORRUPT, never a record checked as one kind and used
 * as another. */
int ring_decode(const uint8_t *data, uint32_t size, uint64_t pos, uint64_t avail, struct ring_view *out, uint32_t *len)
{
    bool readable = size >= RING_ALIGN && (size & (size - 1)) == 0 && pos % RING_ALIGN == 0 && avail > 0 &&
                    avail <= size && avail % RING_ALIGN == 0;
    if (readable) {
        uint32_t off = (uint32_t)(pos & (size - 1));
        uint64_t to_end = size - off;
        if (data[off + offsetof(struct ring_rec, kind)] == RING_SHORT)
            return decode_short(data, off, avail < to_end ? avail : to_end, out, len);
    }
    return decode_record(data, size, pos, avail, out, len);
}

void ring_consumer_init(struct ring_consumer *c, struct ring *r)
{
    c->r = r;
    c->size = r->size;
    c->tail = c->released = atomic_load_explicit(&r->tail, memory_order_relaxed);
    c->head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
    c->wakeups = c->sleeps = 0;
}

int ring_next(struct ring_consumer *c, struct ring_view *v)
{
    /* TODO: The next MSG, SHORT or END record. Read the producer's head (which
     * ordering?) only when every record below the cached head is consumed;
     * decode the record at the private tail with ring_decode(), advance the
     * tail past it (not the released one), and skip PAD records. RING_EMPTY
     * when nothing is published, RING_CORRUPT when a record is broken. */
    lab_not_written("ring_next()");
    (void)c;
    (void)v;
    (void)prefetch_range;
    return RING_CORRUPT;
}

void ring_release(struct ring_consumer *c)
{
    /* TODO: Give the space of every record read so far back to the producer
     * with one store of tail (which ordering?). Then, if the producer may be
     * asleep and at least a quarter of the ring is free, take its sleep word
     * back to 0 and wake it (counted in c->wakeups): the same condition
     * ring_wait_room() sleeps on, or a wake-up could be lost. */
    lab_not_written("ring_release()");
    (void)c;
}

/* True while nothing new is published. */
static bool no_data(const void *ctx)
{
    const struct ring_consumer *c = ctx;
    return atomic_load_explicit(&c->r->head, memory_order_relaxed) == c->tail;
}

void ring_wait_data(struct ring_consumer *c, int timeout_ms)
{
    for (int i = 0; i < SPIN_TRIES; i++) {
        if (!no_data(c))
            return;
        cpu_relax();
    }
    uint64_t t0 = tl_now(), sleeps = c->sleeps;
    sleep_unless(&c->r->consumer_sleep, no_data, c, (uint64_t)timeout_ms * 1000000u, &c->sleeps);
    if (c->sleeps != sleeps) /* --timeline: only a real sleep is a span */
        tl_span(TL_FUTEX_SLEEP, t0, 0, tl_worker);
}

/* test_short_records.c - phase 4's short records (ring.h), given code, from
 * the ring to the state table: they cross a ring between full records and
 * across its wrap; the decoder accepts exactly the well-formed ones and
 * never points outside the ring; and a worker, in a child process, applies
 * one to the machine its slot names, while one the main process could not
 * have sent (a slot the worker never had in full, or one cutting a
 * fragmented payload short) ends it with PHASE4_WORKER_CORRUPT, having
 * applied nothing of it. Not graded (tests/grading/points.tsv): no lab
 * function is tested here that the graded tests do not already test. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fnv.h"
#include "payload.h"
#include "rng.h"
#include "shm.h"
#include "sm.h"
#include "worker.h"

#define SLOTS 4u

static void *seg;
static size_t seg_len;
static struct ring *ring;
static struct phase4_shared sh;
static struct ring_producer prod;
static pid_t child;

static void setup(void)
{
    char err[256];
    size_t ring_len = (ring_bytes(RING_MIN_BYTES) + 63) / 64 * 64;
    seg_len = ring_len + statetab_bytes(SLOTS);
    seg = shm_create("test-short-records", seg_len, err, sizeof err);
    cr_assert_not_null(seg, "shm_create: %s", err);
    ring = seg;
    cr_assert_eq(ring_format(ring, RING_MIN_BYTES), 0);
    ring_producer_init(&prod, ring);
    sh = (struct phase4_shared){.rings = &ring, .nworkers = 1};
    statetab_attach(&sh.tab, (uint8_t *)seg + ring_len, SLOTS);
    child = 0;
}

static void teardown(void)
{
    if (child > 0) { /* an assertion failed before the child was reaped */
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
    }
    shm_destroy(seg, seg_len);
}

TestSuite(short_records, .init = setup, .fini = teardown, .timeout = 30);

/* ---- the ring ---- */

/* A message of id, hashed as the source hashes it. */
static struct msg msg_of(const char *id, uint64_t seq, enum event e, uint32_t payload_len)
{
    size_t n = strlen(id);
    return (struct msg){
        .seq = seq, .id = id, .id_len = (uint8_t)n, .id_hash = fnv1a64(id, n), .event = e, .payload_len = payload_len};
}

/* Message k of a test stream: its id and event, no payload. */
static void make_msg(uint64_t k, char *id, struct msg *m)
{
    snprintf(id, MSG_ID_MAX + 1, "m-%llu", (unsigned long long)(k % 997));
    *m = msg_of(id, k + 1, (enum event)(k % EV_COUNT), 0);
}

/* Every third record full, the others short, across many wraps of the
 * smallest ring: each comes out as written, a short one with its slot,
 * event and seq and no id or payload. */
Test(short_records, cross_between_full_ones_across_many_wraps)
{
    struct ring_consumer c;
    ring_consumer_init(&c, ring);
    uint64_t sent = 0, got = 0, total = 20000, shorts = 0;
    while (got < total) {
        for (; sent < total; sent++) {
            char id[MSG_ID_MAX + 1];
            struct msg m;
            make_msg(sent, id, &m);
            bool ok = sent % 3 == 0 ? ring_put(&prod, &m, (uint32_t)sent, 0, 0) != NULL
                                    : ring_put_short(&prod, &m, (uint32_t)sent);
            if (!ok)
                break;
        }
        ring_publish(&prod);
        struct ring_view v;
        int rc;
        while ((rc = ring_next(&c, &v)) == RING_OK) {
            char id[MSG_ID_MAX + 1];
            struct msg m;
            make_msg(got, id, &m);
            cr_assert(v.slot == (uint32_t)got && v.seq == m.seq && v.event == m.event, "record %llu differs",
                      (unsigned long long)got);
            if (got % 3 == 0) {
                cr_assert(v.kind == RING_MSG && v.id_len == m.id_len && memcmp(v.id, id, m.id_len) == 0);
            } else {
                cr_assert_eq(v.kind, RING_SHORT, "record %llu", (unsigned long long)got);
                cr_assert(v.id == NULL && v.id_len == 0 && v.payload_len == 0 && v.frag_len == 0 && v.frag != NULL);
                shorts++;
            }
            got++;
        }
        cr_assert_eq(rc, RING_EMPTY);
        ring_release(&c);
    }
    cr_assert_eq(shorts, total - (total + 2) / 3);
    cr_assert(prod.head > 20ull * RING_MIN_BYTES, "the test must wrap the ring many times");
}

#define DSIZE 4096u
static _Alignas(8) uint8_t dbuf[DSIZE];

static struct ring_short *good_short(uint32_t off)
{
    struct ring_short *h = (struct ring_short *)(dbuf + off);
    *h = (struct ring_short){
        .rec_len = sizeof(struct ring_short), .kind = RING_SHORT, .event = EV_START, .slot = 7, .seq = 9};
    return h;
}

static int decode(uint64_t pos, uint64_t avail)
{
    struct ring_view v;
    uint32_t len;
    return ring_decode(dbuf, DSIZE, pos, avail, &v, &len);
}

Test(short_records, decode_accepts_a_well_formed_one_and_rejects_every_bad_one)
{
    struct ring_view v;
    uint32_t len, n = sizeof(struct ring_short);
    good_short(0);
    cr_assert_eq(ring_decode(dbuf, DSIZE, 0, n, &v, &len), RING_OK, "the well-formed record, exactly published");
    cr_assert(v.kind == RING_SHORT && v.slot == 7 && v.seq == 9 && v.event == EV_START && len == n);
    cr_assert_eq(decode(0, n - 8), RING_CORRUPT, "record longer than what is published");
    good_short(0)->rec_len = n + 8;
    cr_assert_eq(decode(0, DSIZE), RING_CORRUPT, "a short record is always its own size");
    good_short(0)->rec_len = 8;
    cr_assert_eq(decode(0, DSIZE), RING_CORRUPT, "a short record is always its own size");
    good_short(0)->event = EV_COUNT;
    cr_assert_eq(decode(0, DSIZE), RING_CORRUPT, "unknown event");
    good_short(0)->reserved[1] = 1;
    cr_assert_eq(decode(0, DSIZE), RING_CORRUPT, "reserved bytes a correct producer leaves zero");
    good_short(0)->reserved2 = 1;
    cr_assert_eq(decode(0, DSIZE), RING_CORRUPT, "reserved bytes a correct producer leaves zero");
    memset(dbuf, 0, DSIZE);
    *(struct ring_short *)(dbuf + DSIZE - n) = (struct ring_short){.rec_len = n, .kind = RING_SHORT};
    cr_assert_eq(decode(DSIZE - n, n), RING_OK, "record that ends exactly at the end of the circle");
    memcpy(dbuf + DSIZE - 16, dbuf + DSIZE - n, 16);
    cr_assert_eq(decode(DSIZE - 16, 16 + n), RING_CORRUPT, "record that would wrap");
}

/* Random bytes, random positions, with short records sown among them:
 * whatever ring_decode() accepts as a short record is exactly one, inside
 * the buffer. Under ASan (make SANITIZE=1) this also proves it reads
 * nothing outside. */
Test(short_records, decode_never_points_outside_the_mapping)
{
    struct rng g;
    rng_seed(&g, 43);
    unsigned accepted = 0;
    for (int round = 0; round < 200000; round++) {
        for (int i = 0; i < 8; i++) {
            uint32_t off = rng_below(&g, DSIZE / 8) * 8;
            uint64_t x = rng_next(&g);
            memcpy(dbuf + off, &x, 8);
        }
        if (round % 2 == 0)
            good_short(rng_below(&g, DSIZE / 8) * 8 & (DSIZE - 32));
        uint64_t pos = (uint64_t)rng_below(&g, 1u << 20) * 8;
        uint64_t avail = (uint64_t)rng_below(&g, DSIZE / 8 + 2) * 8;
        struct ring_view v;
        uint32_t len;
        if (ring_decode(dbuf, DSIZE, pos, avail, &v, &len) != RING_OK || v.kind != RING_SHORT)
            continue;
        accepted++;
        uint32_t off = (uint32_t)(pos & (DSIZE - 1));
        cr_assert(len == sizeof(struct ring_short) && len <= avail && off + len <= DSIZE);
        cr_assert(v.id == NULL && v.frag == dbuf + off + len && v.frag_len == 0 && v.event < EV_COUNT);
    }
    cr_assert_gt(accepted, 0, "no short record of 200 000 was accepted");
    cr_log_info("%u short records accepted", accepted);
}

/* ---- a worker ---- */

/* The worker, in a child: its exit status is phase4_worker()'s answer. */
static void start_worker(void)
{
    child = fork();
    cr_assert_geq(child, 0);
    if (child == 0) {
        struct pool_slot stats = {0};
        struct pool pool = {.slots = &stats};
        _exit(phase4_worker(&pool, 0, &sh));
    }
}

static int worker_status(void)
{
    int st;
    cr_assert_eq(waitpid(child, &st, 0), child);
    child = 0;
    cr_assert(WIFEXITED(st), "the worker crashed (status %d)", st);
    return WEXITSTATUS(st);
}

/* A full record of m at slot, its payload bytes [off, off + len). */
static void put_full(const struct msg *m, uint32_t slot, uint32_t off, uint32_t len)
{
    uint8_t *dst = ring_put(&prod, m, slot, off, len);
    cr_assert_not_null(dst);
    payload_fill(dst, m->seq + off, len);
}

static void put_short(const struct msg *m, uint32_t slot)
{
    cr_assert(ring_put_short(&prod, m, slot));
}

static void put_end(void)
{
    cr_assert(ring_put_end(&prod));
    ring_publish(&prod);
}

Test(short_records, a_short_record_applies_to_the_machine_its_slot_names)
{
    /* slot 2 holds "a", slot 0 "b"; the same messages applied here give the
     * machines the worker must publish. */
    const struct msg ms[] = {
        msg_of("a", 1, EV_START, 0), msg_of("b", 2, EV_START, 0),    msg_of("a", 3, EV_DATA, 0),
        msg_of("a", 4, EV_PAUSE, 0), msg_of("b", 5, EV_COMPLETE, 0), msg_of("a", 6, EV_RESUME, 0),
    };
    const uint32_t slot_of[] = {2, 0, 2, 2, 0, 2};
    struct machine a, b;
    sm_init(&a, "a", 1, ms[0].id_hash);
    sm_init(&b, "b", 1, ms[1].id_hash);
    bool sent[SLOTS] = {false};
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++) {
        if (sent[slot_of[i]])
            put_short(&ms[i], slot_of[i]);
        else
            put_full(&ms[i], slot_of[i], 0, 0);
        sent[slot_of[i]] = true;
        sm_apply(slot_of[i] == 2 ? &a : &b, ms[i].seq, (enum event)ms[i].event, 0, true);
    }
    put_end();
    start_worker();
    cr_assert_eq(worker_status(), 0);
    struct machine got;
    cr_assert_eq(statetab_read(&sh.tab, 2, &got, 1), STATETAB_OK);
    cr_assert(memcmp(&got, &a, offsetof(struct machine, id)) == 0 && strcmp(got.id, "a") == 0,
              "slot 2: %llu messages, state %u", (unsigned long long)got.msgs, got.state);
    cr_assert_eq(statetab_read(&sh.tab, 0, &got, 1), STATETAB_OK);
    cr_assert(memcmp(&got, &b, offsetof(struct machine, id)) == 0 && strcmp(got.id, "b") == 0,
              "slot 0: %llu messages, state %u", (unsigned long long)got.msgs, got.state);
    cr_assert_eq(statetab_read(&sh.tab, 1, &got, 1), STATETAB_EMPTY);
}

Test(short_records, a_short_record_for_a_slot_never_sent_in_full_is_corrupt)
{
    struct msg a = msg_of("a", 1, EV_START, 0), b = msg_of("b", 2, EV_START, 0);
    put_full(&a, 0, 0, 0);
    put_short(&b, 1); /* slot 1's worker never had "b" in full */
    put_end();
    start_worker();
    cr_assert_eq(worker_status(), PHASE4_WORKER_CORRUPT);
    struct machine got;
    cr_assert_eq(statetab_read(&sh.tab, 0, &got, 1), STATETAB_OK, "the record before the bad one is applied");
    cr_assert_eq(statetab_read(&sh.tab, 1, &got, 1), STATETAB_EMPTY, "nothing of the bad record is");
}

Test(short_records, a_short_record_inside_a_fragmented_payload_is_corrupt)
{
    struct msg a = msg_of("a", 1, EV_START, 0), big = msg_of("a", 2, EV_DATA, 100), c = msg_of("a", 3, EV_STOP, 0);
    put_full(&a, 0, 0, 0);
    put_full(&big, 0, 0, 50); /* the first half of a 100-byte payload */
    put_short(&c, 0);
    put_end();
    start_worker();
    cr_assert_eq(worker_status(), PHASE4_WORKER_CORRUPT);
    struct machine got;
    cr_assert_eq(statetab_read(&sh.tab, 0, &got, 1), STATETAB_OK);
    cr_assert_eq(got.msgs, 1, "only the message before the fragments is applied");
}

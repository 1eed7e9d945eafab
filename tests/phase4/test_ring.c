/* test_ring.c - the shared-memory ring on its own: records cross in order and
 * intact, across the wrap and between two processes, a sleeping consumer is
 * woken, the decoder refuses every length that would leave the mapping, and
 * the segment under it is a mode-0600 memfd. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "fnv.h"
#include "payload.h"
#include "ring.h"
#include "rng.h"
#include "shm.h"

#define RING_SIZE (64u * 1024u)

static void *seg;
static size_t seg_len;

static struct ring *new_ring(uint32_t size)
{
    char err[256];
    seg_len = ring_bytes(size);
    seg = shm_create("test-ring", seg_len, err, sizeof err);
    cr_assert_not_null(seg, "shm_create: %s", err);
    cr_assert_eq(ring_format(seg, size), 0);
    return seg;
}

static void drop_ring(void)
{
    shm_destroy(seg, seg_len);
    seg = NULL;
}

TestSuite(ring, .timeout = 30, .fini = drop_ring);

/* Message k of a test stream: its id, event and payload length. */
static void make_msg(uint64_t k, char *id, struct msg *m, uint32_t max_payload)
{
    int n = snprintf(id, MSG_ID_MAX + 1, "m-%llu", (unsigned long long)(k % 997));
    m->seq = k + 1;
    m->id = id;
    m->id_len = (uint8_t)n;
    m->id_hash = fnv1a64(id, (size_t)n);
    m->event = (uint8_t)(k % EV_COUNT);
    m->payload_len = max_payload ? (uint32_t)((k * 7919) % (max_payload + 1)) : 0;
}

/* Checks one record against message k; payload bytes by the SPEC pattern. */
static bool view_matches(const struct ring_view *v, uint64_t k, uint32_t max_payload)
{
    char id[MSG_ID_MAX + 1];
    struct msg m;
    make_msg(k, id, &m, max_payload);
    return v->kind == RING_MSG && v->seq == m.seq && v->id_len == m.id_len && memcmp(v->id, id, m.id_len) == 0 &&
           v->id_hash == m.id_hash && v->event == m.event && v->payload_len == m.payload_len && v->frag_off == 0 &&
           v->frag_len == m.payload_len && v->slot == (uint32_t)k && payload_check(v->frag, m.seq, v->frag_len);
}

static bool put_msg(struct ring_producer *p, uint64_t k, uint32_t max_payload)
{
    char id[MSG_ID_MAX + 1];
    struct msg m;
    make_msg(k, id, &m, max_payload);
    uint8_t *dst = ring_put(p, &m, (uint32_t)k, 0, m.payload_len);
    if (!dst)
        return false;
    payload_fill(dst, m.seq, m.payload_len);
    return true;
}

Test(ring, records_cross_in_order_across_many_wraps)
{
    struct ring *r = new_ring(RING_SIZE);
    struct ring_producer p;
    struct ring_consumer c;
    ring_producer_init(&p, r);
    ring_consumer_init(&c, r);
    uint32_t max_payload = ring_frag_max(RING_SIZE);
    uint64_t sent = 0, got = 0, total = 20000;
    while (got < total) {
        /* Fill until full (or a batch of 37), publish, drain some. */
        for (int i = 0; i < 37 && sent < total && put_msg(&p, sent, max_payload); i++)
            sent++;
        ring_publish(&p);
        struct ring_view v;
        for (int i = 0; i < 29; i++) {
            int rc = ring_next(&c, &v);
            if (rc == RING_EMPTY)
                break;
            cr_assert_eq(rc, RING_OK);
            cr_assert(view_matches(&v, got, max_payload), "record %llu differs", (unsigned long long)got);
            got++;
        }
        ring_release(&c);
    }
    cr_assert_eq(sent, total);
    cr_assert(p.head > 4ull * RING_SIZE, "the test must wrap the ring several times");
}

Test(ring, a_full_ring_refuses_and_unpublished_records_stay_invisible)
{
    struct ring *r = new_ring(RING_MIN_BYTES);
    struct ring_producer p;
    struct ring_consumer c;
    ring_producer_init(&p, r);
    ring_consumer_init(&c, r);
    uint64_t n = 0;
    while (put_msg(&p, n, 0))
        n++;
    cr_assert(n > 10 && n < RING_MIN_BYTES / 8);
    struct ring_view v;
    cr_assert_eq(ring_next(&c, &v), RING_EMPTY, "nothing is visible before ring_publish()");
    ring_publish(&p);
    for (uint64_t k = 0; k < n; k++) {
        cr_assert_eq(ring_next(&c, &v), RING_OK);
        cr_assert(view_matches(&v, k, 0));
    }
    cr_assert_eq(ring_next(&c, &v), RING_EMPTY);
    cr_assert(!put_msg(&p, n, 0), "no room until the consumer releases");
    ring_release(&c);
    cr_assert(put_msg(&p, n, 0));
}

Test(ring, end_record_arrives_after_everything_before_it)
{
    struct ring *r = new_ring(RING_MIN_BYTES);
    struct ring_producer p;
    struct ring_consumer c;
    ring_producer_init(&p, r);
    ring_consumer_init(&c, r);
    cr_assert(put_msg(&p, 0, 0));
    cr_assert(ring_put_end(&p));
    ring_publish(&p);
    struct ring_view v;
    cr_assert_eq(ring_next(&c, &v), RING_OK);
    cr_assert_eq(v.kind, RING_MSG);
    cr_assert_eq(ring_next(&c, &v), RING_OK);
    cr_assert_eq(v.kind, RING_END);
}

/* How long either side of the two-process tests waits for the other to move
 * before it gives up: far more than any descheduling, far less than the
 * suite's timeout, so a ring that never publishes or never frees space
 * fails the test instead of hanging it. */
#define STALL_NS 2000000000ull

/* The consumer side of the two-process tests: reads total records, checks
 * each, sleeps when the ring is empty. Exit status 0 when all were right, 2
 * when nothing arrived for STALL_NS. */
static int consume(struct ring *r, uint64_t total, uint32_t max_payload)
{
    struct ring_consumer c;
    ring_consumer_init(&c, r);
    uint64_t got = 0, last_move = now_ns();
    while (got < total) {
        struct ring_view v;
        int rc = ring_next(&c, &v);
        if (rc == RING_EMPTY) {
            ring_release(&c);
            if (now_ns() - last_move > STALL_NS)
                return 2;
            ring_wait_data(&c, 100);
            continue;
        }
        last_move = now_ns();
        if (rc != RING_OK || !view_matches(&v, got, max_payload))
            return 1;
        if (++got % 64 == 0)
            ring_release(&c);
    }
    ring_release(&c);
    return 0;
}

static void produce(struct ring *r, uint64_t total, uint32_t max_payload, struct ring_producer *p)
{
    ring_producer_init(p, r);
    for (uint64_t k = 0; k < total; k++) {
        uint64_t since = now_ns();
        while (!put_msg(p, k, max_payload)) {
            ring_publish(p);
            cr_assert_lt(now_ns() - since, STALL_NS, "no room for record %llu for 2 s: the consumer never frees space",
                         (unsigned long long)k);
            ring_wait_room(p, 100);
        }
        if (k % 64 == 63)
            ring_publish(p);
    }
    ring_publish(p);
}

static void run_two_processes(uint32_t size, uint64_t total, uint32_t max_payload)
{
    struct ring *r = new_ring(size);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        /* Dies with the test, should an assertion end it first. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        _exit(consume(r, total, max_payload));
    }
    struct ring_producer p;
    produce(r, total, max_payload, &p);
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
              "the consumer saw a wrong record (exit 1) or nothing for 2 s (exit 2): status 0x%x", (unsigned)st);
}

Test(ring, two_processes_move_half_a_million_small_records)
{
    run_two_processes(RING_SIZE, 500000, 0);
}

Test(ring, two_processes_move_payloads_up_to_a_quarter_ring)
{
    run_two_processes(RING_SIZE, 20000, ring_frag_max(RING_SIZE));
}

Test(ring, a_sleeping_consumer_is_woken_by_publish_not_by_a_lazy_one)
{
    struct ring *r = new_ring(RING_MIN_BYTES);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        /* One wait of up to 10 s: only a wake-up ends it early. */
        struct ring_consumer c;
        ring_consumer_init(&c, r);
        struct ring_view v;
        while (ring_next(&c, &v) == RING_EMPTY)
            ring_wait_data(&c, 10000);
        _exit(view_matches(&v, 0, 0) ? 0 : 1);
    }
    /* Give the child time to go to sleep, then check that it did. */
    for (int i = 0; i < 200 && !atomic_load(&r->consumer_sleep); i++)
        usleep(5000);
    cr_assert_eq(atomic_load(&r->consumer_sleep), 1, "the consumer never went to sleep");
    struct ring_producer p;
    ring_producer_init(&p, r);
    cr_assert(put_msg(&p, 0, 0));
    ring_publish_lazy(&p);
    cr_assert_eq(p.wakeups, 0, "one record is not worth a lazy wake-up (a quarter of the ring is)");
    ring_publish(&p);
    cr_assert_eq(p.wakeups, 1, "ring_publish() wakes a sleeping consumer whatever the fill");
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* ---- the decoder against hostile bytes ---- */

#define DSIZE 4096u
static uint8_t dbuf[DSIZE];

static struct ring_rec *rec_at(uint32_t off)
{
    return (struct ring_rec *)(dbuf + off);
}

static void good_record(uint32_t off, uint8_t id_len, uint32_t frag_len)
{
    uint32_t at = (uint32_t)((sizeof(struct ring_rec) + id_len + 7) & ~7u);
    *rec_at(off) = (struct ring_rec){.rec_len = (at + frag_len + 7) & ~7u,
                                     .kind = RING_MSG,
                                     .event = EV_DATA,
                                     .id_len = id_len,
                                     .payload_len = frag_len,
                                     .frag_len = frag_len,
                                     .seq = 1};
    memset(dbuf + off + sizeof(struct ring_rec), 'a', id_len);
}

static int decode(uint64_t pos, uint64_t avail)
{
    struct ring_view v;
    uint32_t len;
    return ring_decode(dbuf, DSIZE, pos, avail, &v, &len);
}

Test(ring, decode_accepts_a_well_formed_record)
{
    good_record(0, 5, 100);
    cr_assert_eq(decode(0, DSIZE), RING_OK);
    cr_assert_eq(decode(0, 0), RING_EMPTY);
}

Test(ring, decode_rejects_every_bad_length)
{
    good_record(0, 5, 100);
    uint32_t good_len = rec_at(0)->rec_len;
    /* A decoder that refuses everything would pass the rest: the records
     * one step from each bad one must pass. */
    cr_assert_eq(decode(0, good_len), RING_OK, "the well-formed record, exactly published");
    cr_assert_eq(decode(0, good_len - 8), RING_CORRUPT, "record longer than what is published");
    cr_assert_eq(decode(0, DSIZE + 8), RING_CORRUPT, "more published than the ring holds");
    cr_assert_eq(decode(4, DSIZE), RING_CORRUPT, "misaligned position");
    rec_at(0)->rec_len = 0;
    cr_assert_eq(decode(0, DSIZE), RING_CORRUPT, "zero length would never progress");
    rec_at(0)->rec_len = 0xfffffff8u;
    cr_assert_eq(decode(0, DSIZE), RING_CORRUPT, "length past the mapping");
    rec_at(0)->rec_len = good_len + 3;
    cr_assert_eq(decode(0, DSIZE), RING_CORRUPT, "unaligned length");
    good_record(0, 0, 0);
    cr_assert_eq(decode(0, DSIZE), RING_CORRUPT, "empty id");
    good_record(0, 64, 0);
    cr_assert_eq(decode(0, DSIZE), RING_CORRUPT, "id over 63 bytes");
    good_record(0, 5, 100);
    rec_at(0)->frag_len = 200;
    cr_assert_eq(decode(0, DSIZE), RING_CORRUPT, "fragment longer than the record");
    good_record(0, 5, 100);
    rec_at(0)->frag_off = 50;
    cr_assert_eq(decode(0, DSIZE), RING_CORRUPT, "fragment past the payload");
    good_record(0, 5, 100);
    rec_at(0)->frag_off = 0xffffff00u;
    rec_at(0)->payload_len = 0xffffffffu;
    cr_assert_eq(decode(0, DSIZE), RING_CORRUPT, "payload over 16 MiB, offsets that wrap 32 bits");
    good_record(0, 5, 100);
    rec_at(0)->event = EV_COUNT;
    cr_assert_eq(decode(0, DSIZE), RING_CORRUPT, "unknown event");
    good_record(0, 5, 100);
    rec_at(0)->kind = 9;
    cr_assert_eq(decode(0, DSIZE), RING_CORRUPT, "unknown kind");
    *rec_at(64) = (struct ring_rec){.rec_len = 64, .kind = RING_PAD};
    cr_assert_eq(decode(64, DSIZE - 64), RING_CORRUPT, "PAD that stops short of the end");
    *rec_at(DSIZE - 64) = (struct ring_rec){.rec_len = 64, .kind = RING_PAD};
    cr_assert_eq(decode(DSIZE - 64, 64), RING_OK, "PAD that runs to the end");
    good_record(DSIZE - 64, 5, 100);
    cr_assert_eq(decode(DSIZE - 64, 64), RING_CORRUPT, "record that would wrap");
}

/* Random bytes, random positions: whatever ring_decode accepts lies inside
 * the buffer. Run under ASan (make SANITIZE=1) this also proves it reads
 * nothing outside. */
Test(ring, decode_never_points_outside_the_mapping)
{
    struct rng g;
    rng_seed(&g, 42);
    unsigned accepted = 0;
    for (int round = 0; round < 200000; round++) {
        for (int i = 0; i < 8; i++) {
            uint32_t off = rng_below(&g, DSIZE / 8) * 8;
            uint64_t x = rng_next(&g);
            memcpy(dbuf + off, &x, 8);
        }
        if (round % 3 == 0)
            good_record(rng_below(&g, DSIZE / 8) * 8 & (DSIZE - 128), (uint8_t)rng_below(&g, 70), rng_below(&g, 64));
        uint64_t pos = (uint64_t)rng_below(&g, 1u << 20) * 8;
        uint64_t avail = (uint64_t)rng_below(&g, DSIZE / 8 + 2) * 8;
        struct ring_view v;
        uint32_t len;
        if (ring_decode(dbuf, DSIZE, pos, avail, &v, &len) != RING_OK)
            continue;
        accepted++;
        cr_assert(len >= 8 && len <= avail);
        uint32_t off = (uint32_t)(pos & (DSIZE - 1));
        cr_assert_leq(off + len, DSIZE);
        if (v.kind == RING_MSG) {
            cr_assert((const uint8_t *)v.id >= dbuf + off && (const uint8_t *)v.id + v.id_len <= dbuf + off + len);
            cr_assert(v.frag >= dbuf + off && v.frag + v.frag_len <= dbuf + off + len);
            cr_assert_leq(v.payload_len, MSG_PAYLOAD_MAX);
        }
    }
    /* Some of those records are whole and published: a decoder that refuses
     * everything proves nothing here. */
    cr_assert_gt(accepted, 0, "no record of 200 000 was accepted");
    cr_log_info("%u records accepted", accepted);
}

/* ---- the segment ---- */

/* The segment is a memfd of mode 0600, visible in /proc/self/maps under its
 * name and nowhere in /dev/shm. */
Test(ring, the_segment_is_a_private_memfd_with_mode_0600)
{
    char err[256];
    size_t len = 3 * 4096;
    void *addr = shm_create("msgroute-test-mode", len, err, sizeof err);
    cr_assert_not_null(addr, "%s", err);
    FILE *f = fopen("/proc/self/maps", "r");
    cr_assert_not_null(f);
    char line[512], range[64] = "";
    while (fgets(line, sizeof line, f))
        if (strstr(line, "/memfd:msgroute-test-mode") && sscanf(line, "%63s", range) == 1)
            break;
    fclose(f);
    cr_assert_neq(range[0], '\0', "no memfd:msgroute-test-mode mapping");
    char path[128];
    snprintf(path, sizeof path, "/proc/self/map_files/%s", range);
    struct stat st;
    if (stat(path, &st) == 0) /* map_files needs CAP_SYS_ADMIN on some kernels */
        cr_expect_eq(st.st_mode & 0777, 0600, "mode %o", (unsigned)(st.st_mode & 0777));
    else
        cr_log_warn("cannot stat %s (%s): mode not checked", path, strerror(errno));
    cr_expect_neq(access("/dev/shm/msgroute-test-mode", F_OK), 0);
    shm_destroy(addr, len);
}

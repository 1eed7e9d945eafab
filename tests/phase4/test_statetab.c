/* test_statetab.c - the shared state table: a reader in another process never
 * sees a torn record, an unwritten slot reads as empty, and a writer stopped
 * in the middle of a write does not stall a reader. */
#include <criterion/criterion.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "fnv.h"
#include "shm.h"
#include "statetab.h"

#define SLOTS 4

static void *seg;
static size_t seg_len;
static struct statetab tab;

static void setup(void)
{
    char err[256];
    seg_len = statetab_bytes(SLOTS);
    seg = shm_create("test-statetab", seg_len, err, sizeof err);
    cr_assert_not_null(seg, "shm_create: %s", err);
    statetab_attach(&tab, seg, SLOTS);
}

static void teardown(void)
{
    shm_destroy(seg, seg_len);
}

TestSuite(statetab, .init = setup, .fini = teardown, .timeout = 30);

/* Version k of a record: every counter is a different function of k, so a
 * copy that mixes two versions breaks at least one of the equations checked
 * by consistent(). Version 1 is the machine's first message (msgs == 1, as
 * statetab_publish() requires of a first write); the id never changes. */
static void version(struct machine *m, uint64_t k)
{
    static const char id[] = "pump-7.north";
    sm_init(m, id, sizeof id - 1, fnv1a64(id, sizeof id - 1));
    m->msgs = k;
    m->transitions = k * 3;
    m->invalid = ~k;
    m->jobs = k ^ 0x5555555555555555ull;
    m->failures = k * k;
    m->bytes = k << 7;
    m->last_seq = k + 11;
    m->ooo = k >> 1;
    m->corrupt = k % 13;
    m->checksum = fnv64_fold(FNV64_OFFSET, k);
    m->state = (uint8_t)(k % ST_COUNT);
}

static bool consistent(const struct machine *m)
{
    /* Field by field: memcmp would also compare padding bytes, which no
     * reader promises to copy. */
    struct machine w;
    version(&w, m->msgs);
    return m->id_hash == w.id_hash && m->state == w.state && m->id_len == w.id_len && m->msgs == w.msgs &&
           m->last_seq == w.last_seq && m->checksum == w.checksum && m->transitions == w.transitions &&
           m->invalid == w.invalid && m->ooo == w.ooo && m->jobs == w.jobs && m->failures == w.failures &&
           m->bytes == w.bytes && m->corrupt == w.corrupt && memcmp(m->id, w.id, w.id_len + 1u) == 0;
}

Test(statetab, an_unwritten_slot_reads_as_empty)
{
    struct machine m;
    cr_assert_eq(statetab_read(&tab, 0, &m, 10), STATETAB_EMPTY);
    version(&m, 1);
    statetab_publish(&tab, 0, &m);
    version(&m, 5);
    statetab_publish(&tab, 0, &m);
    struct machine got;
    cr_assert_eq(statetab_read(&tab, 0, &got, 10), STATETAB_OK);
    cr_assert(consistent(&got));
    cr_assert_eq(got.msgs, 5);
    cr_assert_eq(statetab_read(&tab, 1, &got, 10), STATETAB_EMPTY);
}

/* A worker stopped (or killed) between the two halves of a write must not
 * stall a reader: it reads the copy the writer is not touching. */
Test(statetab, a_writer_stopped_mid_write_does_not_stall_readers)
{
    struct machine m, got;
    version(&m, 1);
    statetab_publish(&tab, 2, &m);
    /* The next write starts (copy 0 half-written with garbage) and stops. */
    seqlock_latch_flip(&tab.slots[2].lock);
    for (size_t i = 0; i < STATETAB_HOT / 2; i++)
        atomic_store(&tab.slots[2].hot[0][i], 0xdeadbeefull);
    cr_assert_eq(statetab_read(&tab, 2, &got, 1), STATETAB_OK);
    cr_assert(consistent(&got));
    cr_assert_eq(got.msgs, 1);
    /* ... and the other half: copy 0 finished, copy 1 half-written. */
    version(&m, 2);
    uint64_t w[STATETAB_WORDS];
    memcpy(w, &m, sizeof m);
    seqlock_store_words(tab.slots[2].hot[0], w + STATETAB_HOT_FIRST, STATETAB_HOT);
    seqlock_latch_flip(&tab.slots[2].lock);
    for (size_t i = 0; i < STATETAB_HOT / 2; i++)
        atomic_store(&tab.slots[2].hot[1][i], 0xdeadbeefull);
    cr_assert_eq(statetab_read(&tab, 2, &got, 1), STATETAB_OK);
    cr_assert(consistent(&got));
    cr_assert_eq(got.msgs, 2);
}

/* The torn-read stress: a writer process rewrites one record as fast as it
 * can while this process reads it nonstop; every read that succeeds must be
 * one whole version, and versions never go backwards. The writer keeps going
 * until the reader has seen SEEN_MIN different versions (or 5 s pass), so
 * the test cannot pass by never racing, even when a busy machine gives the
 * two processes one CPU between them (then they take turns). */
#define SEEN_MIN 2000

/* The writer, every 256 writes: when the reader has seen no new version
 * for a millisecond, it shares the writer's CPU (a loaded machine, or one
 * CPU for both) and runs only when the scheduler takes the CPU from the
 * writer, a few hundred times a second: too few versions in 5 s. Then the
 * writer gives its CPU away until the reader has seen one more (at most
 * 10 ms). With a CPU each the reader sees versions all the time, and the
 * writer never waits: the race is as hard as it can be. */
static void let_a_starved_reader_see(_Atomic uint64_t *seen, uint64_t *last_seen, uint64_t *since)
{
    uint64_t now = now_ns(), s = atomic_load(seen);
    if (s != *last_seen) {
        *last_seen = s;
        *since = now;
        return;
    }
    if (now - *since < 1000000ull)
        return;
    for (uint64_t until = now + 10000000ull; atomic_load(seen) == s && now_ns() < until;)
        sched_yield();
    *since = now_ns();
}

Test(statetab, a_reader_never_sees_a_torn_record)
{
    _Atomic uint64_t *done = (_Atomic uint64_t *)&tab.slots[SLOTS - 1].hot[0][0];
    _Atomic uint64_t *seen = (_Atomic uint64_t *)&tab.slots[SLOTS - 2].hot[0][0];
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* ends with the test, should an assertion end it first */
        struct machine m;
        uint64_t k = 1, last_seen = 0, since = now_ns();
        for (uint64_t end = now_ns() + 5000000000ull; atomic_load(seen) < SEEN_MIN && now_ns() < end; k++) {
            version(&m, k);
            statetab_publish(&tab, 0, &m);
            /* Every other thousand writes back to back, the rest spaced a
             * little: a record rewritten nonstop makes most reads retry, and
             * the reader must also get whole versions to check. */
            if ((k / 1000) % 2)
                for (volatile int spin = 0; spin < 300; spin++)
                    ;
            if (k % 256 == 0)
                let_a_starved_reader_see(seen, &last_seen, &since);
        }
        atomic_store(done, k - 1);
        _exit(0);
    }
    uint64_t reads = 0, busy = 0, last = 0, seen_versions = 0, same = 0;
    uint64_t give_up = now_ns() + 2000000000ull;
    while (!atomic_load(done)) {
        struct machine got;
        int rc = statetab_read(&tab, 0, &got, 1000);
        /* Not one whole version in 2 s: the writer publishes nothing the
         * reader can see (or the reader never gets a copy); fail now rather
         * than at the writer's 5 s bound. */
        cr_assert(reads > 0 || now_ns() < give_up, "no version of the record could be read in 2 s (%s)",
                  rc == STATETAB_EMPTY ? "it reads as empty" : "every read gave up");
        if (rc == STATETAB_EMPTY)
            continue;
        if (rc == STATETAB_BUSY) {
            busy++;
            continue;
        }
        reads++;
        cr_assert(consistent(&got), "torn read: msgs %llu but other fields of another version",
                  (unsigned long long)got.msgs);
        cr_assert_geq(got.msgs, last, "a version went backwards");
        if (got.msgs != last)
            atomic_store(seen, ++seen_versions);
        else if (++same % 64 == 0)
            sched_yield(); /* the writer may be waiting for this CPU */
        last = got.msgs;
    }
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    struct machine got;
    cr_assert_eq(statetab_read(&tab, 0, &got, 1), STATETAB_OK);
    cr_assert_eq(got.msgs, atomic_load(done), "the last version is the one read after the writer ended");
    cr_assert_geq(seen_versions, SEEN_MIN, "the reader saw only %llu versions change in 5 s",
                  (unsigned long long)seen_versions);
    cr_log_info("%llu consistent reads over %llu versions, %llu reads gave up", (unsigned long long)reads,
                (unsigned long long)seen_versions, (unsigned long long)busy);
}

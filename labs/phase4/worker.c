/* worker.c - a phase 4 worker: ring -> shard_deliver() -> state table.
 *
 * A record is full (the message's id and payload) or short (ring.h: a
 * payload-free message of a machine this worker had a full record of
 * before); complete_short() gives a short one back its id, so everything
 * after it sees one kind of message.
 *
 * The loop reads a batch of records, applies each through shard_apply_to()
 * (the second half of shard_deliver(), the call every phase makes) and
 * publishes the machine it changed in the shared state table, so a query in
 * the main process sees the machine as of its last message. Space goes back
 * to the producer once per batch, not once per record. With nothing to read,
 * the worker sleeps on the ring's futex (ring_wait_data()).
 *
 * A payload that fits in one record is verified where it lies in the ring;
 * a fragmented one is copied into a local buffer first, which grows to the
 * largest payload seen (at most 16 MiB) and is never freed during the run. */
#include "worker.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "clock.h"
#include "lab.h"
#include "log.h"
#include "shard.h"
#include "summary.h"
#include "timeline.h"

#define BATCH 128                  /* records between two releases of ring space */
#define GROUP 16                   /* records pulled, their lines asked for, before any is handled */
#define WAIT_MS 100                /* longest sleep: a bound, the producer wakes us */
#define STATS_EVERY_NS 50000000ull /* RSS is a /proc read: refresh it at 20 Hz */

/* A payload arriving in fragments. */
struct reassembly {
    uint8_t *buf;
    uint32_t cap;
    uint32_t got; /* bytes received; 0 when no payload is in flight */
    uint64_t seq;
    uint32_t slot, payload_len;
};

struct worker {
    uint32_t index;
    struct ring_consumer ring;
    struct statetab tab;
    struct shard shard;
    /* by_slot[s]: the handle in shard.table (table_handle()) of the
     * machine whose state table slot is s, 0 until its first message.
     * Every record names its slot, so after the first message a machine is
     * found by one load from this small array instead of a hash probe and
     * an id comparison. */
    uint32_t *by_slot;
    struct reassembly re;
};

static int deliver(struct worker *w, const struct ring_view *v, const uint8_t *payload)
{
    /* TODO: Apply the message of record v (its payload at payload, whole; a
     * short record's id already filled in by complete_short()) to its
     * machine and publish the machine in the shared state table at
     * v->slot. Find the machine through w->by_slot when its slot was seen
     * before (check that the id_hash agrees: slots come from shared memory),
     * else through shard_machine(), which creates it, and remember the new
     * machine's handle (table_handle()) in w->by_slot. Then apply the message with
     * shard_apply_to(), called from one place only: the compiler (with
     * link-time optimisation) inlines a function called once, and this is
     * the worker's hottest path. 0, or PHASE4_WORKER_NOMEM. */
    lab_not_written("deliver()");
    (void)w;
    (void)v;
    (void)payload;
    return PHASE4_WORKER_TODO;
}

/* One fragment of a payload that did not fit in one record. Fragments of one
 * message arrive consecutively and in order (one producer, FIFO ring); any
 * other sequence is a broken producer. Once the last fragment is in, *whole
 * is the payload, and the caller delivers the message; until then, NULL. */
static int reassemble(struct worker *w, const struct ring_view *v, const uint8_t **whole)
{
    /* TODO: Collect one fragment of a large payload into w->re.buf (grown to
     * the payload's size, never past MSG_PAYLOAD_MAX: ring_decode() checked
     * it), and point *whole at the buffer once the last fragment is in
     * (NULL before). A first fragment (frag_off 0) while another payload is
     * incomplete, or a fragment that does not continue the one in flight
     * (offset, seq, slot, length), is PHASE4_WORKER_CORRUPT. */
    lab_not_written("reassemble()");
    (void)w;
    (void)v;
    (void)whole;
    return PHASE4_WORKER_TODO;
}

/* Pulls up to max records into vs, asking the CPU for the lines each will
 * touch (its machine, its state-table record) as it is pulled: with
 * thousands of machines both tables outgrow L2, and the misses then overlap
 * instead of being paid one after another. Not a whole batch at once: four
 * lines for each of BATCH records is 32 KiB, most of an L1 data cache and
 * far more misses than a core keeps in flight, and the first lines would be
 * evicted (or never fetched) before they are used. Returns how many MSG
 * records it pulled; *got is ring_next()'s last answer, and *end is set when
 * the END record came (not counted). */
static unsigned pull_group(struct worker *w, struct ring_view *vs, unsigned max, int *got, bool *end)
{
    unsigned n = 0;
    while (n < max && (*got = ring_next(&w->ring, &vs[n])) == RING_OK) {
        if (vs[n].kind == RING_END) {
            *end = true;
            break;
        }
        if (vs[n].slot < w->tab.nslots) {
            uint32_t known = w->by_slot[vs[n].slot];
            if (known)
                __builtin_prefetch(table_at(&w->shard.table, known), 1);
            else
                table_prefetch(&w->shard.table, vs[n].id_hash);
            const char *slot = (const char *)&w->tab.slots[vs[n].slot];
            __builtin_prefetch(slot, 1);
            __builtin_prefetch(slot + 64, 1);
            __builtin_prefetch(slot + 128, 1);
        }
        n++;
    }
    return n;
}

/* A short record (ring.h) names its machine by slot alone: the main process
 * sends one only once this worker has had a full record for that slot, so
 * the machine is in by_slot, and its id completes the view for deliver().
 * An unknown slot is a broken producer. deliver() then looks the slot up
 * again, in lines this has just loaded: a few instructions, the price of a
 * deliver() that handles one kind of record, as the lab's does. */
static bool complete_short(const struct worker *w, struct ring_view *v)
{
    uint32_t known = w->by_slot[v->slot];
    if (!known)
        return false;
    const struct machine *mc = table_at(&w->shard.table, known);
    v->id = mc->id;
    v->id_len = mc->id_len;
    v->id_hash = mc->id_hash;
    return true;
}

static int handle(struct worker *w, struct ring_view *v)
{
    if (v->slot >= w->tab.nslots || (v->kind == RING_SHORT && !complete_short(w, v)))
        return PHASE4_WORKER_CORRUPT;
    const uint8_t *payload = v->frag; /* whole: read in place, no copy */
    if (v->frag_len != v->payload_len || w->re.got != 0) {
        int rc = reassemble(w, v, &payload);
        if (rc != 0 || !payload)
            return rc;
    }
    /* The one call of deliver(), so the compiler inlines it into the
     * consume loop, the worker's hottest path. A reassembled payload is
     * w->re.buf, freed when the worker ends (out: in phase4_worker()); the
     * analyzer loses track of it here.
     * NOLINTNEXTLINE(clang-analyzer-unix.Malloc) */
    return deliver(w, v, payload);
}

int phase4_worker(struct pool *p, uint32_t index, void *arg)
{
    const struct phase4_shared *sh = arg;
    struct pool_slot *stats = pool_slot(p, index);
    struct worker w = {.index = index, .tab = sh->tab};
    /* The main process is the source and answers queries; a worker only
     * drains a ring that already buffers milliseconds of work. When they
     * share a CPU, the main process should get it as soon as it wakes, or a
     * query waits for the end of a worker's time slice: with workers at
     * nice 0, query p50 at full speed was 0.7-3 ms here; at nice 5, 20-70 us,
     * at about the same messages/s (phase4 --messages 10000000 --workers 2
     * --queries 20000, 2-vCPU VM with other jobs running). */
    if (setpriority(PRIO_PROCESS, 0, PHASE4_WORKER_NICE) < 0)
        log_warn("worker %u: cannot lower its priority: %s", index, strerror(errno));
    ring_consumer_init(&w.ring, sh->rings[index]);
    w.by_slot = calloc(sh->tab.nslots, sizeof *w.by_slot);
    /* shard_recover_from(): under --recover, the machines of the last
     * checkpoint when this worker replaces a dead one. */
    if (!w.by_slot || shard_init(&w.shard, sh->tab.nslots / sh->nworkers + 16, sh->work_ns) < 0 ||
        shard_recover_from(&w.shard, sh->recover ? sh->recover[index] : NULL) < 0) {
        log_error("worker %u: out of memory", index);
        free(w.by_slot);
        return PHASE4_WORKER_NOMEM;
    }

    int rc = 0;
    uint64_t busy = 0, batches = 0;
    /* TODO: The consume loop, until the END record. Pull GROUP records with
     * pull_group(), handle() each, and go on group by group until BATCH
     * records were handled or a group came back short (the ring is empty,
     * broken, or ended); then give their space back with one ring_release().
     * Count the batches and the time spent on them in busy, and store the
     * worker's handled and busy_ns in its stats slot after every batch, its
     * RSS every STATS_EVERY_NS. With nothing to read, sleep with
     * ring_wait_data() (at most WAIT_MS). A broken record, or an END that cuts
     * a fragmented payload short, ends the worker with
     * PHASE4_WORKER_CORRUPT; an error of handle() ends it with that error.
     * Leave through out: in every case. For --timeline, record each batch
     * with tl_span_at(TL_APPLY_BATCH, ...) and the wake-ups your release
     * issued with tl_instant(TL_FUTEX_WAKE, ...) (timeline.h). */
    lab_not_written("phase4_worker()");
    (void)handle;
    (void)pull_group;
    rc = PHASE4_WORKER_TODO;
    goto out;
out:
    if (rc == PHASE4_WORKER_CORRUPT)
        log_error("worker %u: the ring broke its record format; stopping", index);
    else if (rc == PHASE4_WORKER_NOMEM)
        log_error("worker %u: out of memory", index);
    atomic_store_explicit(&stats->handled, w.shard.handled, memory_order_relaxed);
    atomic_store_explicit(&stats->busy_ns, busy, memory_order_relaxed);
    atomic_store_explicit(&stats->rss_kb, rss_peak_self_kb(), memory_order_relaxed);
    log_debug("worker %u: %llu messages in %llu batches, %llu sleeps, exiting with %d", index,
              (unsigned long long)w.shard.handled, (unsigned long long)batches, (unsigned long long)w.ring.sleeps, rc);
    shard_free(&w.shard);
    free(w.by_slot);
    free(w.re.buf);
    return rc;
}

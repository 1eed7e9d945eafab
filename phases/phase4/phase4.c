/* phase4.c - phase 4's main process: the source writes each message straight
 * into its worker's shared-memory ring, and queries read the shared state
 * table; no message, no system call and no byte of serialisation per
 * message, as long as nobody has to sleep.
 *
 * The shape is phase 1's loop with the call to shard_deliver() replaced by a
 * ring_put(): the main process routes (SPEC §4), writes records ahead of what
 * the workers can see and publishes every ring once per CHECK_EVERY messages.
 * A machine's first message goes as a full record, with its id; later ones
 * without a payload go as short records (ring.h), slot, event and seq alone.
 * A full ring is backpressure: the loop publishes every ring, sleeps on the
 * full one's futex in slices of at most WAIT_SLICE_MS, and between slices
 * keeps supervising (a dead worker, a signal) and answering queries, so none
 * of them waits for a slow worker.
 *
 * Supervision comes from the pool (pool.h): it forks the workers before the
 * libuv loop exists, and the loop, run without blocking every POLL_NS,
 * delivers SIGCHLD to pool_watch(). The loop is used for nothing else: the
 * hot path never enters it. With --recover, a dead worker is restarted from
 * its last checkpoint and its log replayed (recover.h; the section further
 * down is phase 4's transport for it).
 *
 * The segment (shm.h, one memfd): [ring 0][ring 1]...[state table]. */
#include "phase4.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "clock.h"
#include "fnv.h"
#include "layout.h"
#include "log.h"
#include "pacer.h"
#include "payload.h"
#include "pin.h"
#include "pool.h"
#include "qload.h"
#include "recover.h"
#include "ring.h"
#include "run.h"
#include "shm.h"
#include "signals.h"
#include "statetab.h"
#include "timeline.h"
#include "work.h"
#include "worker.h"

#define CHECK_EVERY 256      /* messages between checkpoints, and per publication of every ring */
#define QUERY_CHECK_EVERY 16 /* messages between looks at the query schedule, when queries are on */
#define POLL_NS 1000000ull   /* look for dead workers every 1 ms (SPEC §8 asks for 100) */
#define WAIT_SLICE_MS 5      /* longest sleep on a full ring before looking around */
#define PROGRESS_NS 500000000ull
#define LOG_WAIT_NS 200000ull /* --recover: a full log is looked at again after 0.2 ms */
#define QUERY_TRIES 1000      /* latch retries before a query fails (its record rewritten nonstop) */
/* Data bytes per ring unless payloads need more. A ring is the slack that
 * absorbs a worker being descheduled for a time slice (milliseconds) while
 * the source runs on: at about 10 M msgs/s per worker and 48-byte records,
 * 4 MiB is 8 ms of messages. 1 MiB rings ran about 20 % slower here
 * (phase4 --messages 10000000 --workers 2 --ring-kib 1024 vs 4096, medians
 * of 5 runs on this 2-vCPU VM with other jobs running). */
#define DEFAULT_RING (4u << 20)
#define AUTO_RING_MAX (64u << 20)
/* Past two workers the default rings share the slack of two: each ring
 * gets 1/N of the messages, so the same milliseconds of slack take 1/N of
 * the bytes, while N full-size rings would only add memory that every lap
 * touches (a page fault on each side, then cache misses: with 16 workers,
 * 64 MiB against the 8 of two). RING_FLOOR keeps a ring long enough for a
 * worker that waits many time slices for a shared CPU. */
#define RINGS_SHARED (2u * DEFAULT_RING)
#define RING_FLOOR (512u << 10)

struct main4 {
    const struct options *o;
    struct source *src;
    struct hist *queries;
    struct hist *service; /* the read alone, without the wait for the loop to get to it */
    struct phase4_shared sh;
    struct layout layout; /* each id's record in the state table */
    /* Bit s: slot s's worker has had a full record for it since its ring
     * was formatted, so a message with no payload may go as a short record
     * (ring.h). One bit a machine: the main process keeps no more. */
    uint64_t *known; /* sh.tab.nslots bits (known_bytes()) */
    struct ring_producer *prod;
    void *seg;
    size_t seg_len;
    uint32_t ring_size, frag_max, publish_bytes;

    struct pool pool;
    bool pool_started;
    uv_loop_t loop;
    bool loop_ready;

    struct pacer rate;
    struct qload query_load;
    uint64_t start_ns, next_poll_ns, next_status_ns, next_progress_ns;
    uint64_t flush_ns, next_flush_ns; /* force-wake every worker this often (flush_period()) */
    uint64_t not_found, failed;
    bool progress;
    bool *end_put; /* end_put[i]: ring i has its END, so worker i exiting 0 is expected */
    bool lost;     /* a worker died or failed: the run ends with exit 3 */

    /* --recover */
    struct recover rec; /* checkpoints and logs (recover.h) */
    bool *dead;         /* dead[i]: worker i died and awaits its restart */
    uint32_t ndead;
    bool draining; /* the source is done: a restarted worker gets its END too */
};

/* What a step that may wait for room tells its caller. */
enum step {
    STEP_OK,
    STEP_DEAD, /* the worker written to died (--recover): restart it, then redo the step */
    STEP_ABORT /* the run ends: a worker lost, or a second signal */
};

/* pool_exit_fn: a worker was reaped. Only "exited 0 after END" is orderly. */
static void on_worker_exit(struct pool *p, uint32_t index, pid_t pid, int wstatus, void *arg)
{
    (void)p;
    tl_died(index, (int)pid, wstatus);
    /* The pool hands the body and this callback the same arg: the shared
     * view inside struct main4. */
    struct main4 *l = (struct main4 *)((char *)arg - offsetof(struct main4, sh));
    if (l->end_put[index] && WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) {
        log_debug("worker %u (pid %d): drained and exited", index, (int)pid);
        return;
    }
    char how[64];
    pool_describe_exit(wstatus, how, sizeof how);
    bool unwritten = WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == PHASE4_WORKER_TODO; /* no restart can help */
    if (l->o->recover && !l->dead[index] && !unwritten) {
        /* Restarted by recover_dead() at the next step that can (never from
         * inside this callback, which runs in the middle of a wait); the
         * pool keeps pid and wstatus until then, for its message. */
        l->dead[index] = true;
        l->ndead++;
        return;
    }
    if (!l->lost)
        fprintf(stderr, "phase4: worker %u (pid %d): %s; its machines' final state is unknown, no dump written\n",
                index, (int)pid, how);
    l->lost = true;
}

/* Data bytes per ring: --ring-kib, or the default (its share of RINGS_SHARED
 * with many workers) grown until the largest payload of the run fits four
 * times over, so that it crosses in one record and is read in place
 * (fragments cost the worker a copy). */
static uint32_t choose_ring_size(const struct phase4_config *cfg, const struct source *src, uint32_t workers)
{
    if (cfg->ring_kib)
        return cfg->ring_kib * 1024u;
    /* A stream cannot know its largest payload: its rings keep the default
     * size, and larger payloads cross in fragments. */
    uint32_t maxp = src->is_stream ? 0 : source_payload_max(src);
    uint32_t size = DEFAULT_RING;
    while (size > RING_FLOOR && (uint64_t)size * workers > RINGS_SHARED)
        size /= 2;
    while (size < AUTO_RING_MAX && ring_frag_max(size) < maxp + 256u)
        size *= 2;
    return size;
}

/* Bytes of struct main4's known bitmap for nslots slots. */
static size_t known_bytes(uint32_t nslots)
{
    return ((size_t)nslots + 63) / 64 * sizeof(uint64_t);
}

static int setup(struct main4 *l, const struct phase4_config *cfg)
{
    uint32_t n = l->o->workers;
    l->ring_size = choose_ring_size(cfg, l->src, n);
    l->frag_max = ring_frag_max(l->ring_size);
    l->publish_bytes = l->ring_size / 8;
    /* One slot per id the source may name; a stream's are untouched pages
     * of the segment until its ids arrive. */
    uint32_t nslots = source_ids_capacity(l->src);
    if (nslots == 0)
        nslots = 1;
    if (layout_place(&l->layout, l->src, n) < 0) {
        fprintf(stderr, "phase4: out of memory placing %u ids in the state table\n", source_ids_known(l->src));
        return -1;
    }
    size_t ring_len = (ring_bytes(l->ring_size) + 63) / 64 * 64;
    l->seg_len = ring_len * n + statetab_bytes(nslots);

    char err[256];
    l->seg = shm_create("msgroute-phase4", l->seg_len, err, sizeof err);
    if (!l->seg) {
        fprintf(stderr, "phase4: cannot create the shared segment (%zu bytes): %s\n", l->seg_len, err);
        return -1;
    }
    l->sh.rings = calloc(n, sizeof(struct ring *));
    l->prod = calloc(n, sizeof *l->prod);
    l->end_put = calloc(n, sizeof *l->end_put);
    l->dead = calloc(n, sizeof *l->dead);
    l->known = calloc(1, known_bytes(nslots));
    if (!l->sh.rings || !l->prod || !l->end_put || !l->dead || !l->known) {
        fprintf(stderr, "phase4: out of memory\n");
        return -1;
    }
    int rc;
    if (l->o->recover) {
        if ((rc = recover_init(&l->rec, n, l->src)) < 0) {
            fprintf(stderr, "phase4: cannot set up --recover: %s\n", strerror(-rc));
            return -1;
        }
        l->sh.recover = l->rec.area;
    }
    uint8_t *base = l->seg;
    for (uint32_t i = 0; i < n; i++) {
        l->sh.rings[i] = (struct ring *)(base + (size_t)i * ring_len);
        if (ring_format(l->sh.rings[i], l->ring_size) < 0) {
            fprintf(stderr, "phase4: ring size %u is not a power of two in range\n", l->ring_size);
            return -1;
        }
        ring_producer_init(&l->prod[i], l->sh.rings[i]);
    }
    statetab_attach(&l->sh.tab, base + (size_t)n * ring_len, nslots);
    l->sh.nworkers = n;
    l->sh.work_ns = l->o->work_ns;
    log_debug("segment %zu bytes: %u rings of %u bytes, %u state slots", l->seg_len, n, l->ring_size, nslots);

    /* Calibrate --work-ns once, before the fork, as phase 3 does: every
     * worker inherits the same speed, and a worker restarted by --recover
     * starts applying at once instead of timing a loop on a busy machine. */
    work_iterations_for(l->o->work_ns);
    rc = pool_init(&l->pool, n, l->o->pin, phase4_worker, NULL, on_worker_exit, &l->sh);
    if (rc < 0 || (rc = pool_start(&l->pool)) < 0) {
        fprintf(stderr, "phase4: cannot start %u workers: %s\n", n, strerror(-rc));
        return -1;
    }
    l->pool_started = true;
    /* The loop exists only after the fork (pool.h says why). */
    if ((rc = uv_loop_init(&l->loop)) < 0) {
        fprintf(stderr, "phase4: uv_loop_init: %s\n", uv_strerror(rc));
        return -1;
    }
    l->loop_ready = true;
    if ((rc = pool_watch(&l->pool, &l->loop)) < 0) {
        fprintf(stderr, "phase4: cannot watch the workers: %s\n", uv_strerror(rc));
        return -1;
    }
    /* The loop polls the common handlers' counts (signals.h) and handles a
     * second stop request itself: it kills the workers and reaps them. */
    signals_loop_handles_second(true);
    return 0;
}

static void fill_status(const struct main4 *l, struct worker_stats *w)
{
    for (uint32_t i = 0; i < l->o->workers; i++) {
        const struct pool_slot *s = &l->pool.slots[i];
        w[i] = (struct worker_stats){
            .index = i,
            .pid = (int)l->pool.w[i].pid,
            .alive = l->pool.w[i].alive,
            .handled = atomic_load_explicit(&s->handled, memory_order_relaxed),
            .queue_depth = ring_fill(&l->prod[i]), /* bytes written, not yet consumed */
            .busy_ns = atomic_load_explicit(&s->busy_ns, memory_order_relaxed),
            .rss_kb = (long)atomic_load_explicit(&s->rss_kb, memory_order_relaxed),
        };
    }
}

/* Answers every query that is due, by reading the machine's record in the
 * shared table: no worker is asked. Latency from the intended time, as in
 * every phase. A query to a dead worker's machine fails at once. */
static void run_queries(struct main4 *l, uint64_t now)
{
    uint64_t tq = 0, asked = 0;
    struct qload_query q;
    while (qload_next(&l->query_load, now, &q)) {
        if (asked++ == 0)
            tq = tl_now();
        const struct idkey *k = q.key;
        uint32_t slot = layout_slot(&l->layout, q.index);
        uint32_t w = route_worker(k->hash, l->o->workers);
        struct machine m;
        /* After the END, a worker that exited has drained: its records are
         * final, and still answer. Before it, a missing worker died. */
        bool lost = !l->pool.w[w].alive && !l->end_put[w];
        uint64_t t0 = now_ns();
        int rc = lost ? STATETAB_BUSY : statetab_read(&l->sh.tab, slot, &m, QUERY_TRIES);
        if (!lost)
            hist_record(l->service, now_ns() - t0);
        if (rc == STATETAB_BUSY) {
            l->failed++;
            if (l->failed == 1)
                log_warn("query '%s' failed: %s", k->s, lost ? "its worker is gone" : "its record kept changing");
            continue;
        }
        if (rc == STATETAB_EMPTY)
            l->not_found++;
        hist_record(l->queries, now_ns() - q.intended_ns);
    }
    if (asked)
        tl_span(TL_QUERIES, tq, asked, 0);
}

/* --timeline: every ring's fill, once per poll of the workers. */
static void timeline_fill(struct main4 *l)
{
    for (uint32_t i = 0; tl_on && i < l->o->workers; i++)
        tl_counter(TL_QUEUE_DEPTH, ring_fill(&l->prod[i]), i);
}

static void publish_all(struct main4 *l);
static void flush_all(struct main4 *l);

/* How long a record may wait in its ring before its sleeping worker is
 * woken for it, however few records it is: POLL_NS while the workers have
 * a CPU each, k times that when k of them share one. Such a worker gets its
 * CPU about one time slice in k however often it is woken; waking it every
 * POLL_NS anyway, for the few records a ring gets in that time when the
 * messages are spread over many workers, makes every wake-up a pair of
 * context switches for a handful of records (ANSWERS.md, experiment 11).
 * In full flow a ring's worker is woken sooner, once WAKE_DATA bytes wait
 * (ring_publish_lazy()). */
static uint64_t flush_period(const struct options *o)
{
    return POLL_NS * pin_workers_per_cpu(o->pin, o->workers);
}

/* At every poll: every ring published, its worker woken once a worthwhile
 * amount waits; every flush period, woken for anything (a cold worker under
 * Zipf gets few records). */
static void flush_due(struct main4 *l, uint64_t now)
{
    if (now < l->next_flush_ns) {
        publish_all(l);
        return;
    }
    l->next_flush_ns = now + l->flush_ns;
    flush_all(l);
}

/* Everything but routing: supervision, queries, status, progress. Returns
 * false when the run must end now (a worker lost, or a second signal). */
static bool checkpoint(struct main4 *l, uint64_t now)
{
    if (now >= l->next_poll_ns) {
        l->next_poll_ns = now + POLL_NS;
        uv_run(&l->loop, UV_RUN_NOWAIT); /* SIGCHLD -> pool -> on_worker_exit */
        for (uint32_t i = 0; l->o->recover && i < l->o->workers; i++)
            recover_log_back(&l->rec, i);
        flush_due(l, now);
        timeline_fill(l);
    }
    if (l->o->queries > 0)
        run_queries(l, now);
    bool timed_status = l->o->status_every > 0 && now >= l->next_status_ns;
    bool status = signals_take_status();
    if (status)
        tl_instant(TL_SIGNAL, SIGUSR1, 0);
    if (status || timed_status) {
        if (timed_status)
            l->next_status_ns = now + (uint64_t)(l->o->status_every * 1e9);
        struct worker_stats w[CLI_MAX_WORKERS];
        fill_status(l, w);
        status_print(stderr, "phase4", w, l->o->workers);
    }
    if (l->progress && now >= l->next_progress_ns) {
        l->next_progress_ns = now + PROGRESS_NS;
        double s = (double)(now - l->start_ns) / 1e9;
        fprintf(stderr, "\rphase4: %llu / %llu messages, %.2f M msgs/s   ", (unsigned long long)l->src->emitted,
                (unsigned long long)l->src->total, s > 0 ? (double)l->src->emitted / s / 1e6 : 0.0);
    }
    return !l->lost && signals_stops() < 2;
}

/* Backpressure: ring w is full. Publish every ring (a worker cannot free
 * what it cannot see, and the others must not wait for us while we wait),
 * sleep one slice on ring w's futex, look around. */
static enum step wait_room_slice(struct main4 *l, uint32_t w)
{
    flush_all(l);
    /* Queries are answered here, not by a worker: do not sleep past the next
     * one that is due (its latency counts from its due time). */
    uint64_t timeout = (uint64_t)WAIT_SLICE_MS * 1000000u;
    if (l->o->queries > 0) {
        uint64_t now = now_ns(), due = qload_next_due(&l->query_load);
        timeout = due <= now ? 0 : due - now < timeout ? due - now : timeout;
    }
    if (timeout > 0) {
        uint64_t sleeps = l->prod[w].sleeps, t0 = tl_now();
        ring_wait_room_ns(&l->prod[w], timeout);
        if (l->prod[w].sleeps != sleeps) {
            tl_span(TL_FUTEX_SLEEP, t0, 1, w); /* the spin before it included */
            log_debug(
                "ring %u full: slept on it until worker %u freed a quarter or %llu us passed (%llu bytes unread now)",
                w, w, (unsigned long long)(timeout / 1000), (unsigned long long)ring_fill(&l->prod[w]));
        }
    }
    if (!checkpoint(l, now_ns()))
        return STEP_ABORT;
    return l->dead[w] ? STEP_DEAD : STEP_OK;
}

/* The same, as one span of the timeline. */
static enum step wait_room(struct main4 *l, uint32_t w)
{
    uint64_t t0 = tl_now();
    enum step st = wait_room_slice(l, w);
    tl_span(TL_RING_FULL, t0, 0, w);
    return st;
}

/* A short record when ring w has no room for it yet. */
static enum step route_short_waiting(struct main4 *l, const struct msg *m, uint32_t slot, uint32_t w)
{
    enum step st;
    do {
        if ((st = wait_room(l, w)) != STEP_OK)
            return st;
    } while (!ring_put_short(&l->prod[w], m, slot));
    return STEP_OK;
}

/* Writes m into ring w in full, in fragments of at most frag_max bytes. The
 * payload pattern is written straight into the ring: the only copy of the
 * payload there is. */
static enum step route_full(struct main4 *l, const struct msg *m, uint32_t slot, uint32_t w)
{
    struct ring_producer *p = &l->prod[w];
    uint32_t off = 0;
    do {
        uint32_t flen = m->payload_len - off < l->frag_max ? m->payload_len - off : l->frag_max;
        uint8_t *dst;
        while (!(dst = ring_put(p, m, slot, off, flen))) {
            enum step st = wait_room(l, w);
            if (st != STEP_OK)
                return st;
        }
        if (flen)
            payload_fill(dst, m->seq + off, flen);
        off += flen;
        /* Large records: let the worker start before the batch is over. */
        if (p->head - p->published >= l->publish_bytes)
            ring_publish_lazy(p);
    } while (off < m->payload_len);
    return STEP_OK;
}

/* Writes m into ring w (its worker's); slot is its record in the state
 * table. A payload-free message of a machine the worker knows goes as a
 * short record, and that path, most messages', is kept to a few
 * instructions with no loop, so that it is inlined into the main loop. */
static inline enum step route(struct main4 *l, const struct msg *m, uint32_t slot, uint32_t w)
{
    uint64_t bit = 1ull << (slot % 64);
    uint64_t *word = &l->known[slot / 64];
    if (m->payload_len == 0 && (*word & bit))
        return ring_put_short(&l->prod[w], m, slot) ? STEP_OK : route_short_waiting(l, m, slot, w);
    /* Known once this record is in the ring; if the worker dies before it
     * reads it, restart() forgets every slot anyway. */
    *word |= bit;
    return route_full(l, m, slot, w);
}

/* In full flow: publish, wake a worker only for a quarter ring of work. */
static void publish_all(struct main4 *l)
{
    for (uint32_t i = 0; i < l->o->workers; i++) {
        uint64_t woken = l->prod[i].wakeups;
        ring_publish_lazy(&l->prod[i]);
        if (l->prod[i].wakeups != woken)
            tl_instant(TL_FUTEX_WAKE, l->prod[i].wakeups - woken, i);
    }
}

/* Before the main process stops producing for a while: every worker sees
 * (and is woken for) everything written so far. */
static void flush_all(struct main4 *l)
{
    for (uint32_t i = 0; i < l->o->workers; i++) {
        uint64_t woken = l->prod[i].wakeups;
        ring_publish(&l->prod[i]);
        if (l->prod[i].wakeups != woken)
            tl_instant(TL_FUTEX_WAKE, l->prod[i].wakeups - woken, i);
    }
}

/* ---- --recover (SPEC §8, recover.h) ----
 *
 * Phase 4's transport for recover.c: a restarted worker gets a fresh ring
 * (its dead consumer is gone, so the ring is ours to reset), loads its last
 * checkpoint, and the main process writes it the log's replay before
 * anything new. The machines' records in the state table are left as the
 * dead worker wrote them: each one is either final (its last message is in
 * the checkpoint) or written again by the replay, so the final table is
 * exact; during the replay a query may see a machine as of an earlier
 * message. Restarts happen only here, between messages, never from inside
 * the SIGCHLD callback. */
static enum step put_end(struct main4 *l, uint32_t w)
{
    while (!ring_put_end(&l->prod[w])) {
        enum step st = wait_room(l, w);
        if (st != STEP_OK)
            return st;
    }
    /* Before the worker can see it: it may exit (0) as soon as it does. */
    l->end_put[w] = true;
    ring_publish(&l->prod[w]);
    return STEP_OK;
}

/* w's log is full: its worker must reach its next checkpoint, so publish
 * everything (recover.h, I5) and look again shortly. */
static enum step wait_log(struct main4 *l)
{
    flush_all(l);
    sleep_until_ns(now_ns() + LOG_WAIT_NS);
    if (!checkpoint(l, now_ns()))
        return STEP_ABORT;
    return l->ndead > 0 ? STEP_DEAD : STEP_OK;
}

/* route() for a message of the source (from line `line` of a streamed
 * trace, else 0): under --recover it waits for room in its worker's log and
 * is logged once it is in the ring. */
static enum step route_new(struct main4 *l, const struct msg *m, uint32_t slot, uint32_t line)
{
    uint32_t w = route_worker(m->id_hash, l->o->workers);
    if (!l->o->recover)
        return route(l, m, slot, w);
    while (!recover_room(&l->rec, w)) {
        enum step st = wait_log(l);
        if (st != STEP_OK)
            return st;
    }
    enum step st = route(l, m, slot, w);
    if (st == STEP_OK)
        recover_push_line(&l->rec, w, m, line);
    return st;
}

static enum step restart(struct main4 *l, uint32_t w)
{
    /* The new worker knows no slot yet: every slot gets a full record again
     * (not only w's, which a stream scatters over the table; the others'
     * full records are merely a little longer). */
    memset(l->known, 0, known_bytes(l->sh.tab.nslots));
    ring_format(l->sh.rings[w], l->ring_size);
    ring_producer_init(&l->prod[w], l->sh.rings[w]);
    l->end_put[w] = false;
    int rc = pool_start_worker(&l->pool, w);
    if (rc < 0) {
        fprintf(stderr, "phase4: cannot restart worker %u: %s\n", w, strerror(-rc));
        return STEP_ABORT;
    }
    tl_instant(TL_RESTART, (uint64_t)l->pool.w[w].pid, w);
    uint64_t t0 = now_ns(), n = 0;
    enum step st = STEP_OK;
    struct msg m;
    while (st == STEP_OK && recover_replay_next(&l->rec, w, &m)) {
        st = route(l, &m, layout_slot(&l->layout, m.id_index), w);
        n++;
    }
    if (st == STEP_OK && l->draining)
        st = put_end(l, w);
    ring_publish(&l->prod[w]);
    log_info("worker %u: restarted as pid %d and replayed %llu messages in %.1f ms", w, (int)l->pool.w[w].pid,
             (unsigned long long)n, (double)(now_ns() - t0) / 1e6);
    return st;
}

/* Restarts every dead worker. False when the run must end. */
static bool recover_dead(struct main4 *l)
{
    while (l->ndead > 0) {
        uint32_t w = 0;
        while (!l->dead[w])
            w++;
        l->dead[w] = false;
        l->ndead--;
        char why[256], how[64];
        const char *name = !l->o->trace ? "" : strcmp(l->o->trace, "-") == 0 ? "<stdin>" : l->o->trace;
        pool_describe_exit(l->pool.w[w].wstatus, how, sizeof how);
        int pid = (int)l->pool.w[w].pid;
        if (recover_on_death(&l->rec, w, l->pool.w[w].wstatus, name, why, sizeof why) == RECOVER_GIVE_UP) {
            fprintf(stderr, "phase4: worker %u (pid %d): %s %s; giving up, no dump written\n", w, pid, how, why);
            l->lost = true;
            return false;
        }
        fprintf(stderr, "phase4: worker %u (pid %d): %s; %s (--recover)\n", w, pid, how, why);
        if (restart(l, w) == STEP_ABORT)
            return false;
        /* STEP_DEAD: it died again during its replay; dead[w] is set again. */
    }
    return true;
}

/* END into every ring, then wait for every worker to drain and exit, still
 * answering queries and watching for deaths. False when the run must end. */
static bool drain(struct main4 *l)
{
    l->draining = true;
    tl_instant(TL_DRAIN, l->src->emitted, 0);
    for (uint32_t i = 0; i < l->o->workers; i++) {
        enum step st;
        while (!l->end_put[i] && (st = put_end(l, i)) != STEP_OK)
            if (st == STEP_ABORT || !recover_dead(l))
                return false;
    }
    log_debug("END sent to every ring; draining");
    while (pool_alive(&l->pool) > 0 || l->ndead > 0) {
        l->next_poll_ns = 0; /* poll at every turn */
        if (!checkpoint(l, now_ns()))
            return false;
        if (l->ndead > 0 && !recover_dead(l))
            return false;
        if (pool_alive(&l->pool) > 0)
            sleep_until_ns(now_ns() + 200000ull); /* 0.2 ms */
    }
    return !l->lost;
}

#define COLLECT_CHUNK 1024u /* records collect() reads before it lets go of the table's pages again */

/* Lets go of this process's mapping of the pages wholly inside [from, to).
 * On a shared mapping that loses nothing: the data stays in the segment,
 * and a later read maps it again. */
static void let_go(void *from, void *to)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    char *first = (char *)from + (page - (uintptr_t)from % page) % page; /* the first whole page */
    if ((char *)to <= first)
        return;
    size_t len = (size_t)((char *)to - first) / page * page;
    if (len > 0)
        (void)madvise(first, len, MADV_DONTNEED); /* merely advice: on failure the pages stay */
}

/* The final machines, from the shared table into the dump's sorter: every
 * worker has exited, so no write is in progress and every record reads at
 * the first try. EXIT_OK, or the exit status with the reason printed. */
static int collect(struct main4 *l, struct phase4_result *res)
{
    int rc = run_sorter_init(l->o, &res->rows);
    if (rc < 0)
        return run_sorter_failed("phase4", &res->rows, rc);
    /* Only the records of ids the source emitted: any other is empty, and
     * reading it would create a page that no worker wrote (with 10^7 ids
     * and a few messages, most of a table of gigabytes). */
    const struct statetab *t = &l->sh.tab;
    uint32_t known = source_ids_known(l->src), done = 0;
    for (uint32_t i = 0; i < known; i++) {
        if (!source_emitted(l->src, i))
            continue;
        /* The main process reads each record once, here: keeping the pages
         * mapped would cost it as much memory per machine as the workers.
         * Its reads jump between the workers' runs of slots (layout.h), so
         * now and then it lets go of the whole table. */
        if (++done % COLLECT_CHUNK == 0)
            let_go(t->slots, t->cold + t->nslots);
        uint32_t slot = layout_slot(&l->layout, i);
        struct machine m;
        int st = statetab_read(t, slot, &m, 1);
        if (st == STATETAB_BUSY) {
            fprintf(stderr, "phase4: slot %u of the state table is still being written after every worker ended\n",
                    slot);
            return EXIT_OUTPUT_FAILED;
        }
        if (st == STATETAB_OK && (rc = extsort_add(&res->rows, &m, 0)) < 0)
            return run_sorter_failed("phase4", &res->rows, rc);
    }
    return EXIT_OK;
}

/* Publication is batched per CHECK_EVERY messages: with 2 workers a ring
 * gets about 128 records per release store, one store and one fence where
 * there would be 128, and the worker finds long runs of records to read
 * (and prefetch) instead of a few at a time. */
static int run_loop(struct main4 *l)
{
    const struct options *o = l->o;
    bool more = true;
    while (more && signals_stops() == 0) {
        uint64_t now = now_ns();
        if (!checkpoint(l, now) || (l->ndead > 0 && !recover_dead(l)))
            return -1;
        /* Under --rate, what is due; before anything is, the workers get
         * what is written so far and the loop naps, waking at the next poll
         * at the latest. */
        uint64_t batch = pacer_grant(&l->rate, now, CHECK_EVERY);
        if (batch == 0) {
            flush_all(l);
            uint64_t wake = qload_wake_at(&l->query_load, pacer_next_due(&l->rate)), poll = now + POLL_NS;
            sleep_until_ns(wake < poll ? wake : poll);
            continue;
        }
        /* Pull the batch first, then route it: each source_next() misses the
         * cache on its id's key, and pulling them back to back lets those
         * misses overlap (phase 1 does the same for its machines). */
        struct msg ms[CHECK_EVERY];
        uint64_t n = 0;
        uint32_t lines[CHECK_EVERY]; /* --recover of a trace: each message's line */
        while (n < batch && source_next(l->src, &ms[n])) {
            lines[n] = source_line(l->src);
            n++;
        }
        more = n == batch;
        for (uint64_t i = 0; i < n; i++) {
            enum step st;
            while ((st = route_new(l, &ms[i], layout_slot(&l->layout, ms[i].id_index), lines[i])) != STEP_OK)
                if (st == STEP_ABORT || !recover_dead(l))
                    return -1;
            /* A query waits for at most QUERY_CHECK_EVERY messages. */
            if (o->queries > 0 && i % QUERY_CHECK_EVERY == QUERY_CHECK_EVERY - 1)
                run_queries(l, now_ns());
        }
        publish_all(l);
        tl_span(TL_ROUTE_BATCH, now, n, 0);
    }
    if (signals_stops())
        tl_instant(TL_STOP, l->src->emitted, 0);
    return 0;
}

static void teardown(struct main4 *l)
{
    if (l->pool_started) {
        /* Nothing is left running: on any path out, every worker is reaped. */
        pool_signal_all(&l->pool, SIGKILL);
        pool_reap_all(&l->pool, 1000);
    }
    if (l->loop_ready) {
        pool_unwatch(&l->pool);
        uv_run(&l->loop, UV_RUN_NOWAIT);
        if (uv_loop_close(&l->loop) < 0)
            log_warn("libuv loop closed with handles open");
    }
    if (l->pool.w)
        pool_free(&l->pool);
    shm_destroy(l->seg, l->seg_len);
    free(l->sh.rings);
    free(l->prod);
    free(l->end_put);
    free(l->dead);
    free(l->known);
    recover_free(&l->rec);
    layout_free(&l->layout);
}

int phase4_run(const struct options *o, const struct phase4_config *cfg, struct source *src, struct hist *queries,
               struct run_summary *out, struct phase4_result *res)
{
    memset(res, 0, sizeof *res);
    struct main4 l = {.o = o, .src = src, .queries = queries, .service = malloc(sizeof(struct hist))};
    if (!l.service) {
        fprintf(stderr, "phase4: out of memory\n");
        return EXIT_NO_MEMORY;
    }
    hist_init(l.service);
    res->service = l.service;
    int status = EXIT_SETUP_FAILED;
    if (setup(&l, cfg) < 0)
        goto out;
    l.progress = isatty(STDERR_FILENO);
    /* Queries are timed from when they are due, and the loop sleeps (on a
     * full ring, or for --rate) only until the next one is. Measured with
     * the workers' nice value (worker.c): query p50 from ~70 us to ~20 us. */
    clock_exact_sleeps();
    l.start_ns = now_ns();
    l.next_status_ns = l.start_ns + (uint64_t)(o->status_every * 1e9);
    l.flush_ns = flush_period(o);
    pacer_init(&l.rate, o->rate, l.start_ns, CHECK_EVERY);
    qload_init(&l.query_load, src, o->queries, l.start_ns, 1000, o->gen.seed ^ 0x71755e57ull);

    bool ok = run_loop(&l) == 0;
    if (ok && signals_stops())
        log_warn("interrupted: stopped the source after %llu messages; draining", (unsigned long long)src->emitted);
    ok = ok && drain(&l);
    uint64_t end = now_ns();
    if (l.progress)
        fputc('\n', stderr);

    res->workers = calloc(o->workers, sizeof *res->workers);
    if (res->workers)
        fill_status(&l, res->workers);
    uint64_t handled = 0;
    for (uint32_t i = 0; i < o->workers; i++) {
        handled += atomic_load_explicit(&l.pool.slots[i].handled, memory_order_relaxed);
        log_debug("ring %u: the main process slept %llu times for room and woke worker %u %llu times", i,
                  (unsigned long long)l.prod[i].sleeps, i, (unsigned long long)l.prod[i].wakeups);
    }
    out->messages = handled;
    out->seconds = (double)(end - l.start_ns) / 1e9;
    out->query_not_found = l.not_found;
    out->query_failed = l.failed;

    if (signals_stops() >= 2) {
        fprintf(stderr, "phase4: interrupted twice: workers killed, no dump written\n");
        status = EXIT_INTERRUPTED;
    } else if (l.lost || !ok) {
        status = EXIT_WORKER_LOST;
    } else if (!res->workers) {
        fprintf(stderr, "phase4: out of memory collecting the final state\n");
        status = EXIT_NO_MEMORY;
    } else {
        status = collect(&l, res);
    }
out:
    teardown(&l);
    /* From here to the end of main(), the dump included, a second stop
     * request ends the process at once (and removes the dump's temporary
     * file); after 130 there is nothing left to do anyway. */
    if (status != EXIT_INTERRUPTED)
        signals_loop_handles_second(false);
    long children = rss_peak_children_kb(), self = rss_peak_self_kb();
    out->rss_kb_max = children > self ? children : self;
    return status;
}

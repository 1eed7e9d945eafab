/* recover.c - checkpoints, the log of unacknowledged messages and the
 * restart policy of --recover (recover.h says why each is as it is). */
#include "recover.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "clock.h"
#include "fnv.h"
#include "log.h"
#include "mainmem.h"
#include "shard.h"
#include "table.h"
#include "trace_reader.h"

static uint64_t pow2_at_least(uint64_t x)
{
    uint64_t p = 1;
    while (p < x)
        p <<= 1;
    return p;
}

/* Machines of each worker: the ids the source knows that route to it. */
static void count_shares(const struct source *src, uint32_t n, uint32_t *share)
{
    memset(share, 0, n * sizeof *share);
    for (uint32_t i = 0, known = source_ids_known(src); i < known; i++)
        share[route_worker(source_id(src, i).hash, n)]++;
}

/* A streamed trace's ids are not known before the run: any worker may get
 * all of the source's capacity, and its checkpoint interval grows with its
 * machines (shard.c) up to RECOVER_EVERY_MAX. No trace keeps its messages
 * where a poison message could be looked up again (a stream's are gone, a
 * file's are read back once from a spill file), so each log entry of a
 * trace keeps its trace line. */
static int init_worker(struct recover *r, uint32_t w, uint32_t machines)
{
    bool stream = r->src->is_stream;
    uint32_t cap = (stream ? source_ids_capacity(r->src) : machines) + 16;
    uint64_t want = (uint64_t)machines * RECOVER_EVERY_PER_MACHINE;
    uint64_t every = want > RECOVER_EVERY_MIN ? pow2_at_least(want) : RECOVER_EVERY_MIN;
    if (every > RECOVER_EVERY_MAX)
        every = RECOVER_EVERY_MAX;
    uint64_t every_max = stream ? RECOVER_EVERY_MAX : every;
    size_t len = sizeof(struct recover_area) + 2 * (size_t)cap * sizeof(struct machine);
    /* Shared and anonymous: it outlives the worker that writes it, and no
     * name in /dev/shm can be left behind. Pages are touched as used. */
    void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED)
        return -errno;
    r->area[w] = m;
    r->area[w]->cap = cap;
    r->area[w]->every = (uint32_t)every;
    r->area[w]->every_max = (uint32_t)every_max;
    struct recover_log *l = &r->log[w];
    uint64_t entries = 2 * every_max; /* recover.h, I5 */
    /* Populated now (a known source's log is small): faulting it in page by
     * page during the run costs a trap per page, on the source's path. */
    if (!(l->e = mainmem_alloc(entries * sizeof *l->e, !stream)))
        return -errno;
    l->mask = entries - 1;
    if (r->src->is_trace && !(l->lines = mainmem_alloc(entries * sizeof *l->lines, false)))
        return -errno;
    return 0;
}

int recover_init(struct recover *r, uint32_t n, const struct source *src)
{
    memset(r, 0, sizeof *r);
    r->n = n;
    r->src = src;
    r->area = calloc(n, sizeof(struct recover_area *));
    r->log = calloc(n, sizeof *r->log);
    uint32_t *share = calloc(n, sizeof *share);
    int rc = -ENOMEM;
    if (!r->area || !r->log || !share)
        goto out;
    count_shares(src, n, share);
    for (uint32_t w = 0; w < n; w++)
        if ((rc = init_worker(r, w, share[w])) < 0)
            goto out;
    rc = 0;
out:
    free(share);
    return rc;
}

void recover_free(struct recover *r)
{
    for (uint32_t w = 0; r->area && w < r->n; w++)
        if (r->area[w])
            munmap(r->area[w], sizeof(struct recover_area) + 2 * (size_t)r->area[w]->cap * sizeof(struct machine));
    for (uint32_t w = 0; r->log && w < r->n; w++)
        if (r->log[w].e)
            mainmem_free(r->log[w].e, (r->log[w].mask + 1) * sizeof *r->log[w].e);
    for (uint32_t w = 0; r->log && w < r->n; w++)
        if (r->log[w].lines)
            mainmem_free(r->log[w].lines, (r->log[w].mask + 1) * sizeof *r->log[w].lines);
    free(r->area);
    free(r->log);
    memset(r, 0, sizeof *r);
}

bool recover_room_slow(struct recover *r, uint32_t w)
{
    struct recover_log *l = &r->log[w];
    if (l->down)
        return false;
    if (l->head - l->ack <= l->mask)
        return true;
    /* Acquire pairs with the worker's release in recover_checkpoint(): the
     * copy is whole before the log may forget what it covers. */
    l->ack = atomic_load_explicit(&r->area[w]->published, memory_order_acquire) >> 1;
    return l->head - l->ack <= l->mask;
}

/* "FILE:LINE (seq S, id ID, EVENT)" for the message at position pos of w.
 * The generator's seq is its message's place in the stream. */
static void describe(const struct recover *r, uint32_t w, uint64_t pos, const char *src_name, char *buf, size_t len)
{
    const struct recover_entry *e = &r->log[w].e[pos & r->log[w].mask];
    struct idkey k = source_id(r->src, e->id);
    const char *ev = event_name((enum event)(e->len_event >> RECOVER_EVENT_SHIFT));
    if (r->src->is_trace)
        snprintf(buf, len, "%s:%u (seq %llu, id %s, %s)", src_name, r->log[w].lines[pos & r->log[w].mask],
                 (unsigned long long)e->seq, k.s, ev);
    else
        snprintf(buf, len, "message %llu of the generator, line %llu of its msgen trace (seq %llu, id %s, %s)",
                 (unsigned long long)e->seq, (unsigned long long)e->seq + 1, (unsigned long long)e->seq, k.s, ev);
}

/* The poison rule: deaths in a row in the middle of one message. */
static bool poisoned(struct recover_log *l, uint64_t on, bool crashed)
{
    if (on != 0 && on == l->died_on) {
        l->deaths_on++;
        l->crashed_on = l->crashed_on || crashed;
    } else {
        l->died_on = on;
        l->deaths_on = 1;
        l->crashed_on = crashed;
    }
    return on != 0 && l->deaths_on >= (l->crashed_on ? 2u : 3u);
}

/* The start rule: own deaths in a row of runs that applied nothing. */
static bool stalled(struct recover_log *l, uint64_t applied, uint64_t on, bool crashed)
{
    if (applied > l->restored)
        l->stalls = 0;
    else if (on == 0 && crashed)
        l->stalls++;
    return l->stalls >= RECOVER_STALLS;
}

enum recover_verdict recover_on_death(struct recover *r, uint32_t w, int wstatus, const char *src_name, char *why,
                                      size_t len)
{
    struct recover_log *l = &r->log[w];
    struct recover_area *a = r->area[w];
    uint64_t applied = atomic_load_explicit(&a->applied, memory_order_relaxed);
    uint64_t applying = atomic_load_explicit(&a->applying, memory_order_relaxed);
    l->ack = atomic_load_explicit(&a->published, memory_order_acquire) >> 1;
    uint64_t on = applying > applied ? applying : 0; /* 0: it died between messages */
    bool crashed = !(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL);
    if (poisoned(l, on, crashed)) {
        char what[200];
        describe(r, w, on, src_name, what, sizeof what);
        snprintf(why, len, "again without getting past the message it died on last time: %s is a poison message", what);
        return RECOVER_GIVE_UP;
    }
    if (stalled(l, applied, on, crashed)) {
        snprintf(why, len, "(%u runs in a row died by themselves before applying a message: it cannot start)",
                 l->stalls);
        return RECOVER_GIVE_UP;
    }
    /* Its successor starts from ack: until it says otherwise, that is where
     * it stands (the dead one's positions would read as its progress). No
     * worker of index w runs now. */
    atomic_store_explicit(&a->applied, l->ack, memory_order_relaxed);
    atomic_store_explicit(&a->applying, l->ack, memory_order_relaxed);
    l->restored = l->ack;
    l->restarts++;
    l->died_ns = now_ns();
    l->replay = l->ack + 1;
    l->down = true;
    snprintf(why, len,
             "restarting it from its checkpoint at message %llu of its %llu (it had applied %llu), then %llu to replay",
             (unsigned long long)l->ack, (unsigned long long)l->head, (unsigned long long)applied,
             (unsigned long long)(l->head - l->ack));
    return RECOVER_RESTART;
}

uint64_t recover_back_ns(struct recover *r, uint32_t w)
{
    struct recover_log *l = &r->log[w];
    if (l->died_ns == 0 || atomic_load_explicit(&r->area[w]->applied, memory_order_relaxed) <= l->ack)
        return 0;
    uint64_t dt = now_ns() - l->died_ns;
    l->died_ns = 0;
    return dt;
}

void recover_log_back(struct recover *r, uint32_t w)
{
    uint64_t back = recover_back_ns(r, w);
    if (back)
        log_info("worker %u: applying messages again %.1f ms after its death", w, (double)back / 1e6);
}

bool recover_replay_next(struct recover *r, uint32_t w, struct msg *m)
{
    struct recover_log *l = &r->log[w];
    if (l->replay > l->head) {
        l->down = false;
        return false;
    }
    const struct recover_entry *e = &l->e[l->replay & l->mask];
    struct idkey k = source_id(r->src, e->id);
    /* The entry holds what the id does not: its seq, event and length. */
    uint32_t len_event = e->len_event;
    memset(m, 0, sizeof *m);
    m->seq = e->seq;
    m->payload_len = len_event & ((1u << RECOVER_EVENT_SHIFT) - 1);
    m->id = k.s;
    m->event = (uint8_t)(len_event >> RECOVER_EVENT_SHIFT);
    m->id_len = k.len;
    m->id_hash = k.hash;
    m->id_index = e->id;
    l->replay++;
    return true;
}

int64_t recover_restore(struct recover_area *a, struct table *t)
{
    uint32_t n;
    uint64_t pos;
    const struct machine *c = recover_published(a, &n, &pos);
    for (uint32_t i = 0; i < n; i++) {
        if (!table_put(t, &c[i]))
            return -ENOMEM;
    }
    /* With no checkpoint yet, 0: the dead one's positions are not ours. */
    atomic_store_explicit(&a->applied, pos, memory_order_relaxed);
    atomic_store_explicit(&a->applying, pos, memory_order_relaxed);
    return (int64_t)pos;
}

struct machine *recover_spare(struct recover_area *a, unsigned *copy)
{
    uint64_t pub = atomic_load_explicit(&a->published, memory_order_relaxed);
    *copy = pub == 0 ? 0 : !(pub & 1); /* the copy the last publication does not name */
    return &a->copy[(size_t)*copy * a->cap];
}

void recover_publish(struct recover_area *a, unsigned copy, uint32_t count, uint64_t pos)
{
    a->count[copy] = count;
    a->pos[copy] = pos;
    /* Release pairs with the acquire in recover_room(), recover_on_death()
     * and recover_restore(): whoever sees pos sees the whole copy. */
    atomic_store_explicit(&a->published, 2 * pos + copy, memory_order_release);
}

const struct machine *recover_published(const struct recover_area *a, uint32_t *count, uint64_t *pos)
{
    uint64_t pub = atomic_load_explicit(&a->published, memory_order_acquire);
    unsigned b = pub & 1;
    *count = pub == 0 ? 0 : a->count[b];
    *pos = pub == 0 ? 0 : a->pos[b];
    return &a->copy[(size_t)b * a->cap];
}

int recover_checkpoint(struct recover_area *a, const struct table *t, uint64_t pos)
{
    uint32_t n = table_count(t);
    if (n > a->cap)
        return -ENOSPC;
    unsigned b;
    const struct machine *from = table_first(t);
    table_copy_out(t, &from, recover_spare(a, &b), n);
    recover_publish(a, b, n, pos);
    return 0;
}

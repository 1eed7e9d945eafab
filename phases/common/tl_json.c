/* tl_json.c - the timeline's shared buffer as Chrome trace-event JSON
 * (the "JSON Object Format": {"traceEvents": [...]}), written once, by the
 * main process, at the end of a run.
 *
 * Each process is one track: pid and tid are its real pid, and metadata
 * events name it ("main", "worker 2", "worker 2, restart 1"). Times are
 * CLOCK_MONOTONIC in microseconds with three decimals, so every ns shows.
 * A query is a flow (s, t, f with one id) from the main process to the
 * worker that answers and back; a flow whose start or end was dropped (a
 * full slot, a query that timed out) is left out whole, so every flow in the
 * file pairs. The file is written beside its final name and renamed into
 * place, as the dump is: a reader never sees half of it. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "signals.h"
#include "tl_buf.h"

struct what_info {
    const char *name, *cat, *a, *b; /* a, b: argument names, NULL to leave out */
};

static const struct what_info info[TL_WHAT_COUNT] = {
    [TL_ROUTE_BATCH] = {"route batch", "router", "messages", NULL},
    [TL_SOURCE_BATCH] = {"source batch", "source", "messages", NULL},
    [TL_APPLY_BATCH] = {"apply batch", "worker", "messages", NULL},
    [TL_LOOP_POLL] = {"poll: wait for I/O, run its callbacks", "loop", NULL, NULL},
    [TL_LOOP_TURN] = {"turn: timers and idle callbacks", "loop", "messages", NULL},
    [TL_PIPE_WRITE] = {"pipe write", "pipe", "bytes", "worker"},
    [TL_PIPE_FULL] = {"pipe full: router waits for it to drain", "pipe", "bytes_queued", "worker"},
    [TL_PIPE_READ] = {"read and apply messages", "worker", "frames", NULL},
    [TL_REQUESTS] = {"read and answer queries", "query", "frames", NULL},
    [TL_REPLIES] = {"read replies", "query", "frames", "worker"},
    [TL_QUERIES] = {"issue due queries", "query", "queries", NULL},
    [TL_RING_FULL] = {"ring full: wait for room", "ring", NULL, "ring"},
    [TL_FUTEX_SLEEP] = {"futex sleep", "ring", "producer", "ring"},
    [TL_FUTEX_WAKE] = {"futex wake", "ring", "wakeups", "ring"},
    [TL_QUEUE_DEPTH] = {"queue depth", "queue", NULL, NULL},
    [TL_SIGNAL] = {"signal", "lifecycle", "signal", NULL},
    [TL_STOP] = {"stop requested", "lifecycle", "messages_routed", NULL},
    [TL_WORKER_DIED] = {"worker ended", "lifecycle", "pid", "worker"},
    [TL_RESTART] = {"worker restarted", "lifecycle", "pid", "worker"},
    [TL_DRAIN] = {"drain", "lifecycle", "messages_routed", NULL},
    [TL_QUERY] = {"query", "query", NULL, NULL},
    [TL_NET_SEND] = {"zmq send", "network", "bytes", "worker"},
    [TL_NET_WAIT] = {"wait for a message", "network", NULL, NULL},
};

/* A flow point with the process it happened in, for pairing. */
struct flow_pt {
    struct tl_rec r;
    int32_t pid;
};

static bool first_event; /* no comma before the array's first element */

/* Opens one event: the separator, then "{". */
static void open_event(FILE *f)
{
    fputs(first_event ? "\n{" : ",\n{", f);
    first_event = false;
}

static void put_ts(FILE *f, const char *key, uint64_t ns)
{
    fprintf(f, ",\"%s\":%llu.%03llu", key, (unsigned long long)(ns / 1000), (unsigned long long)(ns % 1000));
}

static void put_meta(FILE *f, const char *what, int32_t pid, int64_t tid, const char *key, const char *name, long num)
{
    open_event(f);
    fprintf(f, "\"ph\":\"M\",\"name\":\"%s\",\"pid\":%d,\"tid\":%lld,\"args\":{\"%s\":", what, pid, (long long)tid,
            key);
    if (name)
        fprintf(f, "\"%s\"}}", name);
    else
        fprintf(f, "%ld}}", num);
}

static void put_args(FILE *f, const struct what_info *w, const struct tl_rec *r)
{
    fputs(",\"args\":{", f);
    const char *sep = "";
    if (r->what == TL_QUEUE_DEPTH) {
        fprintf(f, "\"value\":%llu", (unsigned long long)r->a);
        sep = ",";
    } else if (w->a) {
        fprintf(f, "\"%s\":%llu", w->a, (unsigned long long)r->a);
        sep = ",";
    }
    if (w->b)
        fprintf(f, "%s\"%s\":%u", sep, w->b, r->b);
    if (r->what == TL_WORKER_DIED) {
        int st = (int)r->dur;
        if (WIFSIGNALED(st))
            fprintf(f, ",\"how\":\"killed by SIG%s\"", sigabbrev_np(WTERMSIG(st)) ? sigabbrev_np(WTERMSIG(st)) : "?");
        else
            fprintf(f, ",\"how\":\"exited with status %d\"", WEXITSTATUS(st));
    }
    fputc('}', f);
}

static void put_event(FILE *f, int32_t pid, const struct tl_rec *r)
{
    const struct what_info *w = &info[r->what];
    char name[80];
    if (r->what == TL_QUEUE_DEPTH)
        snprintf(name, sizeof name, "queue depth, worker %u", r->b);
    else if (r->what == TL_SIGNAL)
        snprintf(name, sizeof name, "SIG%s", sigabbrev_np((int)r->a) ? sigabbrev_np((int)r->a) : "?");
    else if (r->what == TL_RESTART)
        snprintf(name, sizeof name, "worker %u restarted", r->b);
    else if (r->what == TL_WORKER_DIED) /* an orderly end is no death */
        snprintf(name, sizeof name, "worker %u %s", r->b,
                 WIFEXITED((int)r->dur) && WEXITSTATUS((int)r->dur) == 0 ? "exited" : "died");
    else
        snprintf(name, sizeof name, "%s", w->name);
    long long tid = r->lane ? TL_LANE_TID_BASE + (long long)r->lane : pid;
    open_event(f);
    fprintf(f, "\"ph\":\"%c\",\"name\":\"%s\",\"cat\":\"%s\",\"pid\":%d,\"tid\":%lld", r->ph, name, w->cat, pid, tid);
    put_ts(f, "ts", r->ts);
    if (r->ph == 'X')
        put_ts(f, "dur", r->dur);
    if (r->ph == 'i')
        fputs(",\"s\":\"t\"", f);
    if (r->ph == 's' || r->ph == 't' || r->ph == 'f')
        fprintf(f, ",\"id\":%llu,\"bp\":\"e\"}", (unsigned long long)r->a);
    else {
        put_args(f, w, r);
        fputc('}', f);
    }
}

/* The name of slot s: "main", "worker 2", or "worker 2, restart 1" for the
 * second process that served index 2; and where its track goes: main
 * first, then the workers by index, each restart after the process it
 * replaced (slots are claimed in whatever order the workers start). */
static long slot_name(struct tl_buf *b, uint32_t s, char *name, size_t len)
{
    const struct tl_slot *sl = &b->slots[s];
    if (sl->index == TL_MAIN_INDEX) {
        snprintf(name, len, "main");
        return 0;
    }
    unsigned before = 0;
    for (uint32_t k = 0; k < s; k++)
        if (atomic_load(&b->slots[k].used) && b->slots[k].index == sl->index)
            before++;
    if (before)
        snprintf(name, len, "worker %u, restart %u", sl->index, before);
    else
        snprintf(name, len, "worker %u", sl->index);
    return 1 + (long)sl->index * 1024 + before;
}

/* The records a ring of cap kept, oldest first, of n written: the last
 * cap - 1, since the oldest one may have been half overwritten when its
 * process was killed. */
static void ring_range(uint64_t n, uint64_t cap, uint64_t *from, uint64_t *dropped)
{
    uint64_t keep = n < cap ? n : cap - 1;
    *from = n - keep;
    *dropped = n - keep;
}

/* Appends flow point r (of pid) to *flows. False when out of memory: the
 * flow is then left out whole, as if its point had been dropped. */
static bool keep_flow(const struct tl_rec *r, int32_t pid, struct flow_pt **flows, size_t *nflows, size_t *fcap)
{
    if (*nflows == *fcap) {
        size_t nc = *fcap ? *fcap * 2 : 1024;
        struct flow_pt *nf = realloc(*flows, nc * sizeof *nf);
        if (!nf)
            return false;
        *flows = nf;
        *fcap = nc;
    }
    (*flows)[(*nflows)++] = (struct flow_pt){*r, pid};
    return true;
}

/* The events of one ring of slot sl (cap records, n written); returns how
 * many it dropped. lane_named: which lanes have their thread_name. */
static uint64_t put_ring(FILE *f, const struct tl_slot *sl, const struct tl_rec *recs, uint64_t cap, uint64_t n,
                         bool *lane_named, struct flow_pt **flows, size_t *nflows, size_t *fcap)
{
    uint64_t from, dropped;
    ring_range(n, cap, &from, &dropped);
    for (uint64_t i = from; i < n; i++) {
        const struct tl_rec *r = &recs[i & (cap - 1)];
        if (r->what >= TL_WHAT_COUNT)
            continue;
        if (r->ph == 's' || r->ph == 't' || r->ph == 'f') {
            keep_flow(r, sl->pid, flows, nflows, fcap);
            continue;
        }
        if (r->lane && !lane_named[r->lane]) {
            char lane[64];
            lane_named[r->lane] = true;
            snprintf(lane, sizeof lane, "pipe to worker %u: full", r->b);
            put_meta(f, "thread_name", sl->pid, TL_LANE_TID_BASE + r->lane, "name", lane, 0);
        }
        put_event(f, sl->pid, r);
    }
    return dropped;
}

static uint64_t put_slot(FILE *f, struct tl_buf *b, uint32_t s, struct flow_pt **flows, size_t *nflows, size_t *fcap)
{
    const struct tl_slot *sl = &b->slots[s];
    char name[64];
    long order = slot_name(b, s, name, sizeof name);
    put_meta(f, "process_name", sl->pid, sl->pid, "name", name, 0);
    put_meta(f, "process_sort_index", sl->pid, sl->pid, "sort_index", NULL, order);
    put_meta(f, "thread_name", sl->pid, sl->pid, "name", name, 0);
    bool lane_named[256] = {false};
    uint64_t n = atomic_load_explicit(&sl->count, memory_order_acquire);
    uint64_t nr = atomic_load_explicit(&sl->rare, memory_order_acquire);
    uint64_t dropped = put_ring(f, sl, tl_slot_recs(b, s), b->cap, n, lane_named, flows, nflows, fcap);
    dropped += put_ring(f, sl, tl_slot_rare(b, s), TL_RARE_RECORDS, nr, lane_named, flows, nflows, fcap);
    if (dropped) {
        char label[64];
        snprintf(label, sizeof label, "%llu oldest events dropped", (unsigned long long)dropped);
        put_meta(f, "process_labels", sl->pid, sl->pid, "labels", label, 0);
    }
    return dropped;
}

static int cmp_flow(const void *x, const void *y)
{
    const struct flow_pt *a = x, *b = y;
    if (a->r.a != b->r.a)
        return a->r.a < b->r.a ? -1 : 1;
    return (a->r.ts > b->r.ts) - (a->r.ts < b->r.ts);
}

/* Emits every flow that has both its start and its end; returns how many. */
static uint64_t put_flows(FILE *f, struct flow_pt *fl, size_t n)
{
    if (n == 0) /* and fl may be NULL: a run without queries has no flow */
        return 0;
    qsort(fl, n, sizeof *fl, cmp_flow);
    uint64_t complete = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        bool s = false, e = false;
        for (; j < n && fl[j].r.a == fl[i].r.a; j++) {
            s |= fl[j].r.ph == 's';
            e |= fl[j].r.ph == 'f';
        }
        if (s && e && fl[i].r.ph == 's' && fl[j - 1].r.ph == 'f') {
            for (size_t k = i; k < j; k++)
                put_event(f, fl[k].pid, &fl[k].r);
            complete++;
        }
        i = j;
    }
    return complete;
}

static int write_all(FILE *f, struct tl_buf *b)
{
    fputs("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[", f);
    first_event = true;
    struct flow_pt *flows = NULL;
    size_t nflows = 0, fcap = 0;
    uint64_t dropped = 0;
    uint32_t used = 0;
    uint32_t claimed = atomic_load(&b->next);
    for (uint32_t s = 0; s < b->nslots && s < claimed; s++) {
        if (!atomic_load_explicit(&b->slots[s].used, memory_order_acquire))
            continue;
        used++;
        dropped += put_slot(f, b, s, &flows, &nflows, &fcap);
    }
    uint64_t nq = put_flows(f, flows, nflows);
    free(flows);
    fprintf(f,
            "\n],\"otherData\":{\"clock\":\"CLOCK_MONOTONIC\",\"processes\":%u,\"processes_not_recorded\":%u,"
            "\"events_dropped\":%llu,\"queries_with_flows\":%llu,\"records_per_process\":%u}}\n",
            used, atomic_load(&b->unrecorded), (unsigned long long)dropped, (unsigned long long)nq, b->cap);
    return ferror(f) ? -1 : 0;
}

static const char *final_path;

/* Renames tmp into place (keep) or removes it, and forgets its name, with
 * the signals held. 0, or -1 with errno. */
static int forget_temp(const char *tmp, bool keep)
{
    sigset_t held;
    signals_hold(&held);
    int rc = keep ? rename(tmp, final_path) : unlink(tmp);
    int saved = errno;
    signals_set_temp_file(NULL);
    signals_release(&held);
    errno = saved;
    return rc;
}

int tl_json_write(struct tl_buf *b, const char *path, char *err, size_t err_len)
{
    final_path = path;
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.XXXXXX", path) >= (int)sizeof tmp) {
        snprintf(err, err_len, "%s: path too long", path);
        return -1;
    }
    /* As the dump does (dump.c): the temporary file is made and named to
     * signals.h with the signals held, so a second stop request at any
     * instant finds none or removes it. */
    sigset_t held;
    signals_hold(&held);
    int fd = mkstemp(tmp);
    if (fd >= 0)
        signals_set_temp_file(tmp);
    signals_release(&held);
    if (fd < 0) {
        snprintf(err, err_len, "%s: %s", tmp, strerror(errno));
        return -1;
    }
    /* mkstemp makes it 0600; a timeline is a report, readable as the dump is. */
    mode_t mask = umask(0);
    umask(mask);
    FILE *f = fchmod(fd, 0666 & ~mask) == 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        snprintf(err, err_len, "%s: %s", tmp, strerror(errno));
        close(fd);
        forget_temp(tmp, false);
        return -1;
    }
    int rc = write_all(f, b);
    int e = errno;
    if (fflush(f) != 0 || fsync(fd) != 0)
        rc = -1, e = errno;
    if (fclose(f) != 0 && rc == 0)
        rc = -1, e = errno;
    if (rc == 0 && forget_temp(tmp, true) != 0)
        rc = -1, e = errno;
    if (rc < 0) {
        snprintf(err, err_len, "%s: %s", path, strerror(e));
        forget_temp(tmp, false);
    }
    return rc;
}

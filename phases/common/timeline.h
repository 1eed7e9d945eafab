/* timeline.h - --timeline FILE (SPEC §9): what every process of a run did,
 * on one time axis, written once at the end as Chrome trace-event JSON (the
 * format Perfetto UI, chrome://tracing and speedscope open).
 *
 * Recording is binary and bounded. The main process maps one shared,
 * anonymous buffer before it forks (timeline_start): one slot per process,
 * each a ring of fixed-size records (struct tl_rec: a CLOCK_MONOTONIC time
 * in ns, a kind, what happened, two numbers). Every process, main or worker,
 * writes only its own slot, with plain stores and no lock; the main process
 * reads every slot after the workers have been reaped (timeline_finish),
 * which is what makes their stores visible, and only then formats JSON. A
 * worker killed by SIGKILL cannot flush anything, and need not: its records
 * are already in the shared pages, up to its death. A restarted worker
 * claims a fresh slot, so a new pid is a new track.
 *
 * Bounds: a slot holds TL_SLOT_RECORDS records at most (fewer with many
 * processes, so the whole buffer stays under TL_BUFFER_BYTES). When a slot
 * is full the oldest records are overwritten: a track always ends where its
 * process ended, and the file says how many records were dropped. Callers
 * record per batch, per wait or per query, never per message.
 *
 * Free when off: every recording function is an inline test of one global
 * flag, false unless --timeline was given, before anything else, even the
 * clock read. Not a thread-safe API: each process records from one thread. */
#ifndef MSGROUTE_TIMELINE_H
#define MSGROUTE_TIMELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clock.h"

#define TL_SLOT_RECORDS (1u << 17)     /* per process: 4 MiB of 32-byte records */
#define TL_BUFFER_BYTES (512ull << 20) /* the whole shared buffer, every slot */
#define TL_SPARE_SLOTS 16u             /* restarted workers beyond 3 per worker */
#define TL_LANE_TID_BASE 5000000       /* above Linux's pid_max: never a real tid */

/* What a record says. The name, category and argument names of each are in
 * tl_json.c's table; the phases use the ones of their lesson. */
enum tl_what {
    TL_ROUTE_BATCH,  /* X: the router routed a batch (a = messages) */
    TL_SOURCE_BATCH, /* X: the source pushed a batch into the queue (a = messages) */
    TL_APPLY_BATCH,  /* X: a worker applied a batch (a = messages) */
    TL_LOOP_POLL,    /* X: the libuv loop waited for I/O (its callbacks included) */
    TL_LOOP_TURN,    /* X: timers and idle callbacks of one loop turn (a = messages routed) */
    TL_PIPE_WRITE,   /* X: write()s into worker b's message pipe (a = bytes) */
    TL_PIPE_FULL,    /* X, lane b+1: worker b's pipe was full until it drained (a = bytes still queued) */
    TL_PIPE_READ,    /* X: read messages from the pipe and applied them (a = frames) */
    TL_REQUESTS,     /* X: read queries from the request pipe and answered them (a = frames) */
    TL_REPLIES,      /* X: read worker b's replies (a = frames) */
    TL_QUERIES,      /* X: issued the queries that were due (a = queries) */
    TL_RING_FULL,    /* X: ring b was full: published, waited, looked around */
    TL_FUTEX_SLEEP,  /* X: slept on ring b's futex (a = 1 producer, 0 consumer) */
    TL_FUTEX_WAKE,   /* i: woke the other side of ring b (a = wake-ups) */
    TL_QUEUE_DEPTH,  /* C: messages or bytes waiting for worker b (a) */
    TL_SIGNAL,       /* i: signal a reached the loop */
    TL_STOP,         /* i: a stop request (SIGINT or SIGTERM) seen by a loop that polls for it (a = messages routed) */
    TL_WORKER_DIED,  /* i: worker b (pid a) ended, orderly or not; dur holds its wait status */
    TL_RESTART,      /* i: worker b restarted as pid a */
    TL_DRAIN,        /* i: the source is done; what is queued drains (a = messages routed) */
    TL_QUERY,        /* s/t/f: one query's flow, id a */
    TL_NET_SEND,     /* X: zmq_send of one message to or from worker b (a = bytes) */
    TL_NET_WAIT,     /* X: a worker waited in zmq_poll for its next message */
    TL_WHAT_COUNT
};

/* One event. 32 bytes, written whole before the slot's count moves past it. */
struct tl_rec {
    uint64_t ts;  /* CLOCK_MONOTONIC, ns */
    uint64_t dur; /* X: ns; TL_WORKER_DIED: the wait status */
    uint64_t a;   /* the first argument (see enum tl_what) */
    uint32_t b;   /* the second: a worker or ring index */
    uint16_t what;
    uint8_t ph;   /* the trace-event phase: 'X', 'i', 'C', 's', 't', 'f' */
    uint8_t lane; /* 0: the process's own thread; k: synthetic lane k (TL_PIPE_FULL) */
};
_Static_assert(sizeof(struct tl_rec) == 32, "a record is 32 bytes: TL_SLOT_RECORDS and the README count on it");

extern bool tl_on;         /* set by timeline_start() and inherited by every fork */
extern uint32_t tl_worker; /* this process's worker index (0 in the main process) */

/* Main process, before any fork: maps the buffer for `processes` slots
 * (main + workers + restarts) and takes slot 0 as "main". 0, or -1 with the
 * reason in err. */
int timeline_start(const char *path, uint32_t processes, char *err, size_t err_len);

/* In a freshly forked worker: takes the next free slot as "worker index".
 * When none is left the worker records nothing (the file counts it). */
void timeline_enter_worker(uint32_t index);

/* Main process, after every worker has been reaped: writes the JSON (to a
 * temporary file, renamed into place) and unmaps the buffer. Does nothing
 * when off. 0, or -1 with the reason in err. */
int timeline_finish(char *err, size_t err_len);

void tl__put(uint8_t ph, enum tl_what what, uint64_t ts, uint64_t dur, uint64_t a, uint32_t b, uint8_t lane);

/* The start of a span: the clock when on, 0 (and no clock read) when off. */
static inline uint64_t tl_now(void)
{
    return __builtin_expect(tl_on, 0) ? now_ns() : 0;
}

/* A complete span from t0 (from tl_now()) to now. */
static inline void tl_span(enum tl_what what, uint64_t t0, uint64_t a, uint32_t b)
{
    if (__builtin_expect(tl_on, 0))
        tl__put('X', what, t0, now_ns() - t0, a, b, 0);
}

/* A complete span between two times the caller has read anyway. */
static inline void tl_span_at(enum tl_what what, uint64_t t0, uint64_t t1, uint64_t a, uint32_t b)
{
    if (__builtin_expect(tl_on, 0))
        tl__put('X', what, t0, t1 > t0 ? t1 - t0 : 0, a, b, 0);
}

/* A span on a lane of its own (for waits that overlap the thread's work). */
static inline void tl_lane_span(enum tl_what what, uint64_t t0, uint64_t a, uint32_t b, uint8_t lane)
{
    if (__builtin_expect(tl_on, 0))
        tl__put('X', what, t0, now_ns() - t0, a, b, lane);
}

static inline void tl_instant(enum tl_what what, uint64_t a, uint32_t b)
{
    if (__builtin_expect(tl_on, 0))
        tl__put('i', what, now_ns(), 0, a, b, 0);
}

static inline void tl_counter(enum tl_what what, uint64_t value, uint32_t b)
{
    if (__builtin_expect(tl_on, 0))
        tl__put('C', what, now_ns(), 0, value, b, 0);
}

/* Worker `worker` (pid) ended with wait status wstatus, seen by the main
 * process: its own track stops at its last record. */
static inline void tl_died(uint32_t worker, int pid, int wstatus)
{
    if (__builtin_expect(tl_on, 0))
        tl__put('i', TL_WORKER_DIED, now_ns(), (uint64_t)(unsigned)wstatus, (uint64_t)pid, worker, 0);
}

/* One point of a flow: 's' where it starts, 't' a step, 'f' its end. */
static inline void tl_flow(uint8_t ph, enum tl_what what, uint64_t id)
{
    if (__builtin_expect(tl_on, 0))
        tl__put(ph, what, now_ns(), 0, id, 0, 0);
}

#endif

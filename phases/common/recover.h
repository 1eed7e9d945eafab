/* recover.h - --recover (SPEC §8): a dead worker is restarted and its
 * machines rebuilt exactly, whatever the input (a generator, a file, a pipe
 * that cannot be read twice), in bounded memory; and the restart policy that
 * tells a crash loop from bad luck. One design for every phase with worker
 * processes: phase 3 (pipes), phase 4 (rings) and any later transport. It
 * is not a transport: how bytes reach a worker stays the phase's.
 *
 * Design. Each message the main process hands worker w gets a position
 * p = 1, 2, 3, ... in w's stream (w's own count, not the source's).
 *   - CHECKPOINT. Every `every` messages it applies, w copies its machines
 *     into a mapping shared with the main process and made before the fork,
 *     so it outlives w, and publishes the position the copy stands at (the
 *     acknowledgement, `ack`). The worker side lives in shard.c: every phase
 *     delivers through it, so a phase's worker only attaches the area. A
 *     worker on another host (phase 5's --remote) shares no memory: it sends
 *     its machines over its connection, and the main process writes them
 *     into the area and publishes them (recover_spare, recover_publish).
 *   - LOG. The main process keeps, per worker, a ring of what it routed to
 *     w after w's last checkpoint: seq, id, event and payload length, 16
 *     bytes (payloads are a function of seq, SPEC §2, so none is kept).
 *     The ring is trimmed up to `ack`. When it is full, recover_room() says
 *     no and the phase's source waits (backpressure). The log is the main
 *     process's alone: no worker inherits it (mainmem.h). A fork would
 *     share its pages copy-on-write, and the source's next write to each
 *     page would copy it and flush the TLBs of the other CPUs: a page fault
 *     every 256 messages on the source's path.
 *   - RESTART. When w dies, the pool forks a new w; it loads the last
 *     checkpoint (machines as of position a) and the main process sends it
 *     again, from the log, positions a+1 .. head in their first order, before
 *     anything new for w. A remote w is replaced by whoever starts a new
 *     one with the same index; the main process sends it the checkpoint
 *     first, then the same replay.
 *
 * Invariants (why the dump equals a run without the kill):
 *   I1 a published checkpoint is whole: w writes the copy the last
 *      publication does not name, then publishes (a release store the main
 *      process reads with acquire). A worker killed mid-copy leaves the
 *      previous checkpoint intact.
 *   I2 nothing is lost: the log holds every position after the published
 *      checkpoint, because it is trimmed only up to an acknowledged one.
 *   I3 nothing is applied twice: what the dead process applied after a died
 *      with it (its table was private), and so did whatever its pipe or ring
 *      still held: the phase gives the new w a fresh one.
 *   I4 order holds: the replay is in log order, and a phase sends nothing
 *      new to w before the replay is out (recover_room() is false meanwhile).
 *   I5 memory is bounded: two copies of w's machines (its share of the ids
 *      a generator or a trace file names, or a stream's id capacity, in
 *      pages touched as used) and `cap` log entries, where
 *      cap >= 2 * every, so that the messages the log lets through always
 *      reach w's next checkpoint: no deadlock, as long as the phase makes
 *      every logged message visible to w before it waits for room.
 *
 * Restart policy (recover_on_death()). A worker is restarted after any
 * death, except when it dies again in the middle of applying the very
 * message it was applying when it died last time: it did not get past that
 * message since its restart, so restarting it again would loop forever.
 * That message is a poison message; the run names it (its trace line) and
 * ends with exit 3 and no dump. A death between messages (while starting,
 * loading its checkpoint, reading or waiting) never counts: a worker killed
 * twice before it could do anything is unlucky, not poisoned. A SIGKILL
 * comes from outside the worker as often as from its message (an operator,
 * a test, the OOM killer), and a worker restarted from the same checkpoint
 * runs at the same pace, so two kills at similar delays can land in the same
 * message: it takes three deaths in a row on one message when they are all
 * SIGKILLs, two when the worker crashed by itself (another signal, an exit
 * status). A worker that cannot start is the one loop between messages:
 * when RECOVER_STALLS successive runs of it die by themselves (not a
 * SIGKILL) without applying one message, it is not restarted again (a
 * worker that exits at once: a missing function, a checkpoint it cannot
 * load). SIGKILLs between messages never count: an operator may kill an
 * idle worker at will. There is no limit on the number of deaths.
 *
 * Test hook: with --recover, a worker that is about to apply a message whose
 * seq equals the environment variable MSGROUTE_TEST_POISON_SEQ crashes
 * (SIGSEGV, without a core file), every time: a poison message on demand,
 * for tests and labs.
 *
 * Ownership: struct recover belongs to the main process's one thread; each
 * recover_area has one writer, its worker (the main process writes it only
 * while no worker of that index is alive). */
#ifndef MSGROUTE_RECOVER_H
#define MSGROUTE_RECOVER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#ifdef __SSE2__
#include <immintrin.h>
#endif

#include "msg.h"
#include "sm.h"
#include "source.h"

/* Messages between checkpoints at least; more when a worker has many
 * machines (RECOVER_EVERY_PER_MACHINE each), so that copying them stays a
 * small share of applying messages: a few bytes per message. */
#define RECOVER_EVERY_MIN 65536u
#define RECOVER_EVERY_PER_MACHINE 16u
/* ... and at most this many, which bounds a log at 2 * 16 bytes each (32
 * MiB) per worker; past 65536 machines a worker then copies more than 11
 * bytes per message. */
#define RECOVER_EVERY_MAX (1u << 20)
#define RECOVER_ENV_POISON "MSGROUTE_TEST_POISON_SEQ"
#define RECOVER_STALLS 3 /* own deaths in a row without a message applied */

/* Shared by worker w and the main process: one mapping per worker. */
struct recover_area {
    /* For the policy only (relaxed): the position of the last message w
     * applied, and of the one it is applying (= applied when it is between
     * messages: starting, reading, waiting). */
    _Atomic uint64_t applied, applying;
    _Atomic uint64_t published; /* 2 * ack + the copy holding it; 0 = no checkpoint yet */
    uint64_t pos[2];            /* position each copy stands at */
    uint32_t count[2];          /* machines in each copy */
    uint32_t cap;               /* machines a copy can hold */
    uint32_t every;             /* messages between two checkpoints, at least */
    uint32_t every_max;         /* ... and at most (16 per machine in between) */
    struct machine copy[];      /* 2 * cap: copy b at copy[b * cap] */
};

/* One message of a log: 16 bytes, four to a cache line (the log is
 * written for every message, so its size is memory traffic on the source's
 * path); the id by its index in the source. */
struct recover_entry {
    uint64_t seq;
    uint32_t id;
    uint32_t len_event; /* payload_len | event << RECOVER_EVENT_SHIFT */
};
#define RECOVER_EVENT_SHIFT 25 /* payload_len <= 2^24 takes 25 bits */

struct recover_log {
    struct recover_entry *e; /* mask + 1 entries */
    uint32_t *lines;         /* a trace's: the line of each entry; else NULL */
    uint64_t mask;
    uint64_t head;      /* positions 1..head were routed to the worker */
    uint64_t ack;       /* positions 1..ack are in its published checkpoint */
    uint64_t replay;    /* next position to send again, while down */
    bool down;          /* dead, or its replay not out yet: nothing new for it */
    uint64_t died_on;   /* the position it was applying at its last death; 0: none */
    unsigned deaths_on; /* deaths in a row on died_on */
    bool crashed_on;    /* one of them was not a SIGKILL */
    uint64_t restored;  /* the checkpoint position its present run started from */
    unsigned stalls;    /* own deaths in a row without a message applied */
    uint64_t restarts;  /* for the summary and the logs */
    uint64_t died_ns;   /* when its last death was noticed; 0 once it applies again */
};

struct recover {
    uint32_t n;
    const struct source *src;
    struct recover_area **area; /* n mappings */
    size_t area_len;
    struct recover_log *log; /* n */
};

/* The main process, before the fork: a shared area and a log per worker,
 * sized from the ids src knows (each worker's share of them). 0 or a
 * negative errno. */
int recover_init(struct recover *r, uint32_t n, const struct source *src);
void recover_free(struct recover *r);

bool recover_room_slow(struct recover *r, uint32_t w);

/* Can the phase route one more message to w now? False while w's log is
 * full (refreshes the acknowledgement first) or while its replay is not out.
 * Inline: the source asks it for every message. */
static inline bool recover_room(struct recover *r, uint32_t w)
{
    const struct recover_log *l = &r->log[w];
    return (!l->down && l->head - l->ack <= l->mask) || recover_room_slow(r, w);
}

/* Logs m, from line `line` of a trace (else 0), as the next
 * position of w; the caller checked recover_room(). */
static inline void recover_push_line(struct recover *r, uint32_t w, const struct msg *m, uint32_t line)
{
    struct recover_log *l = &r->log[w];
    l->head++;
    struct recover_entry *dst = &l->e[l->head & l->mask];
    if (l->lines)
        l->lines[l->head & l->mask] = line;
    uint64_t id = m->id_index;
    uint64_t len_event = m->payload_len | (uint32_t)m->event << RECOVER_EVENT_SHIFT;
#ifdef __SSE2__
    /* The log is written once and read only after a death: stream it past
     * the cache (non-temporal stores), or every entry would first read its
     * line from memory and push the phase's hot data out of the cache. The
     * one thread that reads it back (the replay) is this one, which sees its
     * own streamed stores. */
    _mm_stream_si64((long long *)&dst->seq, (long long)m->seq);
    _mm_stream_si64((long long *)&dst->id, (long long)(id | len_event << 32));
#else
    *dst = (struct recover_entry){.seq = m->seq, .id = (uint32_t)id, .len_event = (uint32_t)len_event};
#endif
}

/* recover_push_line() for the message the source has returned last. */
static inline void recover_push(struct recover *r, uint32_t w, const struct msg *m)
{
    recover_push_line(r, w, m, source_line(r->src));
}

enum recover_verdict { RECOVER_RESTART, RECOVER_GIVE_UP };

/* Worker w has died with wstatus (it is reaped; nothing of it runs). Applies the restart
 * policy above. RECOVER_RESTART: the replay is set to start after w's last
 * checkpoint (recover_replay_next() hands it out), and why names the
 * position it restarts from. RECOVER_GIVE_UP: why says what makes a restart
 * useless, to follow the death's description: "again without getting past
 * the message it died on last time: FILE:LINE (seq S, id ID, EVENT) is a
 * poison message", or "(3 runs in a row died by themselves before applying
 * a message: it cannot start)". */
enum recover_verdict recover_on_death(struct recover *r, uint32_t w, int wstatus, const char *src_name, char *why,
                                      size_t len);

/* Nanoseconds from w's last death to now, the first time it is seen
 * applying a message after it (the phase polls it); 0 otherwise. */
uint64_t recover_back_ns(struct recover *r, uint32_t w);

/* recover_back_ns() said at info level: "worker W: applying messages again
 * X ms after its death", once per death. */
void recover_log_back(struct recover *r, uint32_t w);

/* The next message of w's replay, or false when the replay is out: from
 * then on recover_room() may say yes again. */
bool recover_replay_next(struct recover *r, uint32_t w, struct msg *m);

/* Worker side, called by the shard (shard.c) of worker w at start: loads
 * the published checkpoint, if any, into t and returns its position (0 when
 * none: a first start). Negative errno when a machine cannot be created. */
struct table;
int64_t recover_restore(struct recover_area *a, struct table *t);

/* Worker side: copies t's machines into the spare copy and publishes pos.
 * -ENOSPC when they do not fit (a source that met ids after the start). */
int recover_checkpoint(struct recover_area *a, const struct table *t, uint64_t pos);

/* A checkpoint written in pieces, by whoever has the machines: the copy
 * the last publication does not name (its number in *copy, room for
 * a->cap machines), then recover_publish() once count of them are in it,
 * as of position pos. Phase 5's coordinator writes a remote worker's
 * checkpoint this way as it arrives over the network. */
struct machine *recover_spare(struct recover_area *a, unsigned *copy);
void recover_publish(struct recover_area *a, unsigned copy, uint32_t count, uint64_t pos);

/* The last published checkpoint: its machines, their count and its
 * position (0 and 0 when none is published yet). */
const struct machine *recover_published(const struct recover_area *a, uint32_t *count, uint64_t *pos);

#endif

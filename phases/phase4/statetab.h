/* statetab.h - the shared state table of phase 4: one record per machine in
 * shared memory, written by the worker that owns the machine after every
 * message it applies, read by the main process to answer a query without
 * sending anything to a worker.
 *
 * Each record is a seqlock latch (seqlock.h): two copies, so a reader never
 * waits for a worker that was preempted, stopped or killed in the middle of
 * a write; it reads the copy the worker is not writing.
 *
 * Records are indexed by slot, a dense number the main process gives each id
 * (layout.h: each worker's records together), so it finds a record with no
 * shared hash index at all. Each slot has exactly one writer (the worker that
 * owns the id, SPEC §4), so a reader sees the state before or the state after
 * one message, never a mix.
 *
 * Layout, for the writer's sake (it publishes after every message, so this
 * is on the hot path): the fields a message can change (state and the ten
 * counters, 11 words) sit with the sequence word in one 192-byte block of
 * three cache lines, both copies; the fields that never change after a
 * machine's first message (id_hash, the id) sit once in a separate cold
 * array. A publish touches three lines, not the six of two whole machines.
 *
 * The table does not allocate: its memory is carved out of the run's shared
 * segment by the caller, zero-filled, and never grows (one slot per known id). */
#ifndef MSGROUTE_STATETAB_H
#define MSGROUTE_STATETAB_H

#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>

#include "seqlock.h"
#include "sm.h"

/* struct machine as words: word 0 is id_hash, the id is last (statetab.c
 * checks both), and everything between is what a message changes. */
#define STATETAB_WORDS ((sizeof(struct machine) + 7) / 8)
#define STATETAB_HOT_FIRST 1
#define STATETAB_HOT_END ((offsetof(struct machine, id) + 7) / 8)
#define STATETAB_HOT (STATETAB_HOT_END - STATETAB_HOT_FIRST)
#define STATETAB_COLD (STATETAB_WORDS - STATETAB_HOT)

/* The changing part of one record, on cache lines of its own: a write to one
 * machine never slows a read of its neighbour (no false sharing between
 * workers either). */
struct statetab_slot {
    alignas(64) struct seqlock lock;
    _Atomic uint64_t hot[2][STATETAB_HOT]; /* two copies of the changing words */
};

/* The part that never changes after the machine's first message. */
struct statetab_cold {
    _Atomic uint64_t words[STATETAB_COLD]; /* id_hash, then the id's words */
};

/* A process-local view of the table; copy it freely. */
struct statetab {
    struct statetab_slot *slots;
    struct statetab_cold *cold;
    uint32_t nslots;
};

enum statetab_status {
    STATETAB_OK = 0,
    STATETAB_EMPTY = 1, /* the machine has not received a message yet */
    STATETAB_BUSY = 2   /* every try overlapped a write (a writer rewriting this record nonstop) */
};

/* Bytes of shared memory for nslots records (a multiple of 64). */
size_t statetab_bytes(uint32_t nslots);

/* Views nslots records at mem (zero-filled, 64-byte aligned). */
void statetab_attach(struct statetab *t, void *mem, uint32_t nslots);

/* Writer side: publishes m as the state of slot. Only the owning worker calls
 * it; slot must be < nslots (the caller has checked it). The first publish of
 * a slot is the machine's first message (m->msgs == 1) and writes the whole
 * record; later ones write only the fields a message changes, so the id and
 * id_hash of a slot must never change. */
void statetab_publish(struct statetab *t, uint32_t slot, const struct machine *m);

/* Reader side: copies the state of slot into out, retrying at most tries
 * times while a write overlaps. Returns an enum statetab_status. The copy is
 * sanitised (id NUL-terminated, id_len in range; state_name() copes with
 * any state), because the
 * reader must not trust memory another process writes. */
int statetab_read(const struct statetab *t, uint32_t slot, struct machine *out, unsigned tries);

#endif

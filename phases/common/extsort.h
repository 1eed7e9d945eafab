/* extsort.h - the dump's rows in order, in bounded memory: an external merge
 * sort of the machines a main process collects from its workers.
 *
 * The main process of phases 3-5 owns no machine; it only passes the final
 * records from the workers to the dump. Holding them all to sort them would
 * cost it as much memory per machine as the workers spend. Instead, records
 * gather in a run of at most run_max; a full run is sorted (SPEC §6's order)
 * and appended to a spill file, an unnamed file beside the dump that
 * vanishes with the process, whatever ends it. At the end the runs are
 * merged through a binary heap, each read a few records at a time. Memory is
 * one run plus a small buffer per run: a million machines in 8 Ki-record
 * runs is 123 runs.
 *
 * Records come tagged with their worker. A worker restarted by --recover
 * sends its records again, so extsort_drop() forgets every record that
 * worker sent so far: those still in the run at once, those spilled when
 * the merge meets them (each spilled record keeps its worker's epoch).
 *
 * One owner. Two records with the same id are a broken run (a routing bug:
 * every machine has one owner), and extsort_next() reports them. */
#ifndef MSGROUTE_EXTSORT_H
#define MSGROUTE_EXTSORT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "sm.h"
#include "summary.h"

#define EXTSORT_RUN_RECORDS 8192u /* records sorted in memory at a time */

/* One record as it is spilled: the machine and whose it was. */
struct extsort_rec {
    struct machine m;
    uint32_t tag;   /* the worker that sent it */
    uint32_t epoch; /* that worker's epoch when it was added */
};

struct extsort_run; /* extsort.c: one spilled run and its read buffer */

struct extsort {
    bool made;               /* by extsort_init(): a zeroed one frees as nothing */
    bool keep;               /* false: only tally (a run with no dump) */
    struct extsort_rec *run; /* the run being gathered */
    uint32_t run_len, run_max;
    uint32_t ntags;
    uint32_t *epoch;             /* per tag: bumped by extsort_drop() */
    struct machine_tally *tally; /* per tag, of the records added and not
                                    dropped: a drop takes a worker's share back */
    int fd;                      /* the spill file, -1 until the first run is spilled */
    off_t spilled;               /* bytes written to it */
    char *dir;                   /* where it goes */
    struct extsort_run *runs;
    uint32_t nruns, runs_cap;
    uint32_t *heap; /* runs with records left, ordered by their next record */
    uint32_t heap_len;
    struct machine last; /* the row extsort_next() returned last */
    uint64_t rows_out;
    int error; /* extsort_next()'s error, kept: every later call returns it */
};

/* dir: where the spill file goes (NULL or "": $TMPDIR, else /tmp); ntags:
 * tags run 0..ntags-1; run_max: records per run (EXTSORT_RUN_RECORDS, or
 * fewer to test the merge); run_max 0: keep nothing, only tally (no rows
 * come out). 0 or -errno. */
int extsort_init(struct extsort *x, const char *dir, uint32_t ntags, uint32_t run_max);

/* Adds a copy of m, sent by tag. 0, or -errno when a run cannot be
 * spilled (the disk is full). */
int extsort_add(struct extsort *x, const struct machine *m, uint32_t tag);

/* Adds the n records of ms (a RECORDS frame), stopping at the first error. */
int extsort_add_all(struct extsort *x, const struct machine *ms, uint32_t n, uint32_t tag);

/* Forgets every record added under tag so far. */
void extsort_drop(struct extsort *x, uint32_t tag);

/* The tally of every record added and not dropped. */
struct machine_tally extsort_total(const struct extsort *x);

/* After the last add: sorts the last run and starts the merge. 0 or -errno. */
int extsort_finish(struct extsort *x);

/* The next row in order into *row (valid until the next call): 1, 0 at the
 * end, -EIO when the spill file cannot be read, -EBADMSG when two records
 * have the same id. */
int extsort_next(struct extsort *x, const struct machine **row);

/* Frees x (made, or zero-filled: then nothing is done). */
void extsort_free(struct extsort *x);

#endif

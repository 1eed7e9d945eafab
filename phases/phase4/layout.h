/* layout.h - where each machine's record sits in the state table.
 *
 * A worker writes the record of every machine it owns after every message.
 * The first touch of a page of shared memory costs each process that makes
 * it a page fault (dearer still on a virtual machine), and every page a
 * process maps counts in its RSS. Numbered in the order the source interned
 * the ids, a worker's records are scattered over the whole table: with N
 * workers, a page of 21 records (192 bytes each) holds one of a given
 * worker's with probability 1 - (1 - 1/N)^21, so each of 16 workers maps
 * three quarters of the table's pages, and each of 2 all of them, to write
 * a sixteenth or a half of the records.
 *
 * So when the source knows its ids before the run (the generator, a trace
 * file read whole), each worker's records sit together: the table is cut
 * into one run of slots per worker, as long as the number of ids that worker
 * owns, and an id's slot is its worker's first slot plus the number of that
 * worker's ids interned before it. The main process keeps the slot of every
 * id (4 bytes an id), computed once before the workers start; it hands the
 * slot to the worker in each record and reads the slot for a query.
 *
 * A stream cannot: its ids, and so their workers, arrive during the run.
 * Its slot is the id's index, as it is with one worker, whose run is the
 * whole table in that order anyway. */
#ifndef MSGROUTE_PHASE4_LAYOUT_H
#define MSGROUTE_PHASE4_LAYOUT_H

#include <stdint.h>

#include "source.h"

struct layout {
    uint32_t *slot; /* slot[id index]; NULL: the slot is the id index */
    uint32_t count; /* ids in slot[] */
};

/* Places the ids src knows among nworkers (SPEC §4's route_worker()), or
 * leaves l->slot NULL (a stream, one worker). 0, or -ENOMEM. */
int layout_place(struct layout *l, const struct source *src, uint32_t nworkers);

/* The state-table slot of the id with the source's index `index`. */
static inline uint32_t layout_slot(const struct layout *l, uint32_t index)
{
    return l->slot ? l->slot[index] : index;
}

void layout_free(struct layout *l);

#endif

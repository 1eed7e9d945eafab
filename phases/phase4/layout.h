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
 * id, computed once before the workers start; it hands the slot to the
 * worker in each record and reads the slot for a query. A slot is below
 * IDMAP_MAX_IDS, 2^24, so it is kept in three bytes, not four: a byte an id
 * is a byte every machine costs the main process.
 *
 * A stream cannot: its ids, and so their workers, arrive during the run.
 * Its slot is the id's index, as it is with one worker, whose run is the
 * whole table in that order anyway. */
#ifndef MSGROUTE_PHASE4_LAYOUT_H
#define MSGROUTE_PHASE4_LAYOUT_H

#include <endian.h>
#include <stdint.h>
#include <string.h>

#include "source.h"

#define LAYOUT_SLOT_BYTES 3u

_Static_assert(IDMAP_MAX_IDS <= 1ull << (8 * LAYOUT_SLOT_BYTES), "every slot must fit in LAYOUT_SLOT_BYTES");

/* slot: id index i's slot in bytes [3i, 3i + 3), low byte first, and one
 * byte to spare at the end; NULL when the slot is the id index. */
struct layout {
    uint8_t *slot;
    uint32_t count; /* ids in slot[] */
};

/* Places the ids src knows among nworkers (SPEC §4's route_worker()), or
 * leaves l->slot NULL (a stream, one worker). 0, or -ENOMEM. */
int layout_place(struct layout *l, const struct source *src, uint32_t nworkers);

/* The state-table slot of the id with the source's index `index`. */
static inline uint32_t layout_slot(const struct layout *l, uint32_t index)
{
    if (!l->slot)
        return index;
    /* One 4-byte load, the next slot's first byte masked off (the array
     * has a byte to spare after the last slot), not three 1-byte loads
     * and the shifts that join them: the main process reads a slot for
     * every message it routes. */
    uint32_t word;
    memcpy(&word, l->slot + (size_t)index * LAYOUT_SLOT_BYTES, sizeof word);
    return le32toh(word) & ((1u << (8 * LAYOUT_SLOT_BYTES)) - 1);
}

void layout_free(struct layout *l);

#endif

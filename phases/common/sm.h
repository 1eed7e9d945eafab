/* sm.h - the state machine of SPEC §3: one pure transition function and the
 * per-machine record with its counters and checksum.
 *
 * struct machine is plain data (no pointers) so that it can be copied through
 * a pipe, placed in shared memory or sorted for the dump as it is. */
#ifndef MSGROUTE_SM_H
#define MSGROUTE_SM_H

#include <stddef.h>

#include "msg.h"

/* What one event does to one state: the table cell of SPEC §3. */
enum sm_effect { SM_NONE, SM_JOB, SM_FAILURE, SM_BYTES };

struct sm_step {
    uint8_t next;   /* enum state; equals the old state when !valid */
    uint8_t valid;  /* 0 for the '–' cells */
    uint8_t effect; /* enum sm_effect */
};

/* Pure: the cell of the transition table for (s, e). */
struct sm_step sm_transition(enum state s, enum event e);

struct machine {
    /* The first 64 bytes hold everything a typical message reads or writes,
     * so applying one touches this line and the one holding the id. */
    uint64_t id_hash;
    uint8_t state; /* enum state */
    uint8_t id_len;
    uint64_t msgs, last_seq, checksum, transitions, invalid, ooo;
    uint64_t jobs, failures, bytes, corrupt;
    char id[MSG_ID_MAX + 1]; /* NUL-terminated */
};

/* The bytes a machine whose id is id_len bytes long needs: its fields, its id
 * and the id's NUL, rounded up to 8 so that the next one is aligned. A table
 * keeps its machines back to back at this size (table.h), as getdents()
 * returns directory entries, so a short id does not cost MSG_ID_MAX bytes. */
static inline size_t machine_size(size_t id_len)
{
    return (offsetof(struct machine, id) + id_len + 1 + 7) & ~(size_t)7;
}

/* A new machine in IDLE with every counter zero and the checksum at its seed. */
void sm_init(struct machine *m, const char *id, size_t id_len, uint64_t id_hash);

/* Applies one message, updating the counters in the order SPEC §3 lists them.
 * payload_ok is false when the payload broke the pattern of SPEC §2. */
void sm_apply(struct machine *m, uint64_t seq, enum event e, uint32_t payload_len, bool payload_ok);

#endif

/* sm.c - the transition table of SPEC §3 as data, and the counter update.
 *
 * The table is written out cell by cell rather than computed so that a
 * student can hold it next to the SPEC and check every entry. */
#include "sm.h"

#include <string.h>

#include "fnv.h"

/* Aligned by hand, like the SPEC's table: clang-format keeps out. */
/* clang-format off */
#define GO(s) {ST_##s, 1, SM_NONE}
#define NO(s) {ST_##s, 0, SM_NONE}

static const struct sm_step table[ST_COUNT][EV_COUNT] = {
    /*            START       PAUSE        RESUME       COMPLETE                  FAIL                          RESET     STOP         DATA                         HEARTBEAT */
    [ST_IDLE]    = {GO(RUNNING), NO(IDLE), NO(IDLE), NO(IDLE), NO(IDLE), NO(IDLE), GO(STOPPED), NO(IDLE), GO(IDLE)},
    [ST_RUNNING] = {NO(RUNNING), GO(PAUSED), NO(RUNNING), {ST_IDLE, 1, SM_JOB}, {ST_FAILED, 1, SM_FAILURE},
                    NO(RUNNING), GO(STOPPED), {ST_RUNNING, 1, SM_BYTES}, GO(RUNNING)},
    [ST_PAUSED]  = {NO(PAUSED), NO(PAUSED), GO(RUNNING), NO(PAUSED), {ST_FAILED, 1, SM_FAILURE},
                    NO(PAUSED), GO(STOPPED), NO(PAUSED), GO(PAUSED)},
    [ST_FAILED]  = {NO(FAILED), NO(FAILED), NO(FAILED), NO(FAILED), NO(FAILED), GO(IDLE), GO(STOPPED),
                    NO(FAILED), GO(FAILED)},
    [ST_STOPPED] = {NO(STOPPED), NO(STOPPED), NO(STOPPED), NO(STOPPED), NO(STOPPED), GO(IDLE),
                    NO(STOPPED), NO(STOPPED), GO(STOPPED)},
};
/* clang-format on */

struct sm_step sm_transition(enum state s, enum event e)
{
    return table[s][e];
}

void sm_init(struct machine *m, const char *id, size_t id_len, uint64_t id_hash)
{
    memset(m, 0, sizeof *m);
    m->id_hash = id_hash;
    m->checksum = FNV64_OFFSET;
    m->state = ST_IDLE;
    m->id_len = (uint8_t)id_len;
    memcpy(m->id, id, id_len);
}

/* The counters every message moves are updated without a branch: whether
 * a cell is valid or changes the state follows no pattern in a trace, so a
 * branch on it would be mispredicted about every other message. An effect
 * (a job, a failure, bytes) and a corrupt payload are rare instead, so
 * those four counters sit behind branches that are almost always predicted
 * not taken, and a typical message neither computes nor stores them. An
 * invalid cell names the old state and no effect (sm.h), so it changes the
 * invalid count alone. */
void sm_apply(struct machine *m, uint64_t seq, enum event e, uint32_t payload_len, bool payload_ok)
{
    struct sm_step step = table[m->state][e];
    m->msgs++;
    m->ooo += seq <= m->last_seq;
    m->last_seq = seq > m->last_seq ? seq : m->last_seq;
    m->checksum = fnv64_fold(fnv64_fold(m->checksum, seq), (uint64_t)e);
    m->invalid += !step.valid;
    m->transitions += step.next != m->state;
    if (step.effect != SM_NONE) {
        m->jobs += step.effect == SM_JOB;
        m->failures += step.effect == SM_FAILURE;
        m->bytes += step.effect == SM_BYTES ? payload_len : 0;
    }
    if (!payload_ok)
        m->corrupt++;
    m->state = step.next;
}

/* source.h - where messages come from: the deterministic generator of SPEC §7
 * (--messages --ids --dist --payload --seed) or a trace file (SPEC §5).
 *
 * A message carries a pointer to its id, the id's hash and its dense index
 * (0..ids-1), and the hot loop never formats or copies a string. A trace's
 * ids are arbitrary, so it interns them once in an idmap (a 24-byte key
 * and the string per id). The generator's are "id-<index>", which needs
 * less: one slot per id, at a fixed stride, holding the id, NUL-padded,
 * with its length in the slot's last byte (12 bytes for up to 10^7 ids);
 * and an id's hash is made as it is emitted, with one step of FNV-1a from
 * the hash of the id without its last digit, kept for a tenth of the ids.
 * So a main process holds a slot, 0.8 bytes and one bit per machine.
 *
 * Queries pick "random known ids" (SPEC §7) from a bounded sample of the
 * ids emitted so far, kept as a reservoir (Vitter's algorithm R): at every
 * moment it is a uniform sample of them, so a query's id is uniform over
 * every id seen, and the sample costs SOURCE_SAMPLE_IDS slots however many
 * ids there are. What grows with the ids is one bit each, to know an id's
 * first emission.
 *
 * Owned by one thread; the messages it returns borrow ids from it, and the
 * strings stay where they are until source_free(). Its arrays (ids, names,
 * seen, block) are main-process memory (mainmem.h): a forked
 * worker neither inherits nor reads them. */
#ifndef MSGROUTE_SOURCE_H
#define MSGROUTE_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "idmap.h"
#include "msg.h"
#include "rng.h"
#include "zipf.h"

enum dist_kind { DIST_UNIFORM, DIST_ZIPF };

struct gen_config {
    uint64_t messages;
    uint32_t ids;
    enum dist_kind dist;
    double zipf_s;
    uint32_t payload_min, payload_max; /* inclusive */
    uint64_t seed;
};

struct trace_reader;

/* One message of a trace file: 24 bytes, the id by index into the idmap;
 * line is where it stands in its file, to name it (--recover's poison).
 * No padding: every byte that goes to the spill file is defined. */
struct trace_rec {
    uint64_t seq;
    uint32_t id;
    uint32_t payload_len;
    uint32_t line;
    uint32_t event;
};
_Static_assert(sizeof(struct trace_rec) == 24, "struct trace_rec has no padding");

/* A trace file's messages are kept a block at a time (spill.h). */
#define SOURCE_TRACE_BLOCK 4096u

/* The query sampler's reservoir, in ids. */
#define SOURCE_SAMPLE_IDS 4096u

struct source {
    struct idmap ids;      /* a trace's */
    char *names;           /* the generator's: id i's slot at names + i * name_stride */
    uint64_t *prefix_hash; /* the generator's: [j] hashes "id-<j>" for 0 < j <= ids / 10; [0] "id-" */
    uint8_t *prefix_len;   /* the generator's: [j] the length of that string */
    uint32_t name_stride;
    uint32_t name_count;                /* ids named (fewer than gen.ids after a stop during start-up) */
    uint64_t *seen;                     /* bit i set once id i has been emitted */
    uint32_t seen_cap;                  /* bits of seen */
    uint32_t seen_count;                /* distinct ids emitted */
    uint32_t sample[SOURCE_SAMPLE_IDS]; /* the reservoir: min(seen_count, SOURCE_SAMPLE_IDS) ids */
    struct rng sample_rng;              /* its own draws, so the messages do not depend on it */
    uint64_t emitted;
    uint64_t total; /* messages this source will emit */

    bool is_trace;
    bool is_stream; /* a trace from a pipe or FIFO: its ids are not known before the run */
    /* generator */
    struct gen_config gen;
    struct rng rng;
    struct zipf zipf;
    uint8_t event_of_byte[256];
    const char *name; /* of the trace, in messages */
    uint32_t line;    /* the trace line of the message handed out last */
    /* trace: a regular file, read and validated whole before the run. Its
     * messages are one block in memory when they fit, else an unnamed
     * spill file read back a block at a time. */
    struct trace_rec *block; /* SOURCE_TRACE_BLOCK records */
    uint64_t block_first;    /* the message block[0] holds */
    uint32_t block_len;
    bool spilled; /* else every message is in block */
    int spill_fd; /* when spilled */
    uint32_t payload_max;
    /* trace: a stream (stdin, a FIFO), validated line by line as it is read */
    struct trace_reader *reader;
    char error[300]; /* "FILE:LINE: reason" once the run cannot go on reading */
};

/* The distinct ids a streamed trace may name. Its ids cannot be counted
 * before the run, so the tables that are sized once (the source's own, phase
 * 4's shared state table) are sized for this many; a stream that names more
 * ends as malformed, telling to give the trace as a file. */
#define SOURCE_STREAM_IDS_MAX (1u << 20)

/* 0, or a negative errno (bad configuration: -EINVAL, no memory: -ENOMEM). */
int source_init_generator(struct source *s, const struct gen_config *cfg);

/* Opens a trace ("-" is stdin). A regular file is read and validated whole
 * before any message is handed out, so that a malformed trace is rejected
 * before anything is routed (SPEC §5); its messages wait in a spill file
 * (spill.h) beside it, or in the temporary directory, so the source holds
 * its ids and one block of messages, never the whole trace. Anything else
 * (a pipe, a FIFO: input that may never end and cannot be read twice) is
 * streamed: each line is validated as it is read, in bounded memory, and a
 * malformed one ends the source with source_failed() set, so the run
 * drains and main() exits 2 with no dump. 0, or with the reason in err:
 * -EINVAL when the trace cannot be opened or is malformed ("FILE:LINE:
 * reason"), -ENOMEM, or the -errno of a spill file that cannot be made or
 * written (a full disk). path is named in later errors: it must outlive
 * s. Implemented in source_trace.c. */
int source_load_trace(struct source *s, const char *path, char *err, size_t errlen);

/* "FILE:LINE: reason" when a streamed trace turned out malformed, or a
 * trace could not be read, after the run started; NULL otherwise. */
const char *source_failed(const struct source *s);

/* How many distinct ids the tables sized once must hold: every id of a
 * generator or a loaded file, SOURCE_STREAM_IDS_MAX for a stream. */
uint32_t source_ids_capacity(const struct source *s);

/* The largest payload_len the source will hand out (MSG_PAYLOAD_MAX for a
 * stream, which cannot know). */
uint32_t source_payload_max(const struct source *s);

/* The trace line of the message handed out last (0 for the generator). */
static inline uint32_t source_line(const struct source *s)
{
    return s->line;
}

/* The next message, or false at the end of the stream. */
bool source_next(struct source *s, struct msg *out);

/* How many distinct ids the source knows now: every id of a generator or
 * a loaded file, those read so far of a stream. Their indexes are 0..n-1. */
uint32_t source_ids_known(const struct source *s);

/* The id of index i (< source_ids_known()): its string, which stays put
 * until source_free(), its length and its FNV-1a-64 hash. */
struct idkey source_id(const struct source *s, uint32_t i);

/* The index of a uniformly random id among those emitted so far, or
 * IDMAP_NONE if none yet. */
uint32_t source_random_seen(const struct source *s, struct rng *r);

/* Whether the id of index i has been emitted: only such an id can have a
 * machine. */
static inline bool source_emitted(const struct source *s, uint32_t i)
{
    return i < s->seen_cap && (s->seen[i / 64] >> (i & 63) & 1);
}

void source_free(struct source *s);

/* Shared by the generator and the trace loader: sizes seen[] for every id
 * the source may hand out (source_ids_capacity()) and seeds the sample. */
int source_track_ids(struct source *s);

/* For source.c: the next line of a stream, or false at the end (then
 * source_failed() tells whether it was an error); ending the stream as
 * malformed at its current line; and a file's message k. */
struct trace_line;
bool source_stream_next(struct source *s, struct trace_line *tl);
void source_stream_fail(struct source *s, const char *reason);
const struct trace_rec *source_file_rec(struct source *s, uint64_t k);

#endif

/* source_trace.c - a source that reads a trace (SPEC §5): a regular file
 * loaded and validated whole, or a stream (stdin, a FIFO) read as routed.
 *
 * A file is loaded first because SPEC §5 rejects a malformed trace before
 * any message is routed, and a file can be read to its end before the run.
 * Its messages, 24 bytes each, would then be the largest thing a main
 * process holds (2.4 GB for 10^8 of them), so only the first block stays
 * in memory: once there are more, every block goes to an unnamed spill
 * file (spill.h) as it fills, and the run reads them back in order, one
 * block at a time, from the page cache.
 *
 * A stream cannot be loaded first: it may never end, and it cannot be read
 * twice, so its lines are validated as they come, at most one read buffer
 * of it is held, and a malformed line later ends the run with exit 2 and no
 * dump. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fnv.h"
#include "mainmem.h"
#include "signals.h"
#include "source.h"
#include "spill.h"
#include "trace_reader.h"

/* The spill file: beside the trace if its directory takes one (a course's
 * shared, read-only traces may not), else the temporary directory. */
static int open_trace_spill(const char *path)
{
    char buf[PATH_MAX];
    const char *dir = spill_dir_beside(path, buf, sizeof buf);
    int fd = dir ? spill_open(dir) : -1;
    return fd >= 0 ? fd : spill_open(NULL);
}

/* The full block goes to the spill file, which is made for the first. */
static int spill_block(struct source *s, const char *path)
{
    if (!s->spilled) {
        if ((s->spill_fd = open_trace_spill(path)) < 0)
            return s->spill_fd;
        s->spilled = true;
    }
    int rc = spill_write(s->spill_fd, s->block, (size_t)s->block_len * sizeof *s->block);
    s->block_len = 0;
    return rc;
}

/* Appends one parsed message. */
static int append(struct source *s, const struct trace_line *tl, uint64_t lineno, const char *path)
{
    if (s->block_len == SOURCE_TRACE_BLOCK) {
        int rc = spill_block(s, path);
        if (rc < 0)
            return rc;
    }
    uint32_t id = idmap_intern(&s->ids, tl->id, tl->id_len, fnv1a64(tl->id, tl->id_len), NULL);
    if (id == IDMAP_NONE)
        return s->ids.count >= IDMAP_MAX_IDS ? -E2BIG : -ENOMEM;
    s->block[s->block_len++] = (struct trace_rec){
        .seq = tl->seq, .id = id, .payload_len = tl->payload_len, .line = (uint32_t)lineno, .event = tl->event};
    s->total++;
    if (tl->payload_len > s->payload_max)
        s->payload_max = tl->payload_len;
    return 0;
}

/* Says why a file could not be loaded; returns what source_load_trace()
 * does: -EINVAL for a fault of the input, else -errno. */
static int load_failed(const struct trace_reader *r, int rc, char *err, size_t errlen)
{
    if (rc == -E2BIG || rc == -ENOMEM)
        snprintf(err, errlen, "%s:%llu: %s", r->name, (unsigned long long)r->lineno,
                 rc == -E2BIG ? "more distinct worker_ids than the limit of 16777216" : "out of memory");
    else
        snprintf(err, errlen, "%s: cannot keep its messages in a spill file: %s", r->name, strerror(-rc));
    return rc == -E2BIG ? -EINVAL : rc;
}

/* Reads every message of the file at path; the last block is spilled too
 * when the others were, so that the spill file holds them all in order. */
static int load_whole(struct source *s, struct trace_reader *r, const char *path, char *err, size_t errlen)
{
    s->block = mainmem_alloc(SOURCE_TRACE_BLOCK * sizeof *s->block, false);
    if (!s->block)
        return load_failed(r, -ENOMEM, err, errlen);
    struct trace_line tl;
    enum trace_read got;
    while ((got = trace_reader_next(r, &tl, err, errlen)) == TRACE_READ_MESSAGE) {
        int rc = append(s, &tl, r->lineno, path);
        if (rc < 0)
            return load_failed(r, rc, err, errlen);
        /* A stop request while a long trace loads: what was read is never
         * routed, so stop reading (see source.c). */
        if ((s->total & 0xfff) == 0 && signals_stops() > 0) {
            s->total = 0;
            return 0;
        }
    }
    if (got != TRACE_READ_END)
        return -EINVAL;
    int rc = s->spilled ? spill_block(s, path) : 0;
    return rc < 0 ? load_failed(r, rc, err, errlen) : 0;
}

const struct trace_rec *source_file_rec(struct source *s, uint64_t k)
{
    if (k - s->block_first >= s->block_len) {
        uint64_t left = s->total - k;
        uint32_t n = left < SOURCE_TRACE_BLOCK ? (uint32_t)left : SOURCE_TRACE_BLOCK;
        int rc = spill_read_at(s->spill_fd, s->block, (size_t)n * sizeof *s->block, (off_t)(k * sizeof *s->block));
        if (rc < 0) {
            snprintf(s->error, sizeof s->error, "%s: cannot read its messages back from the spill file: %s", s->name,
                     strerror(-rc));
            return NULL;
        }
        s->block_first = k;
        s->block_len = n;
    }
    return &s->block[k - s->block_first];
}

/* A stream cannot be counted before the run: its id table is made once for
 * the most ids a stream may name (its pages are touched only as ids come)
 * and refuses any more (idmap.h: fixed). */
static int start_stream(struct source *s, struct trace_reader *r)
{
    s->is_stream = true;
    s->reader = r;
    s->total = UINT64_MAX; /* unknown: the stream ends when it ends */
    idmap_free(&s->ids);
    return idmap_init_fixed(&s->ids, SOURCE_STREAM_IDS_MAX);
}

int source_load_trace(struct source *s, const char *path, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->is_trace = true;
    if (errlen > 0)
        err[0] = '\0';
    struct trace_reader *r = malloc(sizeof *r);
    if (!r) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -ENOMEM;
    }
    if (trace_reader_open(r, path, err, errlen) < 0) {
        free(r);
        return -EINVAL;
    }
    s->name = r->name;
    int rc = idmap_init(&s->ids, 1024);
    if (rc == 0 && !trace_reader_is_file(r)) {
        if ((rc = start_stream(s, r)) == 0 && (rc = source_track_ids(s)) == 0)
            return 0;
    } else if (rc == 0 && (rc = load_whole(s, r, path, err, errlen)) == 0) {
        rc = source_track_ids(s);
    }
    if (rc == -ENOMEM && !err[0])
        snprintf(err, errlen, "%s: out of memory", r->name);
    trace_reader_close(r);
    free(r);
    s->reader = NULL;
    if (s->spilled)
        s->block_len = 0; /* read back from the file, from the first block */
    if (rc < 0)
        source_free(s);
    return rc;
}

bool source_stream_next(struct source *s, struct trace_line *tl)
{
    enum trace_read got = trace_reader_next(s->reader, tl, s->error, sizeof s->error);
    if (got == TRACE_READ_MESSAGE)
        return true;
    s->total = s->emitted; /* ended: every later call returns false at once */
    return false;
}

void source_stream_fail(struct source *s, const char *reason)
{
    snprintf(s->error, sizeof s->error, "%s:%llu: %s", s->reader->name, (unsigned long long)s->reader->lineno, reason);
    s->total = s->emitted;
}

const char *source_failed(const struct source *s)
{
    return s->error[0] ? s->error : NULL;
}

uint32_t source_ids_capacity(const struct source *s)
{
    return s->is_stream ? SOURCE_STREAM_IDS_MAX : source_ids_known(s);
}

uint32_t source_payload_max(const struct source *s)
{
    if (!s->is_trace)
        return s->gen.payload_max;
    return s->is_stream ? MSG_PAYLOAD_MAX : s->payload_max;
}

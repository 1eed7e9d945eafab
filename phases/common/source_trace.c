/* source_trace.c - a source that reads a trace (SPEC §5): a regular file
 * loaded and validated whole, or a stream (stdin, a FIFO) read as routed.
 *
 * A file is loaded first because SPEC §5 rejects a malformed trace before
 * any message is routed, and a file can be read to its end before the run.
 * A stream cannot: it may never end, and it cannot be read twice, so its
 * lines are validated as they come, at most one read buffer of it is held,
 * and a malformed line later ends the run with exit 2 and no dump. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fnv.h"
#include "mainmem.h"
#include "signals.h"
#include "source.h"
#include "trace_reader.h"

/* Appends one parsed message; grows the record array by doubling. */
static int append(struct source *s, const struct trace_line *tl, uint64_t lineno)
{
    if (s->total == s->recs_cap) {
        size_t ncap = s->recs_cap ? s->recs_cap * 2 : 4096;
        struct trace_rec *r = s->recs ? mainmem_resize(s->recs, s->recs_cap * sizeof *r, ncap * sizeof *r)
                                      : mainmem_alloc(ncap * sizeof *r, false);
        if (!r)
            return -ENOMEM;
        s->recs = r;
        s->recs_cap = ncap;
    }
    uint32_t id = idmap_intern(&s->ids, tl->id, tl->id_len, fnv1a64(tl->id, tl->id_len), NULL);
    if (id == IDMAP_NONE)
        return s->ids.count >= IDMAP_MAX_IDS ? -E2BIG : -ENOMEM;
    s->recs[s->total++] = (struct trace_rec){tl->seq, id, tl->payload_len, tl->event, (uint32_t)lineno};
    return 0;
}

static int load_whole(struct source *s, struct trace_reader *r, char *err, size_t errlen)
{
    struct trace_line tl;
    enum trace_read got;
    while ((got = trace_reader_next(r, &tl, err, errlen)) == TRACE_READ_MESSAGE) {
        int rc = append(s, &tl, r->lineno);
        if (rc < 0) {
            snprintf(err, errlen, "%s:%llu: %s", r->name, (unsigned long long)r->lineno,
                     rc == -E2BIG ? "more distinct worker_ids than the limit of 16777216" : "out of memory");
            return -1;
        }
        /* A stop request while a long trace loads: what was read is never
         * routed, so stop reading (see source.c). */
        if ((s->total & 0xfff) == 0 && signals_stops() > 0) {
            s->total = 0;
            return 0;
        }
    }
    return got == TRACE_READ_END ? 0 : -1;
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
    struct trace_reader *r = malloc(sizeof *r);
    if (!r) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    if (trace_reader_open(r, path, err, errlen) < 0) {
        free(r);
        return -1;
    }
    int rc = idmap_init(&s->ids, 1024);
    if (rc == 0 && !trace_reader_is_file(r)) {
        if ((rc = start_stream(s, r)) == 0 && (rc = source_track_ids(s)) == 0)
            return 0;
    } else if (rc == 0) {
        rc = load_whole(s, r, err, errlen) < 0 ? -EINVAL : source_track_ids(s);
    }
    if (rc == -ENOMEM)
        snprintf(err, errlen, "%s: out of memory", r->name);
    trace_reader_close(r);
    free(r);
    s->reader = NULL;
    if (rc < 0)
        source_free(s);
    return rc < 0 ? -1 : 0;
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
    return s->is_stream ? SOURCE_STREAM_IDS_MAX : s->ids.count;
}

uint32_t source_payload_max(const struct source *s)
{
    if (!s->is_trace)
        return s->gen.payload_max;
    if (s->is_stream)
        return MSG_PAYLOAD_MAX;
    uint32_t max = 0;
    for (uint64_t i = 0; i < s->total; i++)
        if (s->recs[i].payload_len > max)
            max = s->recs[i].payload_len;
    return max;
}

/* trace.c - reading and writing trace files (SPEC §5).
 *
 * The loader validates the whole file before it hands out one message: a
 * malformed line anywhere must leave no trace of the run (no message routed,
 * no dump). Lines are read through a fixed buffer, so a hostile file with a
 * 10 GB line costs 4 KiB, not 10 GB, and is reported as too long. */
#include "trace.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "fnv.h"
#include "signals.h"
#include "source.h"

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static void why(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

/* Quotes at most 32 bytes of a field, replacing unprintable bytes by '?'. */
static const char *quote(char *buf, const char *s, size_t len)
{
    size_t n = len < 32 ? len : 32;
    for (size_t i = 0; i < n; i++)
        buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    strcpy(buf + n, len > n ? "..." : "");
    return buf;
}

/* Strict unsigned decimal: digits only, no sign, no overflow past max. */
static bool parse_u64(const char *s, size_t len, uint64_t max, uint64_t *out)
{
    if (len == 0)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (max - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

enum trace_line_kind trace_parse_line(const char *line, size_t len, struct trace_line *out, char *why_buf,
                                      size_t why_len)
{
    char q[40];
    if (len && line[len - 1] == '\r')
        len--;
    const char *field[5];
    size_t flen[5];
    int nf = 0;
    for (size_t i = 0; i < len;) {
        while (i < len && is_blank(line[i]))
            i++;
        if (i == len)
            break;
        if (nf == 0 && line[i] == '#')
            return TRACE_BLANK;
        size_t start = i;
        while (i < len && !is_blank(line[i]))
            i++;
        if (nf < 5) {
            field[nf] = line + start;
            flen[nf] = i - start;
        }
        nf++;
    }
    if (nf == 0)
        return TRACE_BLANK;
    if (nf < 3 || nf > 4) {
        why(why_buf, why_len, "expected 3 or 4 fields (seq worker_id EVENT [payload_len]), found %d", nf);
        return TRACE_BAD;
    }
    if (!parse_u64(field[0], flen[0], UINT64_MAX, &out->seq)) {
        why(why_buf, why_len, "bad seq '%s': want a decimal number below 2^64", quote(q, field[0], flen[0]));
        return TRACE_BAD;
    }
    if (out->seq == 0) {
        why(why_buf, why_len, "seq 0: sequence numbers start at 1");
        return TRACE_BAD;
    }
    if (flen[1] > MSG_ID_MAX) {
        why(why_buf, why_len, "worker_id is %zu bytes, over the limit of %d", flen[1], MSG_ID_MAX);
        return TRACE_BAD;
    }
    if (!msg_id_valid(field[1], flen[1])) {
        why(why_buf, why_len, "bad worker_id '%s': allowed characters are A-Z a-z 0-9 _ . : -",
            quote(q, field[1], flen[1]));
        return TRACE_BAD;
    }
    enum event e;
    if (!event_parse(field[2], flen[2], &e)) {
        why(why_buf, why_len, "unknown event '%s'", quote(q, field[2], flen[2]));
        return TRACE_BAD;
    }
    uint64_t plen = 0;
    if (nf == 4) {
        if (!parse_u64(field[3], flen[3], UINT64_MAX, &plen)) {
            why(why_buf, why_len, "bad payload_len '%s': want a decimal number", quote(q, field[3], flen[3]));
            return TRACE_BAD;
        }
        if (plen > MSG_PAYLOAD_MAX) {
            why(why_buf, why_len, "payload_len %llu over the limit of %u (16 MiB)", (unsigned long long)plen,
                MSG_PAYLOAD_MAX);
            return TRACE_BAD;
        }
    }
    out->id = field[1];
    out->id_len = (uint8_t)flen[1];
    out->event = (uint8_t)e;
    out->payload_len = (uint32_t)plen;
    return TRACE_MESSAGE;
}

static int load_error(char *err, size_t errlen, const char *name, uint64_t line, const char *fmt, ...)
{
    char reason[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    if (line)
        snprintf(err, errlen, "%s:%llu: %s", name, (unsigned long long)line, reason);
    else
        snprintf(err, errlen, "%s: %s", name, reason);
    return -1;
}

/* Appends one parsed message; grows the record array by doubling. */
static int append(struct source *s, size_t *cap, const struct trace_line *tl)
{
    if (s->total == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4096;
        struct trace_rec *r = realloc(s->recs, ncap * sizeof *r);
        if (!r)
            return -ENOMEM;
        s->recs = r;
        *cap = ncap;
    }
    uint32_t id = idmap_intern(&s->ids, tl->id, tl->id_len, fnv1a64(tl->id, tl->id_len), NULL);
    if (id == IDMAP_NONE)
        return s->ids.count >= IDMAP_MAX_IDS ? -E2BIG : -ENOMEM;
    s->recs[s->total++] = (struct trace_rec){tl->seq, id, tl->payload_len, tl->event};
    return 0;
}

int source_load_trace(struct source *s, const char *path, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->is_trace = true;
    bool use_stdin = strcmp(path, "-") == 0;
    const char *name = use_stdin ? "<stdin>" : path;
    FILE *f = use_stdin ? stdin : fopen(path, "rb");
    if (!f)
        return load_error(err, errlen, name, 0, "cannot open: %s", strerror(errno));
    if (idmap_init(&s->ids, 1024) < 0) {
        load_error(err, errlen, name, 0, "out of memory");
        goto fail;
    }

    char line[TRACE_LINE_MAX];
    char reason[200];
    size_t cap = 0, len = 0;
    uint64_t lineno = 1;
    for (;;) {
        int c = getc_unlocked(f);
        if (c != '\n' && c != EOF) {
            /* Rejected the moment it passes the limit, not when it ends:
             * a line that never ends (/dev/zero) must not hang the load. */
            if (len == sizeof line) {
                load_error(err, errlen, name, lineno, "line longer than %d bytes", TRACE_LINE_MAX);
                goto fail;
            }
            line[len++] = (char)c;
            continue;
        }
        if (c == EOF && ferror(f)) {
            load_error(err, errlen, name, lineno, "read error: %s", strerror(errno));
            goto fail;
        }
        if (c == EOF && len == 0)
            break;
        if (memchr(line, '\0', len)) {
            load_error(err, errlen, name, lineno, "NUL byte in line");
            goto fail;
        }
        struct trace_line tl;
        switch (trace_parse_line(line, len, &tl, reason, sizeof reason)) {
        case TRACE_BAD: load_error(err, errlen, name, lineno, "%s", reason); goto fail;
        case TRACE_MESSAGE: {
            int rc = append(s, &cap, &tl);
            if (rc < 0) {
                if (rc == -E2BIG)
                    load_error(err, errlen, name, lineno, "more than %u distinct worker_ids", IDMAP_MAX_IDS);
                else
                    load_error(err, errlen, name, lineno, "out of memory");
                goto fail;
            }
            break;
        }
        case TRACE_BLANK: break;
        }
        if (c == EOF)
            break;
        len = 0;
        /* A stop request while a long trace loads: what was read is never
         * routed (see source.c), so stop reading. */
        if ((lineno++ & 0xfff) == 0 && signals_stops() > 0) {
            s->total = 0;
            break;
        }
    }
    if (!use_stdin)
        fclose(f);
    if (source_track_ids(s) < 0) {
        source_free(s);
        return load_error(err, errlen, name, 0, "out of memory");
    }
    return 0;
fail:
    if (!use_stdin)
        fclose(f);
    source_free(s);
    return -1;
}

int trace_write_msg(FILE *f, const struct msg *m)
{
    return fprintf(f, "%llu %s %s %u\n", (unsigned long long)m->seq, m->id, event_name((enum event)m->event),
                   m->payload_len);
}

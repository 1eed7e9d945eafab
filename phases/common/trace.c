/* trace.c - one trace line parsed or written (SPEC §5). Reading lines is
 * trace_reader.c's; loading or streaming a trace into a source is
 * source_trace.c's. */
#include "trace.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

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

int trace_write_msg(FILE *f, const struct msg *m)
{
    return fprintf(f, "%llu %s %s %u\n", (unsigned long long)m->seq, m->id, event_name((enum event)m->event),
                   m->payload_len);
}

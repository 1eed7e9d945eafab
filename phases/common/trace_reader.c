/* trace_reader.c - lines out of a file descriptor, validated as they come. */
#include "trace_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "signals.h"

static enum trace_read fail(const struct trace_reader *r, char *err, size_t errlen, const char *fmt, ...)
{
    char reason[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    if (r->lineno)
        snprintf(err, errlen, "%s:%llu: %s", r->name, (unsigned long long)r->lineno, reason);
    else
        snprintf(err, errlen, "%s: %s", r->name, reason);
    return TRACE_READ_ERROR;
}

int trace_reader_open(struct trace_reader *r, const char *path, char *err, size_t errlen)
{
    bool use_stdin = strcmp(path, "-") == 0;
    r->name = use_stdin ? "<stdin>" : path;
    r->fd = use_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    r->own_fd = !use_stdin;
    r->lineno = 0;
    r->pos = r->len = 0;
    r->eof = false;
    if (r->fd < 0) {
        fail(r, err, errlen, "cannot open: %s", strerror(errno));
        return -1;
    }
    return 0;
}

bool trace_reader_is_file(const struct trace_reader *r)
{
    struct stat st;
    return fstat(r->fd, &st) == 0 && S_ISREG(st.st_mode);
}

/* Refills buf. 1 with bytes, 0 at the end of the input, -1 on an error
 * (errno set). A read interrupted by a signal was interrupted by a stop
 * request: only their handlers lack SA_RESTART (signals.h), in every phase.
 * It ends the input: nothing more is read once the run is stopping. */
static int refill(struct trace_reader *r)
{
    ssize_t n = read(r->fd, r->buf, sizeof r->buf);
    if (n > 0) {
        r->pos = 0;
        r->len = (size_t)n;
        return 1;
    }
    if (n == 0)
        return 0;
    return errno == EINTR ? 0 : -1;
}

/* The next line into r->line, without its LF. Its length, -1 at the end of
 * the input, -2 when it passed the limit, -3 on a read error. */
static long next_line(struct trace_reader *r)
{
    size_t len = 0;
    for (;;) {
        if (r->pos == r->len) {
            int got = r->eof ? 0 : refill(r);
            if (got < 0)
                return -3;
            if (got == 0) {
                r->eof = true;
                return len > 0 ? (long)len : -1; /* the last line may lack its LF */
            }
        }
        const char *start = r->buf + r->pos;
        size_t avail = r->len - r->pos;
        const char *lf = memchr(start, '\n', avail);
        size_t take = lf ? (size_t)(lf - start) : avail;
        if (len + take > sizeof r->line)
            return -2; /* rejected now, not when (if ever) the line ends */
        memcpy(r->line + len, start, take);
        len += take;
        r->pos += take + (lf != NULL);
        if (lf)
            return (long)len;
    }
}

enum trace_read trace_reader_next(struct trace_reader *r, struct trace_line *out, char *err, size_t errlen)
{
    char reason[200];
    for (;;) {
        if (r->eof && r->pos == r->len)
            return TRACE_READ_END;
        r->lineno++;
        long len = next_line(r);
        if (len == -1)
            return TRACE_READ_END;
        if (len == -2)
            return fail(r, err, errlen, "line longer than %d bytes", TRACE_LINE_MAX);
        if (len == -3)
            return fail(r, err, errlen, "read error: %s", strerror(errno));
        if (memchr(r->line, '\0', (size_t)len))
            return fail(r, err, errlen, "NUL byte in line");
        switch (trace_parse_line(r->line, (size_t)len, out, reason, sizeof reason)) {
        case TRACE_BAD: return fail(r, err, errlen, "%s", reason);
        case TRACE_MESSAGE: return TRACE_READ_MESSAGE;
        case TRACE_BLANK: break;
        }
    }
}

void trace_reader_close(struct trace_reader *r)
{
    if (r->own_fd && r->fd >= 0)
        close(r->fd);
    r->fd = -1;
}

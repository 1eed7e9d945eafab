/* trace_reader.h - a trace read one validated message at a time (SPEC §5).
 *
 * The one reader of trace text: the loader of a whole file and the streamed
 * source (stdin, a FIFO) both pull from it. It reads through a fixed buffer
 * with read(2), so a line is rejected the moment it passes TRACE_LINE_MAX
 * bytes (a line that never ends costs 4 KiB, not all memory), and it never
 * holds more than one buffer of input.
 *
 * A stop request (signals.h) that interrupts a blocking read ends the input
 * as if it had ended there: the run then drains what it has. */
#ifndef MSGROUTE_TRACE_READER_H
#define MSGROUTE_TRACE_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trace.h"

#define TRACE_READ_BUF (64u * 1024u)

enum trace_read { TRACE_READ_MESSAGE, TRACE_READ_END, TRACE_READ_ERROR };

struct trace_reader {
    int fd;
    bool own_fd; /* opened here: closed by trace_reader_close() */
    const char *name;
    uint64_t lineno; /* of the line last returned */
    size_t pos, len; /* unread bytes: buf[pos..len) */
    bool eof;
    char line[TRACE_LINE_MAX];
    char buf[TRACE_READ_BUF];
};

/* Opens path ("-" is stdin) for reading. 0, or -1 with "NAME: reason" in err. */
int trace_reader_open(struct trace_reader *r, const char *path, char *err, size_t errlen);

/* True when the input is a regular file (it can be read twice, and read to
 * its end before the run starts). */
bool trace_reader_is_file(const struct trace_reader *r);

/* The next message into out (its id points into r, valid until the next
 * call), TRACE_READ_END at the end of the input (or at a stop request), or
 * TRACE_READ_ERROR with "NAME:LINE: reason" in err. */
enum trace_read trace_reader_next(struct trace_reader *r, struct trace_line *out, char *err, size_t errlen);

void trace_reader_close(struct trace_reader *r);

#endif

/* trace.h - the text trace format of SPEC §5: parsing one line, writing one.
 *
 * Loading a whole trace is source_load_trace() (source.h); this header is the
 * line-level contract, which the loader, msgen and the fuzzer share. */
#ifndef MSGROUTE_TRACE_H
#define MSGROUTE_TRACE_H

#include <stdio.h>

#include "msg.h"

#define TRACE_LINE_MAX 4096 /* longest line accepted, without its LF */

enum trace_line_kind { TRACE_BLANK, TRACE_MESSAGE, TRACE_BAD };

struct trace_line {
    uint64_t seq;
    const char *id; /* points into the parsed line */
    uint8_t id_len;
    uint8_t event;
    uint32_t payload_len;
};

/* Parses line[0..len) (no LF; a trailing CR is allowed). On TRACE_BAD, *why
 * says what is wrong in a few words, with the offending text when it helps
 * (written into why_buf). Never reads outside line[0..len). */
enum trace_line_kind trace_parse_line(const char *line, size_t len, struct trace_line *out, char *why_buf,
                                      size_t why_len);

/* Writes "<seq> <worker_id> <EVENT> <payload_len>\n". Returns <0 on error. */
int trace_write_msg(FILE *f, const struct msg *m);

#endif

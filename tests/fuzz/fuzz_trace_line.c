/* fuzz_trace_line.c - fuzz target: one trace line (SPEC §5) through
 * trace_parse_line().
 *
 * The input is the line itself, without its LF, in a buffer of exactly that
 * size, so AddressSanitizer catches any read past line[len). Beyond "does not
 * crash", it checks the parser's promises: a message it accepts obeys every
 * rule of SPEC §2, and a line it rejects comes with a reason. */
#include <string.h>

#include "fuzz.h"
#include "trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct trace_line tl;
    char why[200] = "";
    const char *line = (const char *)data;
    switch (trace_parse_line(line, size, &tl, why, sizeof why)) {
    case TRACE_MESSAGE:
        FUZZ_CHECK(tl.seq >= 1);
        FUZZ_CHECK(tl.id >= line && tl.id + tl.id_len <= line + size);
        FUZZ_CHECK(msg_id_valid(tl.id, tl.id_len));
        FUZZ_CHECK(tl.event < EV_COUNT);
        FUZZ_CHECK(tl.payload_len <= MSG_PAYLOAD_MAX);
        break;
    case TRACE_BAD: FUZZ_CHECK(why[0] != '\0' && memchr(why, '\0', sizeof why) != NULL); break;
    case TRACE_BLANK: break;
    default: FUZZ_CHECK(!"a line kind trace.h does not declare");
    }
    return 0;
}

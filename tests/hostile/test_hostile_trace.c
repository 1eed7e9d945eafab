/* test_hostile_trace.c - trace files and traces on stdin as hostile input
 * (SPEC §5): every built phase rejects each class of malformation before it
 * routes a message, with exit status 2, one line "FILE:LINE: reason" on
 * stderr, nothing on stdout and no dump, and accepts the odd but valid forms
 * (CRLF, no final LF, empty). One test per row of README.md. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostile.h"
#include "proc.h"

TestSuite(trace_file, .timeout = 120);
TestSuite(trace_stdin, .timeout = 120);

#define BAD(name) GOLDEN_DIR "/bad/" name ".trace"

/* A trace written into a fresh directory by the test itself. */
struct scratch {
    char *dir;
    char *path;
};

static struct scratch scratch(const char *name, const void *data, size_t len)
{
    struct scratch s = {.dir = temp_dir()};
    cr_assert_not_null(s.dir);
    s.path = hostile_write(s.dir, name, data, len);
    return s;
}

static void scratch_free(struct scratch *s)
{
    free(s->path);
    remove_dir(s->dir);
}

#define STR(lit) lit, sizeof(lit) - 1

/* --- each class of malformation of SPEC §5 --- */

Test(trace_file, too_few_fields_are_rejected)
{
    hostile_trace_rejected(BAD("fields"), false, BAD("fields"), 2, "expected 3 or 4 fields");
}

Test(trace_file, too_many_fields_are_rejected)
{
    hostile_trace_rejected(BAD("fields_many"), false, BAD("fields_many"), 1, "found 5");
}

Test(trace_file, non_numeric_seq_is_rejected)
{
    hostile_trace_rejected(BAD("seq_nan"), false, BAD("seq_nan"), 2, "bad seq 'x'");
}

Test(trace_file, seq_past_2_to_the_64_is_rejected)
{
    hostile_trace_rejected(BAD("seq_overflow"), false, BAD("seq_overflow"), 2, "below 2^64");
}

Test(trace_file, seq_zero_is_rejected)
{
    hostile_trace_rejected(BAD("seq_zero"), false, BAD("seq_zero"), 1, "seq 0");
}

Test(trace_file, unknown_event_is_rejected)
{
    hostile_trace_rejected(BAD("event"), false, BAD("event"), 1, "unknown event 'JUMP'");
}

Test(trace_file, lower_case_event_is_rejected)
{
    struct scratch s = scratch("lower.trace", STR("1 a start\n"));
    hostile_trace_rejected(s.path, false, s.path, 1, "unknown event 'start'");
    scratch_free(&s);
}

Test(trace_file, worker_id_with_a_bad_character_is_rejected)
{
    hostile_trace_rejected(BAD("id_char"), false, BAD("id_char"), 1, "bad worker_id 'a/b'");
}

Test(trace_file, worker_id_in_utf8_is_rejected)
{
    struct scratch s = scratch("utf8.trace", STR("1 caf\xc3\xa9 START\n"));
    hostile_trace_rejected(s.path, false, s.path, 1,
                           "bad worker_id 'caf?"
                           "?'");
    scratch_free(&s);
}

Test(trace_file, worker_id_over_63_bytes_is_rejected)
{
    hostile_trace_rejected(BAD("id_long"), false, BAD("id_long"), 1, "64 bytes, over the limit of 63");
}

Test(trace_file, payload_over_16_mib_is_rejected)
{
    hostile_trace_rejected(BAD("payload_big"), false, BAD("payload_big"), 1, "over the limit of 16777216");
}

Test(trace_file, negative_payload_is_rejected)
{
    hostile_trace_rejected(BAD("payload_neg"), false, BAD("payload_neg"), 1, "bad payload_len '-5'");
}

Test(trace_file, payload_past_2_to_the_64_is_rejected)
{
    struct scratch s = scratch("huge.trace", STR("1 a DATA 99999999999999999999999\n"));
    hostile_trace_rejected(s.path, false, s.path, 1, "bad payload_len");
    scratch_free(&s);
}

/* --- bytes a text parser may not expect --- */

Test(trace_file, nul_byte_is_rejected)
{
    struct scratch s = scratch("nul.trace", STR("1 a START\n2 a\0 STOP\n"));
    hostile_trace_rejected(s.path, false, s.path, 2, "NUL byte");
    scratch_free(&s);
}

Test(trace_file, one_megabyte_line_is_rejected_in_bounded_memory)
{
    size_t len = 1 << 20;
    char *line = malloc(len + 1);
    cr_assert_not_null(line);
    int head = snprintf(line, len + 1, "1 a DATA ");
    memset(line + head, '7', len - (size_t)head); /* over snprintf's NUL too */
    line[len] = '\n';
    struct scratch s = scratch("long.trace", line, len + 1);
    free(line);
    hostile_trace_rejected(s.path, false, s.path, 1, "line longer than 4096 bytes");
    scratch_free(&s);
}

Test(trace_file, binary_garbage_is_rejected)
{
    static const unsigned char junk[] = {0x7f, 'E', 'L', 'F', 0x02, 0x01, 0x01, 0x00, 0xff, 0xfe, '\n', 0x80};
    struct scratch s = scratch("junk.trace", junk, sizeof junk);
    hostile_trace_rejected(s.path, false, s.path, 1, "");
    scratch_free(&s);
}

Test(trace_file, malformed_last_line_rejects_the_whole_trace)
{
    /* Many good lines first: nothing of them may be routed or dumped. */
    char *text = read_file(GOLDEN_DIR "/tiny.trace", NULL);
    cr_assert_not_null(text);
    size_t n = strlen(text);
    char *bad = malloc(n + 32);
    cr_assert_not_null(bad);
    int line = 1;
    for (size_t i = 0; i < n; i++)
        line += text[i] == '\n';
    snprintf(bad, n + 32, "%s99 a NOPE\n", text);
    struct scratch s = scratch("late.trace", bad, strlen(bad));
    free(text);
    free(bad);
    hostile_trace_rejected(s.path, false, s.path, line, "unknown event 'NOPE'");
    scratch_free(&s);
}

/* --- files that are not traces --- */

Test(trace_file, missing_file_is_rejected)
{
    const char *path = "/nonexistent-msgroute-dir/none.trace";
    hostile_trace_rejected(path, false, path, 0, "cannot open: No such file or directory");
}

Test(trace_file, directory_is_rejected)
{
    char *dir = temp_dir();
    cr_assert_not_null(dir);
    hostile_trace_rejected(dir, false, dir, 1, "Is a directory");
    remove_dir(dir);
}

/* --- odd but valid --- */

Test(trace_file, empty_file_gives_a_header_only_dump)
{
    hostile_trace_accepted(GOLDEN_DIR "/empty.trace", false, GOLDEN_DIR "/empty.csv");
}

Test(trace_file, crlf_line_endings_and_no_final_lf_are_accepted)
{
    /* tiny.trace with every LF turned into CRLF and the last one dropped. */
    char *text = read_file(GOLDEN_DIR "/tiny.trace", NULL);
    cr_assert_not_null(text);
    size_t n = strlen(text);
    char *crlf = malloc(2 * n + 1);
    cr_assert_not_null(crlf);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (text[i] == '\n')
            crlf[m++] = '\r';
        crlf[m++] = text[i];
    }
    if (m >= 2 && crlf[m - 1] == '\n')
        m -= 2;
    struct scratch s = scratch("crlf.trace", crlf, m);
    free(text);
    free(crlf);
    hostile_trace_accepted(s.path, false, GOLDEN_DIR "/tiny.csv");
    scratch_free(&s);
}

/* --- the same entry point on stdin (--trace -) --- */

Test(trace_stdin, malformed_trace_on_stdin_names_stdin_and_line)
{
    hostile_trace_rejected(BAD("seq_nan"), true, "<stdin>", 2, "bad seq 'x'");
}

Test(trace_stdin, nul_byte_on_stdin_is_rejected)
{
    struct scratch s = scratch("nul.trace", STR("\0"));
    hostile_trace_rejected(s.path, true, "<stdin>", 1, "NUL byte");
    scratch_free(&s);
}

Test(trace_stdin, empty_stdin_gives_a_header_only_dump)
{
    hostile_trace_accepted(GOLDEN_DIR "/empty.trace", true, GOLDEN_DIR "/empty.csv");
}

Test(trace_stdin, valid_trace_on_stdin_gives_the_golden_dump)
{
    hostile_trace_accepted(GOLDEN_DIR "/edges.trace", true, GOLDEN_DIR "/edges.csv");
}

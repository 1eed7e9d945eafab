/* test_trace.c - the trace format of SPEC §5, line by line and whole files. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"
#include "source.h"
#include "trace.h"

TestSuite(trace, .timeout = 10);

static enum trace_line_kind parse(const char *line, struct trace_line *tl, char *why)
{
    return trace_parse_line(line, strlen(line), tl, why, 200);
}

Test(trace, a_full_line_parses)
{
    struct trace_line tl;
    char why[200];
    cr_assert_eq(parse("42 pump-1 DATA 17", &tl, why), TRACE_MESSAGE);
    cr_assert_eq(tl.seq, 42);
    cr_assert_eq(tl.id_len, 6);
    cr_assert_eq(memcmp(tl.id, "pump-1", 6), 0);
    cr_assert_eq(tl.event, EV_DATA);
    cr_assert_eq(tl.payload_len, 17);
}

Test(trace, blanks_tabs_cr_and_default_payload_are_accepted)
{
    struct trace_line tl;
    char why[200];
    cr_assert_eq(parse(" \t 7\t\tA.b:c_d-e   HEARTBEAT \r", &tl, why), TRACE_MESSAGE);
    cr_assert_eq(tl.seq, 7);
    cr_assert_eq(tl.payload_len, 0);
    cr_assert_eq(tl.event, EV_HEARTBEAT);
}

Test(trace, comments_and_blank_lines_are_skipped)
{
    struct trace_line tl;
    char why[200];
    cr_assert_eq(parse("", &tl, why), TRACE_BLANK);
    cr_assert_eq(parse("   \t  \r", &tl, why), TRACE_BLANK);
    cr_assert_eq(parse("# 1 a START", &tl, why), TRACE_BLANK);
    cr_assert_eq(parse("   # indented", &tl, why), TRACE_BLANK);
}

Test(trace, limits_are_inclusive)
{
    struct trace_line tl;
    char why[200], line[128];
    cr_assert_eq(parse("18446744073709551615 a START 16777216", &tl, why), TRACE_MESSAGE);
    cr_assert_eq(tl.seq, UINT64_MAX);
    cr_assert_eq(tl.payload_len, 16777216);
    snprintf(line, sizeof line, "1 %063d STOP", 0);
    cr_assert_eq(parse(line, &tl, why), TRACE_MESSAGE);
    cr_assert_eq(tl.id_len, 63);
}

Test(trace, every_malformation_is_rejected_with_a_reason)
{
    const char *bad[][2] = {
        {"1 a", "fields"},
        {"1 a START 1 2", "fields"},
        {"0 a START", "seq 0"},
        {"x a START", "bad seq"},
        {"-1 a START", "bad seq"},
        {"+1 a START", "bad seq"},
        {"18446744073709551616 a START", "bad seq"},
        {"1 a start", "unknown event"},
        {"1 a JUMP", "unknown event"},
        {"1 a/b START", "bad worker_id"},
        {"1 a\xc3\xa9 START", "bad worker_id"},
        {"1 a DATA -5", "bad payload_len"},
        {"1 a DATA 5x", "bad payload_len"},
        {"1 a DATA 16777217", "over the limit"},
        {"1 a DATA 99999999999999999999999", "bad payload_len"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct trace_line tl;
        char why[200] = "";
        cr_expect_eq(parse(bad[i][0], &tl, why), TRACE_BAD, "'%s' accepted", bad[i][0]);
        cr_expect(strstr(why, bad[i][1]) != NULL, "'%s': reason '%s' lacks '%s'", bad[i][0], why, bad[i][1]);
    }
    char line[128], why[200];
    struct trace_line tl;
    snprintf(line, sizeof line, "1 %064d STOP", 0);
    cr_assert_eq(parse(line, &tl, why), TRACE_BAD);
    cr_assert(strstr(why, "64 bytes"));
}

/* Writes text to a fresh file and loads it. */
static int load_text(const char *text, size_t len, struct source *s, char *err)
{
    static char path[32]; /* the source names it in later errors */
    snprintf(path, sizeof path, "/tmp/msgroute-trace-XXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, len), (ssize_t)len);
    close(fd);
    int rc = source_load_trace(s, path, err, 512);
    unlink(path);
    return rc;
}

Test(trace, a_file_without_final_newline_and_with_crlf_loads)
{
    struct source s;
    char err[512];
    const char text[] = "# head\r\n1 a START\r\n\r\n2 b STOP 3";
    cr_assert_eq(load_text(text, sizeof text - 1, &s, err), 0, "%s", err);
    cr_assert_eq(s.total, 2);
    struct msg m;
    cr_assert(source_next(&s, &m));
    cr_assert_str_eq(m.id, "a");
    cr_assert(source_next(&s, &m));
    cr_assert_eq(m.payload_len, 3);
    cr_assert_not(source_next(&s, &m));
    source_free(&s);
}

Test(trace, errors_name_the_file_and_line)
{
    struct source s;
    char err[512];
    const char text[] = "1 a START\n\n# c\n4 b FLY\n";
    cr_assert_eq(load_text(text, sizeof text - 1, &s, err), -EINVAL);
    cr_assert(strstr(err, ":4: unknown event 'FLY'"), "%s", err);
}

Test(trace, a_nul_byte_or_an_endless_line_is_rejected)
{
    struct source s;
    char err[512];
    const char nul[] = "1 a START\n2 b\0 STOP\n";
    cr_assert_eq(load_text(nul, sizeof nul - 1, &s, err), -EINVAL);
    cr_assert(strstr(err, ":2: NUL byte"), "%s", err);

    size_t big = 1 << 20;
    char *line = malloc(big);
    memset(line, 'x', big);
    cr_assert_eq(load_text(line, big, &s, err), -EINVAL);
    cr_assert(strstr(err, ":1: line longer than"), "%s", err);
    free(line);
}

Test(trace, a_missing_file_is_a_clear_error)
{
    struct source s;
    char err[512];
    cr_assert_eq(source_load_trace(&s, "/nonexistent/t.trace", err, sizeof err), -EINVAL);
    cr_assert(strstr(err, "/nonexistent/t.trace: cannot open"), "%s", err);
}

Test(trace, written_lines_parse_back_to_the_same_message)
{
    struct msg m = {.seq = 99, .id = "k:1", .id_len = 3, .event = EV_RESUME, .payload_len = 12};
    char buf[128];
    FILE *f = fmemopen(buf, sizeof buf, "w");
    cr_assert_gt(trace_write_msg(f, &m), 0);
    fclose(f);
    struct trace_line tl;
    char why[200];
    cr_assert_eq(trace_parse_line(buf, strcspn(buf, "\n"), &tl, why, sizeof why), TRACE_MESSAGE);
    cr_assert_eq(tl.seq, 99);
    cr_assert_eq(tl.event, EV_RESUME);
    cr_assert_eq(tl.payload_len, 12);
}

/* A file of more messages than a block, with a comment every 1 000 lines so
 * that lines and messages differ, in a directory of its own. */
static char *write_big_trace(char *dir, uint32_t msgs)
{
    static char path[128];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/t.trace", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    for (uint32_t k = 1; k <= msgs; k++) {
        if (k % 1000 == 0)
            fprintf(f, "# a comment\n");
        fprintf(f, "%u id-%u DATA %u\n", k, k % 77, k % 5);
    }
    cr_assert_eq(fclose(f), 0);
    return path;
}

static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

Test(trace, a_file_larger_than_a_block_is_read_back_in_order_from_an_unnamed_spill)
{
    enum { MSGS = 3 * SOURCE_TRACE_BLOCK + 5 };
    char dir[] = "/tmp/msgroute-trace-XXXXXX";
    const char *path = write_big_trace(dir, MSGS);
    struct source s;
    char err[512];
    cr_assert_eq(source_load_trace(&s, path, err, sizeof err), 0, "%s", err);
    cr_assert(s.spilled, "more than a block stayed in memory");
    cr_assert_eq(s.total, MSGS);
    cr_assert_eq(source_payload_max(&s), 4);
    cr_assert_eq(dir_entries(dir), 1, "the spill file has a name beside the trace");
    struct msg m;
    for (uint32_t k = 1; k <= MSGS; k++) {
        cr_assert(source_next(&s, &m), "message %u of %u is missing", k, (unsigned)MSGS);
        cr_assert_eq(m.seq, k);
        cr_assert_eq(m.payload_len, k % 5);
        cr_assert_eq(source_line(&s), k + k / 1000, "message %u names the wrong line", k);
    }
    cr_assert_not(source_next(&s, &m));
    cr_assert_null(source_failed(&s));
    source_free(&s);
    cr_assert_eq(unlink(path), 0);
    cr_assert_eq(rmdir(dir), 0);
}

Test(trace, a_file_of_one_block_is_not_spilled)
{
    struct source s;
    char err[512];
    const char text[] = "1 a START\n2 b STOP\n";
    cr_assert_eq(load_text(text, sizeof text - 1, &s, err), 0, "%s", err);
    cr_assert_not(s.spilled);
    source_free(&s);
}

Test(trace, a_spill_that_cannot_be_read_back_ends_the_source_with_a_reason)
{
    char dir[] = "/tmp/msgroute-trace-XXXXXX";
    const char *path = write_big_trace(dir, 2 * SOURCE_TRACE_BLOCK);
    struct source s;
    char err[512];
    cr_assert_eq(source_load_trace(&s, path, err, sizeof err), 0, "%s", err);
    cr_assert_eq(ftruncate(s.spill_fd, SOURCE_TRACE_BLOCK * sizeof(struct trace_rec)), 0);
    struct msg m;
    uint64_t got = 0;
    while (source_next(&s, &m))
        got++;
    cr_assert_eq(got, SOURCE_TRACE_BLOCK, "the messages before the lost ones come out, and no more");
    cr_assert_not_null(source_failed(&s));
    cr_assert(strstr(source_failed(&s), "t.trace: cannot read its messages back"), "%s", source_failed(&s));
    source_free(&s);
    unlink(path);
    rmdir(dir);
}

/* test_phase1.c - phase 1 end to end: the golden dumps, malformed traces,
 * msgen replay, the command line, signals and output files. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"

#define PHASE1 BIN_DIR "/phase1"
#define MSGEN BIN_DIR "/msgen"

/* Each test gets a fresh directory, removed by .fini even when an assertion
 * fails (Criterion runs .fini after a failed assert), so nothing piles up in /tmp. */
static char *dir;

static void make_dir(void)
{
    dir = temp_dir();
    cr_assert_not_null(dir);
}

static void drop_dir(void)
{
    dir = NULL;
}

TestSuite(phase1, .timeout = 30, .init = make_dir, .fini = drop_dir);

static const char *const golden[] = {"tiny", "edges", "empty", "lifecycle", "hotkey"};

Test(phase1, every_golden_trace_gives_its_golden_dump)
{
    for (size_t i = 0; i < sizeof golden / sizeof golden[0]; i++) {
        char trace[512], want[512], out[512];
        snprintf(trace, sizeof trace, "%s/%s.trace", GOLDEN_DIR, golden[i]);
        snprintf(want, sizeof want, "%s/%s.csv", GOLDEN_DIR, golden[i]);
        snprintf(out, sizeof out, "%s/%s.csv", dir, golden[i]);
        char *argv[] = {PHASE1, "--trace", trace, "--dump", out, NULL};
        struct proc_result r;
        cr_assert_eq(proc_run(argv, NULL, 20000, &r), 0);
        cr_expect_eq(r.status, 0, "%s: exit %d: %s", golden[i], r.status, r.err);
        cr_expect(files_equal(out, want), "%s: dump differs from the golden CSV", golden[i]);
        proc_result_free(&r);
    }
}

/* Each bad trace, the line its error must name. */
static const struct {
    const char *name;
    int line;
} bad[] = {
    {"event", 1},     {"fields", 2},      {"fields_many", 1}, {"id_char", 1},      {"id_long", 1},
    {"payload_big", 1}, {"payload_neg", 1}, {"seq_nan", 2},     {"seq_overflow", 2}, {"seq_zero", 1},
};

Test(phase1, a_malformed_trace_exits_2_naming_file_and_line_and_writes_no_dump)
{
    char out[512];
    snprintf(out, sizeof out, "%s/never.csv", dir);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char trace[512], want[600];
        snprintf(trace, sizeof trace, "%s/bad/%s.trace", GOLDEN_DIR, bad[i].name);
        snprintf(want, sizeof want, "%s:%d: ", trace, bad[i].line);
        char *argv[] = {PHASE1, "--trace", trace, "--dump", out, NULL};
        struct proc_result r;
        cr_assert_eq(proc_run(argv, NULL, 10000, &r), 0);
        cr_expect_eq(r.status, 2, "%s: exit %d", bad[i].name, r.status);
        cr_expect_eq(strncmp(r.err, want, strlen(want)), 0, "%s: stderr '%s' should start '%s'", bad[i].name,
                     r.err, want);
        cr_expect_eq(strchr(r.err, '\n'), r.err + strlen(r.err) - 1, "%s: one line on stderr", bad[i].name);
        cr_expect_neq(access(out, F_OK), 0, "%s: a dump was written", bad[i].name);
        proc_result_free(&r);
    }
}

Test(phase1, a_trace_on_stdin_works_like_a_file)
{
    char trace[512], out[512], want[512];
    snprintf(trace, sizeof trace, "%s/tiny.trace", GOLDEN_DIR);
    snprintf(want, sizeof want, "%s/tiny.csv", GOLDEN_DIR);
    snprintf(out, sizeof out, "%s/out.csv", dir);
    char *argv[] = {PHASE1, "--trace", "-", "--dump", out, NULL};
    struct proc_result r;
    cr_assert_eq(proc_run(argv, trace, 10000, &r), 0);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(files_equal(out, want));
    proc_result_free(&r);
}

/* Runs msgen with flags into path. */
static void msgen(const char *path, char *const flags[])
{
    char *argv[16] = {MSGEN};
    int n = 1;
    while (*flags && n < 15)
        argv[n++] = *flags++;
    argv[n] = NULL;
    struct proc_result r;
    cr_assert_eq(proc_run(argv, NULL, 20000, &r), 0);
    cr_assert_eq(r.status, 0, "msgen: %s", r.err);
    FILE *f = fopen(path, "w");
    fputs(r.out, f);
    fclose(f);
    proc_result_free(&r);
}

Test(phase1, msgen_is_byte_identical_for_the_same_flags_and_differs_by_seed)
{
    char a[512], b[512], c[512];
    snprintf(a, sizeof a, "%s/a.trace", dir);
    snprintf(b, sizeof b, "%s/b.trace", dir);
    snprintf(c, sizeof c, "%s/c.trace", dir);
    char *f1[] = {"--messages", "20000", "--ids", "300", "--dist", "zipf:1.1", "--payload", "0-64", "--seed", "7", NULL};
    char *f2[] = {"--messages", "20000", "--ids", "300", "--dist", "zipf:1.1", "--payload", "0-64", "--seed", "8", NULL};
    msgen(a, f1);
    msgen(b, f1);
    msgen(c, f2);
    cr_assert(files_equal(a, b));
    cr_assert_not(files_equal(a, c));
}

Test(phase1, replaying_a_msgen_trace_gives_the_same_dump_as_the_generator)
{
    char trace[512], d1[512], d2[512];
    snprintf(trace, sizeof trace, "%s/t.trace", dir);
    snprintf(d1, sizeof d1, "%s/gen.csv", dir);
    snprintf(d2, sizeof d2, "%s/replay.csv", dir);
    char *flags[] = {"--messages", "50000", "--ids", "1000", "--dist", "zipf:0.9", "--payload", "0-300", "--seed", "3", NULL};
    msgen(trace, flags);
    char *gen[] = {PHASE1, "--messages", "50000", "--ids", "1000", "--dist", "zipf:0.9", "--payload", "0-300",
                   "--seed", "3", "--dump", d1, NULL};
    char *replay[] = {PHASE1, "--trace", trace, "--dump", d2, NULL};
    struct proc_result r;
    cr_assert_eq(proc_run(gen, NULL, 20000, &r), 0);
    cr_assert_eq(r.status, 0, "%s", r.err);
    proc_result_free(&r);
    cr_assert_eq(proc_run(replay, NULL, 20000, &r), 0);
    cr_assert_eq(r.status, 0, "%s", r.err);
    proc_result_free(&r);
    cr_assert(files_equal(d1, d2));
}

Test(phase1, json_summary_is_the_last_line_of_stdout)
{
    char *argv[] = {PHASE1, "--messages", "10000", "--queries", "100000", "--json", NULL};
    struct proc_result r;
    cr_assert_eq(proc_run(argv, NULL, 10000, &r), 0);
    cr_assert_eq(r.status, 0, "%s", r.err);
    size_t len = strlen(r.out);
    cr_assert_gt(len, 2);
    cr_assert_eq(r.out[len - 1], '\n');
    r.out[len - 1] = '\0';
    char *last = strrchr(r.out, '\n');
    last = last ? last + 1 : r.out;
    cr_assert_eq(last[0], '{', "last line: %s", last);
    const char *keys[] = {"\"phase\":1", "\"workers\":1", "\"messages\":10000", "\"seconds\":", "\"msgs_per_s\":",
                          "\"query_count\":", "\"query_p50_us\":", "\"query_p99_us\":", "\"query_p999_us\":",
                          "\"rss_kb_max\":", "\"cpu_count\":", "\"invalid\":", "\"corrupt\":0", "\"ooo\":0"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        cr_expect(strstr(last, keys[i]), "JSON lacks %s: %s", keys[i], last);
    proc_result_free(&r);
}

Test(phase1, help_exits_0_and_a_bad_flag_exits_2)
{
    char *help[] = {PHASE1, "--help", NULL};
    char *bad_flag[] = {PHASE1, "--frobnicate", NULL};
    char *two[] = {PHASE1, "--workers", "2", NULL};
    struct proc_result r;
    cr_assert_eq(proc_run(help, NULL, 5000, &r), 0);
    cr_assert_eq(r.status, 0);
    cr_assert(strstr(r.out, "--trace"));
    proc_result_free(&r);
    cr_assert_eq(proc_run(bad_flag, NULL, 5000, &r), 0);
    cr_assert_eq(r.status, 2);
    cr_assert(strstr(r.err, "--frobnicate"));
    proc_result_free(&r);
    cr_assert_eq(proc_run(two, NULL, 5000, &r), 0);
    cr_assert_eq(r.status, 2);
    proc_result_free(&r);
}

Test(phase1, an_unwritable_dump_fails_cleanly_without_a_partial_file)
{
    char *argv[] = {PHASE1, "--messages", "1000", "--dump", "/nonexistent-dir/d.csv", NULL};
    struct proc_result r;
    cr_assert_eq(proc_run(argv, NULL, 5000, &r), 0);
    cr_assert_eq(r.status, 1);
    cr_assert(strstr(r.err, "/nonexistent-dir/d.csv"), "%s", r.err);
    proc_result_free(&r);
}

/* Sums the msgs column of a dump. */
static unsigned long long sum_msgs(const char *path)
{
    char *text = read_file(path, NULL);
    cr_assert_not_null(text, "no dump at %s", path);
    unsigned long long sum = 0;
    for (char *line = strchr(text, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
        const char *p = strchr(line + 1, ',');
        p = strchr(p + 1, ',');
        sum += strtoull(p + 1, NULL, 10);
    }
    free(text);
    return sum;
}

Test(phase1, sigint_stops_the_source_and_dumps_what_was_routed)
{
    char out[512];
    snprintf(out, sizeof out, "%s/d.csv", dir);
    char *argv[] = {PHASE1, "--rate", "20000", "--messages", "10000000", "--dump", out, "--json", NULL};
    struct proc p;
    cr_assert_eq(proc_start(argv, &p), 0);
    usleep(300000);
    kill(p.pid, SIGINT);
    struct proc_result r;
    cr_assert_eq(proc_wait(&p, 5000, &r), 0);
    cr_assert_not(r.timed_out);
    cr_assert_eq(r.status, 0, "%s", r.err);
    const char *m = strstr(r.out, "\"messages\":");
    cr_assert_not_null(m);
    unsigned long long routed = strtoull(m + 11, NULL, 10);
    cr_assert_gt(routed, 0);
    cr_assert_lt(routed, 10000000);
    cr_assert_eq(sum_msgs(out), routed);
    proc_result_free(&r);
}

Test(phase1, two_quick_sigints_end_the_run_at_once)
{
    char out[512];
    snprintf(out, sizeof out, "%s/d.csv", dir);
    /* Phase 1 has nothing to drain, so after the first SIGINT it finishes in
     * well under a millisecond: the second either finds it still running
     * (exit 130) or finds it gone (exit 0 after a clean dump). Either way it
     * must end at once; the phases with queues test exit 130 strictly. */
    char *argv[] = {PHASE1, "--rate", "1000", "--messages", "10000000", "--dump", out, NULL};
    struct proc p;
    cr_assert_eq(proc_start(argv, &p), 0);
    usleep(200000);
    kill(p.pid, SIGINT);
    kill(p.pid, SIGINT);
    struct proc_result r;
    cr_assert_eq(proc_wait(&p, 5000, &r), 0);
    cr_assert_not(r.timed_out);
    cr_assert(r.status == 130 || r.status == 0, "exit %d", r.status);
    proc_result_free(&r);
}

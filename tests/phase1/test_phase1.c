/* test_phase1.c - phase 1 end to end: the golden dumps, malformed traces,
 * msgen replay, the command line, signals and output files. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conformance.h"
#include "proc.h"

#define PHASE1 BIN_DIR "/phase1"

/* Each test gets a fresh conf_dir, removed by .fini even when an assertion
 * fails (Criterion runs .fini after a failed assert), so nothing piles up in /tmp. */
TestSuite(phase1, .timeout = 30, .init = conf_suite_init, .fini = conf_suite_fini);

Test(phase1, every_golden_trace_gives_its_golden_dump)
{
    conf_golden_dumps(PHASE1, NULL);
}

Test(phase1, a_malformed_trace_exits_2_naming_file_and_line_and_writes_no_dump)
{
    conf_bad_traces(PHASE1, NULL);
}

Test(phase1, a_trace_on_stdin_works_like_a_file)
{
    char trace[512], out[512], want[512];
    snprintf(trace, sizeof trace, "%s/tiny.trace", GOLDEN_DIR);
    snprintf(want, sizeof want, "%s/tiny.csv", GOLDEN_DIR);
    conf_path(out, "out.csv");
    char *argv[] = {PHASE1, "--trace", "-", "--dump", out, NULL};
    struct proc_result r;
    cr_assert_eq(proc_run(argv, trace, 10000, &r), 0);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(files_equal(out, want));
    proc_result_free(&r);
}

Test(phase1, msgen_is_byte_identical_for_the_same_flags_and_differs_by_seed)
{
    char a[512], b[512], c[512];
    conf_path(a, "a.trace");
    conf_path(b, "b.trace");
    conf_path(c, "c.trace");
    char *f1[] = {"--messages", "20000", "--ids",  "300", "--dist", "zipf:1.1",
                  "--payload",  "0-64",  "--seed", "7",   NULL};
    char *f2[] = {"--messages", "20000", "--ids",  "300", "--dist", "zipf:1.1",
                  "--payload",  "0-64",  "--seed", "8",   NULL};
    conf_msgen(a, f1);
    conf_msgen(b, f1);
    conf_msgen(c, f2);
    cr_assert(files_equal(a, b));
    cr_assert_not(files_equal(a, c));
}

Test(phase1, replaying_a_msgen_trace_gives_the_same_dump_as_the_generator)
{
    char trace[512], gen_dump[512];
    conf_path(trace, "t.trace");
    conf_path(gen_dump, "gen.csv");
    char *flags[] = {"--messages", "50000", "--ids",  "1000", "--dist", "zipf:0.9",
                     "--payload",  "0-300", "--seed", "3",    NULL};
    conf_msgen(trace, flags);
    conf_phase1_dump(flags, gen_dump);
    char *replay[] = {"--trace", trace, NULL};
    conf_expect_dump(PHASE1, replay, NULL, gen_dump);
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
    const char *keys[] = {
        "\"phase\":1",      "\"workers\":1",     "\"messages\":10000", "\"seconds\":",       "\"msgs_per_s\":",
        "\"query_count\":", "\"query_p50_us\":", "\"query_p99_us\":",  "\"query_p999_us\":", "\"rss_kb_max\":",
        "\"cpu_count\":",   "\"invalid\":",      "\"corrupt\":0",      "\"ooo\":0"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        cr_expect(strstr(last, keys[i]), "JSON lacks %s: %s", keys[i], last);
    proc_result_free(&r);
}

/* Linux keeps getrusage's ru_maxrss across execve: a program started by a
 * large process would report its parent's peak. The test is that parent. */
Test(phase1, rss_kb_max_is_the_programs_own_peak_not_its_parents)
{
    size_t big = 96u << 20;
    char *held = malloc(big);
    cr_assert(held);
    memset(held, 1, big); /* resident, in this process */
    char *argv[] = {PHASE1, "--messages", "10000", "--ids", "100", "--json", NULL};
    struct proc_result r;
    cr_assert_eq(proc_run(argv, NULL, 10000, &r), 0);
    free(held);
    cr_assert_eq(r.status, 0, "%s", r.err);
    const char *at = strstr(r.out, "\"rss_kb_max\":");
    cr_assert(at, "%s", r.out);
    long kb = strtol(at + strlen("\"rss_kb_max\":"), NULL, 10);
    cr_expect(kb > 0 && kb < 48 * 1024, "rss_kb_max %ld KiB: the parent's 96 MiB leaked into it", kb);
    at = strstr(r.out, "\"rss_kb_main\":");
    cr_expect(at && strtol(at + strlen("\"rss_kb_main\":"), NULL, 10) < 48 * 1024, "%s", r.out);
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

Test(phase1, sigint_stops_the_source_and_dumps_what_was_routed)
{
    char out[512];
    conf_path(out, "d.csv");
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
    cr_assert_eq(conf_sum_msgs(out), routed);
    proc_result_free(&r);
}

Test(phase1, two_quick_sigints_end_the_run_at_once)
{
    char out[512];
    conf_path(out, "d.csv");
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

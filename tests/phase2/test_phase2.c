/* test_phase2.c - phase 2 end to end: conformance with the golden dumps and
 * with phase 1, malformed traces, signals (drain and dump, then exit 130 on
 * the second), status, queries during the stream, --rate, and a clean handle
 * lifecycle under valgrind. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conformance.h"
#include "proc.h"

/* Arrays, not macros: a macro that pastes BIN_DIR to a literal inside an
 * argv initialiser reads, to a linter, like a missing comma. */
static char phase2_bin[] = BIN_DIR "/phase2";

/* conf_dir is each test's scratch directory, removed by .fini even when an
 * assertion fails. */
TestSuite(phase2, .timeout = 60, .init = conf_suite_init, .fini = conf_suite_fini);

/* ---- helpers ---------------------------------------------------------- */

/* Waits until the file at path contains needle; false after timeout_ms. Used
 * to signal a program only once its loop runs (MSGROUTE_LOG=debug logs
 * "loop: running"), not while it still starts up. */
static bool wait_for_text(const char *path, const char *needle, long timeout_ms)
{
    for (long waited = 0; waited < timeout_ms; waited += 10) {
        char *text = read_file(path, NULL);
        bool found = text && strstr(text, needle);
        free(text);
        if (found)
            return true;
        proc_sleep_ms(10);
    }
    return false;
}

/* Starts argv with debug logs and waits until its loop runs. */
static void start_running(char *const argv[], struct proc *p)
{
    setenv("MSGROUTE_LOG", "debug", 1);
    cr_assert_eq(proc_start(argv, p), 0);
    unsetenv("MSGROUTE_LOG");
    if (!wait_for_text(p->err_path, "loop: running", 10000)) {
        struct proc_result r;
        proc_wait(p, 100, &r);
        cr_assert_fail("the loop never started: %s", r.err);
    }
}

/* ---- conformance ------------------------------------------------------ */

Test(phase2, every_golden_trace_gives_its_golden_dump)
{
    /* Batch 1 and the default: the batch must never change the result. */
    char *batches[][3] = {{"--batch", "1", NULL}, {"--batch", "256", NULL}};
    for (int b = 0; b < 2; b++)
        conf_golden_dumps(phase2_bin, batches[b]);
}

Test(phase2, a_trace_on_stdin_works_like_a_file)
{
    char trace[512], out[512], want[512];
    snprintf(trace, sizeof trace, "%s/edges.trace", GOLDEN_DIR);
    snprintf(want, sizeof want, "%s/edges.csv", GOLDEN_DIR);
    conf_path(out, "out.csv");
    char *argv[] = {phase2_bin, "--trace", "-", "--dump", out, NULL};
    struct proc_result r;
    conf_run(argv, trace, 0, &r);
    proc_result_free(&r);
    cr_assert(files_equal(out, want));
}

/* Twenty generated workloads: uniform and Zipf ids, payloads from none to a
 * few KiB (enough to wrap the queue's payload ring many times), and batch
 * sizes from 1 to the maximum. Phase 1 is the oracle. */
Test(phase2, twenty_generated_traces_give_phase1s_dump_byte_for_byte, .timeout = 120)
{
    static const char *const dists[] = {"uniform", "zipf:0.8", "zipf:1.0", "zipf:1.2", "zipf:1.5"};
    static const char *const payloads[] = {"0", "0-64", "100-300", "1000-5000", "7"};
    static const char *const batches[] = {"1", "7", "256", "4096", "65536"};
    static const char *const ids[] = {"1", "50", "500", "3000"};
    for (int i = 0; i < 20; i++) {
        char seed[16], messages[16];
        snprintf(seed, sizeof seed, "%d", 100 + i);
        snprintf(messages, sizeof messages, "%d", 2000 + 1000 * i);
        char *gen[] = {"--messages", messages,
                       "--ids",      (char *)ids[i % 4],
                       "--dist",     (char *)dists[i % 5],
                       "--payload",  (char *)payloads[(i / 2) % 5],
                       "--seed",     seed,
                       NULL};
        char *batch[] = {"--batch", (char *)batches[(i / 3) % 5], NULL};
        conf_matches_phase1(phase2_bin, batch, gen);
    }
}

/* Payloads of the largest size SPEC §2 allows, back to back: the queue's
 * payload ring is sized for the largest payload of the trace, so each one
 * fits, alone, once the one before it has been applied. */
Test(phase2, payloads_of_16_mib_pass_through_the_queue_intact)
{
    char trace[512], d1[512], d2[512];
    conf_path(trace, "big.trace");
    conf_path(d1, "p1.csv");
    conf_path(d2, "p2.csv");
    FILE *f = fopen(trace, "w");
    cr_assert_not_null(f);
    fputs("1 a START\n2 a DATA 16777216\n3 b DATA 16777216\n4 a DATA 16777216\n5 a DATA 5\n"
          "6 a DATA 16777215\n",
          f);
    fclose(f);
    char *p1[] = {"--trace", trace, NULL};
    char *p2[] = {phase2_bin, "--trace", trace, "--dump", d2, "--batch", "1", NULL};
    conf_phase1_dump(p1, d1);
    conf_run_ok(p2);
    cr_assert(files_equal(d1, d2), "phase 2 differs from phase 1");
    char *text = read_file(d2, NULL);
    cr_assert(strstr(text, "\na,RUNNING,5,1,0,0,0,50331652,6,0,0,"), "%s", text);
    free(text);
}

Test(phase2, a_malformed_trace_exits_2_naming_file_and_line_and_writes_no_dump)
{
    conf_bad_traces(phase2_bin, NULL);
}

/* ---- command line ----------------------------------------------------- */

Test(phase2, batch_is_a_flag_and_bad_values_exit_2)
{
    char *help[] = {phase2_bin, "--help", NULL};
    char *zero[] = {phase2_bin, "--batch", "0", NULL};
    char *huge[] = {phase2_bin, "--batch", "99999999", NULL};
    char *two[] = {phase2_bin, "--workers", "2", NULL};
    struct proc_result r;
    cr_assert_eq(proc_run(help, NULL, 5000, &r), 0);
    cr_assert_eq(r.status, 0);
    cr_assert(strstr(r.out, "--batch"), "%s", r.out);
    proc_result_free(&r);
    char **bads[] = {zero, huge, two};
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(proc_run(bads[i], NULL, 5000, &r), 0);
        cr_expect_eq(r.status, 2, "%s %s: exit %d", bads[i][1], bads[i][2], r.status);
        proc_result_free(&r);
    }
}

Test(phase2, json_summary_names_phase_2_and_the_loop_as_worker_0)
{
    char *argv[] = {phase2_bin, "--messages", "10000", "--json", NULL};
    struct proc_result r;
    cr_assert_eq(proc_run(argv, NULL, 10000, &r), 0);
    cr_assert_eq(r.status, 0, "%s", r.err);
    const char *last = strrchr(r.out, '{');
    cr_assert_not_null(last);
    const char *keys[] = {"\"phase\":2",       "\"workers\":1",   "\"messages\":10000", "\"msgs_per_s\":",
                          "\"query_p99_us\":", "\"rss_kb_max\":", "\"corrupt\":0",      "\"index\":0"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        cr_expect(strstr(r.out, keys[i]), "JSON lacks %s: %s", keys[i], r.out);
    proc_result_free(&r);
}

/* ---- signals ---------------------------------------------------------- */

Test(phase2, sigint_stops_the_source_drains_and_dumps_exactly_what_was_routed)
{
    char out[512], want[512], routed_s[32];
    conf_path(out, "d.csv");
    conf_path(want, "p1.csv");
    char *argv[] = {phase2_bin, "--rate", "1000", "--messages", "10000000", "--dump", out, "--json", NULL};
    struct proc p;
    start_running(argv, &p);
    proc_sleep_ms(300);
    kill(p.pid, SIGINT);
    struct proc_result r;
    cr_assert_eq(proc_wait(&p, 5000, &r), 0);
    cr_assert_not(r.timed_out);
    cr_assert_eq(r.status, 0, "%s", r.err);
    double routed = conf_json_num(r.out, "messages");
    cr_assert_gt(routed, 0, "%s", r.out);
    cr_assert_lt(routed, 10000000);
    cr_assert_eq(conf_sum_msgs(out), (unsigned long long)routed, "the dump's msgs column must sum to the %g routed",
                 routed);
    /* The generator is a pure sequence, so its first `routed` messages are
     * what phase 1 routes with --messages routed: the dump must be exactly
     * phase 1's on that prefix (same default flags and seed). */
    snprintf(routed_s, sizeof routed_s, "%.0f", routed);
    char *p1[] = {"--messages", routed_s, NULL};
    conf_phase1_dump(p1, want);
    cr_assert(files_equal(out, want), "the interrupted dump differs from phase 1 on the first %s messages", routed_s);
    proc_result_free(&r);
}

Test(phase2, sigterm_is_a_stop_request_like_sigint)
{
    char out[512];
    conf_path(out, "d.csv");
    char *argv[] = {phase2_bin, "--rate", "5000", "--messages", "10000000", "--dump", out, "--json", NULL};
    struct proc p;
    start_running(argv, &p);
    proc_sleep_ms(100);
    kill(p.pid, SIGTERM);
    struct proc_result r;
    cr_assert_eq(proc_wait(&p, 5000, &r), 0);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_eq(conf_sum_msgs(out), (unsigned long long)conf_json_num(r.out, "messages"));
    proc_result_free(&r);
}

/* The drain must still be running when the second SIGINT comes, or there is
 * nothing to interrupt: with 1 ms of --work-ns per message and batches of
 * 500, the queue holds a batch when the source stops, and draining it takes
 * about 500 ms. The second SIGINT, sent as soon as the first is handled,
 * ends the run with 130 and no dump once the batch in hand is done. */
Test(phase2, a_second_sigint_during_the_drain_exits_130_without_a_dump)
{
    char out[512];
    conf_path(out, "d.csv");
    char *argv[] = {phase2_bin,   "--work-ns", "1000000", "--batch", "500",
                    "--messages", "10000000",  "--dump",  out,       NULL};
    struct proc p;
    start_running(argv, &p);
    proc_sleep_ms(100);
    kill(p.pid, SIGINT);
    /* Send the second only once the first has been handled: two SIGINTs
     * pending at once are one (standard signals do not queue). */
    cr_assert(wait_for_text(p.err_path, "stopping the source", 5000), "the first SIGINT was not handled");
    kill(p.pid, SIGINT);
    struct proc_result r;
    cr_assert_eq(proc_wait(&p, 5000, &r), 0);
    cr_assert_not(r.timed_out);
    cr_assert_eq(r.status, 130, "exit %d: %s", r.status, r.err);
    cr_expect_neq(access(out, F_OK), 0, "an interrupted run must not write a dump");
    conf_assert_clean_exit(p.pid);
    proc_result_free(&r);
}

Test(phase2, two_sigints_sent_at_once_end_the_run_promptly)
{
    char *argv[] = {phase2_bin, "--rate", "1000", "--messages", "10000000", NULL};
    struct proc p;
    start_running(argv, &p);
    proc_sleep_ms(100);
    kill(p.pid, SIGINT);
    kill(p.pid, SIGINT);
    struct proc_result r;
    cr_assert_eq(proc_wait(&p, 5000, &r), 0);
    cr_assert_not(r.timed_out);
    /* Two SIGINTs sent back to back usually reach the process as one, since
     * standard signals do not queue: then the run drains and exits 0. If
     * they arrive apart, the second ends it with 130. What must never happen
     * is a hang or any other status. (The strict test of 130 is the one
     * above, which waits for the first to be handled.) */
    cr_assert(r.status == 130 || r.status == 0, "exit %d: %s", r.status, r.err);
    proc_result_free(&r);
}

Test(phase2, sigusr1_and_status_every_print_the_status_table_with_the_queue)
{
    char *argv[] = {phase2_bin, "--rate", "2000", "--messages", "10000000", "--status-every", "0.1", NULL};
    struct proc p;
    start_running(argv, &p);
    proc_sleep_ms(250);
    kill(p.pid, SIGUSR1);
    proc_sleep_ms(100);
    kill(p.pid, SIGINT);
    struct proc_result r;
    cr_assert_eq(proc_wait(&p, 5000, &r), 0);
    cr_assert_eq(r.status, 0, "%s", r.err);
    int tables = 0;
    for (const char *s = r.err; (s = strstr(s, "phase2 status:")); s++)
        tables++;
    cr_expect_geq(tables, 3, "want the timed tables plus one for SIGUSR1, got %d: %s", tables, r.err);
    cr_expect(strstr(r.err, "queued"), "the table shows the queue depth: %s", r.err);
    proc_result_free(&r);
}

/* SIGUSR1 asks for the status table at any moment, also after the loop has
 * closed and given the signals back their default action (terminate) while
 * the dump of a million machines is written. The run must never die of it. */
Test(phase2, sigusr1_at_any_moment_never_kills_the_run)
{
    char out[512];
    conf_path(out, "d.csv");
    char *argv[] = {phase2_bin, "--ids", "1000000", "--messages", "2000000", "--dump", out, NULL};
    struct proc p;
    start_running(argv, &p);
    for (int i = 0; i < 20000 && !proc_has_exited(p.pid); i++) {
        kill(p.pid, SIGUSR1);
        proc_sleep_ms(2);
    }
    struct proc_result r;
    cr_assert_eq(proc_wait(&p, 5000, &r), 0);
    cr_assert_eq(r.status, 0, "exit %d", r.status);
    cr_assert_eq(conf_sum_msgs(out), 2000000);
    proc_result_free(&r);
}

/* ---- queries and rate ------------------------------------------------- */

/* With 2 us of work per message, 200 000 messages take about 0.4 s, and
 * queries at 2000/s must be answered throughout, each within a batch or two
 * (a batch is 0.5 ms here). Had they waited for the stream to drain, the
 * median query would have waited about half the run; the bounds below are
 * far from both, so a busy shared machine does not fail the test. */
Test(phase2, queries_complete_while_messages_flow)
{
    char *argv[] = {phase2_bin, "--messages", "200000", "--work-ns", "2000", "--queries", "2000", "--json", NULL};
    struct proc_result r;
    cr_assert_eq(proc_run(argv, NULL, 30000, &r), 0);
    cr_assert_eq(r.status, 0, "%s", r.err);
    double seconds = conf_json_num(r.out, "seconds"), count = conf_json_num(r.out, "query_count");
    double p99 = conf_json_num(r.out, "query_p99_us"), failed = conf_json_num(r.out, "query_failed");
    cr_assert_gt(seconds, 0.2, "%s", r.out);
    cr_expect_gt(count, 2000 * seconds * 0.5, "too few queries answered: %s", r.out);
    cr_expect_eq(failed, 0, "%s", r.out);
    double p50 = conf_json_num(r.out, "query_p50_us");
    cr_expect_lt(p50, seconds * 1e6 / 20, "p50 %g us: queries waited for the stream: %s", p50, r.out);
    cr_expect_lt(p99, seconds * 1e6 / 2, "p99 %g us: queries waited for the stream: %s", p99, r.out);
    proc_result_free(&r);
}

/* 100 000 msgs/s for 2 s. The loop's pacing is accurate to about 0.1 %
 * (one millisecond step in 2 s); the bound is loose because this machine is
 * shared with other builds and tests. */
Test(phase2, rate_holds_100k_msgs_per_s_over_2_s)
{
    char *argv[] = {phase2_bin, "--rate", "100000", "--messages", "200000", "--json", NULL};
    struct proc_result r;
    cr_assert_eq(proc_run(argv, NULL, 20000, &r), 0);
    cr_assert_eq(r.status, 0, "%s", r.err);
    double rate = conf_json_num(r.out, "msgs_per_s");
    cr_expect(rate > 90000 && rate < 110000, "rate %g, want 100000 within 10 %%: %s", rate, r.out);
    proc_result_free(&r);
}

/* A rate the loop cannot reach, with a queue of 4 messages: the source is
 * always behind and the queue always full. The source must yield to the
 * router on every turn (a timer re-armed for "now" used to starve it). */
Test(phase2, a_rate_above_capacity_with_a_full_queue_still_finishes)
{
    char *argv[] = {phase2_bin, "--rate", "100000000", "--messages", "300000", "--batch", "1", "--json", NULL};
    struct proc_result r;
    cr_assert_eq(proc_run(argv, NULL, 20000, &r), 0);
    cr_assert_not(r.timed_out, "livelock: the run did not finish");
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_eq(conf_json_num(r.out, "messages"), 300000, "%s", r.out);
    proc_result_free(&r);
}

/* ---- handle lifecycle ------------------------------------------------- */

static bool have_valgrind(void)
{
    /* valgrind cannot run a program built with AddressSanitizer (the
     * sanitizer build, make test SANITIZE=1): there is nothing to check. */
#if defined(__SANITIZE_ADDRESS__)
    return false;
#else
    return system("valgrind --version >/dev/null 2>&1") == 0;
#endif
}

/* Under valgrind: no error and no leak, and uv_loop_close() returned 0 (the
 * debug log says so; the program aborts if it does not). */
static void valgrind_clean(char *const args[], const char *stdin_path)
{
    if (!have_valgrind())
        cr_skip_test("valgrind is not installed, or this is a sanitizer build");
    char *argv[32] = {"/usr/bin/env",
                      "MSGROUTE_LOG=debug",
                      "valgrind",
                      "-q",
                      "--error-exitcode=1",
                      "--leak-check=full",
                      "--show-leak-kinds=definite,possible",
                      "--errors-for-leak-kinds=definite,possible"};
    int n = 8;
    while (*args && n < 31)
        argv[n++] = *args++;
    argv[n] = NULL;
    struct proc_result r;
    cr_assert_eq(proc_run(argv, stdin_path, 120000, &r), 0);
    cr_assert_not(r.timed_out);
    cr_expect_eq(r.status, 0, "valgrind: exit %d: %s", r.status, r.err);
    cr_expect(strstr(r.err, "uv_loop_close returned 0"), "%s", r.err);
    proc_result_free(&r);
}

Test(phase2, valgrind_finds_no_error_and_no_leak_in_a_short_run, .timeout = 150)
{
    char out[512];
    conf_path(out, "d.csv");
    char *args[] = {phase2_bin, "--messages",     "20000", "--ids",   "500", "--payload", "0-300", "--queries",
                    "5000",     "--status-every", "0.05",  "--batch", "64",  "--dump",    out,     NULL};
    valgrind_clean(args, NULL);
}

Test(phase2, valgrind_finds_no_error_and_no_leak_with_a_rate_and_a_trace, .timeout = 150)
{
    char trace[512];
    snprintf(trace, sizeof trace, "%s/lifecycle.trace", GOLDEN_DIR);
    char *args[] = {phase2_bin, "--trace", "-", "--rate", "20000", "--queries", "1000", NULL};
    valgrind_clean(args, trace);
}

/* The drain after SIGINT closes every handle too: no leak, no error. */
Test(phase2, valgrind_finds_no_error_and_no_leak_after_a_sigint, .timeout = 150)
{
    if (!have_valgrind())
        cr_skip_test("valgrind is not installed, or this is a sanitizer build");
    char *argv[] = {"/usr/bin/env",
                    "MSGROUTE_LOG=debug",
                    "valgrind",
                    "-q",
                    "--error-exitcode=1",
                    "--leak-check=full",
                    "--show-leak-kinds=definite,possible",
                    "--errors-for-leak-kinds=definite,possible",
                    phase2_bin,
                    "--rate",
                    "2000",
                    "--messages",
                    "10000000",
                    "--payload",
                    "0-300",
                    "--queries",
                    "500",
                    NULL};
    struct proc p;
    cr_assert_eq(proc_start(argv, &p), 0);
    cr_assert(wait_for_text(p.err_path, "loop: running", 60000), "the loop never started under valgrind");
    proc_sleep_ms(300);
    kill(p.pid, SIGINT); /* env exec'd valgrind, which runs phase2 in this same process */
    struct proc_result r;
    cr_assert_eq(proc_wait(&p, 60000, &r), 0);
    cr_assert_not(r.timed_out);
    cr_expect_eq(r.status, 0, "valgrind: exit %d: %s", r.status, r.err);
    cr_expect(strstr(r.err, "uv_loop_close returned 0"), "%s", r.err);
    proc_result_free(&r);
}

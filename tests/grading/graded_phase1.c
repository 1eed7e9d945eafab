/* graded_phase1.c - what phase 1's grade adds to tests/phase1: the dump of
 * generated workloads against the oracle, payloads, the rate limit, queries,
 * status, signals, bounded memory and throughput relative to the reference.
 *
 * Every test here exercises code the student writes (labs/phase1/phase1.c);
 * the points are in tests/grading/points.tsv. Each test runs the program
 * under a deadline, so a hang or a crash costs that test only. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "grade_util.h"
#include "proc.h"

#define PHASE1 BIN_DIR "/phase1"

TestSuite(graded_phase1, .timeout = 60, .fini = grade_drop_dir);

/* The workload's dump from phase1 with extra flags must equal the oracle's. */
static void expect_oracle_dump(const struct gen_config *cfg, const char *dist, char *const extra[])
{
    grade_expect_oracle_dump(PHASE1, cfg, dist, NULL, NULL, 1, extra, NULL);
}

Test(graded_phase1, a_uniform_workload_gives_the_oracle_dump)
{
    struct gen_config cfg = {.messages = 200000, .ids = 5000, .dist = DIST_UNIFORM, .seed = 11};
    expect_oracle_dump(&cfg, "uniform", NULL);
}

Test(graded_phase1, a_skewed_workload_gives_the_oracle_dump)
{
    struct gen_config cfg = {.messages = 200000, .ids = 2000, .dist = DIST_ZIPF, .zipf_s = 1.2, .seed = 12};
    expect_oracle_dump(&cfg, "zipf:1.2", NULL);
}

Test(graded_phase1, payloads_arrive_intact_and_count_in_bytes)
{
    /* Growing payloads exercise the scratch buffer's growth; the oracle's
     * bytes column and corrupt = 0 check every payload. */
    struct gen_config cfg = {
        .messages = 50000, .ids = 300, .dist = DIST_UNIFORM, .payload_min = 0, .payload_max = 5000, .seed = 13};
    expect_oracle_dump(&cfg, "uniform", NULL);
}

Test(graded_phase1, queries_status_and_work_do_not_change_the_dump)
{
    struct gen_config cfg = {
        .messages = 100000, .ids = 1000, .dist = DIST_ZIPF, .zipf_s = 0.9, .payload_max = 64, .seed = 14};
    char *extra[] = {"--queries", "20000", "--status-every", "0.01", "--work-ns", "50", NULL};
    expect_oracle_dump(&cfg, "zipf:0.9", extra);
}

Test(graded_phase1, the_rate_limit_holds_the_rate_and_keeps_the_dump)
{
    /* 60 000 messages at 200 000/s: 0.3 s, not as fast as possible. */
    struct gen_config cfg = {.messages = 60000, .ids = 500, .dist = DIST_UNIFORM, .seed = 15};
    char *extra[] = {"--rate", "200000", NULL};
    double secs;
    grade_expect_oracle_dump(PHASE1, &cfg, "uniform", NULL, NULL, 1, extra, &secs);
    cr_expect_geq(secs, 0.27, "60 000 messages at --rate 200000 took %.3f s, less than 0.3 s", secs);
    cr_expect_leq(secs, 3.0, "60 000 messages at --rate 200000 took %.3f s", secs);
}

Test(graded_phase1, queries_are_answered_at_the_asked_rate_with_low_latency)
{
    /* 0.5 s of paced messages with 2 000 queries/s: about 1 000 queries,
     * each answered at the next checkpoint, i.e. microseconds after it was
     * due. The median, not the tail, is checked: on a shared machine one
     * preemption of the process delays every query due meanwhile, and a loop
     * that answers queries only at the end is off by a quarter second. */
    char *argv[] = {PHASE1, "--rate",    "100000", "--messages", "50000", "--ids",
                    "1000", "--queries", "2000",   "--json",     NULL};
    struct proc_result r;
    cr_assert_eq(proc_run(argv, NULL, 20000, &r), 0);
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    double count = grade_json_number(r.out, "query_count");
    double p50 = grade_json_number(r.out, "query_p50_us");
    cr_expect(count >= 500 && count <= 1600, "query_count %.0f, expected about 1000", count);
    cr_expect(p50 >= 0 && p50 < 5000, "query p50 %.1f us: are queries answered between batches?", p50);
    proc_result_free(&r);
}

/* Starts a long paced run; the caller signals it. */
static void start_long_run(const char *dump, struct proc *p)
{
    char *argv[] = {PHASE1, "--rate", "50000",      "--messages", "50000000", "--ids",
                    "1000", "--dump", (char *)dump, "--json",     NULL};
    cr_assert_eq(proc_start(argv, p), 0);
    usleep(300000);
}

Test(graded_phase1, sigterm_stops_the_source_and_dumps_what_was_routed)
{
    char out[512];
    snprintf(out, sizeof out, "%s/d.csv", grade_test_dir());
    struct proc p;
    start_long_run(out, &p);
    kill(p.pid, SIGTERM);
    struct proc_result r;
    cr_assert_eq(proc_wait(&p, 5000, &r), 0);
    cr_assert_not(r.timed_out, "still running 5 s after SIGTERM");
    cr_assert_eq(r.status, 0, "exit %d after one SIGTERM: %s", r.status, r.err);
    double routed = grade_json_number(r.out, "messages");
    cr_expect(routed > 0 && routed < 50000000, "routed %.0f", routed);
    cr_expect_eq(access(out, F_OK), 0, "no dump after SIGTERM");
    proc_result_free(&r);
}

Test(graded_phase1, sigusr1_prints_the_status_table_and_the_run_goes_on)
{
    char out[512];
    snprintf(out, sizeof out, "%s/d.csv", grade_test_dir());
    struct proc p;
    start_long_run(out, &p);
    kill(p.pid, SIGUSR1);
    usleep(200000);
    cr_expect_eq(kill(p.pid, 0), 0, "the run ended after SIGUSR1");
    kill(p.pid, SIGINT);
    struct proc_result r;
    cr_assert_eq(proc_wait(&p, 5000, &r), 0);
    cr_assert_not(r.timed_out);
    cr_expect_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_expect(strstr(r.err, "phase1 status:"), "no status table on stderr: %s", r.err);
    proc_result_free(&r);
}

Test(graded_phase1, status_every_prints_the_table_repeatedly)
{
    char *argv[] = {PHASE1, "--rate", "100000", "--messages", "40000", "--status-every", "0.05", NULL};
    struct proc_result r;
    cr_assert_eq(proc_run(argv, NULL, 10000, &r), 0);
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    int tables = 0;
    for (const char *s = r.err; (s = strstr(s, "phase1 status:")); s++)
        tables++;
    cr_expect_geq(tables, 4, "%d status tables in 0.4 s with --status-every 0.05", tables);
    proc_result_free(&r);
}

Test(graded_phase1, memory_stays_bounded_with_large_payloads)
{
    /* 20 000 payloads of up to 256 KiB are 2.5 GiB in total: the loop must
     * reuse one buffer, not keep what it allocated per message. */
    char *argv[] = {PHASE1, "--messages", "20000", "--ids", "100", "--payload", "0-262144", "--json", NULL};
    struct proc_result r;
    cr_assert_eq(proc_run(argv, NULL, 30000, &r), 0);
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    double rss = grade_json_number(r.out, "rss_kb_max");
    cr_expect(rss > 0 && rss < 64 * 1024, "peak RSS %.0f KiB", rss);
    cr_expect_eq(grade_json_number(r.out, "corrupt"), 0);
    proc_result_free(&r);
}

/* Throughput against the reference, same workload, same run. */
static char *perf_args[] = {"--messages", "3000000", "--ids", "10000", "--json", NULL};

Test(graded_phase1, throughput_is_at_least_a_third_of_the_reference)
{
    double ratio = grade_perf_ratio("phase1", perf_args, 3000000, 5, GRADE_CPU);
    cr_expect_geq(ratio, 0.33, "throughput %.2f of the reference's", ratio);
}

Test(graded_phase1, throughput_is_at_least_three_fifths_of_the_reference)
{
    double ratio = grade_perf_ratio("phase1", perf_args, 3000000, 5, GRADE_CPU);
    cr_expect_geq(ratio, 0.6, "throughput %.2f of the reference's", ratio);
}

Test(graded_phase1, throughput_is_at_least_four_fifths_of_the_reference)
{
    double ratio = grade_perf_ratio("phase1", perf_args, 3000000, 5, GRADE_CPU);
    cr_expect_geq(ratio, 0.8, "throughput %.2f of the reference's", ratio);
}

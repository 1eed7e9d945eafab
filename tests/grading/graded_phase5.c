/* graded_phase5.c - what phase 5's grade adds to tests/phase5: the dump of
 * generated workloads against the oracle for --workers 1, 2, 4 and 8, with
 * payloads, queries, --work-ns and --rate; the same dump through a window
 * and a high-water mark so small that credit and a full ZeroMQ queue stop
 * the source on every run, for batches of 1, 16 and 1024 frames; queries
 * answered while messages flow; and throughput relative to the reference
 * (CPU time at full speed, wall time with work per message).
 *
 * Every test here exercises code the student writes (labs/phase5/: the
 * ZMQ_FD drain, the credited sends, the inbox); the points are in
 * tests/grading/points.tsv. Each run is under a deadline, so a hang or a
 * crash costs that test only, and proc_wait() kills the run's whole process
 * group, workers included, when it overruns. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "grade_util.h"
#include "proc.h"

#define PHASE5 BIN_DIR "/phase5"

TestSuite(graded_phase5, .timeout = 90, .fini = grade_drop_dir);

static const char *const workers[] = {"1", "2", "4", "8"};

/* The workload's dump must equal the oracle's for every worker count. */
static void expect_oracle_dump(const struct gen_config *cfg, const char *dist, char *const extra[])
{
    grade_expect_oracle_dump(PHASE5, cfg, dist, "--workers", workers, sizeof workers / sizeof workers[0], extra, NULL);
}

Test(graded_phase5, a_uniform_workload_gives_the_oracle_dump_for_1_2_4_8_workers)
{
    struct gen_config cfg = {.messages = 300000, .ids = 5000, .dist = DIST_UNIFORM, .seed = 51};
    expect_oracle_dump(&cfg, "uniform", NULL);
}

Test(graded_phase5, a_skewed_workload_gives_the_oracle_dump_for_1_2_4_8_workers)
{
    /* Zipf 1.2: one worker gets most of the stream and runs out of credit
     * again and again, so the source must hold its message and go on when
     * the credit comes back, while the other workers sit idle. */
    struct gen_config cfg = {.messages = 300000, .ids = 2000, .dist = DIST_ZIPF, .zipf_s = 1.2, .seed = 52};
    expect_oracle_dump(&cfg, "zipf:1.2", NULL);
}

Test(graded_phase5, payloads_cross_intact_for_1_2_4_8_workers)
{
    /* Payloads up to 300 KiB: a batch holds one frame past BATCH_BYTES, and
     * a few such frames exhaust the byte window long before the frame one. */
    struct gen_config cfg = {
        .messages = 3000, .ids = 200, .dist = DIST_UNIFORM, .payload_min = 0, .payload_max = 300000, .seed = 53};
    expect_oracle_dump(&cfg, "uniform", NULL);
}

Test(graded_phase5, a_tiny_window_and_queue_give_the_oracle_dump_for_batch_1_16_1024)
{
    /* A window of 8 frames and 4 KiB, and a high-water mark of 2: the
     * source waits for credit every few messages and ZeroMQ refuses a batch
     * (EAGAIN) often, on every run whatever the load. A send that drops
     * instead of waiting, a batch left unsent for want of credit, or a
     * reply read late (the ZMQ_FD edge) shows as a wrong dump or a hang. */
    struct gen_config cfg = {.messages = 40000, .ids = 500, .dist = DIST_UNIFORM, .payload_max = 200, .seed = 54};
    static const char *const batches[] = {"1", "16", "1024"};
    char *extra[] = {"--workers", "3", "--window", "8", "--window-bytes", "4096", "--hwm", "2", NULL};
    grade_expect_oracle_dump(PHASE5, &cfg, "uniform", "--batch", batches, sizeof batches / sizeof batches[0], extra,
                             NULL);
}

Test(graded_phase5, queries_status_and_work_do_not_change_the_dump)
{
    struct gen_config cfg = {
        .messages = 100000, .ids = 1000, .dist = DIST_ZIPF, .zipf_s = 0.9, .payload_max = 64, .seed = 55};
    char *extra[] = {"--queries", "5000", "--status-every", "0.02", "--work-ns", "50", NULL};
    expect_oracle_dump(&cfg, "zipf:0.9", extra);
}

Test(graded_phase5, the_rate_limit_holds_the_rate_and_keeps_the_dump)
{
    /* 60 000 messages at 200 000/s: 0.3 s per run. At this rate every
     * batch leaves nearly empty and the workers keep going idle: every
     * message must still arrive, and the run must end on time. */
    struct gen_config cfg = {.messages = 60000, .ids = 500, .dist = DIST_UNIFORM, .seed = 56};
    static const char *const two[] = {"2"};
    char *extra[] = {"--rate", "200000", NULL};
    double secs;
    grade_expect_oracle_dump(PHASE5, &cfg, "uniform", "--workers", two, 1, extra, &secs);
    cr_expect_geq(secs, 0.27, "60 000 messages at --rate 200000 took %.3f s, less than 0.3 s", secs);
    cr_expect_leq(secs, 5.0, "60 000 messages at --rate 200000 took %.3f s", secs);
}

Test(graded_phase5, queries_at_a_steady_rate_are_all_answered_in_time)
{
    /* 0.5 s of paced messages, 2 000 queries/s to 4 workers: the answers
     * come back through the same ROUTER as the credit, so an inbox that
     * stops reading (an edge of ZMQ_FD missed) fails them at their
     * deadline. The median is checked loosely: a shared machine moves it. */
    char *argv[] = {PHASE5,      "--rate", "100000",    "--messages", "50000",  "--ids", "1000",
                    "--workers", "4",      "--queries", "2000",       "--json", NULL};
    struct proc_result r;
    cr_assert_eq(proc_run(argv, NULL, 20000, &r), 0);
    cr_assert_not(r.timed_out, "no result within 20 s");
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    double count = grade_json_number(r.out, "query_count");
    double failed = grade_json_number(r.out, "query_failed");
    double p50 = grade_json_number(r.out, "query_p50_us");
    double secs = grade_json_number(r.out, "seconds");
    double want = 2000 * secs;
    cr_expect(count >= 0.5 * want && count <= 1.5 * want + 100, "query_count %.0f in %.3f s, expected about %.0f",
              count, secs, want);
    cr_expect(failed <= 0, "%.0f queries failed", failed);
    cr_expect(p50 >= 0 && p50 < 50000, "query p50 %.1f us", p50);
    proc_result_free(&r);
}

/* Throughput against the reference, same workload, same run, by CPU time of
 * the run and its workers (see graded_phase3.c for why not wall time): a
 * send per message instead of per batch, a drain that polls ZMQ_EVENTS in a
 * spin, or credit handed back frame by frame shows here. */
static char *perf_args[] = {"--messages", "2000000", "--ids", "10000", "--workers", "2", "--json", NULL};

Test(graded_phase5, throughput_is_at_least_a_third_of_the_reference)
{
    double ratio = grade_perf_ratio("phase5", perf_args, 2000000, 5, GRADE_CPU);
    cr_expect_geq(ratio, 0.33, "throughput %.2f of the reference's (CPU time)", ratio);
}

Test(graded_phase5, throughput_is_at_least_three_fifths_of_the_reference)
{
    double ratio = grade_perf_ratio("phase5", perf_args, 2000000, 5, GRADE_CPU);
    cr_expect_geq(ratio, 0.6, "throughput %.2f of the reference's (CPU time)", ratio);
}

/* Wall time, with work per message: what CPU time cannot see, a loop that
 * sleeps with input waiting (a missed ZMQ_FD edge costs a lease tick or
 * the retry timer) or a source that waits for credit longer than it must.
 * The threshold is low because wall time on a shared machine is noisy. */
static char *work_args[] = {"--messages", "300000",    "--ids", "10000",  "--workers",
                            "2",          "--work-ns", "1000",  "--json", NULL};

Test(graded_phase5, with_work_per_message_wall_time_is_within_two_and_a_half_times_the_reference)
{
    double ratio = grade_perf_ratio("phase5", work_args, 300000, 5, GRADE_WALL);
    cr_expect_geq(ratio, 0.4, "throughput with --work-ns 1000 %.2f of the reference's (wall time)", ratio);
}

/* graded_phase4.c - what phase 4's grade adds to tests/phase4: the dump of
 * generated workloads against the oracle for --workers 1, 2, 4 and 8, with
 * payloads (whole and in fragments through a small ring), queries,
 * --work-ns and --rate; queries answered from the state table; nothing of a
 * run left in /dev/shm; and throughput relative to the reference (CPU time
 * at full speed, wall time with work per message).
 *
 * Every test here exercises code the student writes (labs/phase4/: the
 * ring, the state table, the worker); the points are in
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

#define PHASE4 BIN_DIR "/phase4"

TestSuite(graded_phase4, .timeout = 90, .fini = grade_drop_dir);

static const char *const workers[] = {"1", "2", "4", "8"};

/* The workload's dump must equal the oracle's for every worker count. */
static void expect_oracle_dump(const struct gen_config *cfg, const char *dist, char *const extra[])
{
    grade_expect_oracle_dump(PHASE4, cfg, dist, "--workers", workers, sizeof workers / sizeof workers[0], extra, NULL);
}

Test(graded_phase4, a_uniform_workload_gives_the_oracle_dump_for_1_2_4_8_workers)
{
    struct gen_config cfg = {.messages = 300000, .ids = 5000, .dist = DIST_UNIFORM, .seed = 41};
    expect_oracle_dump(&cfg, "uniform", NULL);
}

Test(graded_phase4, a_skewed_workload_gives_the_oracle_dump_for_1_2_4_8_workers)
{
    /* Zipf 1.2: one ring gets most of the stream and fills, so the source
     * must wait for its worker without losing or reordering a record, while
     * the other workers sleep on rings that stay nearly empty. */
    struct gen_config cfg = {.messages = 300000, .ids = 2000, .dist = DIST_ZIPF, .zipf_s = 1.2, .seed = 42};
    expect_oracle_dump(&cfg, "zipf:1.2", NULL);
}

Test(graded_phase4, payloads_cross_intact_for_1_2_4_8_workers)
{
    /* Payloads up to 300 KiB: the ring is sized so that each still crosses
     * as one record, verified where it lies; records of every size make the
     * producer pad to the end of the circle often. */
    struct gen_config cfg = {
        .messages = 3000, .ids = 200, .dist = DIST_UNIFORM, .payload_min = 0, .payload_max = 300000, .seed = 43};
    expect_oracle_dump(&cfg, "uniform", NULL);
}

Test(graded_phase4, payloads_larger_than_a_record_cross_in_fragments_for_1_2_4_8_workers)
{
    /* A 64 KiB ring carries at most 16 KiB of payload per record: payloads
     * up to 100 KiB cross in up to seven fragments, which the worker must
     * reassemble in order, and the producer must wait for room between them. */
    struct gen_config cfg = {
        .messages = 3000, .ids = 300, .dist = DIST_UNIFORM, .payload_min = 0, .payload_max = 100000, .seed = 44};
    char *extra[] = {"--ring-kib", "64", NULL};
    expect_oracle_dump(&cfg, "uniform", extra);
}

Test(graded_phase4, queries_status_and_work_do_not_change_the_dump)
{
    struct gen_config cfg = {
        .messages = 100000, .ids = 1000, .dist = DIST_ZIPF, .zipf_s = 0.9, .payload_max = 64, .seed = 45};
    char *extra[] = {"--queries", "5000", "--status-every", "0.02", "--work-ns", "50", NULL};
    expect_oracle_dump(&cfg, "zipf:0.9", extra);
}

Test(graded_phase4, the_rate_limit_holds_the_rate_and_keeps_the_dump)
{
    /* 60 000 messages at 200 000/s: 0.3 s per run, not as fast as possible.
     * At this rate the workers keep emptying their rings and going to sleep:
     * every record must still arrive, and the run must end on time. */
    struct gen_config cfg = {.messages = 60000, .ids = 500, .dist = DIST_UNIFORM, .seed = 46};
    static const char *const two[] = {"2"};
    char *extra[] = {"--rate", "200000", NULL};
    double secs;
    grade_expect_oracle_dump(PHASE4, &cfg, "uniform", "--workers", two, 1, extra, &secs);
    cr_expect_geq(secs, 0.27, "60 000 messages at --rate 200000 took %.3f s, less than 0.3 s", secs);
    cr_expect_leq(secs, 5.0, "60 000 messages at --rate 200000 took %.3f s", secs);
}

Test(graded_phase4, queries_are_answered_from_the_state_table_while_messages_flow)
{
    /* 0.5 s of paced messages, 2 000 queries/s to 4 workers: 2 000 queries
     * for each second the run lasted, none failed (a reader that waits for a
     * writer, or gives up on a record being rewritten, fails them), and most
     * found: every queried id has been routed, so a table that is never
     * published answers "not found" to all of them. Some are not found
     * while the workers lag behind the router, more on a loaded machine
     * (a quarter at load 15 on 2 CPUs): the bounds are the ones no load
     * reaches and a wrong reader always does. The median is checked
     * loosely: a shared machine moves it. */
    char *argv[] = {PHASE4,      "--rate", "100000",    "--messages", "50000",  "--ids", "1000",
                    "--workers", "4",      "--queries", "2000",       "--json", NULL};
    struct proc_result r;
    cr_assert_eq(proc_run(argv, NULL, 20000, &r), 0);
    cr_assert_not(r.timed_out, "no result within 20 s");
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    double count = grade_json_number(r.out, "query_count");
    double failed = grade_json_number(r.out, "query_failed");
    double not_found = grade_json_number(r.out, "query_not_found");
    double p50 = grade_json_number(r.out, "query_p50_us");
    double secs = grade_json_number(r.out, "seconds");
    double want = 2000 * secs;
    cr_expect(count >= 0.5 * want && count <= 1.5 * want + 100, "query_count %.0f in %.3f s, expected about %.0f",
              count, secs, want);
    cr_expect(failed <= 0, "%.0f queries failed", failed);
    cr_expect(not_found >= 0 && not_found <= count / 2, "%.0f of %.0f queries found no machine", not_found, count);
    cr_expect(p50 >= 0 && p50 < 20000, "query p50 %.1f us", p50);
    proc_result_free(&r);
}

/* Throughput against the reference, same workload, same run, by CPU time of
 * the run and its workers (see graded_phase3.c for why not wall time): a
 * ring that pays a system call per batch (a wake-up whether or not the other
 * side sleeps), a consumer that spins instead of sleeping, or a worker that
 * copies every payload shows here. */
static char *perf_args[] = {"--messages", "2000000", "--ids", "10000", "--workers", "2", "--json", NULL};

Test(graded_phase4, throughput_is_at_least_a_third_of_the_reference)
{
    double ratio = grade_perf_ratio("phase4", perf_args, 2000000, 5, GRADE_CPU);
    cr_expect_geq(ratio, 0.33, "throughput %.2f of the reference's (CPU time)", ratio);
}

Test(graded_phase4, throughput_is_at_least_three_fifths_of_the_reference)
{
    double ratio = grade_perf_ratio("phase4", perf_args, 2000000, 5, GRADE_CPU);
    cr_expect_geq(ratio, 0.6, "throughput %.2f of the reference's (CPU time)", ratio);
}

/* Wall time, with work per message: what CPU time cannot see, a side that
 * sleeps when it need not, or is woken late (a lost wake-up costs a whole
 * sleep timeout: 100 ms for a worker, 5 ms for the source). The threshold
 * is low because wall time on a shared machine is noisy. */
static char *work_args[] = {"--messages", "300000",    "--ids", "10000",  "--workers",
                            "2",          "--work-ns", "1000",  "--json", NULL};

Test(graded_phase4, with_work_per_message_wall_time_is_within_two_and_a_half_times_the_reference)
{
    double ratio = grade_perf_ratio("phase4", work_args, 300000, 5, GRADE_WALL);
    cr_expect_geq(ratio, 0.4, "throughput with --work-ns 1000 %.2f of the reference's (wall time)", ratio);
}

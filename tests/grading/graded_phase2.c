/* graded_phase2.c - what phase 2's grade adds to tests/phase2: the dump of
 * generated workloads against the oracle for --batch 1, 16, 256 and 65536,
 * with payloads that wrap the queue's byte ring, with queries, status and
 * work, and under --rate; queries answered between batches; a loop that
 * sleeps when there is nothing to do; bounded memory; and throughput
 * relative to the reference (CPU time: phase 2 is one thread).
 *
 * Every test here exercises code the student writes (labs/phase2/); the
 * points are in tests/grading/points.tsv. Each run is under a deadline, so
 * a hang or a crash costs that test only. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "grade_util.h"
#include "proc.h"

#define PHASE2 BIN_DIR "/phase2"

TestSuite(graded_phase2, .timeout = 60, .fini = grade_drop_dir);

static const char *const batches[] = {"1", "16", "256", "65536"};

/* The workload's dump must equal the oracle's for every batch size: one
 * message per turn, a few, the default, and more than the queue holds of
 * the stream at once (so every turn is one batch of the whole queue). */
static void expect_oracle_dump(const struct gen_config *cfg, const char *dist, char *const extra[])
{
    grade_expect_oracle_dump(PHASE2, cfg, dist, "--batch", batches, sizeof batches / sizeof batches[0], extra, NULL);
}

Test(graded_phase2, a_uniform_workload_gives_the_oracle_dump_for_batch_1_16_256_65536)
{
    struct gen_config cfg = {.messages = 200000, .ids = 5000, .dist = DIST_UNIFORM, .seed = 21};
    expect_oracle_dump(&cfg, "uniform", NULL);
}

Test(graded_phase2, a_skewed_workload_gives_the_oracle_dump_for_batch_1_16_256_65536)
{
    struct gen_config cfg = {.messages = 200000, .ids = 2000, .dist = DIST_ZIPF, .zipf_s = 1.2, .seed = 22};
    expect_oracle_dump(&cfg, "zipf:1.2", NULL);
}

Test(graded_phase2, payloads_wrap_the_queue_and_arrive_intact_for_batch_1_16_256_65536)
{
    /* 4 000 payloads of up to 200 KB, 400 MB in all, through a byte ring of
     * 4 MiB: it fills and wraps about a hundred times, with payloads that
     * do not fit before the end of the buffer. The oracle's bytes column
     * and corrupt = 0 check every byte. */
    struct gen_config cfg = {
        .messages = 4000, .ids = 300, .dist = DIST_UNIFORM, .payload_min = 0, .payload_max = 200000, .seed = 23};
    expect_oracle_dump(&cfg, "uniform", NULL);
}

Test(graded_phase2, queries_status_and_work_do_not_change_the_dump)
{
    struct gen_config cfg = {
        .messages = 100000, .ids = 1000, .dist = DIST_ZIPF, .zipf_s = 0.9, .payload_max = 64, .seed = 24};
    char *extra[] = {"--queries", "20000", "--status-every", "0.01", "--work-ns", "50", NULL};
    expect_oracle_dump(&cfg, "zipf:0.9", extra);
}

Test(graded_phase2, the_rate_limit_holds_the_rate_and_keeps_the_dump)
{
    /* 60 000 messages at 200 000/s: 0.3 s, not as fast as possible, at
     * batch 16 (the source sleeps on its timer between bursts) and at the
     * default batch. */
    struct gen_config cfg = {.messages = 60000, .ids = 500, .dist = DIST_UNIFORM, .seed = 25};
    static const char *const paced_batches[] = {"16", "256"};
    char *extra[] = {"--rate", "200000", NULL};
    double secs[2];
    grade_expect_oracle_dump(PHASE2, &cfg, "uniform", "--batch", paced_batches, 2, extra, secs);
    for (size_t k = 0; k < 2; k++) {
        cr_expect_geq(secs[k], 0.27, "--batch %s: 60 000 messages at --rate 200000 took %.3f s, less than 0.3 s",
                      paced_batches[k], secs[k]);
        cr_expect_leq(secs[k], 3.0, "--batch %s: 60 000 messages at --rate 200000 took %.3f s", paced_batches[k],
                      secs[k]);
    }
}

Test(graded_phase2, queries_are_answered_between_batches_at_the_asked_rate)
{
    /* 0.5 s of paced messages with 2 000 queries/s: about 1 000 queries,
     * none failed. While messages flow, the loop turns every few hundred
     * microseconds and the server answers on the next turn; the reference's
     * median is about 0.3 ms here, most of it libuv's millisecond timer
     * (the loop sleeps between the source's bursts). A server that answers
     * only when the stream ends, or whose idle handle is never started,
     * is off by tens of milliseconds or more. */
    char *argv[] = {PHASE2, "--rate",    "100000", "--messages", "50000", "--ids",
                    "1000", "--queries", "2000",   "--json",     NULL};
    struct proc_result r;
    cr_assert_eq(proc_run(argv, NULL, 20000, &r), 0);
    cr_assert_not(r.timed_out, "no result within 20 s");
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    double count = grade_json_number(r.out, "query_count");
    double failed = grade_json_number(r.out, "query_failed");
    double p50 = grade_json_number(r.out, "query_p50_us");
    cr_expect(count >= 500 && count <= 1600, "query_count %.0f, expected about 1000", count);
    cr_expect(failed <= 0, "%.0f queries failed", failed);
    cr_expect(p50 >= 0 && p50 < 5000, "query p50 %.1f us: are queries answered on the next turn of the loop?", p50);
    proc_result_free(&r);
}

Test(graded_phase2, a_loop_with_little_to_do_sleeps_instead_of_spinning)
{
    /* 2 000 messages/s and 200 queries/s for 1 s: a few milliseconds of
     * work. The reference uses about 2 % of a CPU here (it sleeps in
     * epoll_wait between timers). An idle handle left running when its
     * queue or its list of queries is empty keeps the loop from ever
     * sleeping: 100 % of a CPU. The bound is far from both. */
    char *argv[] = {PHASE2, "--rate", "2000", "--messages", "2000", "--queries", "200", "--json", NULL};
    struct proc_result r;
    double c0 = grade_children_cpu(), t0 = grade_now();
    cr_assert_eq(proc_run(argv, NULL, 20000, &r), 0);
    double wall = grade_now() - t0, cpu = grade_children_cpu() - c0;
    cr_assert_not(r.timed_out, "no result within 20 s");
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_expect_geq(wall, 0.9, "2 000 messages at --rate 2000 took %.3f s", wall);
    cr_expect_leq(cpu, 0.3 * wall,
                  "%.3f s of CPU in %.3f s with next to nothing to do: is an idle handle left running?", cpu, wall);
    cr_expect_eq(grade_json_number(r.out, "query_failed"), 0, "queries failed: %s", r.out);
    proc_result_free(&r);
}

Test(graded_phase2, memory_stays_bounded_with_large_payloads)
{
    /* 20 000 payloads of up to 256 KiB are 2.5 GiB in all: the queue holds
     * at most its 4 MiB byte ring of them, however fast the source is. */
    char *argv[] = {PHASE2, "--messages", "20000", "--ids", "100", "--payload", "0-262144", "--json", NULL};
    struct proc_result r;
    cr_assert_eq(proc_run(argv, NULL, 30000, &r), 0);
    cr_assert_not(r.timed_out, "no result within 30 s");
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    double rss = grade_json_number(r.out, "rss_kb_max");
    cr_expect(rss > 0 && rss < 64 * 1024, "peak RSS %.0f KiB", rss);
    cr_expect_eq(grade_json_number(r.out, "corrupt"), 0);
    proc_result_free(&r);
}

/* Throughput against the reference, same workload, same run, by CPU time:
 * phase 2 is one thread, and CPU time hardly moves when other programs
 * share the machine. A queue that copies each message out again, a router
 * that applies one message per turn, or a poll per message shows here. */
static char *perf_args[] = {"--messages", "3000000", "--ids", "10000", "--json", NULL};

Test(graded_phase2, throughput_is_at_least_a_third_of_the_reference)
{
    double ratio = grade_perf_ratio("phase2", perf_args, 3000000, 5, GRADE_CPU);
    cr_expect_geq(ratio, 0.33, "throughput %.2f of the reference's (CPU time)", ratio);
}

Test(graded_phase2, throughput_is_at_least_three_fifths_of_the_reference)
{
    double ratio = grade_perf_ratio("phase2", perf_args, 3000000, 5, GRADE_CPU);
    cr_expect_geq(ratio, 0.6, "throughput %.2f of the reference's (CPU time)", ratio);
}

Test(graded_phase2, throughput_is_at_least_four_fifths_of_the_reference)
{
    double ratio = grade_perf_ratio("phase2", perf_args, 3000000, 5, GRADE_CPU);
    cr_expect_geq(ratio, 0.8, "throughput %.2f of the reference's (CPU time)", ratio);
}

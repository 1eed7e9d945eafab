/* test_phase4.c - phase 4 end to end: conformance against the golden dumps
 * and against phase 1 (payloads larger than a ring record included),
 * malformed traces, queries from the shared table, backpressure, and the
 * lifecycle of SPEC §8 (drain, second SIGINT, a killed worker, a killed main
 * process). Every run is checked for leftovers twice: no process of its
 * group and no new object in /dev/shm. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conformance.h"
#include "proc.h"

#define PHASE4 BIN_DIR "/phase4"

/* conf_dir is each test's scratch directory, removed by .fini even when an
 * assertion fails; conf_suite_init also snapshots /dev/shm and makes the
 * test the reaper of a killed main process's workers. */
TestSuite(phase4, .timeout = 90, .init = conf_suite_init, .fini = conf_suite_fini);

/* ---- conformance ------------------------------------------------------ */

Test(phase4, every_golden_trace_gives_its_golden_dump_for_1_2_3_4_8_workers)
{
    char *workers[][3] = {{"--workers", "1", NULL},
                          {"--workers", "2", NULL},
                          {"--workers", "3", NULL},
                          {"--workers", "4", NULL},
                          {"--workers", "8", NULL}};
    for (size_t w = 0; w < sizeof workers / sizeof workers[0]; w++)
        conf_golden_dumps(PHASE4, workers[w]);
}

Test(phase4, a_trace_on_stdin_works_like_a_file)
{
    char trace[512], out[512], want[512];
    snprintf(trace, sizeof trace, "%s/lifecycle.trace", GOLDEN_DIR);
    snprintf(want, sizeof want, "%s/lifecycle.csv", GOLDEN_DIR);
    conf_path(out, "d.csv");
    char *argv[] = {PHASE4, "--trace", "-", "--workers", "3", "--dump", out, NULL};
    struct proc_result r;
    cr_assert_eq(proc_run(argv, trace, 30000, &r), 0);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect(files_equal(out, want));
    proc_result_free(&r);
}

/* Twenty msgen traces, phase 1 as the oracle. The payload ranges and ring
 * sizes are chosen so that some payloads are many times larger than what one
 * ring record carries (--ring-kib 8 carries 2 KiB), and so that the ring
 * wraps thousands of times. */
Test(phase4, twenty_generated_traces_give_phase1s_dump_byte_for_byte, .timeout = 150)
{
    static const char *const dists[] = {"uniform", "zipf:0.8", "zipf:1.0", "zipf:1.2", "zipf:1.5"};
    static const char *const payloads[] = {"0", "0-64", "100-3000", "1000-9000", "20000-70000"};
    static const char *const rings[] = {"4", "8", "64", "1024"};
    static const char *const workers[] = {"1", "2", "3", "4", "8"};
    static const char *const ids[] = {"1", "50", "500", "3000"};
    for (int i = 0; i < 20; i++) {
        char seed[16], messages[16];
        snprintf(seed, sizeof seed, "%d", 400 + i);
        const char *payload = payloads[(i / 2) % 5];
        /* Fewer messages when they are large: the suite must stay fast. */
        snprintf(messages, sizeof messages, "%d", (i / 2) % 5 == 4 ? 300 + 20 * i : 2000 + 1000 * i);
        char *gen[] = {"--messages", messages,
                       "--ids",      (char *)ids[i % 4],
                       "--dist",     (char *)dists[i % 5],
                       "--payload",  (char *)payload,
                       "--seed",     seed,
                       NULL};
        char *extra[] = {"--workers", (char *)workers[i % 5], "--ring-kib", (char *)rings[(i / 5) % 4], NULL};
        conf_matches_phase1(PHASE4, extra, gen);
    }
}

Test(phase4, the_generator_gives_the_same_dump_as_phase1)
{
    char *gen[] = {"--messages", "300000", "--ids", "2000", "--dist", "zipf:1.1", NULL};
    char *workers[] = {"--workers", "3", NULL};
    conf_generator_matches_phase1(PHASE4, gen, workers);
}

/* The largest payloads SPEC §2 allows, through a ring sized for them (one
 * record each) and through a 64 KiB ring (a thousand fragments each). */
Test(phase4, payloads_up_to_16_MiB_cross_intact)
{
    char trace[512], want[512], out[512];
    conf_path(trace, "big.trace");
    conf_path(want, "p1.csv");
    conf_path(out, "p4.csv");
    FILE *f = fopen(trace, "w");
    cr_assert_not_null(f);
    fprintf(f, "1 a START\n2 a DATA 16777216\n3 b START\n4 b DATA 1\n5 a DATA 5000000\n6 c DATA 16777215\n"
               "7 b DATA 65536\n8 a COMPLETE\n");
    fclose(f);
    char *p1[] = {"--trace", trace, NULL};
    conf_phase1_dump(p1, want);
    char *rings[] = {NULL, "64"};
    for (int i = 0; i < 2; i++) {
        char *p4[] = {
            PHASE4,   "--trace", trace, "--workers", "2", "--dump", out, "--json", rings[i] ? "--ring-kib" : NULL,
            rings[i], NULL};
        struct proc_result r;
        conf_run(p4, NULL, 0, &r);
        cr_expect_eq(conf_json_u64(r.out, "corrupt"), 0);
        cr_expect(files_equal(out, want), "ring %s: dump differs from phase 1", rings[i] ? rings[i] : "auto");
        proc_result_free(&r);
    }
}

Test(phase4, a_malformed_trace_exits_2_naming_file_and_line_and_writes_no_dump)
{
    char *workers[] = {"--workers", "2", NULL};
    conf_bad_traces(PHASE4, workers);
}

Test(phase4, help_exits_0_and_bad_flags_exit_2)
{
    char *help[] = {PHASE4, "--help", NULL};
    char *ring3[] = {PHASE4, "--ring-kib", "3", NULL};
    char *ring0[] = {PHASE4, "--ring-kib", "0", NULL};
    char *zero[] = {PHASE4, "--workers", "0", NULL};
    struct proc_result r;
    conf_run(help, NULL, 0, &r);
    cr_expect(strstr(r.out, "--ring-kib"));
    proc_result_free(&r);
    conf_run(ring3, NULL, 2, &r);
    proc_result_free(&r);
    conf_run(ring0, NULL, 2, &r);
    proc_result_free(&r);
    conf_run(zero, NULL, 2, &r);
    proc_result_free(&r);
}

Test(phase4, json_reports_per_worker_messages_that_add_up)
{
    char *argv[] = {PHASE4, "--messages", "100000", "--workers", "3", "--json", NULL};
    struct proc_result r;
    conf_run(argv, NULL, 0, &r);
    cr_expect_eq(conf_json_u64(r.out, "phase"), 4);
    cr_expect_eq(conf_json_u64(r.out, "workers"), 3);
    cr_expect_eq(conf_json_u64(r.out, "messages"), 100000);
    unsigned long long sum = 0;
    for (const char *p = strstr(r.out, "\"per_worker\""); (p = strstr(p, "\"messages\":")); p++)
        sum += strtoull(p + strlen("\"messages\":"), NULL, 10);
    cr_expect_eq(sum, 100000, "per-worker messages add to %llu: %s", sum, r.out);
    proc_result_free(&r);
}

/* ---- queries ---------------------------------------------------------- */

Test(phase4, queries_are_answered_from_the_shared_table_while_messages_flow)
{
    char *argv[] = {PHASE4,  "--messages", "3000000", "--rate", "2000000", "--queries",
                    "20000", "--workers",  "2",       "--json", NULL};
    struct proc_result r;
    conf_run(argv, NULL, 0, &r);
    cr_expect_gt(conf_json_u64(r.out, "query_count"), 10000, "%s", r.out);
    cr_expect_eq(conf_json_u64(r.out, "query_failed"), 0, "%s", r.out);
    cr_expect_gt(conf_json_num(r.out, "query_p50_us"), 0.0);
    proc_result_free(&r);
}

/* ---- more workers than CPUs -------------------------------------------- */

/* Sixteen workers on one CPU (--pin same): a worker is woken for a
 * worthwhile amount of work, not for every batch the main process
 * publishes, so the voluntary context switches of the run (its sleeps,
 * counted by the kernel whatever the load) stay far below one per 300
 * messages; waking by a lap-old cached tail, and every worker at every
 * 1 ms poll, made one every 40 to 100 messages. */
Test(phase4, sixteen_workers_on_one_cpu_are_woken_for_64_KiB_of_records_not_per_batch)
{
    char *argv[] = {PHASE4, "--messages", "3000000", "--ids", "10000", "--workers", "16", "--pin", "same", NULL};
    long switches = conf_voluntary_switches(argv, 80000);
    cr_expect_lt(switches, 3000000 / 300, "%ld voluntary context switches for 3 M messages", switches);
}

/* ---- backpressure, signals and faults --------------------------------- */

TestSuite(phase4_faults, .timeout = 60, .init = conf_suite_init, .fini = conf_suite_fini);

Test(phase4_faults, a_normal_run_leaves_nothing_behind)
{
    char *argv[] = {PHASE4, "--messages", "200000", "--workers", "4", NULL};
    struct proc p;
    cr_assert_eq(proc_start(argv, &p), 0);
    struct proc_result r;
    cr_assert_eq(proc_wait(&p, 30000, &r), 0);
    cr_assert_eq(r.status, 0, "%s", r.err);
    proc_result_free(&r);
    conf_assert_clean_exit(p.pid);
}

/* A stopped worker fills its ring; the source must wait (memory stays flat)
 * and queries must still be answered; once it resumes the run completes with
 * phase 1's dump. */
Test(phase4_faults, a_stopped_worker_slows_the_source_and_the_run_completes_when_it_resumes)
{
    char d1[512], d4[512];
    conf_path(d1, "p1.csv");
    conf_path(d4, "p4.csv");
    char *argv[] = {PHASE4,      "--messages", "3000000", "--workers", "2",      "--ring-kib", "64",
                    "--queries", "1000",       "--dump",  d4,          "--json", NULL};
    struct proc p;
    cr_assert_eq(proc_start(argv, &p), 0);
    pid_t w0 = conf_worker_pid(p.pid, 0, 2);
    kill(w0, SIGSTOP);
    /* The source is blocked on worker 0's full ring: nothing grows. On a
     * busy machine the main process may still be starting when the worker
     * stops, so its memory is judged once it has settled; a source that
     * did not block would never let it settle. */
    long rss0 = proc_settled_rss_kb(p.pid);
    cr_assert_gt(rss0, 0, "the main process's memory never settled while a worker was stopped (or the run ended)");
    proc_sleep_ms(300);
    long rss1 = proc_rss_kb(p.pid);
    int st;
    cr_assert_eq(waitpid(p.pid, &st, WNOHANG), 0, "the run ended while a worker was stopped");
    cr_expect(rss0 > 0 && rss1 - rss0 < 1024, "the main process grew from %ld to %ld KiB while blocked", rss0, rss1);
    kill(w0, SIGCONT);
    struct proc_result r;
    cr_assert_eq(proc_wait(&p, 30000, &r), 0);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect_eq(conf_json_u64(r.out, "query_failed"), 0, "%s", r.out);
    cr_expect_gt(conf_json_u64(r.out, "query_count"), 200, "queries stop while the source waits: %s", r.out);
    char *p1[] = {"--messages", "3000000", NULL};
    conf_phase1_dump(p1, d1);
    cr_expect(files_equal(d1, d4));
    proc_result_free(&r);
    conf_assert_clean_exit(p.pid);
}

Test(phase4_faults, sigint_drains_and_dumps_exactly_what_was_routed)
{
    char out[512], want[512], routed_s[32];
    conf_path(out, "d.csv");
    conf_path(want, "p1.csv");
    char *argv[] = {PHASE4, "--rate", "200000", "--messages", "100000000", "--workers",
                    "3",    "--dump", out,      "--json",     NULL};
    struct proc p;
    cr_assert_eq(proc_start(argv, &p), 0);
    conf_worker_pid(p.pid, 0, 3);
    proc_sleep_ms(300);
    kill(p.pid, SIGINT);
    struct proc_result r;
    cr_assert_eq(proc_wait(&p, 10000, &r), 0);
    cr_assert_not(r.timed_out);
    cr_assert_eq(r.status, 0, "%s", r.err);
    unsigned long long routed = conf_json_u64(r.out, "messages");
    cr_assert_gt(routed, 0);
    cr_assert_eq(conf_sum_msgs(out), routed);
    snprintf(routed_s, sizeof routed_s, "%llu", routed);
    char *p1[] = {"--messages", routed_s, NULL};
    conf_phase1_dump(p1, want);
    cr_assert(files_equal(out, want), "the interrupted dump differs from phase 1 on the first %s messages", routed_s);
    proc_result_free(&r);
    conf_assert_clean_exit(p.pid);
}

Test(phase4_faults, a_second_sigint_exits_130_with_every_worker_reaped_and_no_dump)
{
    conf_second_sigint_exits_130(PHASE4, NULL);
}

Test(phase4_faults, two_sigints_at_once_exit_130_or_drain_never_hang)
{
    char *argv[] = {PHASE4, "--rate", "100000", "--messages", "10000000", "--workers", "2", NULL};
    struct proc p;
    cr_assert_eq(proc_start(argv, &p), 0);
    conf_worker_pid(p.pid, 1, 2);
    proc_sleep_ms(200);
    kill(p.pid, SIGINT);
    kill(p.pid, SIGINT);
    struct proc_result r;
    cr_assert_eq(proc_wait(&p, 5000, &r), 0);
    cr_assert_not(r.timed_out);
    cr_assert(r.status == 130 || r.status == 0, "exit %d: %s", r.status, r.err);
    proc_result_free(&r);
    conf_assert_clean_exit(p.pid);
}

Test(phase4_faults, a_killed_worker_ends_the_run_with_exit_3_naming_it_and_no_dump)
{
    conf_killed_worker_exits_3(PHASE4, NULL);
}

/* The source is blocked on a stopped worker's full ring; a kill of the other
 * worker must still end the run at once. */
Test(phase4_faults, a_worker_killed_while_the_source_is_blocked_is_still_noticed)
{
    char *small_ring[] = {"--ring-kib", "16", NULL};
    conf_killed_worker_exits_3_while_blocked(PHASE4, small_ring);
}

/* SIGKILL to the main process: no handler runs, so the workers must go by
 * PR_SET_PDEATHSIG, and the segment with the last of them. */
Test(phase4_faults, a_killed_main_process_leaves_no_worker_and_nothing_in_dev_shm)
{
    char *argv[] = {PHASE4, "--rate", "100000", "--messages", "10000000", "--workers", "3", NULL};
    struct proc p;
    cr_assert_eq(proc_start(argv, &p), 0);
    conf_worker_pid(p.pid, 2, 3);
    proc_sleep_ms(200);
    kill(p.pid, SIGKILL);
    struct proc_result r;
    cr_assert_eq(proc_wait(&p, 5000, &r), 0);
    cr_assert_eq(r.status, 128 + SIGKILL);
    proc_result_free(&r);
    /* The workers notice their parent's death asynchronously. */
    conf_wait_group_gone(p.pid, 2000);
    conf_assert_clean_exit(p.pid);
}

Test(phase4_faults, sigusr1_prints_the_status_table_without_stopping_the_run)
{
    char *argv[] = {PHASE4, "--rate", "50000", "--messages", "30000", "--workers", "2", "--json", NULL};
    struct proc p;
    cr_assert_eq(proc_start(argv, &p), 0);
    conf_worker_pid(p.pid, 1, 2);
    proc_sleep_ms(200);
    kill(p.pid, SIGUSR1);
    struct proc_result r;
    cr_assert_eq(proc_wait(&p, 10000, &r), 0);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect_eq(conf_json_u64(r.out, "messages"), 30000);
    cr_expect(strstr(r.err, "worker"), "no status table on stderr: %s", r.err);
    proc_result_free(&r);
    conf_assert_clean_exit(p.pid);
}

/* The drain puts END into ring 0, then ring 1, ...: when ring 1 is full, the
 * main process waits for room while worker 0 may already have drained and
 * exited 0. That is the orderly end of worker 0, not a lost worker. Large
 * payloads keep the rings full at the end, which made the race common. */
Test(phase4, a_worker_that_ends_while_another_ring_is_still_full_is_not_lost)
{
    for (int i = 0; i < 5; i++) {
        char *argv[] = {PHASE4, "--messages", "400", "--payload", "1048576", "--workers", "3", NULL};
        struct proc_result r;
        conf_run(argv, NULL, 0, &r);
        proc_result_free(&r);
    }
}

/* ---- --recover ---------------------------------------------------------- */

/* Kills worker `index` of main_pid (its current pid: after a restart the
 * worker has a new one, so look it up by its place in the status order). */
static pid_t kill_worker(pid_t main_pid, int index, int n)
{
    pid_t w = conf_worker_pid(main_pid, index, n);
    kill(w, SIGKILL);
    return w;
}

/* Two workers killed at different times, then a restarted one: the run ends 0
 * and its dump is phase 1's, byte for byte (no message lost or applied
 * twice, SPEC §8). */
Test(phase4_faults, with_recover_killed_workers_are_restarted_and_the_dump_equals_phase1)
{
    char d1[512], d4[512];
    conf_path(d1, "p1.csv");
    conf_path(d4, "p4.csv");
    char *argv[] = {PHASE4, "--rate",    "200000", "--messages", "300000", "--workers",
                    "3",    "--recover", "--dump", d4,           "--json", NULL};
    struct proc p;
    cr_assert_eq(proc_start(argv, &p), 0);
    conf_worker_pid(p.pid, 2, 3);
    proc_sleep_ms(300);
    pid_t first = kill_worker(p.pid, 1, 3);
    proc_sleep_ms(300);
    kill_worker(p.pid, 0, 3);
    proc_sleep_ms(200);
    /* The newest process: a worker that was restarted once already. */
    kill_worker(p.pid, 2, 3);
    struct proc_result r;
    cr_assert_eq(proc_wait(&p, 20000, &r), 0);
    cr_assert_not(r.timed_out);
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    char want[128];
    snprintf(want, sizeof want, "worker 1 (pid %d): killed by SIGKILL; restarting it", (int)first);
    cr_expect(strstr(r.err, want), "want '%s' in: %s", want, r.err);
    cr_expect_eq(conf_json_u64(r.out, "messages"), 300000);
    char *p1[] = {"--messages", "300000", NULL};
    conf_phase1_dump(p1, d1);
    cr_expect(files_equal(d1, d4), "the recovered run's dump differs from phase 1");
    proc_result_free(&r);
    conf_assert_clean_exit(p.pid);
}

/* The same from a trace whose payloads mostly cross in several fragments
 * (an 8 KiB ring carries 2 KiB per record): a worker killed while they flow. */
Test(phase4_faults, with_recover_a_trace_with_fragmented_payloads_still_gives_phase1s_dump)
{
    char trace[512], d1[512], d4[512];
    conf_path(trace, "t.trace");
    conf_path(d1, "p1.csv");
    conf_path(d4, "p4.csv");
    char *flags[] = {"--messages", "40000",  "--ids",  "300", "--dist", "zipf:1.1",
                     "--payload",  "0-9000", "--seed", "77",  NULL};
    conf_msgen(trace, flags);
    char *argv[] = {PHASE4,       "--trace", trace,       "--rate", "40000", "--workers", "2",
                    "--ring-kib", "8",       "--recover", "--dump", d4,      NULL};
    struct proc p;
    cr_assert_eq(proc_start(argv, &p), 0);
    conf_worker_pid(p.pid, 1, 2);
    proc_sleep_ms(400);
    kill_worker(p.pid, 0, 2);
    struct proc_result r;
    cr_assert_eq(proc_wait(&p, 20000, &r), 0);
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.err);
    cr_expect(strstr(r.err, "restarting it"), "%s", r.err);
    char *p1[] = {"--trace", trace, NULL};
    conf_phase1_dump(p1, d1);
    cr_expect(files_equal(d1, d4), "the recovered run's dump differs from phase 1");
    proc_result_free(&r);
    conf_assert_clean_exit(p.pid);
}

/* test_phase3.c - phase 3 end to end: conformance against the golden dumps
 * and against phase 1, malformed traces, large payloads, queries, and the
 * lifecycle of SPEC §8 (drain, second SIGINT, a worker killed, a worker
 * stopped). Every test leaves no process of its run behind. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conformance.h"
#include "fnv.h"
#include "proc.h"

#define PHASE3 BIN_DIR "/phase3"

/* conf_dir is each test's scratch directory, removed by .fini even when an
 * assertion fails. */
TestSuite(phase3, .timeout = 60, .init = conf_suite_init, .fini = conf_suite_fini);

/* ---------------------------------------------------------- conformance */

/* SMALL_PIPE: the smallest message pipe (one page). A run whose pipes hold
 * 1 MiB fills one or not depending on how fast the workers are scheduled,
 * so the same code could pass and fail by the machine's load. With one
 * page, every trace larger than a few KiB fills its pipes on every run, so
 * a dump test always exercises the full pipe (backpressure, then
 * router_writable()), and the small traces never do. */
#define SMALL_PIPE "--pipe-size", "4096"

Test(phase3, every_golden_trace_gives_its_golden_dump_for_1_2_3_4_8_workers)
{
    char *counts[][5] = {{"--workers", "1", SMALL_PIPE, NULL},
                         {"--workers", "2", SMALL_PIPE, NULL},
                         {"--workers", "3", SMALL_PIPE, NULL},
                         {"--workers", "4", SMALL_PIPE, NULL},
                         {"--workers", "8", SMALL_PIPE, NULL}};
    for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++)
        conf_golden_dumps(PHASE3, counts[k]);
}

/* Ten generated traces per call (seeds first..first+9), each checked for
 * 1..8 workers against phase 1's dump of the same trace. */
static void generated_traces_match_phase1(int first, const char *dist)
{
    static const char *const payloads[] = {"0", "0-64", "100-2000", "0-5000", "7"};
    static const char *const ids[] = {"50", "300", "1000", "20", "500"};
    for (int s = first; s < first + 10; s++) {
        char seed[16];
        snprintf(seed, sizeof seed, "%d", s);
        char *gen[] = {"--messages", "3000",       "--ids",     (char *)ids[s % 5],
                       "--dist",     (char *)dist, "--payload", (char *)payloads[s % 5],
                       "--seed",     seed,         NULL};
        struct conf_oracle o;
        conf_oracle_msgen(&o, gen);
        char *args[] = {"--trace", o.trace, NULL};
        for (int n = 1; n <= 8; n++) {
            char workers[8];
            snprintf(workers, sizeof workers, "%d", n);
            char *extra[] = {"--workers", workers, SMALL_PIPE, NULL};
            conf_expect_dump(PHASE3, args, extra, o.dump);
        }
    }
}

Test(phase3, ten_uniform_generated_traces_match_phase1_for_1_to_8_workers)
{
    generated_traces_match_phase1(1, "uniform");
}

Test(phase3, ten_zipf_generated_traces_match_phase1_for_1_to_8_workers)
{
    generated_traces_match_phase1(11, "zipf:1.1");
}

Test(phase3, the_generator_gives_the_same_dump_as_phase1)
{
    char *gen[] = {"--messages", "200000", "--ids", "10000", "--payload", "0-100", NULL};
    char *workers[] = {"--workers", "3", SMALL_PIPE, NULL};
    conf_generator_matches_phase1(PHASE3, gen, workers);
}

Test(phase3, a_malformed_trace_exits_2_naming_file_and_line_and_writes_no_dump)
{
    char *workers[] = {"--workers", "3", NULL};
    conf_bad_traces(PHASE3, workers);
}

Test(phase3, payloads_up_to_16_MiB_cross_intact)
{
    char trace[512], ref[512], out[512];
    conf_path(trace, "big.trace");
    conf_path(ref, "ref.csv");
    conf_path(out, "out.csv");
    FILE *f = fopen(trace, "w");
    cr_assert_not_null(f);
    fprintf(f, "1 big START\n2 big DATA 16777216\n3 other START\n4 other DATA 1048576\n5 big DATA 300000\n"
               "6 small START\n7 small DATA 5\n8 other DATA 1048577\n9 big DATA 16777215\n");
    fclose(f);
    char *p1[] = {"--trace", trace, NULL};
    char *p3[] = {PHASE3, "--trace", trace, "--workers", "2", "--dump", out, "--json", NULL};
    struct proc_result r;
    conf_phase1_dump(p1, ref);
    conf_run(p3, NULL, 0, &r);
    cr_expect_eq(conf_json_u64(r.out, "corrupt"), 0);
    proc_result_free(&r);
    cr_assert(files_equal(ref, out), "dump differs from phase 1's");
}

Test(phase3, json_reports_per_worker_messages_that_add_up)
{
    char *argv[] = {PHASE3, "--messages", "100000", "--workers", "4", "--json", NULL};
    struct proc_result r;
    conf_run(argv, NULL, 0, &r);
    const char *last = strrchr(r.out, '{');
    cr_assert_not_null(last);
    last = strstr(r.out, "{\"phase\":3");
    cr_assert_not_null(last, "%s", r.out);
    cr_expect_eq(conf_json_u64(last, "workers"), 4);
    cr_expect_eq(conf_json_u64(last, "messages"), 100000);
    unsigned long long sum = 0;
    int rows = 0;
    for (const char *p = strstr(last, "\"per_worker\""); (p = strstr(p, "\"messages\":")); p++, rows++)
        sum += strtoull(p + 11, NULL, 10);
    cr_expect_eq(rows, 4);
    cr_expect_eq(sum, 100000);
    cr_expect(strstr(last, "\"busy_s\":"));
    proc_result_free(&r);
}

/* The command line is given code: this passes on the starter too. A run
 * with --recover is tests/recover's. */
Test(phase3, help_exits_0_and_bad_flags_exit_2)
{
    char *help[] = {PHASE3, "--help", NULL};
    char *bad_query[] = {PHASE3, "--query", "bad id!", NULL};
    char *zero[] = {PHASE3, "--workers", "0", NULL};
    struct proc_result r;
    conf_run(help, NULL, 0, &r);
    cr_expect(strstr(r.out, "--pipe-size"));
    cr_expect(strstr(r.out, "--recover"));
    proc_result_free(&r);
    conf_run(bad_query, NULL, 2, &r);
    proc_result_free(&r);
    conf_run(zero, NULL, 2, &r);
    proc_result_free(&r);
}

/* Sixteen workers on one CPU (--pin same): after a full turn a queue is
 * written only once it holds a batch worth a worker's wake-up (or has
 * waited its linger), so the voluntary context switches of the run stay
 * below one per 200 messages; writing every dirty queue at the end of
 * every turn (64 messages each) made one every 70 to 120 messages. */
Test(phase3, sixteen_workers_on_one_cpu_get_writes_worth_a_wake_up)
{
    char *argv[] = {PHASE3, "--messages", "1000000", "--ids", "10000", "--workers", "16", "--pin", "same", NULL};
    long switches = conf_voluntary_switches(argv, 50000);
    cr_expect_lt(switches, 1000000 / 200, "%ld voluntary context switches for 1 M messages", switches);
}

/* -------------------------------------------------------------- queries */

/* The row of id in a golden CSV, or NULL. */
static char *golden_row(const char *csv, const char *id)
{
    char *text = read_file(csv, NULL);
    cr_assert_not_null(text);
    size_t len = strlen(id);
    char *row = NULL;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
        if (strncmp(line, id, len) == 0 && line[len] == ',') {
            row = strdup(line);
            break;
        }
    free(text);
    return row;
}

Test(phase3, a_query_answers_the_final_state_or_not_found)
{
    char trace[512], csv[512];
    snprintf(trace, sizeof trace, "%s/lifecycle.trace", GOLDEN_DIR);
    snprintf(csv, sizeof csv, "%s/lifecycle.csv", GOLDEN_DIR);
    /* Two ids of the golden dump, on whatever workers they hash to. */
    char *text = read_file(csv, NULL);
    cr_assert_not_null(text);
    char first[80] = "", last[80] = "";
    int rows = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"), rows++) {
        if (rows == 0)
            continue;
        char *comma = strchr(line, ',');
        *comma = '\0';
        snprintf(rows == 1 ? first : last, sizeof first, "%s", line);
    }
    free(text);
    cr_assert(first[0] && last[0]);
    char *argv[] = {PHASE3,    "--trace",         trace,     "--workers", "3", "--query", first,
                    "--query", "no-such-machine", "--query", last,        NULL};
    struct proc_result r;
    conf_run(argv, NULL, 0, &r);
    const char *ids[] = {first, last};
    for (int i = 0; i < 2; i++) {
        char *row = golden_row(csv, ids[i]);
        char want[400];
        snprintf(want, sizeof want, "query %s: %s\n", ids[i], row);
        cr_expect(strstr(r.out, want), "want '%s' in:\n%s", want, r.out);
        free(row);
    }
    cr_expect(strstr(r.out, "query no-such-machine: not found\n"), "%s", r.out);
    proc_result_free(&r);
}

Test(phase3, queries_during_a_run_are_answered_and_timed)
{
    char *argv[] = {PHASE3, "--messages", "200000", "--rate", "400000", "--queries",
                    "2000", "--workers",  "2",      "--json", NULL};
    struct proc_result r;
    conf_run(argv, NULL, 0, &r);
    const char *j = strstr(r.out, "{\"phase\":3");
    cr_assert_not_null(j);
    unsigned long long n = conf_json_u64(j, "query_count");
    cr_expect_gt(n, 500, "only %llu queries answered", n);
    cr_expect_eq(conf_json_u64(j, "query_failed"), 0, "%s", r.err);
    proc_result_free(&r);
}

Test(phase3, a_query_to_a_stopped_worker_fails_at_its_deadline_and_the_run_goes_on)
{
    char *argv[] = {PHASE3, "--messages", "40000", "--rate", "20000", "--queries", "200", "--query-timeout",
                    "200",  "--workers",  "2",     "--json", NULL};
    struct proc p;
    cr_assert_eq(proc_start(argv, &p), 0);
    pid_t w0 = conf_worker_pid(p.pid, 0, 2);
    usleep(300000);
    kill(w0, SIGSTOP);
    usleep(800000);
    kill(w0, SIGCONT);
    struct proc_result r;
    cr_assert_eq(proc_wait(&p, 20000, &r), 0);
    cr_assert_not(r.timed_out);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect(strstr(r.err, "no answer within 200 ms"), "stderr: %s", r.err);
    const char *j = strstr(r.out, "{\"phase\":3");
    cr_assert_not_null(j);
    cr_expect_gt(conf_json_u64(j, "query_failed"), 0);
    cr_expect_gt(conf_json_u64(j, "query_count"), 0);
    cr_expect_eq(conf_json_u64(j, "messages"), 40000);
    proc_result_free(&r);
    conf_assert_clean_exit(p.pid);
}

/* ------------------------------------------------------------ lifecycle */

Test(phase3, a_stopped_worker_slows_the_source_and_main_memory_stays_bounded)
{
    /* Bound: 4 workers' 256 KiB output buffers, the query table and the
     * machine-id tables come to a few MiB; 48 MiB leaves room for the
     * allocator and libc yet would be blown within a second by a queue
     * that grew with the backlog (1 KiB messages at millions per second). */
    const long bound_kb = 48 * 1024;
    char *argv[] = {PHASE3, "--messages", "1500000", "--payload", "1000", "--workers", "2", "--json", NULL};
    struct proc p;
    cr_assert_eq(proc_start(argv, &p), 0);
    pid_t w1 = conf_worker_pid(p.pid, 1, 2);
    usleep(100000);
    kill(w1, SIGSTOP);
    long peak = 0;
    for (int i = 0; i < 20; i++) {
        usleep(100000);
        long kb = proc_rss_kb(p.pid);
        if (kb > peak)
            peak = kb;
    }
    /* While w1 is stopped, the source must be paused: the main process's
     * CPU time should barely move. */
    kill(w1, SIGCONT);
    struct proc_result r;
    cr_assert_eq(proc_wait(&p, 30000, &r), 0);
    cr_assert_not(r.timed_out);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect_gt(peak, 0);
    cr_expect_lt(peak, bound_kb, "main RSS reached %ld KiB while a worker was stopped", peak);
    const char *j = strstr(r.out, "{\"phase\":3");
    cr_assert_not_null(j);
    cr_expect_eq(conf_json_u64(j, "messages"), 1500000);
    cr_expect_eq(conf_json_u64(j, "corrupt"), 0);
    proc_result_free(&r);
    conf_assert_clean_exit(p.pid);
}

Test(phase3, sigint_drains_and_dumps_exactly_what_was_sent)
{
    char out[512];
    conf_path(out, "d.csv");
    char *argv[] = {PHASE3, "--rate", "50000", "--messages", "10000000", "--workers",
                    "3",    "--dump", out,     "--json",     NULL};
    struct proc p;
    cr_assert_eq(proc_start(argv, &p), 0);
    usleep(500000);
    kill(p.pid, SIGINT);
    struct proc_result r;
    cr_assert_eq(proc_wait(&p, 10000, &r), 0);
    cr_assert_not(r.timed_out);
    cr_assert_eq(r.status, 0, "%s", r.err);
    const char *j = strstr(r.out, "{\"phase\":3");
    cr_assert_not_null(j);
    unsigned long long routed = conf_json_u64(j, "messages");
    cr_assert_gt(routed, 0);
    cr_assert_lt(routed, 10000000);
    cr_assert_eq(conf_sum_msgs(out), routed);
    proc_result_free(&r);
    conf_assert_clean_exit(p.pid);
}

Test(phase3, a_second_sigint_exits_130_with_every_worker_reaped_and_no_dump)
{
    conf_second_sigint_exits_130(PHASE3, NULL);
}

Test(phase3, a_killed_worker_ends_the_run_with_exit_3_naming_it_and_no_dump)
{
    /* Paced at 100 000 messages/s, a worker receives about 100 KB before it
     * is killed: the default 1 MiB pipe never fills, whatever the load, so
     * the run always takes the same path (a full pipe is the next test's). */
    conf_killed_worker_exits_3(PHASE3, NULL);
}

/* An id that routing (SPEC §4: FNV-1a 64 modulo N) sends to worker 0 of 2. */
static void id_for_worker_0(char *buf, size_t len)
{
    for (int k = 0;; k++) {
        snprintf(buf, len, "held-%d", k);
        if (fnv1a64(buf, strlen(buf)) % 2 == 0)
            return;
    }
}

Test(phase3, a_worker_killed_while_the_source_is_blocked_is_still_noticed)
{
    /* The source is blocked on a stopped worker's full pipe; a kill of the
     * other worker must still end the run at once. Every message goes to
     * worker 0, paced, through one-page pipes: worker 0's pipe is full a
     * few milliseconds after it stops, and worker 1's pipe never holds a
     * byte, so every run takes the same path whatever the load (with a
     * generated workload at full speed, whether worker 1's pipe had been
     * full before depended on the scheduler). Worker 0 is stopped and
     * continued once before it is stopped for good: every run then goes
     * through a full pipe that drains, so a router that cannot resume
     * after a full pipe fails this test every time, not only when load
     * happened to fill the pipe before the kill. */
    char trace[512], out[512], id[32];
    id_for_worker_0(id, sizeof id);
    FILE *f = fopen(conf_path(trace, "worker0.trace"), "w");
    cr_assert_not_null(f);
    for (int seq = 1; seq <= 200000; seq++)
        fprintf(f, "%d %s HEARTBEAT\n", seq, id);
    cr_assert_eq(fclose(f), 0);
    char *dump = conf_path(out, "d.csv");
    char *argv[] = {PHASE3, "--trace",   trace, "--rate", "100000", "--pipe-size",
                    "4096", "--workers", "2",   "--dump", dump,     NULL};
    struct proc p;
    cr_assert_eq(proc_start(argv, &p), 0);
    pid_t w0 = conf_worker_pid(p.pid, 0, 2), w1 = conf_worker_pid(p.pid, 1, 2);
    proc_sleep_ms(200);
    kill(w0, SIGSTOP);
    proc_sleep_ms(300);
    kill(w0, SIGCONT);
    proc_sleep_ms(200);
    kill(w0, SIGSTOP);
    proc_sleep_ms(300);
    long long t0 = proc_now_ms();
    kill(w1, SIGKILL);
    struct proc_result r;
    cr_assert_eq(proc_wait(&p, 5000, &r), 0);
    long long took = proc_now_ms() - t0;
    cr_assert_not(r.timed_out, "the run did not end within 5 s; its stderr ended:\n%s", proc_tail(r.err));
    cr_assert_eq(r.status, 3, "exit %d, want 3; its stderr ended:\n%s", r.status, proc_tail(r.err));
    cr_expect_lt(took, 1000, "took %lld ms to exit", took);
    char want[128];
    snprintf(want, sizeof want, "worker 1 (pid %d): killed by SIGKILL", (int)w1);
    cr_expect(strstr(r.err, want), "want '%s' in: %s", want, proc_tail(r.err));
    cr_expect_neq(access(out, F_OK), 0, "a dump was written");
    proc_result_free(&r);
    conf_assert_clean_exit(p.pid);
}

Test(phase3, sigusr1_prints_the_status_table_without_stopping_the_run)
{
    char *argv[] = {PHASE3, "--rate", "20000", "--messages", "20000", "--workers", "2", NULL};
    struct proc p;
    cr_assert_eq(proc_start(argv, &p), 0);
    conf_worker_pid(p.pid, 0, 2);
    usleep(300000);
    kill(p.pid, SIGUSR1);
    struct proc_result r;
    cr_assert_eq(proc_wait(&p, 10000, &r), 0);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect(strstr(r.err, "phase3 status:"), "%s", r.err);
    cr_expect(strstr(r.out, "20000 messages"), "%s", r.out);
    proc_result_free(&r);
    conf_assert_clean_exit(p.pid);
}

Test(phase3, sigusr1_to_every_process_of_the_run_kills_no_worker)
{
    /* `pkill -USR1 phase3` signals the workers too (they share the name):
     * they must ignore it, not die of its default action. */
    char *argv[] = {PHASE3, "--rate", "20000", "--messages", "20000", "--workers", "2", NULL};
    struct proc p;
    cr_assert_eq(proc_start(argv, &p), 0);
    conf_worker_pid(p.pid, 1, 2);
    usleep(300000);
    kill(-p.pid, SIGUSR1); /* the whole process group */
    struct proc_result r;
    cr_assert_eq(proc_wait(&p, 10000, &r), 0);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect(strstr(r.err, "phase3 status:"), "%s", r.err);
    cr_expect(strstr(r.out, "20000 messages"), "%s", r.out);
    proc_result_free(&r);
    conf_assert_clean_exit(p.pid);
}

Test(phase3, status_every_prints_the_table_periodically)
{
    char *argv[] = {PHASE3, "--rate", "20000", "--messages", "10000", "--workers", "2", "--status-every", "0.1", NULL};
    struct proc_result r;
    conf_run(argv, NULL, 0, &r);
    int tables = 0;
    for (const char *p = r.err; (p = strstr(p, "phase3 status:")); p++)
        tables++;
    cr_expect_geq(tables, 3, "%d status tables in 0.5 s at 0.1 s intervals: %s", tables, r.err);
    cr_expect(strstr(r.err, "worker") && strstr(r.err, "handled"), "%s", r.err);
    proc_result_free(&r);
}

Test(phase3, sigterm_drains_like_sigint)
{
    char out[512];
    conf_path(out, "d.csv");
    char *argv[] = {PHASE3, "--rate", "50000", "--messages", "10000000", "--workers",
                    "2",    "--dump", out,     "--json",     NULL};
    struct proc p;
    cr_assert_eq(proc_start(argv, &p), 0);
    conf_worker_pid(p.pid, 0, 2);
    usleep(300000);
    kill(p.pid, SIGTERM);
    struct proc_result r;
    cr_assert_eq(proc_wait(&p, 10000, &r), 0);
    cr_assert_not(r.timed_out);
    cr_assert_eq(r.status, 0, "%s", r.err);
    const char *j = strstr(r.out, "{\"phase\":3");
    cr_assert_not_null(j);
    cr_expect_eq(conf_sum_msgs(out), conf_json_u64(j, "messages"));
    proc_result_free(&r);
    conf_assert_clean_exit(p.pid);
}

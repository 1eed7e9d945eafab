/* test_phase5_recover.c - phase 5 --recover (SPEC §8, §10; recover.h,
 * phases/phase5/respawn.c): the scenarios phases 3 and 4 are put through
 * (recover_runs.h: random kills with queries, a FIFO on stdin with large
 * payloads, kills during the drain, a poison message), then phase 5's own:
 * a stopped worker is killed at its lease and replaced, and the --query
 * answers owed by a worker killed in the drain still come. --remote
 * --recover: test_phase5_remote_recover.c. Every run leaves no process and
 * nothing in /dev/shm. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conformance.h"
#include "proc.h"
#include "recover_runs.h"

#define PHASE5 BIN_DIR "/phase5"

TestSuite(phase5_recover, .timeout = 150, .init = conf_suite_init, .fini = conf_suite_fini);

Test(phase5_recover, survives_20_random_kills_of_3_workers_with_queries_and_gives_phase1s_dump)
{
    recover_twenty_kills_from_the_generator(PHASE5);
}

Test(phase5_recover, rebuilds_workers_fed_from_a_fifo_on_stdin_with_payloads_up_to_2_mib)
{
    recover_kills_with_a_fifo_on_stdin(PHASE5, NULL, 0);
}

/* Phases 3 and 4's drain scenario. Here a kill pauses the source until the
 * replay is out, so some kills land before the source ends: the test below
 * waits for the drain before it kills. */
Test(phase5_recover, rebuilds_slow_workers_killed_around_the_end_of_the_source)
{
    recover_kills_during_the_drain(PHASE5);
}

Test(phase5_recover, gives_up_on_a_poison_message_naming_its_line_with_exit_3_and_no_dump)
{
    recover_a_poison_message_ends_the_run(PHASE5);
}

/* A stopped worker says nothing: at its lease the coordinator sees it
 * stopped in /proc, kills it and restarts it, and the run ends with phase
 * 1's dump. */
Test(phase5_recover, a_stopped_worker_is_killed_at_its_lease_and_replaced_and_the_dump_is_exact)
{
    char d1[CONF_PATH_MAX], dn[CONF_PATH_MAX];
    conf_path(d1, "p1.csv");
    conf_path(dn, "pn.csv");
    char *gen[] = {"--messages", "300000", "--ids", "1000", "--seed", "4", NULL};
    conf_phase1_dump(gen, d1);
    char *argv[] = {PHASE5,   "--messages", "300000", "--ids",     "1000",   "--seed", "4", "--rate",
                    "150000", "--workers",  "3",      "--recover", "--dump", dn,       NULL};
    struct proc p;
    cr_assert_eq(proc_start(argv, &p), 0);
    pid_t w1 = conf_worker_pid(p.pid, 1, 3);
    proc_sleep_ms(500);
    cr_assert_eq(kill(w1, SIGSTOP), 0);
    struct proc_result r;
    cr_assert_eq(proc_wait(&p, RECOVER_RUN_MS, &r), 0);
    cr_assert_not(r.timed_out);
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, proc_tail(r.err));
    char want[160];
    snprintf(want, sizeof want, "worker 1 (pid %d): silent for", (int)w1);
    cr_expect(strstr(r.err, want), "want '%s' in: %s", want, proc_tail(r.err));
    cr_expect(strstr(r.err, "(the process is stopped); killing it, --recover restarts it"), "%s", proc_tail(r.err));
    cr_expect(strstr(r.err, "killed by SIGKILL; restarting it from its checkpoint"), "%s", proc_tail(r.err));
    cr_expect(files_equal(d1, dn), "the dump differs from phase 1's");
    proc_result_free(&r);
    conf_assert_clean_exit(p.pid);
}

/* Waits until the file at path holds text; false after timeout_ms. */
static bool wait_for_text(const char *path, const char *text, int timeout_ms)
{
    for (long long end = proc_now_ms() + timeout_ms; proc_now_ms() < end; proc_sleep_ms(5)) {
        char *s = read_file(path, NULL);
        bool found = s && strstr(s, text);
        free(s);
        if (found)
            return true;
    }
    return false;
}

/* Workers killed once the drain has begun (the coordinator's debug log
 * says so), after their --query list and COLLECT were sent: the answers are
 * asked again after the replay, and each comes once, the id's row of phase
 * 1's dump. Slow workers (--work-ns) keep the drain long; so is the
 * queries' deadline. */
Test(phase5_recover, the_query_answers_of_workers_killed_in_the_drain_still_come_once_as_phase1s)
{
    char trace[CONF_PATH_MAX], d1[CONF_PATH_MAX], dn[CONF_PATH_MAX];
    conf_path(trace, "t.trace");
    conf_path(d1, "p1.csv");
    conf_path(dn, "pn.csv");
    char *gen[] = {"--messages", "60000", "--ids", "30", "--seed", "8", NULL};
    conf_msgen(trace, gen);
    char *p1[] = {"--trace", trace, NULL};
    conf_phase1_dump(p1, d1);
    char *ids[] = {"id-0", "id-1", "id-2", "id-3", "id-4", "id-5"};
    char *argv[] = {
        PHASE5,    "--trace", trace,     "--work-ns", "30000",  "--workers", "3",    "--recover", "--query-timeout",
        "30000",   "--query", ids[0],    "--query",   ids[1],   "--query",   ids[2], "--query",   ids[3],
        "--query", ids[4],    "--query", ids[5],      "--dump", dn,          NULL};
    cr_assert_eq(setenv("MSGROUTE_LOG", "debug", 1), 0);
    struct proc p;
    cr_assert_eq(proc_start(argv, &p), 0);
    cr_assert(wait_for_text(p.err_path, "draining after", 30000), "no drain");
    int killed = recover_kill_randomly(p.pid, 3, 2, 30, 120, (unsigned)p.pid);
    struct proc_result r;
    cr_assert_eq(proc_wait(&p, RECOVER_RUN_MS, &r), 0);
    cr_assert_not(r.timed_out);
    cr_assert_eq(r.status, 0, "exit %d after %d kills: %s", r.status, killed, proc_tail(r.err));
    cr_expect_eq(killed, 2, "only %d kills landed", killed);
    const char *drain = strstr(r.err, "draining after"), *kill1 = strstr(r.err, "killed by SIGKILL; restarting");
    cr_expect(drain && kill1 && drain < kill1, "the kills did not land in the drain: %s", proc_tail(r.err));
    char *dump = read_file(d1, NULL);
    cr_assert(dump);
    for (size_t k = 0; k < sizeof ids / sizeof ids[0]; k++) {
        char label[32], row[32];
        snprintf(label, sizeof label, "query %s: ", ids[k]);
        snprintf(row, sizeof row, "\n%s,", ids[k]);
        const char *got = strstr(r.out, label), *want = strstr(dump, row);
        cr_assert(got && want, "no answer for %s: %s / %s", ids[k], r.out, proc_tail(r.err));
        got += strlen(label);
        want += 1;
        size_t len = strcspn(want, "\n");
        cr_expect(strcspn(got, "\n") == len && strncmp(got, want, len) == 0, "%s: got '%.*s', want '%.*s'", ids[k],
                  (int)strcspn(got, "\n"), got, (int)len, want);
        cr_expect_null(strstr(got, label), "%s answered twice", ids[k]);
    }
    free(dump);
    cr_expect(files_equal(d1, dn), "the dump after %d kills differs from phase 1's", killed);
    proc_result_free(&r);
    conf_assert_clean_exit(p.pid);
}

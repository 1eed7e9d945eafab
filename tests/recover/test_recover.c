/* test_recover.c - --recover in phases 3 and 4 (SPEC §8, recover.h): workers
 * SIGKILLed at random instants, whatever the input (the generator, a trace
 * file, a trace on stdin from a FIFO that cannot be read twice), during
 * queries, while large payloads cross in fragments and during the drain: the
 * run ends 0 with phase 1's dump of the same input, byte for byte. A worker
 * made to die on one message (MSGROUTE_TEST_POISON_SEQ) twice in a row ends
 * the run with exit 3, that message's trace line named, and no dump. Every
 * run is checked for leftovers: no process of its group (zombies included)
 * and nothing new in /dev/shm. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conformance.h"
#include "proc.h"

#define PHASE3 BIN_DIR "/phase3"
#define PHASE4 BIN_DIR "/phase4"
#define RUN_MS 60000

TestSuite(recover, .timeout = 150, .init = conf_suite_init, .fini = conf_suite_fini);

static bool main_ended(pid_t main_pid)
{
    siginfo_t si = {0};
    return waitid(P_PID, (id_t)main_pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == main_pid;
}

/* SIGKILLs `kills` random workers of main_pid (n of them), one every
 * min_ms..max_ms, each once all n are up (a restarted one included), until
 * the run ends. Returns how many were killed. */
static int kill_randomly(pid_t main_pid, int n, int kills, int min_ms, int max_ms, unsigned seed)
{
    srand(seed);
    int done = 0;
    while (done < kills && !main_ended(main_pid)) {
        proc_sleep_ms(min_ms + rand() % (max_ms - min_ms + 1));
        pid_t pids[64];
        if (proc_children(main_pid, pids, 64) != n)
            continue; /* one is being restarted: wait for it */
        if (kill(pids[rand() % n], SIGKILL) == 0)
            done++;
    }
    return done;
}

/* Runs argv (stdin from stdin_path), kills workers as kill_randomly(), and
 * checks exit 0, at least min_kills deaths, a restart on stderr, dump equal
 * to want and a clean end. */
static void run_with_kills(char *const argv[], const char *stdin_path, int n, int kills, int min_kills, int min_ms,
                           int max_ms, const char *dump, const char *want)
{
    struct proc p;
    cr_assert_eq(proc_start_in(argv, stdin_path, &p), 0);
    int killed = kill_randomly(p.pid, n, kills, min_ms, max_ms, (unsigned)p.pid);
    struct proc_result r;
    cr_assert_eq(proc_wait(&p, RUN_MS, &r), 0);
    cr_assert_not(r.timed_out, "the run hung after %d kills", killed);
    cr_assert_eq(r.status, 0, "exit %d after %d kills: %s", r.status, killed, r.err);
    cr_expect_geq(killed, min_kills, "only %d kills landed before the run ended", killed);
    cr_expect(strstr(r.err, "killed by SIGKILL; restarting it from its checkpoint"), "%s", r.err);
    cr_expect(files_equal(want, dump), "the dump after %d kills differs from phase 1's", killed);
    proc_result_free(&r);
    conf_assert_clean_exit(p.pid);
}

/* 20 kills of random workers among 3, from the generator, with queries. */
static void twenty_kills_from_the_generator(const char *bin)
{
    char d1[CONF_PATH_MAX], dn[CONF_PATH_MAX];
    conf_path(d1, "p1.csv");
    conf_path(dn, "pn.csv");
    char *gen[] = {"--messages", "1500000", "--ids", "2000", "--payload", "0-200", "--seed", "11", NULL};
    conf_phase1_dump(gen, d1);
    char *argv[] = {(char *)bin, "--messages", "1500000", "--ids",  "2000",      "--payload", "0-200",
                    "--seed",    "11",         "--rate",  "400000", "--workers", "3",         "--queries",
                    "2000",      "--recover",  "--dump",  dn,       NULL};
    run_with_kills(argv, NULL, 3, 20, 20, 40, 100, dn, d1);
}

Test(recover, phase3_survives_20_random_kills_of_3_workers_with_queries_and_gives_phase1s_dump)
{
    twenty_kills_from_the_generator(PHASE3);
}

Test(recover, phase4_survives_20_random_kills_of_3_workers_with_queries_and_gives_phase1s_dump)
{
    twenty_kills_from_the_generator(PHASE4);
}

/* Copies src into the FIFO fifo from a child process; returns its pid. */
static pid_t feed_fifo(const char *src, const char *fifo)
{
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int in = open(src, O_RDONLY), out = open(fifo, O_WRONLY);
        if (in < 0 || out < 0)
            _exit(1);
        char buf[65536];
        ssize_t n;
        while ((n = read(in, buf, sizeof buf)) > 0)
            if (write(out, buf, (size_t)n) != n)
                _exit(1);
        _exit(n < 0);
    }
    return pid;
}

/* A trace on stdin from a FIFO (read once, never again), payloads up to
 * 2 MiB (fragments in phase 4's 64 KiB rings, streamed by phase 3's queue). */
static void kills_with_a_fifo_on_stdin(const char *bin, char *const extra[], size_t nextra)
{
    char trace[CONF_PATH_MAX], fifo[CONF_PATH_MAX], d1[CONF_PATH_MAX], dn[CONF_PATH_MAX];
    conf_path(trace, "t.trace");
    conf_path(fifo, "t.fifo");
    conf_path(d1, "p1.csv");
    conf_path(dn, "pn.csv");
    char *gen[] = {"--messages", "4000", "--ids", "60", "--payload", "0-2000000", "--seed", "5", NULL};
    conf_msgen(trace, gen);
    char *p1[] = {"--trace", trace, NULL};
    conf_phase1_dump(p1, d1);
    cr_assert_eq(mkfifo(fifo, 0600), 0, "mkfifo: %s", strerror(errno));
    pid_t feeder = feed_fifo(trace, fifo);
    char *argv[16] = {(char *)bin, "--trace", "-", "--workers", "3", "--queries", "500", "--recover", "--dump", dn};
    size_t k = 10;
    for (size_t i = 0; i < nextra; i++)
        argv[k++] = extra[i];
    argv[k] = NULL;
    run_with_kills(argv, fifo, 3, 8, 4, 30, 80, dn, d1);
    /* The writer has ended: the run read the FIFO to its end. The suite
     * reaps orphans and may have reaped it already. */
    int st;
    if (waitpid(feeder, &st, 0) == feeder)
        cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the FIFO's writer failed");
}

Test(recover, phase3_rebuilds_workers_fed_from_a_fifo_on_stdin_with_fragmented_payloads)
{
    char *extra[] = {"--pipe-size", "65536"};
    kills_with_a_fifo_on_stdin(PHASE3, extra, 2);
}

Test(recover, phase4_rebuilds_workers_fed_from_a_fifo_on_stdin_with_fragmented_payloads)
{
    char *extra[] = {"--ring-kib", "64"};
    kills_with_a_fifo_on_stdin(PHASE4, extra, 2);
}

/* Slow workers (--work-ns) and a source that is over at once: the queues
 * hold most of the run, so every kill lands in the drain. */
static void kills_during_the_drain(const char *bin)
{
    char trace[CONF_PATH_MAX], d1[CONF_PATH_MAX], dn[CONF_PATH_MAX];
    conf_path(trace, "t.trace");
    conf_path(d1, "p1.csv");
    conf_path(dn, "pn.csv");
    char *gen[] = {"--messages", "60000", "--ids", "500", "--seed", "9", NULL};
    conf_msgen(trace, gen);
    char *p1[] = {"--trace", trace, NULL};
    conf_phase1_dump(p1, d1);
    char *argv[] = {(char *)bin, "--trace",   trace,    "--work-ns", "30000", "--workers",
                    "3",         "--recover", "--dump", dn,          NULL};
    run_with_kills(argv, NULL, 3, 4, 3, 150, 250, dn, d1);
}

Test(recover, phase3_rebuilds_workers_killed_during_the_drain)
{
    kills_during_the_drain(PHASE3);
}

Test(recover, phase4_rebuilds_workers_killed_during_the_drain)
{
    kills_during_the_drain(PHASE4);
}

/* Runs bin on trace with --recover and seq poisoned: exit 3, `trace:line
 * (seq SEQ, id a, DATA) is a poison message` said, the first death
 * restarted, no dump, no process left. */
static void expect_poison_named(const char *bin, const char *trace, int line, int seq)
{
    char dn[CONF_PATH_MAX], seqs[16];
    conf_path(dn, "pn.csv");
    snprintf(seqs, sizeof seqs, "%d", seq);
    cr_assert_eq(setenv("MSGROUTE_TEST_POISON_SEQ", seqs, 1), 0);
    char *argv[] = {(char *)bin, "--trace", (char *)trace, "--workers", "3", "--recover", "--dump", dn, NULL};
    struct proc p;
    cr_assert_eq(proc_start(argv, &p), 0);
    struct proc_result r;
    cr_assert_eq(proc_wait(&p, RUN_MS, &r), 0);
    unsetenv("MSGROUTE_TEST_POISON_SEQ");
    cr_assert_not(r.timed_out);
    cr_expect_eq(r.status, 3, "exit %d: %s", r.status, r.err);
    char want[CONF_PATH_MAX + 64];
    snprintf(want, sizeof want, "%s:%d (seq %d, id a, DATA) is a poison message", trace, line, seq);
    cr_expect(strstr(r.err, want), "want '%s' in: %s", want, r.err);
    cr_expect(strstr(r.err, "restarting it from its checkpoint"), "the first death is restarted: %s", r.err);
    cr_expect_neq(access(dn, F_OK), 0, "a dump was written");
    proc_result_free(&r);
    conf_assert_clean_exit(p.pid);
}

/* A worker that dies on the same message after its restart: exit 3, the
 * message's trace line named, no dump. Line 6 of the trace holds seq 40. */
static void a_poison_message_ends_the_run(const char *bin)
{
    char trace[CONF_PATH_MAX];
    conf_path(trace, "poison.trace");
    FILE *f = fopen(trace, "w");
    cr_assert(f);
    fprintf(f, "# a poison message at line 6\n1 a START\n2 b START\n3 a DATA 10\n\n40 a DATA 7\n41 b STOP\n");
    for (int i = 0; i < 2000; i++)
        fprintf(f, "%d id%d HEARTBEAT\n", 100 + i, i % 50);
    cr_assert_eq(fclose(f), 0);
    expect_poison_named(bin, trace, 6, 40);
}

Test(recover, phase3_gives_up_on_a_poison_message_naming_its_line_with_exit_3_and_no_dump)
{
    a_poison_message_ends_the_run(PHASE3);
}

Test(recover, phase4_gives_up_on_a_poison_message_naming_its_line_with_exit_3_and_no_dump)
{
    a_poison_message_ends_the_run(PHASE4);
}

/* The whole source fits one turn of phase 3's pump, so the drain closes
 * worker 1's pipe while it dies on its first message: its restart must wait
 * for that close to complete (a handle initialised again while its close is
 * under way aborts in libuv). The race is won about one run in seven on a
 * quiet machine; forty runs make it show. */
Test(recover, phase3_restarts_a_worker_that_dies_while_the_drain_closes_its_pipe, .timeout = 240)
{
    char trace[CONF_PATH_MAX];
    conf_path(trace, "short.trace");
    FILE *f = fopen(trace, "w");
    cr_assert(f);
    fprintf(f, "1 a START\n2 a DATA 7\n");
    for (int i = 0; i < 900; i++)
        fprintf(f, "%d id%d HEARTBEAT\n", 100 + i, i % 50);
    cr_assert_eq(fclose(f), 0);
    for (int run = 0; run < 40; run++)
        expect_poison_named(PHASE3, trace, 2, 2);
}

/* recover_runs.c - the --recover scenarios of recover_runs.h. */
#include "recover_runs.h"

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

static bool main_ended(pid_t main_pid)
{
    siginfo_t si = {0};
    return waitid(P_PID, (id_t)main_pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == main_pid;
}

int recover_kill_randomly(pid_t main_pid, int n, int kills, int min_ms, int max_ms, unsigned seed)
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

void recover_run_with_kills(char *const argv[], const char *stdin_path, int n, int kills, int min_kills, int min_ms,
                            int max_ms, const char *dump, const char *want)
{
    struct proc p;
    cr_assert_eq(proc_start_in(argv, stdin_path, &p), 0);
    int killed = recover_kill_randomly(p.pid, n, kills, min_ms, max_ms, (unsigned)p.pid);
    struct proc_result r;
    cr_assert_eq(proc_wait(&p, RECOVER_RUN_MS, &r), 0);
    cr_assert_not(r.timed_out, "the run hung after %d kills", killed);
    cr_assert_eq(r.status, 0, "exit %d after %d kills: %s", r.status, killed, r.err);
    cr_expect_geq(killed, min_kills, "only %d kills landed before the run ended", killed);
    cr_expect(strstr(r.err, "killed by SIGKILL; restarting it from its checkpoint"), "%s", r.err);
    cr_expect(files_equal(want, dump), "the dump after %d kills differs from phase 1's", killed);
    proc_result_free(&r);
    conf_assert_clean_exit(p.pid);
}

void recover_twenty_kills_from_the_generator(const char *bin)
{
    char d1[CONF_PATH_MAX], dn[CONF_PATH_MAX];
    conf_path(d1, "p1.csv");
    conf_path(dn, "pn.csv");
    char *gen[] = {"--messages", "1500000", "--ids", "2000", "--payload", "0-200", "--seed", "11", NULL};
    conf_phase1_dump(gen, d1);
    char *argv[] = {(char *)bin, "--messages", "1500000", "--ids",  "2000",      "--payload", "0-200",
                    "--seed",    "11",         "--rate",  "400000", "--workers", "3",         "--queries",
                    "2000",      "--recover",  "--dump",  dn,       NULL};
    recover_run_with_kills(argv, NULL, 3, 20, 20, 40, 100, dn, d1);
}

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

void recover_kills_with_a_fifo_on_stdin(const char *bin, char *const extra[], size_t nextra)
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
    recover_run_with_kills(argv, fifo, 3, 8, 4, 30, 80, dn, d1);
    /* The writer has ended: the run read the FIFO to its end. The suite
     * reaps orphans and may have reaped it already. */
    int st;
    if (waitpid(feeder, &st, 0) == feeder)
        cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the FIFO's writer failed");
}

void recover_kills_during_the_drain(const char *bin)
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
    recover_run_with_kills(argv, NULL, 3, 4, 3, 150, 250, dn, d1);
}

void recover_expect_poison_named(const char *bin, const char *trace, int line, int seq)
{
    char dn[CONF_PATH_MAX], seqs[16];
    conf_path(dn, "pn.csv");
    snprintf(seqs, sizeof seqs, "%d", seq);
    cr_assert_eq(setenv("MSGROUTE_TEST_POISON_SEQ", seqs, 1), 0);
    char *argv[] = {(char *)bin, "--trace", (char *)trace, "--workers", "3", "--recover", "--dump", dn, NULL};
    struct proc p;
    cr_assert_eq(proc_start(argv, &p), 0);
    struct proc_result r;
    cr_assert_eq(proc_wait(&p, RECOVER_RUN_MS, &r), 0);
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

void recover_a_poison_message_ends_the_run(const char *bin)
{
    char trace[CONF_PATH_MAX];
    conf_path(trace, "poison.trace");
    FILE *f = fopen(trace, "w");
    cr_assert(f);
    fprintf(f, "# a poison message at line 6\n1 a START\n2 b START\n3 a DATA 10\n\n40 a DATA 7\n41 b STOP\n");
    for (int i = 0; i < 2000; i++)
        fprintf(f, "%d id%d HEARTBEAT\n", 100 + i, i % 50);
    cr_assert_eq(fclose(f), 0);
    recover_expect_poison_named(bin, trace, 6, 40);
}

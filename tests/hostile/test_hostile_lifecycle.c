/* test_lifecycle.c - SPEC §8's promises under attack, on every built phase:
 * signals at every instant (start-up, the run, the dump, the last
 * instruction), output that never harms (devices, FIFOs, links, a full
 * disk), closed standard streams and input that never ends.
 *
 * The signal tests send a signal every millisecond until the process ends,
 * so the last instants of a run (handles closing, the dump) are hit on
 * every run, not by luck; make faults runs the longer versions. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hostile.h"
#include "proc.h"

#define DEADLINE_MS 30000

static int nphases;
static struct hostile_phase phases[5];

static void find_phases(void)
{
    nphases = hostile_phases(phases);
    cr_assert_geq(nphases, 1, "no phase program in " BIN_DIR);
}

TestSuite(lifecycle, .init = find_phases, .timeout = 240);

/* argv for phase ph: the program, --workers 2 for phases 3-5, then args. */
static void phase_argv(const struct hostile_phase *ph, const char *const *args, char **argv, size_t max)
{
    size_t n = 0;
    argv[n++] = (char *)ph->path;
    if (ph->has_workers) {
        argv[n++] = "--workers";
        argv[n++] = "2";
    }
    for (size_t i = 0; args[i] && n + 1 < max; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
}

/* Sends sig to pid every millisecond, from delay_ms after start until it
 * ends; returns its wait status. Gives up (SIGKILL) at the deadline. */
static int flood_until_exit(pid_t pid, const char *program, int sig, long delay_ms)
{
    long long deadline = proc_now_ms() + DEADLINE_MS;
    proc_wait_started(pid, program, DEADLINE_MS);
    proc_sleep_ms(delay_ms);
    int st;
    for (;;) {
        pid_t got = waitpid(pid, &st, WNOHANG);
        if (got == pid)
            return st;
        cr_assert_eq(got, 0, "waitpid: %s", strerror(errno));
        if (proc_now_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            cr_assert_fail("still running after %d ms of signals", DEADLINE_MS);
        }
        kill(pid, sig);
        proc_sleep_ms(1);
    }
}

static pid_t spawn(char *const argv[], const char *out_path)
{
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (null < 0 || out < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(out, 2) < 0)
            _exit(126);
        setpgid(0, 0);
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

/* True when dir holds a file whose name has ".tmp" in it (a dump's
 * temporary file is "NAME.tmpXXXXXX"). */
static bool has_temp_file(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert(d, "%s: %s", dir, strerror(errno));
    bool found = false;
    for (struct dirent *e; !found && (e = readdir(d));)
        found = strstr(e->d_name, ".tmp") != NULL;
    closedir(d);
    return found;
}

static void expect_no_temp_files(const char *dir)
{
    cr_expect(!has_temp_file(dir), "a temporary file was left in %s", dir);
}

/* A fresh folder with the paths of a run's stderr and dump in it. */
struct scratch {
    char *dir;
    char err[600], dump[600];
};

static struct scratch scratch_open(void)
{
    struct scratch sc = {.dir = temp_dir()};
    snprintf(sc.err, sizeof sc.err, "%s/err", sc.dir);
    snprintf(sc.dump, sizeof sc.dump, "%s/d.csv", sc.dir);
    return sc;
}

static void scratch_close(struct scratch *sc)
{
    remove_dir(sc->dir);
}

/* Starts ph with args, its old dump removed, stderr to sc->err, and waits
 * until its handlers are installed. */
static pid_t start_phase(const struct hostile_phase *ph, const char *const *args, const struct scratch *sc)
{
    char *argv[HOSTILE_MAX_ARGS];
    phase_argv(ph, args, argv, HOSTILE_MAX_ARGS);
    unlink(sc->dump);
    pid_t pid = spawn(argv, sc->err);
    proc_wait_started(pid, argv[0], DEADLINE_MS);
    return pid;
}

Test(lifecycle, a_status_request_every_millisecond_never_ends_a_run_in_any_phase)
{
    struct scratch sc = scratch_open();
    const char *args[] = {"--messages", "200000", "--ids", "100000", "--dump", sc.dump, NULL};
    for (int k = 0; k < nphases; k++)
        for (int run = 0; run < 4; run++) {
            char *argv[HOSTILE_MAX_ARGS];
            phase_argv(&phases[k], args, argv, HOSTILE_MAX_ARGS);
            int st = flood_until_exit(spawn(argv, sc.err), argv[0], SIGUSR1, 10 * run);
            cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "phase%d run %d: %s %d under SIGUSR1 every ms",
                      phases[k].n, run, WIFSIGNALED(st) ? "killed by signal" : "exit",
                      WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
            expect_no_temp_files(sc.dir);
        }
    scratch_close(&sc);
}

Test(lifecycle, a_stop_request_every_millisecond_ends_every_phase_by_its_rules_never_by_the_signal)
{
    struct scratch sc = scratch_open();
    const char *args[] = {"--messages", "200000", "--ids", "100000", "--dump", sc.dump, NULL};
    for (int k = 0; k < nphases; k++)
        for (int run = 0; run < 4; run++) {
            char *argv[HOSTILE_MAX_ARGS];
            phase_argv(&phases[k], args, argv, HOSTILE_MAX_ARGS);
            unlink(sc.dump);
            int st = flood_until_exit(spawn(argv, sc.err), argv[0], run % 2 ? SIGTERM : SIGINT, 3 * run);
            cr_expect(WIFEXITED(st), "phase%d run %d: killed by signal %d", phases[k].n, run,
                      WIFSIGNALED(st) ? WTERMSIG(st) : 0);
            int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
            cr_expect(code == 0 || code == 130, "phase%d run %d: exit %d (want 0 after one, 130 after two)",
                      phases[k].n, run, code);
            cr_expect(code != 130 || access(sc.dump, F_OK) < 0, "phase%d: exit 130 but a dump was written",
                      phases[k].n);
            expect_no_temp_files(sc.dir);
        }
    scratch_close(&sc);
}

Test(lifecycle, a_stop_request_while_the_ids_are_built_drains_an_empty_run_and_dumps_it)
{
    struct scratch sc = scratch_open();
    /* Millions of ids take a good part of a second to intern: the stop
     * lands in the start-up. */
    const char *args[] = {"--messages", "1000", "--ids", "4000000", "--dump", sc.dump, NULL};
    for (int k = 0; k < nphases; k++) {
        pid_t pid = start_phase(&phases[k], args, &sc);
        proc_sleep_ms(20);
        kill(pid, SIGINT);
        int st;
        waitpid(pid, &st, 0);
        char *text = read_file(sc.err, NULL);
        cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "phase%d: status %#x: %s", phases[k].n, st, text);
        if (text && strstr(text, "during start-up")) {
            size_t len = 0;
            char *csv = read_file(sc.dump, &len);
            cr_expect(csv && strchr(csv, '\n') == csv + len - 1, "phase%d: the dump of an empty run is its header",
                      phases[k].n);
            free(csv);
        }
        free(text);
    }
    scratch_close(&sc);
}

Test(lifecycle, a_second_stop_request_while_the_dump_is_written_leaves_no_temporary_file)
{
    struct scratch sc = scratch_open();
    const char *args[] = {"--messages", "400000", "--ids", "400000", "--dump", sc.dump, NULL};
    for (int k = 0; k < nphases; k++) {
        pid_t pid = start_phase(&phases[k], args, &sc);
        /* Wait for the temporary file, then ask twice. */
        long long deadline = proc_now_ms() + DEADLINE_MS;
        int st = 0;
        bool ended = false;
        while (!ended && !has_temp_file(sc.dir) && proc_now_ms() < deadline)
            ended = waitpid(pid, &st, WNOHANG) == pid;
        if (!ended) {
            kill(pid, SIGINT);
            kill(pid, SIGINT);
            waitpid(pid, &st, 0);
        }
        cr_expect(WIFEXITED(st), "phase%d: killed by signal %d", phases[k].n, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
        int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        cr_expect(code == 130 || code == 0, "phase%d: exit %d", phases[k].n, code);
        cr_expect(code != 130 || access(sc.dump, F_OK) < 0, "phase%d: exit 130 but a dump was written", phases[k].n);
        expect_no_temp_files(sc.dir);
    }
    scratch_close(&sc);
}

/* Runs ph on a small generated workload with dump_to as --dump and the
 * given extra arguments; returns the result. */
static void run_small(const struct hostile_phase *ph, const char *dump_to, const char *extra, struct proc_result *r)
{
    const char *args[] = {"--messages", "2000", "--ids", "50", "--dump", dump_to, extra, NULL};
    char *argv[HOSTILE_MAX_ARGS];
    phase_argv(ph, args, argv, HOSTILE_MAX_ARGS);
    cr_assert_eq(proc_run(argv, NULL, DEADLINE_MS, r), 0);
}

Test(lifecycle, a_dump_to_a_fifo_is_written_in_place_and_the_fifo_stays_a_fifo)
{
    char *dir = temp_dir();
    char fifo[600], got[600];
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    snprintf(got, sizeof got, "%s/got", dir);
    cr_assert_eq(mkfifo(fifo, 0644), 0);
    for (int k = 0; k < nphases; k++) {
        pid_t reader = fork();
        cr_assert_geq(reader, 0);
        if (reader == 0) {
            char cmd[1300];
            snprintf(cmd, sizeof cmd, "cat '%s' > '%s'", fifo, got);
            _exit(system(cmd) == 0 ? 0 : 1);
        }
        struct proc_result r;
        run_small(&phases[k], fifo, NULL, &r);
        int st;
        waitpid(reader, &st, 0);
        cr_expect_eq(r.status, 0, "phase%d: %s", phases[k].n, r.err);
        struct stat sb;
        cr_expect(stat(fifo, &sb) == 0 && S_ISFIFO(sb.st_mode), "phase%d replaced the FIFO", phases[k].n);
        char *csv = read_file(got, NULL);
        cr_expect(csv && strncmp(csv, "worker_id,state,", 16) == 0, "phase%d: the reader got no dump", phases[k].n);
        free(csv);
        proc_result_free(&r);
        expect_no_temp_files(dir);
    }
    remove_dir(dir);
}

Test(lifecycle, a_dump_to_a_device_node_is_written_in_place_never_replaced)
{
    char *dir = temp_dir();
    char dev[600];
    snprintf(dev, sizeof dev, "%s/null", dir);
    if (mknod(dev, S_IFCHR | 0666, makedev(1, 3)) < 0) {
        remove_dir(dir);
        cr_skip_test("mknod: %s (needs root)", strerror(errno));
    }
    for (int k = 0; k < nphases; k++) {
        struct proc_result r;
        run_small(&phases[k], dev, NULL, &r);
        cr_expect_eq(r.status, 0, "phase%d: %s", phases[k].n, r.err);
        struct stat sb;
        cr_expect(stat(dev, &sb) == 0 && S_ISCHR(sb.st_mode), "phase%d replaced the device node", phases[k].n);
        proc_result_free(&r);
    }
    remove_dir(dir);
}

Test(lifecycle, a_dump_through_a_symbolic_link_replaces_the_file_not_the_link)
{
    char *dir = temp_dir();
    char file[600], link[600];
    snprintf(file, sizeof file, "%s/real.csv", dir);
    snprintf(link, sizeof link, "%s/link.csv", dir);
    FILE *f = fopen(file, "w");
    cr_assert(f);
    fputs("old\n", f);
    fclose(f);
    cr_assert_eq(symlink("real.csv", link), 0);
    struct proc_result r;
    run_small(&phases[0], link, NULL, &r);
    cr_expect_eq(r.status, 0, "%s", r.err);
    struct stat sb;
    cr_expect(lstat(link, &sb) == 0 && S_ISLNK(sb.st_mode), "the link was replaced by a file");
    char *csv = read_file(file, NULL);
    cr_expect(csv && strncmp(csv, "worker_id,", 10) == 0, "the link's target does not hold the dump");
    free(csv);
    proc_result_free(&r);
    remove_dir(dir);
}

Test(lifecycle, a_json_summary_that_cannot_be_written_is_an_error)
{
    for (int k = 0; k < nphases; k++) {
        char *argv[HOSTILE_MAX_ARGS];
        const char *args[] = {"--messages", "2000", "--ids", "50", "--json", NULL};
        phase_argv(&phases[k], args, argv, HOSTILE_MAX_ARGS);
        pid_t pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
            int full = open("/dev/full", O_WRONLY);
            int null = open("/dev/null", O_RDWR);
            if (full < 0 || null < 0 || dup2(full, 1) < 0 || dup2(null, 2) < 0 || dup2(null, 0) < 0)
                _exit(126);
            execv(argv[0], argv);
            _exit(127);
        }
        int st;
        waitpid(pid, &st, 0);
        cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 1, "phase%d: status %#x with --json > /dev/full", phases[k].n,
                  st);
    }
}

/* Runs ph with standard stream fd closed; returns its wait status. */
static int run_with_closed(const struct hostile_phase *ph, int fd, const char *dump)
{
    const char *args[] = {"--messages", "2000", "--ids", "50", "--dump", dump, NULL};
    char *argv[HOSTILE_MAX_ARGS];
    phase_argv(ph, args, argv, HOSTILE_MAX_ARGS);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        for (int i = 0; i <= 2; i++)
            if (i != fd && dup2(null, i) < 0)
                _exit(126);
        close(fd);
        if (null > 2)
            close(null);
        execv(argv[0], argv);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    return st;
}

Test(lifecycle, closed_stdin_stdout_or_stderr_never_crash_a_run)
{
    char *dir = temp_dir();
    char dump[600];
    snprintf(dump, sizeof dump, "%s/d.csv", dir);
    for (int k = 0; k < nphases; k++)
        for (int fd = 0; fd <= 2; fd++) {
            unlink(dump);
            int st = run_with_closed(&phases[k], fd, dump);
            cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "phase%d with fd %d closed: status %#x", phases[k].n, fd,
                      st);
            cr_expect_eq(access(dump, F_OK), 0, "phase%d with fd %d closed: no dump", phases[k].n, fd);
        }
    remove_dir(dir);
}

Test(lifecycle, a_line_that_never_ends_is_rejected_once_it_passes_the_limit)
{
    const char *args[] = {"--trace", "/dev/zero", NULL};
    struct hostile_expect exp = {.status = 2, .err = "/dev/zero:1: line longer than 4096 bytes"};
    hostile_run_all(args, NULL, &exp);
}

/* A trace on a pipe is routed as it arrives; a malformed line deep in it
 * still ends the run with exit 2, "<stdin>:LINE: reason" and no dump. */
Test(lifecycle, a_malformed_line_late_in_a_streamed_trace_ends_the_run_with_exit_2_and_no_dump)
{
    struct scratch sc = scratch_open();
    char trace[600];
    snprintf(trace, sizeof trace, "%s/late.trace", sc.dir);
    FILE *f = fopen(trace, "w");
    cr_assert(f);
    for (int i = 1; i <= 100000; i++)
        fprintf(f, "%d id-%d DATA 8\n", i, i % 500);
    fputs("100001 id-1 EXPLODE\n", f);
    fclose(f);
    for (int k = 0; k < nphases; k++) {
        char cmd[2000];
        snprintf(cmd, sizeof cmd, "cat '%s' | '%s' %s --trace - --dump '%s' >/dev/null 2>'%s'", trace, phases[k].path,
                 phases[k].has_workers ? "--workers 2" : "", sc.dump, sc.err);
        unlink(sc.dump);
        int st = system(cmd);
        char *err = read_file(sc.err, NULL);
        cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 2, "phase%d: status %#x: %s", phases[k].n, st, err);
        cr_expect(err && strstr(err, "<stdin>:100001: "), "phase%d: %s", phases[k].n, err);
        cr_expect_neq(access(sc.dump, F_OK), 0, "phase%d wrote a dump of a malformed trace", phases[k].n);
        free(err);
    }
    scratch_close(&sc);
}

/* Starts argv with stdin from a pipe that feed_cmd (a shell command)
 * writes; *feeder is the shell running it. */
static pid_t spawn_fed_by(char *const argv[], const char *feed_cmd, const char *err_path, pid_t *feeder)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    *feeder = fork();
    cr_assert_geq(*feeder, 0);
    if (*feeder == 0) {
        if (dup2(fds[1], 1) < 0)
            _exit(126);
        close(fds[0]);
        execl("/bin/sh", "sh", "-c", feed_cmd, (char *)NULL);
        _exit(127);
    }
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (null < 0 || err < 0 || dup2(fds[0], 0) < 0 || dup2(null, 1) < 0 || dup2(err, 2) < 0)
            _exit(126);
        close(fds[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fds[0]);
    close(fds[1]);
    return pid;
}

/* A trace on a pipe that never ends: routing starts at once and memory
 * stays flat; a stop request drains and dumps. */
Test(lifecycle, an_endless_streamed_trace_is_routed_in_bounded_memory_until_stopped)
{
    struct scratch sc = scratch_open();
    const char *args[] = {"--trace", "-", "--dump", sc.dump, NULL};
    for (int k = 0; k < nphases; k++) {
        char *argv[HOSTILE_MAX_ARGS];
        phase_argv(&phases[k], args, argv, HOSTILE_MAX_ARGS);
        pid_t feeder;
        pid_t pid = spawn_fed_by(argv, "exec yes '1 a START'", sc.err, &feeder);
        cr_assert_eq(proc_wait_started(pid, argv[0], DEADLINE_MS), 0, "phase%d never started", phases[k].n);
        /* The first second touches what is sized once (the rings, the
         * tables); after it, nothing more may grow. */
        proc_sleep_ms(1000);
        long before = proc_rss_kb(pid);
        proc_sleep_ms(1000);
        long after = proc_rss_kb(pid);
        kill(pid, SIGINT);
        int st;
        waitpid(pid, &st, 0);
        kill(feeder, SIGKILL);
        waitpid(feeder, NULL, 0);
        cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "phase%d: status %#x", phases[k].n, st);
        cr_expect_lt(after - before, 4096, "phase%d grew from %ld to %ld KiB in 1 s of an endless stream", phases[k].n,
                     before, after);
        char *csv = read_file(sc.dump, NULL);
        cr_expect(csv && strstr(csv, "\na,RUNNING,"), "phase%d: no dump of machine a", phases[k].n);
        free(csv);
    }
    scratch_close(&sc);
}

/* A stream that has gone quiet (its writer alive, no data) blocks the read
 * of its next line: a stop request must still end that read, and the run
 * drains and dumps what it had. */
Test(lifecycle, a_stop_request_ends_a_run_waiting_for_a_quiet_stream)
{
    struct scratch sc = scratch_open();
    const char *args[] = {"--trace", "-", "--dump", sc.dump, NULL};
    for (int k = 0; k < nphases; k++) {
        char *argv[HOSTILE_MAX_ARGS];
        phase_argv(&phases[k], args, argv, HOSTILE_MAX_ARGS);
        pid_t feeder;
        pid_t pid = spawn_fed_by(argv, "echo '1 a START'; exec sleep 60", sc.err, &feeder);
        cr_assert_eq(proc_wait_started(pid, argv[0], DEADLINE_MS), 0, "phase%d never started", phases[k].n);
        proc_sleep_ms(300);
        kill(pid, SIGINT);
        long long sent = proc_now_ms();
        int st = 0;
        while (waitpid(pid, &st, WNOHANG) == 0 && proc_now_ms() - sent < 10000)
            proc_sleep_ms(5);
        long long took = proc_now_ms() - sent;
        kill(pid, SIGKILL);
        waitpid(pid, NULL, WNOHANG);
        kill(feeder, SIGKILL);
        waitpid(feeder, NULL, 0);
        cr_expect_lt(took, 5000, "phase%d still waited for its input %lld ms after SIGINT", phases[k].n, took);
        cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "phase%d: status %#x", phases[k].n, st);
        char *csv = read_file(sc.dump, NULL);
        cr_expect(csv && strstr(csv, "\na,RUNNING,1,"), "phase%d: no dump of the one message", phases[k].n);
        free(csv);
    }
    scratch_close(&sc);
}

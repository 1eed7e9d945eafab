/* proc.h - running a program under test: start it with arguments, optionally
 * signal it while it runs, collect its exit status, stdout and stderr, and
 * kill it if it overruns a deadline, so a hang fails the test instead of
 * blocking the suite.
 *
 * For tests only; every phase's tests share it. */
#ifndef MSGROUTE_TEST_PROC_H
#define MSGROUTE_TEST_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct proc_result {
    int status;     /* exit status, or 128 + signal when killed by a signal */
    bool timed_out; /* killed because it overran the deadline */
    char *out;      /* stdout, NUL-terminated (malloc'd) */
    char *err;      /* stderr, NUL-terminated (malloc'd) */
};

/* Runs argv (argv[0] is a path) to completion with stdin from stdin_path (or
 * /dev/null when NULL). Returns 0, or -1 if it could not be started. */
int proc_run(char *const argv[], const char *stdin_path, int timeout_ms, struct proc_result *r);

/* Starts argv in the background, stdout/stderr to files; proc_wait() ends it. */
struct proc {
    pid_t pid;
    char out_path[512], err_path[512];
};
int proc_start(char *const argv[], struct proc *p);
/* As proc_start, with stdin from stdin_path (NULL: /dev/null): for a test that
 * needs both the input and the pid, e.g. to count leftover workers. */
int proc_start_in(char *const argv[], const char *stdin_path, struct proc *p);
int proc_wait(struct proc *p, int timeout_ms, struct proc_result *r);

void proc_result_free(struct proc_result *r);

/* The last lines of a program's output, for a failure message: at most
 * PROC_TAIL_MAX bytes from the end of text, starting at a line; "" for
 * NULL. A failed assertion quotes what the program said, not just its exit
 * status, and a long stderr does not drown the message. */
#define PROC_TAIL_MAX 1500
const char *proc_tail(const char *text);

/* The tail of the stderr so far of the program pid, started by proc_start()
 * and not yet waited for, into buf (len bytes); "" when unknown. For a test
 * that gives up before the wait, e.g. when the workers never started. */
const char *proc_err_tail(pid_t pid, char *buf, size_t len);

/* Reads a whole file (malloc'd, NUL-terminated); NULL if it cannot. */
char *read_file(const char *path, size_t *len);

/* True when both files exist and have the same bytes. */
bool files_equal(const char *a, const char *b);

/* A fresh temporary directory (mkdtemp under /tmp) and its recursive removal. */
char *temp_dir(void);
void remove_dir(char *dir);

/* One signal mask of pid from /proc/PID/status, by its field name
 * ("SigCgt": caught, "SigBlk": blocked, "ShdPnd": pending for the process);
 * 0 when it cannot be read. */
unsigned long long proc_signal_mask(pid_t pid, const char *field);

/* True once pid has exited (a zombie, not yet reaped) or is gone. */
bool proc_has_exited(pid_t pid);

/* Number of zombie children of this process right now. */
int count_zombie_children(void);

/* Processes (zombies included) still in process group pgid. A program started
 * by proc_start/proc_run leads its own group, so after it has exited this
 * counts the workers it left behind: a correct program leaves 0. */
int count_group_processes(pid_t pgid);

/* The children of parent right now (zombies included), at most max of them,
 * in ascending pid order; returns how many, or -1 if /proc cannot be read. */
int proc_children(pid_t parent, pid_t *out, int max);

/* Resident set of pid in KiB (VmRSS), or -1 once it is gone. */
long proc_rss_kb(pid_t pid);

/* pid's resident set once it has settled (two readings 100 ms apart within
 * 64 KiB), waiting at most 10 s; 0 when it never settles or pid is gone. */
long proc_settled_rss_kb(pid_t pid);

/* Waits until pid runs program (it has exec'd) and catches SIGUSR1, that
 * is until its start-up installed its handlers: a signal sent before that
 * meets the default action of a process that is not the program yet (the
 * test's own fork, or the dynamic loader), which no program can prevent.
 * 0, or -1 at the deadline or when pid is gone. */
int proc_wait_started(pid_t pid, const char *program, int timeout_ms);

/* CLOCK_MONOTONIC in milliseconds, and a sleep that resumes after a signal. */
long long proc_now_ms(void);
void proc_sleep_ms(long ms);

#endif

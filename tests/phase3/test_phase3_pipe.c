/* test_phase3_pipe.c - how phase 3's main process treats a full pipe: it
 * writes to it again only once the loop says it is writable. A router that
 * retries a full pipe at every message it queues for it makes one failed
 * write() per message (EAGAIN) until the queue is full: the run's dump is
 * still right, only the main process burns the CPU the workers need. The
 * count of the main process's write calls (syscw in /proc/PID/io) shows it. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformance.h"
#include "proc.h"

#define PHASE3 BIN_DIR "/phase3"

TestSuite(phase3_pipe, .timeout = 90, .init = conf_suite_init, .fini = conf_suite_fini);

/* The write calls pid has made so far; -1 once it cannot be read. */
static long long write_calls(pid_t pid)
{
    char path[64], line[128];
    snprintf(path, sizeof path, "/proc/%d/io", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long long n = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "syscw: %lld", &n) == 1)
            break;
    fclose(f);
    return n;
}

/* Slow workers (2 us a message) behind 64 KiB pipes: the pipes are full for
 * nearly the whole run, whatever the machine's load. A main process that
 * writes only when a pipe has room needs a write per pipeful, a few hundred
 * here; one that retries the full pipe makes tens of thousands. */
Test(phase3_pipe, a_full_pipe_is_written_again_only_once_it_is_writable)
{
    enum { MESSAGES = 300000 };
    char *argv[] = {PHASE3,       "--workers", "2",     "--work-ns", "2000",   "--pipe-size", "65536",
                    "--messages", "300000",    "--ids", "10000",     "--dump", "/dev/null",   NULL};
    struct proc p;
    cr_assert_eq(proc_start(argv, &p), 0);
    long long calls = 0;
    for (long long n; (n = write_calls(p.pid)) >= 0 && !proc_has_exited(p.pid);)
        calls = n, proc_sleep_ms(2);
    struct proc_result r;
    cr_assert_eq(proc_wait(&p, 60000, &r), 0);
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, proc_tail(r.err));
    cr_expect(strstr(r.out, "300000 messages"), "%s", r.out);
    cr_expect_gt(calls, 0, "never read the main process's write count");
    cr_expect_lt(calls, MESSAGES / 50,
                 "the main process made %lld write calls for %d messages: it writes to full pipes", calls, MESSAGES);
    proc_result_free(&r);
    conf_assert_clean_exit(p.pid);
}

/* bench_util.h - what the C microbenchmarks share: whole-buffer I/O that
 * survives EINTR and short transfers, a strict number-list parser, and the
 * one-JSON-object-per-line output the harness (bench/run) reads.
 *
 * Not a framework: each benchmark is one file that reads top to bottom. */
#ifndef MSGROUTE_BENCH_UTIL_H
#define MSGROUTE_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BENCH_MAX_LIST 32

/* Writes / reads exactly n bytes; 0, or -1 with errno set (read: errno 0
 * and -1 on end of file before n bytes). Retries on EINTR. */
int bench_write_all(int fd, const void *buf, size_t n);
int bench_read_all(int fd, void *buf, size_t n);

/* Parses "100,1024,1048576" into at most max values in [lo, hi]; returns the
 * count, or -1 on anything else. */
int bench_parse_list(const char *s, uint64_t lo, uint64_t hi, uint64_t *out, int max);

/* Waits for child pid; 0 if it exited with status 0, -1 otherwise (and says why). */
int bench_wait_child(pid_t pid, const char *prog);

/* Sleeps on the timerfd tfd until due_ns (absolute, CLOCK_MONOTONIC); 0, or
 * -1 with errno. A timerfd, not clock_nanosleep, because nanosleep adds the
 * thread's timer slack (50 us by default) and a timerfd does not: the timer
 * is the one a libuv loop watches for a nanosecond due time (ptimer.h). */
int bench_wait_until(int tfd, uint64_t due_ns);

#endif

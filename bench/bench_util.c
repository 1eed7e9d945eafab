/* bench_util.c - see bench_util.h. */
#include "bench_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

int bench_write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int bench_read_all(int fd, void *buf, size_t n)
{
    char *p = buf;
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0) {
            errno = 0;
            return -1;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

int bench_parse_list(const char *s, uint64_t lo, uint64_t hi, uint64_t *out, int max)
{
    int n = 0;
    while (*s) {
        if (n == max || *s < '0' || *s > '9')
            return -1;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || v < lo || v > hi || (*end != ',' && *end != '\0'))
            return -1;
        out[n++] = v;
        s = *end ? end + 1 : end;
    }
    return n;
}

int bench_wait_child(pid_t pid, const char *prog)
{
    int st;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) {
            fprintf(stderr, "%s: waitpid: %s\n", prog, strerror(errno));
            return -1;
        }
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 0;
    if (WIFSIGNALED(st))
        fprintf(stderr, "%s: child %d killed by signal %d\n", prog, (int)pid, WTERMSIG(st));
    else
        fprintf(stderr, "%s: child %d exited with status %d\n", prog, (int)pid, WEXITSTATUS(st));
    return -1;
}

int bench_wait_until(int tfd, uint64_t due_ns)
{
    struct itimerspec its = {.it_value = {(time_t)(due_ns / 1000000000ull), (long)(due_ns % 1000000000ull)}};
    uint64_t expirations;
    if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
        return -1;
    while (read(tfd, &expirations, sizeof expirations) < 0)
        if (errno != EINTR)
            return -1;
    return 0;
}

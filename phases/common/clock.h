/* clock.h - monotonic time in nanoseconds, for latencies and rates. */
#ifndef MSGROUTE_CLOCK_H
#define MSGROUTE_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Sleeps until the monotonic clock reads deadline_ns (EINTR-safe). */
void sleep_until_ns(uint64_t deadline_ns);

/* Asks the kernel to end this thread's sleeps on time: by default Linux
 * lets a sleep (clock_nanosleep, an epoll_wait timeout) end up to 50 us
 * late, timer slack, to batch wake-ups. A loop that sleeps until a query
 * is due would count that slack as the query's latency. A timerfd has no
 * slack. Logs a warning when the kernel refuses. */
void clock_exact_sleeps(void);

#endif

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

#endif

/* clock.c - sleeping to an absolute deadline, without timer slack. */
#include "clock.h"

#include <errno.h>
#include <string.h>
#include <sys/prctl.h>

#include "log.h"

void sleep_until_ns(uint64_t deadline_ns)
{
    struct timespec ts = {(time_t)(deadline_ns / 1000000000ull), (long)(deadline_ns % 1000000000ull)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

void clock_exact_sleeps(void)
{
    if (prctl(PR_SET_TIMERSLACK, 1ul, 0ul, 0ul, 0ul) < 0)
        log_warn("cannot reduce the timer slack: %s", strerror(errno));
}

/* ptimer.h - a one-shot timer on a libuv loop with a due time in
 * nanoseconds, for wake-ups that a millisecond would spoil.
 *
 * Why not uv_timer_t: libuv keeps its clock and its timers in milliseconds
 * and rounds every timeout up to the next one, so a loop asleep until a
 * uv_timer wakes up to 1 ms late (0.5 ms on average), whatever the kernel
 * could do. A ptimer is a timerfd (CLOCK_MONOTONIC, an absolute due time)
 * watched by a uv_poll_t: the kernel's high-resolution timer makes the fd
 * readable, epoll_wait returns, and the callback runs in the loop's poll
 * phase like any other I/O. What is left is the wake-up itself, tens of
 * microseconds on a virtual machine (bench/pingpong --gap-us measures it).
 *
 * Like a uv_timer_t, an armed ptimer keeps the loop alive and a disarmed
 * one does not. It is not a replacement for timers that a millisecond does
 * not hurt (a status every second): it costs a file descriptor and a
 * system call per re-arm, which ptimer_start() skips when the due time is
 * unchanged. One loop, one thread: call these only on the loop's thread.
 *
 * A ptimer with a spin lead (ptimer_spin_before) pays for that wake-up with
 * CPU time instead: the kernel wakes the loop lead_ns before the due time,
 * and the loop spins from there (an active uv_idle_t makes libuv poll
 * without blocking), yielding the CPU on every turn, until the due time,
 * when the callback runs. Worth it only where lateness is what is measured
 * (a query's latency counts from its due time) and only for short leads:
 * the lead is CPU time spent per firing. */
#ifndef MSGROUTE_PTIMER_H
#define MSGROUTE_PTIMER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct ptimer;
typedef void (*ptimer_cb)(struct ptimer *t);

struct ptimer {
    uv_poll_t poll;   /* watches fd for readability, active from init to close */
    uv_idle_t spin;   /* active while the loop spins to due_ns (a spin lead only) */
    int fd;           /* the timerfd, -1 once closed */
    uint64_t due_ns;  /* the callback's due time, 0 when disarmed (the kernel's is lead_ns earlier) */
    uint64_t lead_ns; /* the spin lead: the kernel wakes the loop this early; 0 = none */
    bool unread;      /* fired, its expiration not read: the fd stays readable until re-armed */
    ptimer_cb cb;
    void *data; /* the caller's, untouched */
};

/* Opens t's timerfd and starts watching it on loop, disarmed. 0, or a
 * negative errno / libuv error with nothing left open. */
int ptimer_init(uv_loop_t *loop, struct ptimer *t);

/* Arms t to call cb(t) once, on the loop, when the monotonic clock
 * (now_ns() of clock.h) reaches due_ns; a due time already past fires on
 * the next poll. Replaces any earlier due time. 0 or a negative errno. */
int ptimer_start(struct ptimer *t, uint64_t due_ns, ptimer_cb cb);

/* Gives t a spin lead of lead_ns (0: none, the default) from its next
 * start on. */
void ptimer_spin_before(struct ptimer *t, uint64_t lead_ns);

/* Disarms t; its callback will not run until it is started again. */
void ptimer_stop(struct ptimer *t);

/* Stops t and closes its handles and file descriptor; t must stay alive
 * until the loop has run the closes (as for any uv_close). */
void ptimer_close(struct ptimer *t);

#endif

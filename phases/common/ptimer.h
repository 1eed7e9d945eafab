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
 * unchanged. One loop, one thread: call these only on the loop's thread. */
#ifndef MSGROUTE_PTIMER_H
#define MSGROUTE_PTIMER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct ptimer;
typedef void (*ptimer_cb)(struct ptimer *t);

struct ptimer {
    uv_poll_t poll;  /* watches fd for readability, active from init to close */
    int fd;          /* the timerfd, -1 once closed */
    uint64_t due_ns; /* the due time armed in the kernel, 0 when disarmed */
    bool unread;     /* fired, its expiration not read: the fd stays readable until re-armed */
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

/* Disarms t; its callback will not run until it is started again. */
void ptimer_stop(struct ptimer *t);

/* Stops t and closes its handle and file descriptor; t must stay alive
 * until the loop has run the close (as for any uv_close). */
void ptimer_close(struct ptimer *t);

#endif

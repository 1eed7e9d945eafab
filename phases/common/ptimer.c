/* ptimer.c - the nanosecond timer of ptimer.h: a timerfd under a uv_poll_t.
 *
 * The poll handle is started once and stays started: stopping and
 * restarting it on every arm would cost an epoll_ctl each time. A disarmed
 * timerfd is never readable (but see on_readable), and uv_unref() keeps the
 * handle from holding the loop open meanwhile, as a stopped uv_timer_t does
 * not hold it. */
#include "ptimer.h"

#include <errno.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "clock.h"

/* The callback runs before the expiration count is read: the read would
 * be a system call between the wake-up and the callback's work. Re-arming
 * resets the count (timerfd_settime), so a ptimer started again before the
 * next poll never reads it; one that is not finds the fd still readable on
 * that poll, and the read then happens here, with due_ns 0. */
static void on_readable(uv_poll_t *h, int status, int events)
{
    struct ptimer *t = h->data;
    (void)events;
    uint64_t expirations;
    if (status < 0 || t->due_ns == 0) {
        if (read(t->fd, &expirations, sizeof expirations) < 0 && errno != EAGAIN)
            uv_poll_stop(h); /* cannot happen on a timerfd; never spin on it */
        return;
    }
    if (now_ns() < t->due_ns)
        return; /* re-armed for later between epoll_wait and here */
    t->due_ns = 0;
    t->unread = true;
    uv_unref((uv_handle_t *)&t->poll);
    t->cb(t);
}

int ptimer_init(uv_loop_t *loop, struct ptimer *t)
{
    t->due_ns = 0;
    t->unread = false;
    t->cb = NULL;
    t->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (t->fd < 0)
        return -errno;
    int rc = uv_poll_init(loop, &t->poll, t->fd);
    if (rc < 0)
        goto fail;
    t->poll.data = t;
    if ((rc = uv_poll_start(&t->poll, UV_READABLE, on_readable)) < 0) {
        uv_close((uv_handle_t *)&t->poll, NULL);
        goto fail;
    }
    uv_unref((uv_handle_t *)&t->poll);
    return 0;
fail:
    close(t->fd);
    t->fd = -1;
    return rc;
}

int ptimer_start(struct ptimer *t, uint64_t due_ns, ptimer_cb cb)
{
    t->cb = cb;
    if (due_ns == 0)
        due_ns = 1; /* an it_value of zero would disarm */
    if (due_ns == t->due_ns)
        return 0; /* armed for that already: no system call */
    struct itimerspec its = {.it_value = {(time_t)(due_ns / 1000000000ull), (long)(due_ns % 1000000000ull)}};
    if (timerfd_settime(t->fd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
        return -errno;
    t->unread = false;
    if (t->due_ns == 0)
        uv_ref((uv_handle_t *)&t->poll);
    t->due_ns = due_ns;
    return 0;
}

void ptimer_stop(struct ptimer *t)
{
    if (t->due_ns == 0 && !t->unread)
        return;
    struct itimerspec off = {0};
    timerfd_settime(t->fd, 0, &off, NULL); /* cannot fail on a valid timerfd */
    if (t->due_ns)
        uv_unref((uv_handle_t *)&t->poll);
    t->due_ns = 0;
    t->unread = false;
}

void ptimer_close(struct ptimer *t)
{
    if (t->fd < 0)
        return;
    /* uv_close stops the watch at once, so the fd may be closed right
     * after it (libuv's rule for uv_poll_t: never close a polled fd). */
    uv_close((uv_handle_t *)&t->poll, NULL);
    close(t->fd);
    t->fd = -1;
    t->due_ns = 0;
}

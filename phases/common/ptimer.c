/* ptimer.c - the nanosecond timer of ptimer.h: a timerfd under a uv_poll_t.
 *
 * The poll handle is started once and stays started: stopping and
 * restarting it on every arm would cost an epoll_ctl each time. A disarmed
 * timerfd is simply never readable; uv_unref() keeps it from holding the
 * loop open meanwhile, as a stopped uv_timer_t would not. */
#include "ptimer.h"

#include <errno.h>
#include <sys/timerfd.h>
#include <unistd.h>

static void on_readable(uv_poll_t *h, int status, int events)
{
    struct ptimer *t = h->data;
    (void)events;
    uint64_t expirations;
    /* Not readable after all: re-armed (which resets the count) between
     * epoll_wait and this callback. The new due time has not come. */
    if (status < 0 || read(t->fd, &expirations, sizeof expirations) != (ssize_t)sizeof expirations)
        return;
    t->due_ns = 0;
    uv_unref((uv_handle_t *)&t->poll);
    t->cb(t);
}

int ptimer_init(uv_loop_t *loop, struct ptimer *t)
{
    t->due_ns = 0;
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
    if (t->due_ns == 0)
        uv_ref((uv_handle_t *)&t->poll);
    t->due_ns = due_ns;
    return 0;
}

void ptimer_stop(struct ptimer *t)
{
    if (t->due_ns == 0)
        return;
    struct itimerspec off = {0};
    timerfd_settime(t->fd, 0, &off, NULL); /* cannot fail on a valid timerfd */
    t->due_ns = 0;
    uv_unref((uv_handle_t *)&t->poll);
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

/* ptimer.c - the nanosecond timer of ptimer.h: a timerfd under a uv_poll_t.
 *
 * The poll handle is started once and stays started: stopping and
 * restarting it on every arm would cost an epoll_ctl each time. A disarmed
 * timerfd is never readable (but see on_readable), and uv_unref() keeps the
 * handle from holding the loop open meanwhile, as a stopped uv_timer_t does
 * not hold it. */
#include "ptimer.h"

#include <errno.h>
#include <sched.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "clock.h"

/* Reads the expiration count, which makes the fd unreadable until the
 * next expiration. */
static void drain(struct ptimer *t)
{
    uint64_t expirations;
    if (read(t->fd, &expirations, sizeof expirations) < 0 && errno != EAGAIN)
        uv_poll_stop(&t->poll); /* cannot happen on a timerfd; never spin on it */
}

static void fire(struct ptimer *t)
{
    t->due_ns = 0;
    uv_unref((uv_handle_t *)&t->poll);
    t->cb(t);
}

static void spin_stop(struct ptimer *t)
{
    if (uv_is_active((uv_handle_t *)&t->spin))
        uv_idle_stop(&t->spin);
}

/* A spin turn: the due time, or a yield so that anything else this CPU
 * should run goes first (sched_yield returns at once when nothing does). */
static void on_spin(uv_idle_t *h)
{
    struct ptimer *t = h->data;
    if (t->due_ns == 0) {
        spin_stop(t);
    } else if (now_ns() >= t->due_ns) {
        spin_stop(t);
        fire(t);
    } else {
        sched_yield();
    }
}

/* The callback runs before the expiration count is read: the read would
 * be a system call between the wake-up and the callback's work. Re-arming
 * resets the count (timerfd_settime), so a ptimer started again before the
 * next poll never reads it; one that is not finds the fd still readable on
 * that poll, and the read then happens here, with due_ns 0. A wake-up of a
 * spin lead does read it at once: the spin that follows has time to spare,
 * and a readable fd would keep waking the loop. */
static void on_readable(uv_poll_t *h, int status, int events)
{
    struct ptimer *t = h->data;
    (void)events;
    if (status < 0 || t->due_ns == 0) {
        drain(t);
        return;
    }
    uint64_t now = now_ns();
    if (now + t->lead_ns < t->due_ns)
        return; /* re-armed for later between epoll_wait and here */
    if (now < t->due_ns) {
        drain(t);
        uv_idle_start(&t->spin, on_spin);
        return;
    }
    t->unread = true;
    fire(t);
}

int ptimer_init(uv_loop_t *loop, struct ptimer *t)
{
    t->due_ns = t->lead_ns = 0;
    t->unread = false;
    t->cb = NULL;
    t->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (t->fd < 0)
        return -errno;
    int rc = uv_poll_init(loop, &t->poll, t->fd);
    if (rc < 0)
        goto fail;
    uv_idle_init(loop, &t->spin); /* cannot fail */
    t->poll.data = t->spin.data = t;
    if ((rc = uv_poll_start(&t->poll, UV_READABLE, on_readable)) < 0) {
        uv_close((uv_handle_t *)&t->poll, NULL);
        uv_close((uv_handle_t *)&t->spin, NULL);
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
    spin_stop(t);
    uint64_t wake = due_ns > t->lead_ns ? due_ns - t->lead_ns : 1;
    struct itimerspec its = {.it_value = {(time_t)(wake / 1000000000ull), (long)(wake % 1000000000ull)}};
    if (timerfd_settime(t->fd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
        return -errno;
    t->unread = false;
    if (t->due_ns == 0)
        uv_ref((uv_handle_t *)&t->poll);
    t->due_ns = due_ns;
    return 0;
}

void ptimer_spin_before(struct ptimer *t, uint64_t lead_ns)
{
    t->lead_ns = lead_ns;
}

void ptimer_stop(struct ptimer *t)
{
    spin_stop(t);
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
    uv_close((uv_handle_t *)&t->spin, NULL);
    close(t->fd);
    t->fd = -1;
    t->due_ns = 0;
}

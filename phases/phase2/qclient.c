/* qclient.c - issuing --queries on the loop.
 *
 * Two handles. The prepare handle, which runs once per turn of the loop,
 * submits every query already due: while messages flow the loop turns once
 * per batch (microseconds), so queries go out close to their intended time
 * without a wake-up of their own. The timer only matters when the loop has
 * nothing to do and sleeps in epoll_wait: it wakes it when the next query
 * is due. It is a ptimer (ptimer.h), not a uv_timer_t, because libuv's
 * timers round up to the millisecond: with one, a query falling due while
 * the loop sleeps waited up to 1 ms for the tick, and that tick was the p99
 * of every paced load. Latency is measured from the intended time either
 * way, so a query that waited for a wake-up or a long batch says so (no
 * coordinated omission). */
#include "qclient.h"

#include <errno.h>
#include <string.h>

#include "clock.h"
#include "log.h"

static void on_answer(struct query *q)
{
    struct qclient_req *r = q->data;
    struct qclient *c = r->client;
    uint64_t now = now_ns();
    hist_record(c->latency, now - r->intended_ns);
    hist_record(&c->service, now - r->submitted_ns);
    c->completed++;
    if (q->status == -ENOENT)
        c->not_found++;
    else if (q->status != 0)
        c->failed++;
    r->next_free = c->free_list;
    c->free_list = r;
}

static void submit_due(struct qclient *c)
{
    uint64_t now = now_ns();
    struct qload_query ask;
    while (qload_next(&c->load, now, &ask)) {
        struct qclient_req *r = c->free_list;
        if (!r) {
            c->failed++;
            continue;
        }
        c->free_list = r->next_free;
        r->intended_ns = ask.intended_ns;
        r->submitted_ns = now;
        r->key = *ask.key; /* the query keeps a pointer to it until answered */
        query_submit(c->server, &r->q, &r->key, on_answer);
        c->submitted++;
    }
}

static void arm(struct qclient *c);

/* No re-arm here: on_tick runs before the loop polls again and arms for
 * the next due time, after the server has answered; a timerfd_settime here
 * would sit between these queries and their answers. */
static void on_wake(struct ptimer *t)
{
    submit_due(t->data);
}

/* The timer is armed only when the loop is about to sleep: while it polls
 * without blocking (an idle handle is active) it comes back here within a
 * turn anyway, and each timerfd_settime is a system call that on a virtual
 * machine also reprograms the (emulated) local APIC timer: armed on every
 * turn of a busy loop it cost a third of phase 2's throughput at full
 * speed. A timer left armed from before may still fire while the loop is
 * busy; on_wake then finds nothing due, or a query the turn would have
 * taken anyway. */
static void on_tick(uv_prepare_t *p)
{
    struct qclient *c = p->data;
    submit_due(c);
    if (uv_backend_timeout(p->loop) != 0)
        arm(c);
}

/* Sets the wake-up for the nanosecond the next query is due (a time
 * already past fires on the next poll). ptimer_start() makes no system call
 * when that time has not changed since it was last armed. */
static void arm(struct qclient *c)
{
    int rc = ptimer_start(&c->wake, qload_next_due(&c->load), on_wake);
    if (rc < 0)
        log_warn("query client: cannot arm its timer: %s", strerror(-rc));
}

int qclient_start(struct qclient *c, uv_loop_t *loop, struct query_server *server, const struct source *src,
                  double per_s, uint64_t spin_ns, uint64_t seed, struct hist *latency)
{
    memset(c, 0, sizeof *c);
    c->server = server;
    c->latency = latency;
    hist_init(&c->service);
    for (int i = QCLIENT_POOL - 1; i >= 0; i--) {
        c->pool[i].q.data = &c->pool[i];
        c->pool[i].client = c;
        c->pool[i].next_free = c->free_list;
        c->free_list = &c->pool[i];
    }
    qload_init(&c->load, src, per_s, now_ns(), QCLIENT_BURST, seed);
    int rc = ptimer_init(loop, &c->wake);
    if (rc < 0)
        return rc;
    c->wake.data = c;
    ptimer_spin_before(&c->wake, spin_ns);
    if ((rc = uv_prepare_init(loop, &c->tick)) < 0) {
        ptimer_close(&c->wake);
        return rc;
    }
    c->tick.data = c;
    uv_prepare_start(&c->tick, on_tick);
    arm(c);
    return 0;
}

void qclient_close(struct qclient *c)
{
    log_debug("query client: %llu submitted, %llu answered, %llu not found, %llu failed",
              (unsigned long long)c->submitted, (unsigned long long)c->completed, (unsigned long long)c->not_found,
              (unsigned long long)c->failed);
    /* The summary's latency counts from each query's intended time, so it
     * includes the wait for the loop to wake and submit it; this is the
     * part after submission alone. */
    if (c->service.count)
        log_info("queries: submit -> callback p50 %.2f us, p99 %.2f us (the summary counts from the intended time)",
                 (double)hist_percentile(&c->service, 50) / 1e3, (double)hist_percentile(&c->service, 99) / 1e3);
    ptimer_close(&c->wake);
    uv_close((uv_handle_t *)&c->tick, NULL);
}

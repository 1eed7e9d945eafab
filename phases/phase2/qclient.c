/* qclient.c - issuing --queries on the loop.
 *
 * Two handles, because libuv timers have millisecond resolution. At 10 000
 * queries/s one is due every 100 us: a timer alone would submit them in
 * bursts once per millisecond, and every query would wait up to 1 ms for
 * the timer, not for the loop, hiding what the lab measures. So the prepare
 * handle, which runs once per turn of the loop, submits every query already
 * due; while messages flow the loop turns once per batch (tens of
 * microseconds), so queries go out close to their intended time. The timer
 * only matters when the loop has nothing to do and would sleep in poll: it
 * wakes it at the millisecond the next query is due. Latency is measured
 * from the intended time either way, so a query that waited for a timer or
 * a long batch says so (no coordinated omission). */
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
        query_submit(c->server, &r->q, ask.key, on_answer);
        c->submitted++;
    }
}

static void arm(struct qclient *c);

static void on_wake(uv_timer_t *t)
{
    struct qclient *c = t->data;
    submit_due(c);
    arm(c);
}

static void on_tick(uv_prepare_t *p)
{
    struct qclient *c = p->data;
    submit_due(c);
    arm(c);
}

/* Sets the wake-up timer for the millisecond the next query is due, and
 * never for "now": libuv 1.44 would run a timer re-armed for now again in the
 * same pass over the timers. */
static void arm(struct qclient *c)
{
    uint64_t next = qload_next_due(&c->load), now = now_ns();
    uint64_t ms = next > now ? (next - now + 999999) / 1000000 : 1;
    uv_timer_start(&c->wake, on_wake, ms ? ms : 1, 0);
}

int qclient_start(struct qclient *c, uv_loop_t *loop, struct query_server *server, const struct source *src,
                  double per_s, uint64_t seed, struct hist *latency)
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
    int rc = uv_timer_init(loop, &c->wake);
    if (rc < 0)
        return rc;
    c->wake.data = c;
    if ((rc = uv_prepare_init(loop, &c->tick)) < 0) {
        uv_close((uv_handle_t *)&c->wake, NULL);
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
    uv_close((uv_handle_t *)&c->wake, NULL);
    uv_close((uv_handle_t *)&c->tick, NULL);
}

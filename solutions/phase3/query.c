/* query.c - queries from the main process: issued at the --queries rate
 * to random known ids (and the --query list after the drain), sent on the
 * owning worker's request pipe with a correlation id, completed when the
 * answer arrives or failed at the deadline. The loop never waits for one. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "clock.h"
#include "fnv.h"
#include "log.h"
#include "p3.h"
#include "timeline.h"

static void print_answer(struct phase3 *p, const struct qt_entry *e, const struct machine *m, const char *failure)
{
    FILE *f = (p->o->json || (p->o->dump && strcmp(p->o->dump, "-") == 0)) ? stderr : stdout;
    if (failure)
        fprintf(f, "query %s: failed: %s\n", e->id, failure);
    else if (!m)
        fprintf(f, "query %s: not found\n", e->id);
    else
        fprintf(f, "query %s: %s,%s,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%016llx\n", e->id, m->id,
                state_name((enum state)m->state), (unsigned long long)m->msgs, (unsigned long long)m->transitions,
                (unsigned long long)m->invalid, (unsigned long long)m->jobs, (unsigned long long)m->failures,
                (unsigned long long)m->bytes, (unsigned long long)m->last_seq, (unsigned long long)m->ooo,
                (unsigned long long)m->corrupt, (unsigned long long)m->checksum);
}

static void final_done(struct phase3 *p)
{
    if (p->final_left > 0 && --p->final_left == 0 && p->stage == ST_FINAL)
        control_collect(p);
}

static void query_failed(struct phase3 *p, const struct qt_entry *e, const char *why)
{
    p->q_failed++;
    struct wk *w = &p->w[e->worker];
    if (e->final) {
        print_answer(p, e, NULL, why);
    } else if (!w->query_warned) {
        /* One line per worker, not one per query: a stalled worker at
         * 1000 queries/s would otherwise flood the terminal. */
        w->query_warned = true;
        log_warn("query %llu for '%s' to worker %u (pid %d): %s (further failures are counted in the summary)",
                 (unsigned long long)e->corr, e->id, e->worker, (int)p->pool.w[e->worker].pid, why);
    }
    if (e->final)
        final_done(p);
}

/* Sends one query for id to its worker; intended is its pacer time. */
static void issue_query(struct phase3 *p, const char *id, size_t len, uint64_t hash, uint64_t intended, bool final)
{
    /* LAB: Send one query for id to the worker that owns it (the same routing as
     * its messages): open an entry in the query table (its correlation id,
     * intended time and deadline) and queue a QUERY frame on that worker's
     * request buffer (w->ctl_out); flush_queries() writes it. Never wait.
     * When the table is full, the worker is not running or its buffer is
     * full, the query fails at once through query_failed(), with the reason. */
    /* LAB STUB: (void)id; */
    /* LAB STUB: (void)len; */
    /* LAB STUB: (void)hash; */
    /* LAB STUB: (void)intended; */
    /* LAB STUB: (void)(final); */
    /* LAB STUB: p3_not_written(p, "issue_query()"); */
    uint32_t i = route_worker(hash, p->n);
    struct wk *w = &p->w[i];
    uint64_t now = now_ns();
    struct qt_entry *e = qt_open(&p->qt, intended, now, i, id, len);
    if (!e) {
        struct qt_entry tmp = {.worker = i, .final = final, .id_len = (uint8_t)len};
        memcpy(tmp.id, id, len);
        query_failed(p, &tmp, "too many queries in flight");
        return;
    }
    e->final = final;
    if (!p->pool.w[i].alive || w->ctl_closed) {
        e->pending = false;
        query_failed(p, e, "the worker is not running");
        return;
    }
    struct codec_buf b = w->ctl_out;
    if (codec_put_query(&b, e->corr, id, len) < 0) {
        e->pending = false;
        query_failed(p, e, "its request pipe is full (the worker is not reading)");
        return;
    }
    w->ctl_out.len = b.len;
    /* END LAB */
}

/* Sends every worker's queued queries: one write per worker for a whole
 * burst of due queries, not one per query. */
static void flush_queries(struct phase3 *p)
{
    for (uint32_t i = 0; i < p->n; i++) {
        struct wk *w = &p->w[i];
        if (!w->ctl_closed && !w->req_writable_armed && w->ctl_out.len > w->ctl_head)
            control_flush(p, w);
    }
}

void query_arm_timer(struct phase3 *p)
{
    uint64_t due = pacer_next_due(&p->qpace);
    struct itimerspec its = {.it_value = {.tv_sec = (time_t)(due / 1000000000u), .tv_nsec = (long)(due % 1000000000u)}};
    if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
        its.it_value.tv_nsec = 1; /* zero would disarm */
    if (timerfd_settime(p->qtimer_fd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
        log_warn("timerfd_settime: %s", strerror(errno));
}

static void issue_due_queries(struct phase3 *p, uint64_t now)
{
    /* LAB: Issue every query the query pacer (p->qpace) says is due by now, each
     * to a random id already seen by the source, each with its own intended
     * time from the pacer; then send the burst (flush_queries), one write
     * per worker. */
    /* LAB STUB: (void)now; */
    /* LAB STUB: (void)flush_queries; */
    /* LAB STUB: p3_not_written(p, "issue_due_queries()"); */
    uint64_t due = pacer_due(&p->qpace, now);
    for (uint64_t k = 0; k < due; k++) {
        uint64_t intended = pacer_next_due(&p->qpace);
        pacer_take(&p->qpace, 1);
        const struct idkey *key = source_random_seen(p->src, &p->qrng);
        if (key)
            issue_query(p, key->s, key->len, key->hash, intended, false);
    }
    if (due)
        flush_queries(p);
    /* END LAB */
}

/* The query clock: a timerfd, because libuv timers count whole
 * milliseconds and a query round trip is tens of microseconds. */
void query_on_timer(uv_poll_t *h, int status, int events)
{
    struct phase3 *p = h->loop->data;
    (void)events;
    (void)status;
    uint64_t ticks;
    if (read(p->qtimer_fd, &ticks, sizeof ticks) < 0 && errno != EAGAIN && errno != EINTR)
        log_warn("timerfd read: %s", strerror(errno));
    if (p->stage != ST_RUN)
        return;
    uint64_t t0 = tl_now(), asked = p->qt.next_corr;
    issue_due_queries(p, now_ns());
    tl_span(TL_QUERIES, t0, p->qt.next_corr - asked, 0);
    query_arm_timer(p);
}

void query_on_answer(struct phase3 *p, const struct codec_frame *f)
{
    /* LAB: An ANSWER frame f arrived. Match it to its pending query by
     * correlation id; an answer nobody waits for any more (its deadline has
     * passed) is only counted late. Otherwise complete the query: record its
     * latency from its intended time, count "not found", and for a final
     * query print the answer and tell final_done(). */
    /* LAB STUB: (void)f; */
    /* LAB STUB: (void)print_answer; */
    /* LAB STUB: p3_not_written(p, "query_on_answer()"); */
    struct qt_entry *e = qt_match(&p->qt, f->u.answer.corr);
    if (!e) {
        p->q_late++; /* answered after its deadline: already counted failed */
        return;
    }
    e->pending = false;
    hist_record(p->hist, now_ns() - e->intended_ns);
    if (!f->u.answer.found)
        p->q_not_found++;
    if (e->final) {
        print_answer(p, e, f->u.answer.found ? &f->u.answer.rec : NULL, NULL);
        final_done(p);
    }
    /* END LAB */
}

void query_on_sweep(uv_timer_t *h)
{
    /* LAB: Every SWEEP_MS: every pending query whose deadline has passed fails
     * through query_failed(), with a reason that names the timeout. */
    /* LAB STUB: (void)query_failed; */
    /* LAB STUB: p3_not_written(h->loop->data, "query_on_sweep()"); */
    struct phase3 *p = h->loop->data;
    uint64_t now = now_ns();
    struct qt_entry *e;
    char why[64];
    snprintf(why, sizeof why, "no answer within %u ms", p->o->query_timeout_ms);
    while ((e = qt_expired(&p->qt, now)))
        query_failed(p, e, why);
    /* END LAB */
}

void query_ask_final(struct phase3 *p)
{
    p->final_left = (uint32_t)p->c->nfinal;
    uint64_t t0 = tl_now();
    for (size_t k = 0; k < p->c->nfinal; k++) {
        const char *id = p->c->final_queries[k];
        size_t len = strlen(id);
        issue_query(p, id, len, fnv1a64(id, len), now_ns(), true);
    }
    flush_queries(p);
    tl_span(TL_QUERIES, t0, p->c->nfinal, 0);
}

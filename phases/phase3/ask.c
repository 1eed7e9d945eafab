/* ask.c - the driver of phase 3's queries: the query clock (a ptimer),
 * the pacing and the random ids of --queries, the --query list after the
 * drain, the request pipes, the deadline sweep, and what a failed or
 * answered query means for the run (a warning, a printed answer, the next
 * stage). What a query is (an entry, a frame, a match, a deadline) is the
 * query module's (query.h); this file acts on what it returns. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "fnv.h"
#include "log.h"
#include "p3.h"
#include "timeline.h"

static void print_answer(struct phase3 *p, const char *id, const struct machine *m, const char *failure)
{
    FILE *f = (p->o->json || (p->o->dump && strcmp(p->o->dump, "-") == 0)) ? stderr : stdout;
    if (failure)
        fprintf(f, "query %s: failed: %s\n", id, failure);
    else if (!m)
        fprintf(f, "query %s: not found\n", id);
    else
        fprintf(f, "query %s: %s,%s,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%016llx\n", id, m->id,
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

static void not_written(struct phase3 *p)
{
    p3_not_written(p, p->q.not_written ? p->q.not_written : p->q.tab.not_written);
}

/* A query of id to worker i failed: why. corr is 0 when it never had one. */
static void failed(struct phase3 *p, uint32_t i, uint64_t corr, const char *id, bool final, const char *why)
{
    struct wk *w = &p->w[i];
    if (final) {
        print_answer(p, id, NULL, why);
        final_done(p);
    } else if (!w->query_warned) {
        /* One line per worker, not one per query: a stalled worker at
         * 1000 queries/s would otherwise flood the terminal. */
        w->query_warned = true;
        log_warn("query %llu for '%s' to worker %u (pid %d): %s (further failures are counted in the summary)",
                 (unsigned long long)corr, id, i, (int)p->pool.w[i].pid, why);
    }
}

/* Sends one query for id to the worker its messages go to (SPEC §4). */
static void ask(struct phase3 *p, const char *id, size_t len, uint64_t hash, uint64_t intended, bool final)
{
    uint32_t i = route_worker(hash, p->n);
    struct wk *w = &p->w[i];
    struct codec_buf *req = p->pool.w[i].alive && !w->ctl_closed ? &w->ctl_out : NULL;
    struct qt_entry *e = NULL;
    int rc = query_send(&p->q, req, i, id, len, intended, now_ns(), &e);
    if (rc == QUERY_SENT) {
        e->final = final;
        return;
    }
    uint64_t corr = e ? e->corr : 0;
    switch (rc) {
    case QUERY_TOO_MANY: failed(p, i, corr, id, final, "too many queries in flight"); break;
    case QUERY_NOT_RUNNING: failed(p, i, corr, id, final, "the worker is not running"); break;
    case QUERY_PIPE_FULL: failed(p, i, corr, id, final, "its request pipe is full (the worker is not reading)"); break;
    default: not_written(p); break;
    }
}

/* Sends every worker's queued queries: one write per worker for a whole
 * burst of due queries, not one per query. */
static void flush_requests(struct phase3 *p)
{
    for (uint32_t i = 0; i < p->n; i++) {
        struct wk *w = &p->w[i];
        if (!w->ctl_closed && !w->req_writable_armed && w->ctl_out.len > w->ctl_head)
            control_flush(p, w);
    }
}

/* Every query the pacer says is due by now, each to a random id the
 * source has already produced, each with its own intended time; then the
 * burst leaves, one write per worker. */
static void ask_due(struct phase3 *p, uint64_t now)
{
    uint64_t intended, asked = 0;
    int rc;
    while (p->exit_status == EXIT_OK && (rc = query_due(&p->q, &p->qpace, now, &intended)) == QUERY_DUE) {
        uint32_t i = source_random_seen(p->src, &p->qrng);
        if (i != IDMAP_NONE) {
            struct idkey key = source_id(p->src, i);
            ask(p, key.s, key.len, key.hash, intended, false);
        }
        asked++;
    }
    if (p->exit_status == EXIT_OK && rc == QUERY_NOT_WRITTEN)
        not_written(p);
    if (asked)
        flush_requests(p);
}

/* The query clock: a ptimer (ptimer.h), because libuv timers count whole
 * milliseconds and a query round trip is tens of microseconds. With
 * --query-spin-us it wakes the loop that much early and spins to the due
 * time: a timer wakes a halted CPU tens of microseconds late, and a query's
 * latency counts from its due time. */
static void on_timer(struct ptimer *t)
{
    struct phase3 *p = t->data;
    if (p->stage != ST_RUN || p->exit_status != EXIT_OK)
        return;
    uint64_t t0 = tl_now(), asked = p->q.tab.next_corr;
    ask_due(p, now_ns());
    tl_span(TL_QUERIES, t0, p->q.tab.next_corr - asked, 0);
    if (p->exit_status == EXIT_OK)
        ask_start(p);
}

void ask_start(struct phase3 *p)
{
    int rc = ptimer_start(&p->qtimer, pacer_next_due(&p->qpace), on_timer);
    if (rc < 0)
        log_warn("the query clock: %s", strerror(-rc));
}

void ask_on_answer(struct phase3 *p, const struct codec_frame *f)
{
    struct qt_entry *e = NULL;
    int rc = query_answer(&p->q, f, now_ns(), &e);
    if (rc == QUERY_NOT_WRITTEN) {
        not_written(p);
        return;
    }
    if (rc == QUERY_LATE || !e->final)
        return;
    print_answer(p, e->id, rc == QUERY_ANSWERED ? &f->u.answer.rec : NULL, NULL);
    final_done(p);
}

void ask_on_sweep(uv_timer_t *h)
{
    struct phase3 *p = h->loop->data;
    uint64_t now = now_ns();
    struct qt_entry *e;
    char why[64];
    snprintf(why, sizeof why, "no answer within %u ms", p->o->query_timeout_ms);
    int rc;
    while ((rc = query_expire(&p->q, now, &e)) == QUERY_TIMED_OUT)
        failed(p, e->worker, e->corr, e->id, e->final, why);
    if (rc == QUERY_NOT_WRITTEN)
        not_written(p);
}

void ask_final(struct phase3 *p)
{
    p->final_left = (uint32_t)p->c->nfinal;
    uint64_t t0 = tl_now();
    for (size_t k = 0; k < p->c->nfinal && p->exit_status == EXIT_OK; k++) {
        const char *id = p->c->final_queries[k];
        size_t len = strlen(id);
        ask(p, id, len, fnv1a64(id, len), now_ns(), true);
    }
    flush_requests(p);
    tl_span(TL_QUERIES, t0, p->c->nfinal, 0);
}

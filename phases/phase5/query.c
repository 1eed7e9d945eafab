/* query.c - queries from the coordinator (SPEC §7, §10): at the --queries
 * rate to random known ids, and the --query list after the drain. A query
 * is a QUERY frame with a correlation id in the owning worker's next batch,
 * on the same connection as its messages; the ANSWER comes back among the
 * worker's replies and is matched by id, or the query fails at its deadline.
 * The loop never waits for one.
 *
 * Correlation ids count up from 1 and a query lives in slot id % QT_SLOTS:
 * matching is one index and one compare, and every query has the same
 * timeout, so deadlines expire in id order and the sweep looks only at the
 * oldest. At most QT_SLOTS are in flight; one more fails at once. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "fnv.h"
#include "log.h"
#include "p5.h"
#include "ptimer.h"
#include "timeline.h"

int query_init(struct coord *p)
{
    p->qt = calloc(QT_SLOTS, sizeof *p->qt);
    p->hist = malloc(sizeof *p->hist);
    if (!p->qt || !p->hist)
        return -1;
    hist_init(p->hist);
    p->next_corr = p->oldest_corr = 1;
    return 0;
}

void query_free(struct coord *p)
{
    free(p->qt);
    free(p->hist);
}

static void print_answer(struct coord *p, const struct qt_entry *e, const struct machine *m, const char *failure)
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

static void query_failed(struct coord *p, const struct qt_entry *e, const char *why)
{
    p->q_failed++;
    struct wk *w = &p->w[e->worker];
    if (e->final) {
        print_answer(p, e, NULL, why);
    } else if (!w->query_warned) {
        w->query_warned = true; /* one line per worker, not one per query */
        log_warn("query %llu for '%s' to worker %u (pid %d): %s (further failures are counted in the summary)",
                 (unsigned long long)e->corr, e->id, e->worker, w->pid, why);
    }
}

/* Puts a QUERY for id into its worker's batch; the caller sends it. */
static void issue(struct coord *p, const char *id, size_t len, uint64_t hash, uint64_t intended, bool final)
{
    uint32_t i = route_worker(hash, p->n);
    struct wk *w = &p->w[i];
    struct qt_entry *e = &p->qt[p->next_corr % QT_SLOTS];
    struct qt_entry tmp = {.worker = i, .final = final, .id_len = (uint8_t)len};
    memcpy(tmp.id, id, len);
    if (e->pending) {
        query_failed(p, &tmp, "too many queries in flight");
        return;
    }
    if (w->dead || w->replaying) {
        /* --recover: fast, rather than answered from a state not rebuilt yet */
        query_failed(p, &tmp, "its worker is being restarted (--recover)");
        return;
    }
    /* A batch that ZeroMQ refused (sealed) still takes a query if it has
     * room: only MSG frames wait for it, as they wait for credit. */
    if (codec_put_query(&w->batch, p->next_corr, id, len) < 0) {
        query_failed(p, &tmp, "its queue is full (the worker is not reading)");
        return;
    }
    uint64_t now = now_ns();
    *e = tmp;
    e->corr = p->next_corr++;
    e->intended_ns = intended;
    e->deadline_ns = now + (uint64_t)p->o->query_timeout_ms * 1000000ull;
    e->pending = true;
}

/* Every query the pacer says is due, each to a random id already routed. */
static void issue_due(struct coord *p)
{
    uint64_t due = pacer_due(&p->qpace, now_ns());
    for (uint64_t k = 0; k < due; k++) {
        uint64_t intended = pacer_next_due(&p->qpace);
        pacer_take(&p->qpace, 1);
        uint32_t i = source_random_seen(p->src, &p->qrng);
        if (i != IDMAP_NONE) {
            struct idkey key = source_id(p->src, i);
            issue(p, key.s, key.len, key.hash, intended, false);
        }
    }
    if (due)
        for (uint32_t i = 0; i < p->n && p->exit_status == EXIT_OK; i++)
            if (!p->w[i].sealed) /* a sealed one is retried on its timer */
                route_send(p, &p->w[i]);
}

/* The query clock is a ptimer (ptimer.h): a uv_timer_t would wake up to
 * 1 ms late, and a query round trip is tens of microseconds. */
static void on_query_timer(struct ptimer *t)
{
    struct coord *p = t->data;
    if (p->stage != ST_RUN)
        return;
    issue_due(p);
    if (ptimer_start(&p->qtimer, pacer_next_due(&p->qpace), on_query_timer) < 0)
        log_warn("the query clock cannot be re-armed: no more queries");
}

void query_start(struct coord *p)
{
    pacer_init(&p->qpace, p->o->queries, now_ns(), 1000);
    if (p->o->queries > 0) {
        clock_exact_sleeps();
        int rc = ptimer_init(&p->loop, &p->qtimer);
        if (rc == 0) {
            p->qtimer_made = true;
            p->qtimer.data = p;
            ptimer_spin_before(&p->qtimer, p->c->query_spin_ns);
            rc = ptimer_start(&p->qtimer, pacer_next_due(&p->qpace), on_query_timer);
        }
        if (rc < 0)
            log_warn("no query clock (%s): --queries ignored", strerror(-rc));
    }
    if (p->o->queries > 0 || p->c->nfinal > 0)
        uv_timer_start(&p->sweep_timer, query_on_sweep, SWEEP_MS, SWEEP_MS);
}

void query_ask_final(struct coord *p, struct wk *w)
{
    for (size_t k = 0; k < p->c->nfinal; k++) {
        const char *id = p->c->final_queries[k];
        size_t len = strlen(id);
        uint64_t hash = fnv1a64(id, len);
        if (route_worker(hash, p->n) == w->index)
            issue(p, id, len, hash, now_ns(), true);
    }
}

void query_on_answer(struct coord *p, struct wk *w, const struct codec_frame *f)
{
    struct qt_entry *e = &p->qt[f->u.answer.corr % QT_SLOTS];
    if (!e->pending || e->corr != f->u.answer.corr || e->worker != w->index) {
        p->q_late++; /* its deadline passed: already counted as failed */
        return;
    }
    e->pending = false;
    tl_flow('f', TL_QUERY, f->u.answer.corr);
    hist_record(p->hist, now_ns() - e->intended_ns);
    if (!f->u.answer.found)
        p->q_not_found++;
    if (e->final)
        print_answer(p, e, f->u.answer.found ? &f->u.answer.rec : NULL, NULL);
}

void query_on_sweep(uv_timer_t *h)
{
    struct coord *p = h->loop->data;
    uint64_t now = now_ns();
    char why[64];
    snprintf(why, sizeof why, "no answer within %u ms", p->o->query_timeout_ms);
    for (; p->oldest_corr < p->next_corr; p->oldest_corr++) {
        struct qt_entry *e = &p->qt[p->oldest_corr % QT_SLOTS];
        if (e->corr != p->oldest_corr || !e->pending)
            continue;
        if (e->deadline_ns > now)
            break;
        e->pending = false;
        query_failed(p, e, why);
    }
}

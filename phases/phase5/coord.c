/* coord.c - phase 5's coordinator, its set-up and its end: the ROUTER and
 * its place in the loop (zwatch.h), the forked local workers (pool.h) or,
 * with --remote, the command that starts each worker elsewhere, signals (SIGINT/SIGTERM drain, a second one kills,
 * SIGUSR1 prints the status table), and supervision: a worker is lost when it dies (SIGCHLD), breaks the protocol,
 * reconnects, or is silent past its lease (with --recover it is restarted instead: respawn.c). The run itself is
 * route.c, inbox.c and query.c (see p5.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "clock.h"
#include "log.h"
#include "p5.h"
#include "run.h"
#include "signals.h"
#include "timeline.h"
#include "work.h"
#include "zcall.h"

void p5_describe(const struct coord *p, uint32_t i, char *buf, size_t len)
{
    const struct wk *w = &p->w[i];
    if (w->hello)
        snprintf(buf, len, "connected from %s to %s", w->peer, p->endpoint);
    else if (w->dead && p->c->remote)
        snprintf(buf, len, "lost; its replacement is awaited at %s", p->endpoint);
    else
        snprintf(buf, len, "never connected to %s", p->endpoint);
}

/* Ends the run's workers at once: local ones by SIGKILL, remote ones (no
 * signal reaches them) by WIRE_EXIT, which the ROUTER's linger delivers
 * after the loop stops (teardown). */
static void end_workers(struct coord *p)
{
    pool_signal_all(&p->pool, SIGKILL);
    for (uint32_t i = 0; p->c->remote && i < p->n; i++)
        route_send_exit(p, &p->w[i]);
}

void p5_lose(struct coord *p, uint32_t i, const char *how)
{
    char where[P5_ENDPOINT_MAX + 96];
    p5_describe(p, i, where, sizeof where);
    fprintf(stderr, "%s: worker %u (pid %d): %s [%s]\n", PROGRAM, i, p->w[i].pid, how, where);
    p->exit_status = EXIT_WORKER_LOST;
    end_workers(p);
    uv_stop(&p->loop);
}

void p5_worker_lost(struct coord *p, uint32_t i, const char *what)
{
    if (p->exit_status != EXIT_OK)
        return;
    if (p->o->recover) {
        respawn_kill(p, i, what); /* its death goes through the restart policy */
        return;
    }
    /* A send that fails is often the symptom of a death: a moment for it
     * to show, so that the cause is named. A remote death cannot be seen. */
    char why[320];
    if (p->c->remote)
        snprintf(why, sizeof why, "%s", what);
    else
        pool_describe_loss(&p->pool, i, 50, what, why, sizeof why);
    p5_lose(p, i, why);
}

static void on_worker_exit(struct pool *pool, uint32_t i, pid_t pid, int wstatus, void *arg)
{
    struct coord *p = arg;
    (void)pool;
    tl_died(i, pid, wstatus);
    if (p->stage == ST_EXIT && p->w[i].exit_sent && WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) {
        if (pool_alive(&p->pool) == 0)
            uv_stop(&p->loop);
        return;
    }
    if (p->exit_status != EXIT_OK)
        return; /* already ending: these are the workers we killed */
    if (p->o->recover) {
        respawn_on_death(p, i, pid, wstatus);
        return;
    }
    char how[64];
    pool_describe_exit(wstatus, how, sizeof how);
    p5_lose(p, i, how);
}

static void print_status(struct coord *p)
{
    struct worker_stats ws[CLI_MAX_WORKERS];
    for (uint32_t i = 0; i < p->n; i++) {
        /* A local worker's counters are in shared memory; a remote one's
         * progress is the credit it has handed back. */
        struct pool_slot *s = pool_slot(&p->pool, i);
        uint64_t handled =
            p->c->remote ? p->w[i].credited_msgs : atomic_load_explicit(&s->handled, memory_order_relaxed);
        ws[i] = (struct worker_stats){
            .index = i,
            .pid = p->w[i].pid,
            .alive = p->c->remote ? p->w[i].hello && !p->w[i].ended : p->pool.w[i].alive,
            .handled = handled,
            .queue_depth = p->w[i].sent_msgs > handled ? p->w[i].sent_msgs - handled : 0,
            .busy_ns = atomic_load_explicit(&s->busy_ns, memory_order_relaxed),
            .rss_kb = (long)atomic_load_explicit(&s->rss_kb, memory_order_relaxed),
        };
    }
    status_print(stderr, PROGRAM, ws, p->n);
    for (uint32_t i = 0; i < p->n; i++) {
        const struct wk *w = &p->w[i];
        char where[P5_ENDPOINT_MAX + 96];
        p5_describe(p, i, where, sizeof where);
        fprintf(stderr, "  worker %u: pid %d, %s, credit %u/%u frames %lld/%u bytes, %s\n", i, w->pid, where,
                w->credit_frames, w->window_frames, (long long)w->credit_bytes, w->window_bytes,
                w->ended       ? "collected"
                : w->drained   ? "collecting"
                : w->tail_sent ? "draining"
                : w->sealed    ? "queue full"
                               : "running");
    }
}

static void on_status_timer(uv_timer_t *h)
{
    print_status(h->loop->data);
}

/* A stop request while remote workers are still awaited: nothing was
 * routed, so the run ends now with its dump of nothing, and the workers
 * that did connect are released. */
static void end_before_start(struct coord *p)
{
    p->stage = ST_EXIT;
    p->start_ns = p->end_ns = now_ns();
    for (uint32_t i = 0; i < p->n; i++)
        route_send_exit(p, &p->w[i]);
    uv_stop(&p->loop);
}

static void on_signal(uv_signal_t *h, int sig)
{
    struct coord *p = h->loop->data;
    tl_instant(TL_SIGNAL, (uint64_t)sig, 0);
    if (sig == SIGUSR1) {
        print_status(p);
        return;
    }
    if (++p->interrupts == 1) {
        log_warn("%s: stopping the source after %llu messages and draining (again to abort)", strsignal(sig),
                 (unsigned long long)p->routed);
        if (p->stage == ST_START && p->c->remote)
            end_before_start(p); /* a worker not started yet may never be */
        else if (p->stage == ST_START)
            p->stop_early = true; /* nothing routed: an empty run drains once every HELLO is in */
        else
            route_drain(p);
        return;
    }
    if (p->exit_status == EXIT_OK) {
        fprintf(stderr, "%s: interrupted again: %s the workers\n", PROGRAM, p->c->remote ? "releasing" : "killing");
        p->exit_status = EXIT_INTERRUPTED;
        end_workers(p);
        uv_stop(&p->loop);
    }
}

void p5_start_run(struct coord *p)
{
    log_debug("all %u workers connected; starting the source", p->n);
    p->stage = ST_RUN;
    p->start_ns = now_ns();
    pacer_init(&p->rate, p->o->rate, p->start_ns, PUMP_TURN);
    query_start(p);
    if (p->stop_early)
        route_drain(p);
    else
        route_start(p);
}

void p5_after_drain(struct coord *p)
{
    log_debug("all records in (%llu machines); releasing the workers",
              (unsigned long long)extsort_total(&p->records).machines);
    p->stage = ST_EXIT;
    uv_timer_stop(&p->sweep_timer);
    for (uint32_t i = 0; i < p->n; i++)
        route_send_exit(p, &p->w[i]);
    if (pool_alive(&p->pool) == 0) /* always, with --remote: nothing to reap */
        uv_stop(&p->loop);
}

/* The state letter of a local process from /proc/PID/stat ('R', 'S',
 * 'T' for stopped...), or 0 when it cannot be read. */
static char proc_state(int pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *paren = strrchr(buf, ')'); /* "pid (comm) S ...": comm may hold anything */
    return paren && paren[1] == ' ' ? paren[2] : 0;
}

/* The lease: every worker sends something (a reply or a WIRE_LEASE) at
 * least every lease/4 (worker.c). Only the worker's own messages count:
 * the kernel answers TCP keepalive probes (zcall.h) for a process that is
 * stopped or hung.
 *
 * A worker silent for the whole lease is stopped, hung or cut off, or it is
 * only starved of CPU on a loaded machine: a 300 ms lease on a 2-CPU host
 * at load 18 expires for healthy workers. A local worker's state in /proc
 * tells them apart: one that is stopped (SIGSTOP, a debugger) or gone is
 * lost at the lease; one the kernel says is running or waiting is given up
 * to P5_LEASE_GRACE leases more before it is declared hung. A remote
 * worker has only the lease: its process cannot be seen from here. */

static void check_lease(struct coord *p, uint32_t i, uint64_t now, uint64_t lease)
{
    struct wk *w = &p->w[i];
    uint64_t silent = now - w->last_heard_ns;
    char st = p->c->remote ? 0 : proc_state(w->pid), what[200];
    if (p->c->remote)
        snprintf(what, sizeof what, "silent for %llu ms, past its %u ms lease (a remote worker: only the lease tells)",
                 (unsigned long long)(silent / 1000000), p->c->lease_ms);
    else if (st == 'T' || st == 't' || st == 'Z' || st == 'X' || st == 0)
        snprintf(what, sizeof what, "silent for %llu ms, past its %u ms lease (%s)",
                 (unsigned long long)(silent / 1000000), p->c->lease_ms,
                 st == 'T' || st == 't' ? "the process is stopped" : "the process is gone");
    else if (silent > P5_LEASE_GRACE * lease)
        snprintf(what, sizeof what,
                 "silent for %llu ms, %d times its %u ms lease, though its process is not stopped (hung)",
                 (unsigned long long)(silent / 1000000), P5_LEASE_GRACE, p->c->lease_ms);
    else
        return; /* starved of CPU, most likely: see above */
    if (p->o->recover)
        respawn_kill(p, i, what);
    else
        p5_lose(p, i, what);
}

static void on_lease_timer(uv_timer_t *h)
{
    struct coord *p = h->loop->data;
    uint64_t now = now_ns();
    if (p->stage == ST_START) {
        /* Remote workers are started by someone else, whenever: no limit. */
        if (!p->c->remote && now - p->start_begin_ns > (uint64_t)START_TIMEOUT_MS * 1000000ull)
            for (uint32_t i = 0; i < p->n; i++)
                if (!p->w[i].hello) {
                    /* Not a death --recover could repair: a start that hangs. */
                    if (p->o->recover)
                        p5_lose(p, i, "did not say HELLO within 10 s");
                    else
                        p5_worker_lost(p, i, "did not say HELLO within 10 s");
                    return;
                }
        return;
    }
    if (p->stage == ST_EXIT)
        return;
    uint64_t lease = (uint64_t)p->c->lease_ms * 1000000ull;
    bool drained = false;
    for (uint32_t i = 0; i < p->n && p->exit_status == EXIT_OK; i++) {
        if (p->o->recover && (p->w[i].dead || (!p->c->remote && !p->pool.w[i].alive))) {
            /* --recover: its successor is starting (or, remote, awaited),
             * or its death is not handled yet (or it had ended): a HELLO
             * is all it owes. */
            if (p->w[i].dead && p->pool.w[i].alive &&
                now - p->w[i].restart_ns > (uint64_t)START_TIMEOUT_MS * 1000000ull)
                p5_lose(p, i, "was restarted but did not say HELLO within 10 s");
            continue;
        }
        if (now - p->w[i].last_heard_ns <= lease)
            continue;
        if (!drained) {
            /* The loop itself may have been descheduled: read what has
             * arrived meanwhile before blaming anybody. */
            zwatch_drain(&p->zw);
            drained = true;
            now = now_ns();
            if (now - p->w[i].last_heard_ns <= lease)
                continue;
        }
        check_lease(p, i, now, lease);
    }
}

static int body(struct pool *pool, uint32_t index, void *arg)
{
    struct coord *p = arg;
    struct p5_worker_setup s = {
        .index = index,
        .of = p->n,
        .expected_ids = source_ids_known(p->src) / p->n + 64,
        .work_ns = p->o->work_ns,
        .window_frames = p->c->window_frames,
        .window_bytes = p->c->window_bytes,
        .hwm = p->c->hwm,
        .lease_ms = p->c->lease_ms,
        .recover = p->o->recover ? p->rec.area[index] : NULL,
    };
    snprintf(s.connect, sizeof s.connect, "%s", p->endpoint);
    if (p->c->keys) {
        /* This process's copy of the keys: the worker's own, and no
         * coordinator secret left lying in its memory. */
        s.curve = true;
        s.keys = *p->c->keys;
        keys_wipe_secrets(p->c->keys);
    }
    return p5_worker_run(&s, pool_slot(pool, index));
}

static size_t keep_no_fds(uint32_t index, int *fds, void *arg)
{
    (void)index;
    (void)fds;
    (void)arg;
    return 0;
}

/* The ROUTER, bound before the fork so that the workers know its port. The
 * workers never touch the parent's ZeroMQ context: each makes its own after
 * the fork (a context's I/O threads do not survive a fork), and the pool
 * closes the parent's descriptors in them. */
/* --keys: the ROUTER is a CURVE server, and the ZAP handler, bound first,
 * admits the worker key only (zap.h). The coordinator's secret key is
 * wiped once the socket holds it. */
static int setup_curve(struct coord *p)
{
    struct keys *k = p->c->keys;
    int rc = 0;
    if (zap_open(&p->zap, p->zctx, k->worker_pub) < 0 || zcall_set_int(p->router, ZMQ_CURVE_SERVER, 1) < 0 ||
        zcall_setsockopt(p->router, ZMQ_CURVE_SECRETKEY, k->coord_secret, KEYS_Z85_LEN) < 0 ||
        zcall_setsockopt(p->router, ZMQ_ZAP_DOMAIN, PROGRAM, strlen(PROGRAM)) < 0)
        rc = -errno;
    keys_wipe(k->coord_secret, sizeof k->coord_secret);
    if (rc == 0)
        log_info("CURVE: server key %s, admitting worker key %s only", k->coord_pub, k->worker_pub);
    return rc;
}

static int setup_router(struct coord *p)
{
    int64_t maxmsg = WIRE_HDR + REPLY_MAX;
    p->zctx = zcall_ctx_new();
    if (!p->zctx)
        return -errno;
    p->router = zmq_socket(p->zctx, ZMQ_ROUTER);
    int rc;
    if (p->router && p->c->keys && (rc = setup_curve(p)) < 0)
        return rc;
    if (!p->router || zcall_set_int(p->router, ZMQ_ROUTER_MANDATORY, 1) < 0 ||
        zcall_set_int(p->router, ZMQ_ROUTER_HANDOVER, 1) < 0 || zcall_set_int(p->router, ZMQ_SNDHWM, p->c->hwm) < 0 ||
        zcall_set_int(p->router, ZMQ_RCVHWM, p5_upstream_hwm(p->c->hwm)) < 0 ||
        zcall_set_int(p->router, ZMQ_LINGER, 0) < 0 || zcall_set_keepalive(p->router, 0) < 0 ||
        zcall_setsockopt(p->router, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) < 0)
        return -errno;
    if (zcall_bind(p->router, p->c->bind) < 0)
        return -errno;
    size_t len = sizeof p->endpoint;
    if (zcall_getsockopt(p->router, ZMQ_LAST_ENDPOINT, p->endpoint, &len) < 0)
        return -errno;
    log_info("bound %s", p->endpoint);
    return 0;
}

static int setup_loop(struct coord *p)
{
    int rc;
    if ((rc = uv_loop_init(&p->loop)) < 0)
        return rc;
    p->loop.data = p;
    uv_idle_init(&p->loop, &p->pump);
    uv_timer_t *timers[] = {&p->rate_timer, &p->retry_timer, &p->lease_timer, &p->sweep_timer, &p->status_timer};
    for (size_t k = 0; k < sizeof timers / sizeof timers[0]; k++)
        uv_timer_init(&p->loop, timers[k]);
    uv_signal_init(&p->loop, &p->sigint);
    uv_signal_init(&p->loop, &p->sigterm);
    uv_signal_init(&p->loop, &p->sigusr1);
    if ((rc = zwatch_start(&p->zw, &p->loop, p->router, inbox_on_readable, p)) < 0)
        return rc;
    if (p->zap.sock && (rc = zap_watch(&p->zap, &p->loop)) < 0)
        return rc;
    p->zw.on_writable = route_on_writable;
    if ((rc = tl_loop_watch(&p->turns, &p->loop, &p->routed)) < 0)
        return rc;
    if (p->o->recover && (rc = respawn_watch(p)) < 0)
        return rc;
    if ((rc = uv_signal_start(&p->sigint, on_signal, SIGINT)) < 0 ||
        (rc = uv_signal_start(&p->sigterm, on_signal, SIGTERM)) < 0 ||
        (rc = uv_signal_start(&p->sigusr1, on_signal, SIGUSR1)) < 0)
        return rc;
    signals_stops_interrupt_reads();
    if (signals_stops() > 0)
        on_signal(&p->sigint, SIGINT);
    uv_timer_start(&p->lease_timer, on_lease_timer, LEASE_TICK_MS, LEASE_TICK_MS);
    if (p->o->status_every > 0) {
        uint64_t ms = (uint64_t)(p->o->status_every * 1000.0);
        uv_timer_start(&p->status_timer, on_status_timer, ms ? ms : 1, ms ? ms : 1);
    }
    p->start_begin_ns = now_ns();
    return pool_watch(&p->pool, &p->loop);
}

static void close_one(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

/* Closing the last libuv handle of a signal gives it back its default
 * action: the common handlers (signals.h) take over, signals held. */
static void teardown(struct coord *p, bool loop_made)
{
    if (loop_made) {
        sigset_t held;
        signals_hold(&held);
        p->zw.closed = p->zap.zw.closed = true;
        if (p->qtimer_made)
            ptimer_close(&p->qtimer); /* its handle and its timerfd */
        uv_walk(&p->loop, close_one, NULL);
        signals_resume(p->interrupts > 0 ? 1 : 0);
        signals_release(&held);
        uv_run(&p->loop, UV_RUN_DEFAULT);
        if (uv_loop_close(&p->loop) < 0)
            log_warn("the loop still had open handles at exit");
    }
    if (p->router && p->c->remote) {
        /* The WIRE_EXITs still queued are the remote workers' only way to
         * learn that the run is over: give them a moment to leave. */
        int linger = REMOTE_LINGER_MS;
        zcall_setsockopt(p->router, ZMQ_LINGER, &linger, sizeof linger);
    }
    if (p->router)
        zmq_close(p->router);
    zap_close(&p->zap); /* after the ROUTER: no handshake is left to answer */
    if (p->zctx)
        zcall_ctx_term(p->zctx);
    if (p->pool_started)
        pool_reap_all(&p->pool, 1000);
    pool_free(&p->pool);
    recover_free(&p->rec);
    for (uint32_t i = 0; p->w && i < p->n; i++)
        free(p->w[i].batch.data);
    query_free(p);
    free(p->scratch);
    free(p->w);
}

static int take_result(struct coord *p, struct p5_result *r)
{
    r->per_worker = calloc(p->n, sizeof *r->per_worker);
    if (!r->per_worker) {
        fprintf(stderr, "%s: out of memory\n", PROGRAM);
        return EXIT_NO_MEMORY;
    }
    for (uint32_t i = 0; i < p->n; i++)
        r->per_worker[i] = (struct worker_stats){
            .index = i,
            .pid = p->w[i].pid,
            .handled = p->w[i].handled,
            .busy_ns = p->w[i].busy_ns,
            .rss_kb = (long)p->w[i].rss_kb,
        };
    r->records = p->records;
    p->records = (struct extsort){0};
    r->queries = p->hist;
    p->hist = NULL;
    long self = rss_peak_self_kb(), kids = rss_peak_children_kb();
    r->sum = (struct run_summary){
        .phase = 5,
        .workers = p->n,
        .messages = p->routed,
        .seconds = p->end_ns > p->start_ns ? (double)(p->end_ns - p->start_ns) / 1e9 : 0,
        .queries = r->queries,
        .query_failed = p->q_failed,
        .query_not_found = p->q_not_found,
        .rss_kb_max = self > kids ? self : kids,
        .per_worker = r->per_worker,
    };
    return EXIT_OK;
}

/* --remote: the exact command of worker i, for whoever starts it (each
 * flag that must agree with the coordinator's is spelt out). */
void p5_print_worker_command(const struct coord *p, uint32_t i)
{
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    snprintf(self + (n > 0 ? n : 0), sizeof self - (size_t)(n > 0 ? n : 0), "%s", n > 0 ? "" : "phase5");
    fprintf(stderr,
            "  %s --worker --connect %s --index %u --of %u --work-ns %llu --window %u --window-bytes %u "
            "--hwm %d --lease %u%s%s\n",
            self, p->endpoint, i, p->n, (unsigned long long)p->o->work_ns, p->c->window_frames, p->c->window_bytes,
            p->c->hwm, p->c->lease_ms, p->c->keys ? " --keys " : "", p->c->keys ? p->c->keys_dir : "");
    fflush(stderr);
}

static void print_worker_commands(const struct coord *p)
{
    fprintf(stderr, "%s: waiting for %u workers at %s; start each of them, on any host that reaches it, as:\n", PROGRAM,
            p->n, p->endpoint);
    for (uint32_t i = 0; i < p->n; i++)
        p5_print_worker_command(p, i);
}

/* Each batch holds up to BATCH_BYTES of frames, one largest MSG frame of
 * this source beyond that, and room for queries: allocated once per worker.
 * The cost is N times the largest payload (the pages a big frame touched
 * stay resident): 256 workers fed 16 MiB payloads could hold 4 GiB. A
 * single buffer shared by the frames over BATCH_BYTES would bound it by one
 * payload; not done yet. */
static size_t batch_cap(const struct coord *p)
{
    return WIRE_HDR + BATCH_BYTES + CODEC_MSG_OVERHEAD + source_payload_max(p->src) + 64u * 1024u;
}

int phase5_run(const struct options *o, const struct p5_config *c, struct source *src, struct p5_result *r)
{
    memset(r, 0, sizeof *r);
    struct coord *p = calloc(1, sizeof *p);
    if (!p) {
        fprintf(stderr, "%s: out of memory\n", PROGRAM);
        return EXIT_NO_MEMORY;
    }
    *p = (struct coord){.o = o, .c = c, .src = src, .n = o->workers};
    int status = EXIT_SETUP_FAILED;
    bool loop_made = false;
    const char *step = "memory";
    int rc = -ENOMEM;

    rng_seed(&p->qrng, o->gen.seed ^ 0x71755e57ull);
    p->w = calloc(p->n, sizeof *p->w);
    p->scratch = malloc(CODEC_RECORDS_MAX * sizeof *p->scratch);
    if (!p->w || !p->scratch || query_init(p) < 0)
        goto fail;
    step = "sorting of the records";
    if ((rc = run_sorter_init(o, &p->records)) < 0)
        goto fail;
    for (uint32_t i = 0; i < p->n; i++) {
        struct wk *w = &p->w[i];
        w->index = i;
        w->batch.cap = batch_cap(p);
        w->batch.len = WIRE_HDR;
        if (!(w->batch.data = malloc(w->batch.cap)))
            goto fail;
    }
    step = "ROUTER socket";
    if ((rc = setup_router(p)) < 0) {
        fprintf(stderr, "%s: cannot set up the %s on %s: %s\n", PROGRAM, step, c->bind, zmq_strerror(-rc));
        goto out;
    }
    step = "recovery log";
    if (o->recover && (rc = recover_init(&p->rec, p->n, src)) < 0)
        goto fail;
    step = "worker pool";
    if ((rc = pool_init(&p->pool, p->n, o->pin, body, keep_no_fds, on_worker_exit, p)) < 0)
        goto fail;
    if (c->remote) {
        print_worker_commands(p);
    } else {
        work_iterations_for(o->work_ns); /* calibrated once, inherited by the fork (as phase 3) */
        if ((rc = pool_start(&p->pool)) < 0)
            goto fail;
        p->pool_started = true;
        if (c->keys && !o->recover)
            keys_wipe_secrets(c->keys); /* the workers have their copies (a restart needs them again) */
        for (uint32_t i = 0; i < p->n; i++)
            p->w[i].pid = (int)p->pool.w[i].pid;
    }
    loop_made = true;
    if ((rc = setup_loop(p)) < 0) {
        fprintf(stderr, "%s: cannot set up the event loop: %s\n", PROGRAM, uv_strerror(rc));
        pool_signal_all(&p->pool, SIGKILL);
        goto out;
    }

    uv_run(&p->loop, UV_RUN_DEFAULT);
    if (p->zw.error && p->exit_status == EXIT_OK) {
        fprintf(stderr, "%s: the ROUTER socket failed: %s\n", PROGRAM, zmq_strerror(p->zw.error));
        /* ENOSYS: the starter's zwatch_drain(), not written yet (lab.h). */
        p->exit_status = p->zw.error == ENOSYS ? EXIT_NOT_WRITTEN : EXIT_SETUP_FAILED;
    }
    status = p->exit_status;
    if (status == EXIT_OK)
        status = take_result(p, r);
    goto out;

fail:
    fprintf(stderr, "%s: cannot set up the %s: %s\n", PROGRAM, step, strerror(-rc));
    if (rc == -ENOMEM)
        status = EXIT_NO_MEMORY;
    if (p->pool_started)
        pool_signal_all(&p->pool, SIGKILL);
out:
    teardown(p, loop_made);
    extsort_free(&p->records);
    free(p);
    return status;
}

void p5_result_free(struct p5_result *r)
{
    extsort_free(&r->records);
    free(r->per_worker);
    free(r->queries);
    memset(r, 0, sizeof *r);
}

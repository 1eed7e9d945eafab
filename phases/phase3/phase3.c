/* phase3.c - the main process of phase 3, its set-up and its end: the
 * pipes, the worker pool, the loop and its handles,
 * signals (SIGINT/SIGTERM drain, a second one kills, SIGUSR1 prints the
 * status table) and the supervision that turns a worker's death into exit
 * 3. The run itself is pump.c, ask.c and control.c, which call the lesson
 * modules (router.h, query.h) and act on what they return (see p3.h). */
#define _GNU_SOURCE
#include "phase3.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <uv.h>

#include "clock.h"
#include "log.h"
#include "p3.h"
#include "run.h"
#include "signals.h"
#include "timeline.h"
#include "work.h"
#include "worker.h"

/* Names worker i and how it was lost, and ends the run with exit 3. */
static void lose_worker(struct phase3 *p, uint32_t i, const char *how)
{
    fprintf(stderr, "%s: worker %u (pid %d): %s\n", PROGRAM, i, (int)p->pool.w[i].pid, how);
    p->exit_status = EXIT_WORKER_LOST;
    pool_signal_all(&p->pool, SIGKILL);
    uv_stop(&p->loop);
}

/* Under --recover a failing worker is not the end of the run: it is killed,
 * and its death goes through the restart policy (respawn.c) like any other.
 * Its message pipe is no longer watched meanwhile, or a pipe in error would
 * wake the loop at every turn until SIGCHLD arrives. */
void p3_worker_failed(struct phase3 *p, uint32_t i, const char *what)
{
    if (!p->o->recover) {
        p3_worker_lost(p, i, what);
        return;
    }
    struct wk *w = &p->w[i];
    log_warn("worker %u (pid %d): %s; killing it, --recover restarts it", i, (int)p->pool.w[i].pid, what);
    p->rt.pipe[i].full = false; /* its queue is replayed to its successor, not written */
    if (!w->msg_closed && w->msg_writable_armed) {
        uv_poll_stop(&w->msg_poll);
        w->msg_writable_armed = false;
    }
    if (p->pool.w[i].alive && kill(p->pool.w[i].pid, SIGKILL) < 0)
        log_warn("worker %u: kill: %s", i, strerror(errno));
}

/* Ends the run with exit 3: SPEC §8, no dump when a worker is lost. */
void p3_worker_lost(struct phase3 *p, uint32_t i, const char *what)
{
    if (p->exit_status != EXIT_OK)
        return;
    /* A pipe error is usually the symptom of a death: SPEC §8's 100 ms
     * for it to show, so that the cause is named. */
    char why[160];
    pool_describe_loss(&p->pool, i, 100, what, why, sizeof why);
    lose_worker(p, i, why);
}

void p3_not_written(struct phase3 *p, const char *func)
{
    if (p->exit_status != EXIT_OK)
        return;
    log_error("%s is not written yet: see labs/phase3/README.md", func);
    p->exit_status = EXIT_NOT_WRITTEN;
    pool_signal_all(&p->pool, SIGKILL);
    uv_stop(&p->loop);
}

static void on_worker_exit(struct pool *pool, uint32_t i, pid_t pid, int wstatus, void *arg)
{
    struct phase3 *p = arg;
    (void)pool;
    if (p->stage == ST_EXIT && WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) {
        log_debug("worker %u (pid %d): exited", i, (int)pid);
        if (pool_alive(&p->pool) == 0)
            uv_stop(&p->loop);
        return;
    }
    tl_died(i, pid, wstatus);
    if (p->exit_status != EXIT_OK)
        return; /* already ending: these are the workers we killed */
    if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == WORKER_EXIT_TODO) {
        /* The starter's worker.c: no restart can help. */
        fprintf(stderr, "%s: worker %u (pid %d): stopped at a function of labs/phase3/worker.c not written yet\n",
                PROGRAM, i, (int)pid);
        p->exit_status = EXIT_NOT_WRITTEN;
        pool_signal_all(&p->pool, SIGKILL);
        uv_stop(&p->loop);
        return;
    }
    if (p->o->recover) {
        respawn_on_death(p, i, pid, wstatus);
        return;
    }
    char how[64];
    pool_describe_exit(wstatus, how, sizeof how);
    lose_worker(p, i, how);
}

/* A worker's resident set now, in KiB, from /proc/PID/statm (its second
 * field, in pages); 0 when it cannot be read. */
static long rss_of(pid_t pid)
{
    char path[64], line[128];
    snprintf(path, sizeof path, "/proc/%d/statm", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char *got = fgets(line, sizeof line, f);
    fclose(f);
    if (!got)
        return 0;
    char *end;
    strtol(line, &end, 10); /* total size: skipped */
    long resident = strtol(end, &end, 10);
    return resident > 0 ? resident * (sysconf(_SC_PAGESIZE) / 1024) : 0;
}

static void print_status(struct phase3 *p)
{
    struct worker_stats ws[CLI_MAX_WORKERS];
    for (uint32_t i = 0; i < p->n; i++) {
        struct pool_slot *s = pool_slot(&p->pool, i);
        uint64_t handled = atomic_load_explicit(&s->handled, memory_order_relaxed);
        long rss = p->pool.w[i].alive ? rss_of(p->pool.w[i].pid) : 0;
        ws[i] = (struct worker_stats){
            .index = i,
            .pid = (int)p->pool.w[i].pid,
            .alive = p->pool.w[i].alive,
            .handled = handled,
            .queue_depth = p->rt.pipe[i].q.pushed > handled ? p->rt.pipe[i].q.pushed - handled : 0,
            .busy_ns = atomic_load_explicit(&s->busy_ns, memory_order_relaxed),
            .rss_kb = rss,
        };
    }
    status_print(stderr, PROGRAM, ws, p->n);
}

static void on_status_timer(uv_timer_t *h)
{
    print_status(h->loop->data);
}

static void on_signal(uv_signal_t *h, int sig)
{
    struct phase3 *p = h->loop->data;
    tl_instant(TL_SIGNAL, (uint64_t)sig, 0);
    if (sig == SIGUSR1) {
        print_status(p);
        return;
    }
    if (++p->interrupts == 1) {
        log_warn("%s: stopping the source after %llu messages and draining (again to abort)", strsignal(sig),
                 (unsigned long long)p->rt.routed);
        if (p->stage == ST_START) {
            /* No message was routed: drain an empty run. */
            p->stage = ST_RUN;
            p->start_ns = now_ns();
        }
        pump_drain(p);
        return;
    }
    if (p->exit_status == EXIT_OK) {
        fprintf(stderr, "%s: interrupted again: killing the workers\n", PROGRAM);
        p->exit_status = EXIT_INTERRUPTED;
        pool_signal_all(&p->pool, SIGKILL);
        uv_stop(&p->loop);
    }
}

static int body(struct pool *pool, uint32_t index, void *arg)
{
    struct phase3 *p = arg;
    struct worker_setup s = {
        .index = index,
        .msg_fd = p->w[index].msg_rfd,
        .ctl_fd = p->w[index].req_rfd,
        .rep_fd = p->w[index].rep_wfd,
        .expected_ids = source_ids_known(p->src) / p->n + 64,
        .work_ns = p->o->work_ns,
        .recover = p->o->recover ? p->rec.area[index] : NULL,
    };
    return worker_run(&s, pool_slot(pool, index));
}

static size_t keep_fds(uint32_t index, int *fds, void *arg)
{
    struct phase3 *p = arg;
    fds[0] = p->w[index].msg_rfd;
    fds[1] = p->w[index].req_rfd;
    fds[2] = p->w[index].rep_wfd;
    return 3;
}

/* Before the fork, four descriptors per worker are open at once: 256
 * workers need more than the common soft limit of 1024. Raise the soft
 * limit toward the hard one rather than fail; if that is not enough,
 * pipe2() reports EMFILE and the run stops with that reason. */
static void raise_fd_limit(uint32_t n)
{
    struct rlimit rl;
    rlim_t want = 4 * (rlim_t)n + 64;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
        return;
    rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
        log_warn("setrlimit(RLIMIT_NOFILE): %s", strerror(errno));
}

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ? -errno : 0;
}

/* Three pipes per worker: messages and requests (queries, COLLECT) from
 * the main process, replies (READY, STATS, answers, records) back. The
 * requests have a pipe of their own so that a query never queues behind
 * messages; pipes rather than one socketpair because a pipe round trip is
 * cheaper: about 9 against 14 us p50 on this machine (a ping-pong of 8
 * bytes every 500 us, blocking reads, 3000 rounds).
 *
 * Pipe size: Linux gives a pipe 64 KiB. We ask for 1 MiB by default (the
 * largest an unprivileged process may, /proc/sys/fs/pipe-max-size): with 64
 * KiB the pipe holds one OUTQ_BATCH, so the main process blocks on nearly
 * every batch and the two sides wake each other per batch; 1 MiB lets the
 * main process run 16 batches ahead, so each side sleeps and wakes far less
 * often, and a 1 MiB payload crosses in one fill instead of sixteen. The
 * cost is bounded kernel memory: 1 MiB per worker, the backlog a stopped
 * worker can hold before backpressure reaches the source. --pipe-size
 * changes it so the difference can be measured. `perf stat -e
 * task-clock,context-switches phase3 --workers 1 --messages 200 --ids 50
 * --payload 1048576 --pipe-size 0` (then 1048576), 3 runs each on the
 * 2-CPU development machine: 6470 -> 950 context switches and 89 -> 70 ms
 * of CPU for the 200 MiB (with --workers 2: 6200 -> 730, 107 -> 84 ms).
 * Wall-clock rates on that shared machine moved with its load (x0.8 to
 * x1.6), so the switch count is the figure to trust. */
int p3_open_pipes(struct phase3 *p, struct wk *w)
{
    int mfd[2], qfd[2], rfd[2];
    if (pipe2(mfd, O_CLOEXEC) < 0)
        return -errno;
    w->msg_rfd = mfd[0];
    w->msg_fd = mfd[1];
    if (pipe2(qfd, O_CLOEXEC) < 0)
        return -errno;
    w->req_rfd = qfd[0];
    w->req_fd = qfd[1];
    if (pipe2(rfd, O_CLOEXEC) < 0)
        return -errno;
    w->rep_fd = rfd[0];
    w->rep_wfd = rfd[1];
    if (p->c->pipe_size && fcntl(w->msg_fd, F_SETPIPE_SZ, (int)p->c->pipe_size) < 0)
        log_warn("worker %u: F_SETPIPE_SZ %u: %s; keeping the default size", w->index, p->c->pipe_size,
                 strerror(errno));
    int rc;
    int fds[] = {w->msg_fd, w->msg_rfd, w->req_fd, w->req_rfd, w->rep_fd, w->rep_wfd};
    for (size_t k = 0; k < sizeof fds / sizeof fds[0]; k++)
        if ((rc = set_nonblock(fds[k])) < 0)
            return rc;
    return 0;
}

static int setup_ipc(struct phase3 *p)
{
    for (uint32_t i = 0; i < p->n; i++) {
        struct wk *w = &p->w[i];
        struct outq *q = &p->rt.pipe[i].q;
        int rc = p3_open_pipes(p, w);
        if (rc < 0)
            return rc;
        if (outq_init(q, w->msg_fd) < 0 || inq_init(&w->ctl_in, CTL_INQ_CAP) < 0)
            return -ENOMEM;
        q->tl_worker = i;
        inq_timeline(&w->ctl_in, TL_REPLIES, i);
        w->ctl_out.cap = CTL_OUT_CAP;
        w->ctl_out.data = malloc(CTL_OUT_CAP);
        if (!w->ctl_out.data)
            return -ENOMEM;
        if (p->o->recover) {
            q->rec = &p->rec;
            q->rec_w = i;
        }
    }
    return 0;
}

int p3_watch_worker(struct phase3 *p, struct wk *w)
{
    int rc;
    if ((rc = uv_poll_init(&p->loop, &w->msg_poll, w->msg_fd)) < 0 ||
        (rc = uv_poll_init(&p->loop, &w->req_poll, w->req_fd)) < 0 ||
        (rc = uv_poll_init(&p->loop, &w->rep_poll, w->rep_fd)) < 0)
        return rc;
    w->msg_poll.data = w->req_poll.data = w->rep_poll.data = w;
    return uv_poll_start(&w->rep_poll, UV_READABLE, control_on_replies);
}

static int setup_loop(struct phase3 *p)
{
    int rc;
    if ((rc = uv_loop_init(&p->loop)) < 0)
        return rc;
    p->loop.data = p;
    uv_idle_init(&p->loop, &p->pump);
    uv_timer_init(&p->loop, &p->rate_timer);
    uv_timer_init(&p->loop, &p->sweep_timer);
    uv_timer_init(&p->loop, &p->status_timer);
    uv_signal_init(&p->loop, &p->sigint);
    uv_signal_init(&p->loop, &p->sigterm);
    uv_signal_init(&p->loop, &p->sigusr1);
    if ((rc = ptimer_init(&p->loop, &p->qtimer)) < 0)
        return rc;
    p->qtimer_made = true;
    p->qtimer.data = p;
    ptimer_spin_before(&p->qtimer, p->c->query_spin_ns);
    for (uint32_t i = 0; i < p->n; i++)
        if ((rc = p3_watch_worker(p, &p->w[i])) < 0)
            return rc;
    if (p->o->recover && (rc = respawn_watch(p)) < 0)
        return rc;
    if ((rc = uv_signal_start(&p->sigint, on_signal, SIGINT)) < 0 ||
        (rc = uv_signal_start(&p->sigterm, on_signal, SIGTERM)) < 0 ||
        (rc = uv_signal_start(&p->sigusr1, on_signal, SIGUSR1)) < 0)
        return rc;
    signals_stops_interrupt_reads();
    /* From here libuv delivers the signals; a stop counted before (while
     * the trace loaded or the workers started) is handed over now. */
    if (signals_stops() > 0)
        on_signal(&p->sigint, SIGINT);
    /* Only a run that asks queries can have one pending: a run without
     * them never needs the sweep (and a student's routing can be tried
     * before the query TODOs are written). */
    if (p->o->queries > 0 || p->c->nfinal > 0)
        uv_timer_start(&p->sweep_timer, ask_on_sweep, SWEEP_MS, SWEEP_MS);
    if ((rc = tl_loop_watch(&p->turns, &p->loop, &p->rt.routed)) < 0)
        return rc;
    if (p->o->status_every > 0) {
        uint64_t ms = (uint64_t)(p->o->status_every * 1000.0);
        uv_timer_start(&p->status_timer, on_status_timer, ms ? ms : 1, ms ? ms : 1);
    }
    return pool_watch(&p->pool, &p->loop);
}

static void close_one(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

/* Closing the last libuv handle of a signal gives it back its default
 * action, which terminates: the common handlers (signals.h) take over in
 * the same instant, the signals held in between, so that a request while
 * the handles close or the dump is written is still kept (SPEC §8). */
static void close_every_handle(struct phase3 *p)
{
    sigset_t held;
    signals_hold(&held);
    uv_walk(&p->loop, close_one, NULL);
    signals_resume(p->interrupts > 0 ? 1 : 0);
    signals_release(&held);
}

static void teardown(struct phase3 *p, bool loop_made)
{
    if (loop_made) {
        /* The fds of poll handles closed here are closed below, after the
         * handles: libuv must stop watching an fd before it is closed. */
        if (p->qtimer_made)
            ptimer_close(&p->qtimer); /* its handles and its timerfd */
        close_every_handle(p);
        uv_run(&p->loop, UV_RUN_DEFAULT);
        if (uv_loop_close(&p->loop) < 0)
            log_warn("the main loop still had open handles at exit");
    }
    for (uint32_t i = 0; p->w && i < p->n; i++) {
        struct wk *w = &p->w[i];
        int fds[] = {w->msg_fd, w->req_fd, w->rep_fd, w->msg_rfd, w->req_rfd, w->rep_wfd};
        for (size_t k = 0; k < sizeof fds / sizeof fds[0]; k++)
            if (fds[k] >= 0)
                close(fds[k]);
        if (p->rt.pipe)
            outq_free(&p->rt.pipe[i].q);
        inq_free(&w->ctl_in);
        free(w->ctl_out.data);
    }
    if (p->pool_started)
        pool_reap_all(&p->pool, 1000);
    pool_free(&p->pool);
    recover_free(&p->rec);
    qt_free(&p->q.tab);
    free(p->scratch);
    free(p->rt.pipe);
    free(p->w);
}

/* Moves what main() needs out of p. Every worker has been reaped by now
 * (the EXIT stage ends when the last one is), so the peak RSS of the
 * children is known. */
static int take_result(struct phase3 *p, struct p3_result *r)
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
            .alive = false,
            .handled = p->w[i].handled,
            .busy_ns = p->w[i].busy_ns,
            .rss_kb = (long)p->w[i].rss_kb,
        };
    r->records = p->records;
    p->records = (struct extsort){0};
    r->queries = p->q.latency;
    p->q.latency = NULL;
    long self = rss_peak_self_kb(), kids = rss_peak_children_kb();
    r->sum = (struct run_summary){
        .phase = 3,
        .workers = p->n,
        .messages = p->rt.routed,
        .seconds = p->end_ns > p->start_ns ? (double)(p->end_ns - p->start_ns) / 1e9 : 0,
        .queries = r->queries,
        .query_failed = p->q.failed,
        .query_not_found = p->q.not_found,
        .rss_kb_max = self > kids ? self : kids,
        .per_worker = r->per_worker,
    };
    return EXIT_OK;
}

int phase3_run(const struct options *o, const struct p3_config *c, struct source *src, struct p3_result *r)
{
    memset(r, 0, sizeof *r);
    struct phase3 *p = calloc(1, sizeof *p);
    if (!p) {
        fprintf(stderr, "%s: out of memory\n", PROGRAM);
        return EXIT_NO_MEMORY;
    }
    *p = (struct phase3){.o = o, .c = c, .src = src, .n = o->workers};
    int status = EXIT_SETUP_FAILED;
    bool loop_made = false;
    const char *step = "memory";
    int rc = -ENOMEM;

    rng_seed(&p->qrng, o->gen.seed ^ 0x71755e57ull);
    p->w = calloc(p->n, sizeof *p->w);
    p->rt = (struct router){.n = p->n, .pipe = calloc(p->n, sizeof *p->rt.pipe)};
    p->q.latency = malloc(sizeof *p->q.latency);
    p->scratch = malloc(CODEC_RECORDS_MAX * sizeof *p->scratch);
    if (!p->w || !p->rt.pipe || !p->q.latency || !p->scratch ||
        qt_init(&p->q.tab, (uint64_t)o->query_timeout_ms * 1000000ull) < 0)
        goto fail;
    hist_init(p->q.latency);
    for (uint32_t i = 0; i < p->n; i++)
        p->w[i] = (struct wk){
            .index = i, .msg_fd = -1, .req_fd = -1, .rep_fd = -1, .msg_rfd = -1, .req_rfd = -1, .rep_wfd = -1};

    step = "recovery log";
    if (o->recover && (rc = recover_init(&p->rec, p->n, src)) < 0)
        goto fail;
    step = "pipes";
    raise_fd_limit(p->n);
    if ((rc = setup_ipc(p)) < 0)
        goto fail;
    step = "worker pool";
    if ((rc = pool_init(&p->pool, p->n, o->pin, body, keep_fds, on_worker_exit, p)) < 0)
        goto fail;
    /* Calibrate --work-ns once, here: the workers inherit the measured
     * speed through the fork, so every worker spins the same iteration
     * count instead of each timing the loop on its own, in parallel, on a
     * machine its siblings are busy loading. */
    work_iterations_for(o->work_ns);
    /* Fork before the loop exists (pool.h): the workers start clean. */
    if ((rc = pool_start(&p->pool)) < 0)
        goto fail;
    p->pool_started = true;
    for (uint32_t i = 0; i < p->n; i++) {
        close(p->w[i].msg_rfd);
        close(p->w[i].req_rfd);
        close(p->w[i].rep_wfd);
        p->w[i].msg_rfd = p->w[i].req_rfd = p->w[i].rep_wfd = -1;
        p->w[i].pid = (int)p->pool.w[i].pid;
    }
    if (o->queries > 0)
        clock_exact_sleeps(); /* 50 us of slack is more than a round trip */
    step = "event loop";
    loop_made = true;
    if ((rc = setup_loop(p)) < 0) {
        fprintf(stderr, "%s: cannot set up the %s: %s\n", PROGRAM, step, uv_strerror(rc));
        pool_signal_all(&p->pool, SIGKILL);
        goto out;
    }

    uv_run(&p->loop, UV_RUN_DEFAULT);
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
    free(p->q.latency);
    free(p);
    return status;
}

void p3_result_free(struct p3_result *r)
{
    extsort_free(&r->records);
    free(r->per_worker);
    free(r->queries);
    memset(r, 0, sizeof *r);
}

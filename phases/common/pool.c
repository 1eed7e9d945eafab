/* pool.c - forking, supervising and reaping worker processes. */
#define _GNU_SOURCE
#include "pool.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "exits.h"
#include "log.h"
#include "pin.h"
#include "timeline.h"

int pool_init(struct pool *p, uint32_t n, enum pin_mode pin, pool_body_fn body, pool_keep_fn keep, pool_exit_fn on_exit,
              void *arg)
{
    memset(p, 0, sizeof *p);
    if (n == 0)
        return -EINVAL;
    p->n = n;
    p->pin = pin;
    p->body = body;
    p->keep = keep;
    p->on_exit = on_exit;
    p->arg = arg;
    p->w = calloc(n, sizeof *p->w);
    if (!p->w)
        return -ENOMEM;
    /* Anonymous and shared: made before any fork, so every worker maps the
     * same pages and no name in /dev/shm can be left behind. */
    void *m = mmap(NULL, (size_t)n * sizeof *p->slots, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        int e = errno;
        free(p->w);
        p->w = NULL;
        return -e;
    }
    p->slots = m; /* zero-filled by the kernel */
    return 0;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Closes every descriptor above stderr except keep[0..n-1]. close_range()
 * does it in one call per gap; /proc-free so it works in any sandbox. */
static void close_all_but(int *keep, size_t n)
{
    qsort(keep, n, sizeof *keep, cmp_int);
    unsigned lo = 3;
    for (size_t i = 0; i < n; i++) {
        if (keep[i] < (int)lo)
            continue;
        if ((unsigned)keep[i] > lo)
            close_range(lo, (unsigned)keep[i] - 1, 0);
        lo = (unsigned)keep[i] + 1;
    }
    close_range(lo, ~0u, 0);
}

/* The child's side of pool_start_worker(): never returns. */
static void child_main(struct pool *p, uint32_t index, pid_t parent)
{
    /* Die with the main process: without this, a SIGKILLed main would leave
     * workers blocked on pipes nobody writes. The getppid() check closes the
     * race where the parent died before prctl ran. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
        _exit(EXIT_SETUP_FAILED);
    /* --timeline: a fresh track (slot) per process, a restart included. */
    timeline_enter_worker(index);

    /* A worker installs no handler: it only ignores the main process's
     * signals and gives SIGCHLD back its default, and for those two
     * dispositions signal() is exact (its portability problems are those of
     * handlers). SIGUSR1 too: `pkill -USR1 phase3` reaches workers, and it is
     * a status request, not a kill. A worker whose signals are not as
     * promised must not run at all: EXIT_SETUP_FAILED, which the main
     * process reports. */
    static const struct {
        int sig;
        void (*disposition)(int);
    } reset[] = {{SIGINT, SIG_IGN}, {SIGTERM, SIG_IGN}, {SIGPIPE, SIG_IGN}, {SIGUSR1, SIG_IGN}, {SIGCHLD, SIG_DFL}};
    for (size_t i = 0; i < sizeof reset / sizeof reset[0]; i++)
        if (signal(reset[i].sig, reset[i].disposition) == SIG_ERR)
            _exit(EXIT_SETUP_FAILED);
    sigset_t none;
    sigemptyset(&none);
    if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
        _exit(EXIT_SETUP_FAILED);

    int keep[POOL_KEEP_MAX];
    size_t nkeep = p->keep ? p->keep(index, keep, p->arg) : 0;
    if (nkeep > POOL_KEEP_MAX)
        nkeep = POOL_KEEP_MAX;
    close_all_but(keep, nkeep);

    if (pin_self(p->pin, (int)index) < 0)
        log_warn("worker %u: --pin: cannot set CPU affinity; running unpinned", index);
    log_debug("worker %u: started", index);

    int status = p->body(p, index, p->arg);
    /* stdio buffers are the child's own copies: flush what the body wrote,
     * but run no atexit handler of the parent (_exit, not exit). */
    fflush(stdout);
    fflush(stderr);
    _exit(status);
}

int pool_start_worker(struct pool *p, uint32_t index)
{
    if (index >= p->n || p->w[index].alive)
        return -EINVAL;
    /* Unflushed stdio would be written twice, once by each process. */
    fflush(stdout);
    fflush(stderr);
    atomic_store_explicit(&p->slots[index].handled, 0, memory_order_relaxed);
    atomic_store_explicit(&p->slots[index].busy_ns, 0, memory_order_relaxed);
    atomic_store_explicit(&p->slots[index].queue_depth, 0, memory_order_relaxed);
    atomic_store_explicit(&p->slots[index].rss_kb, 0, memory_order_relaxed);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0)
        child_main(p, index, parent);
    p->w[index] = (struct pool_worker){.pid = pid, .alive = true};
    log_debug("worker %u: forked as pid %d", index, (int)pid);
    return 0;
}

int pool_start(struct pool *p)
{
    for (uint32_t i = 0; i < p->n; i++) {
        int rc = pool_start_worker(p, i);
        if (rc < 0) {
            pool_signal_all(p, SIGKILL);
            pool_reap_all(p, 0);
            return rc;
        }
    }
    return 0;
}

/* Reaps every worker that has ended, without blocking. Only our own pids
 * are waited for, never -1, so that a phase may have other children. */
static void reap_ended(struct pool *p)
{
    for (uint32_t i = 0; i < p->n; i++) {
        struct pool_worker *w = &p->w[i];
        if (!w->alive)
            continue;
        int st;
        pid_t r;
        do
            r = waitpid(w->pid, &st, WNOHANG);
        while (r < 0 && errno == EINTR);
        if (r == 0)
            continue;
        if (r < 0) {
            /* ECHILD: someone else reaped it; its status is lost. */
            st = 0;
            log_warn("worker %u (pid %d): already reaped elsewhere", i, (int)w->pid);
        }
        w->alive = false;
        w->wstatus = st;
        log_debug("worker %u (pid %d): reaped", i, (int)w->pid);
        if (p->on_exit)
            p->on_exit(p, i, w->pid, st, p->arg);
    }
}

static void on_sigchld(uv_signal_t *h, int sig)
{
    (void)sig;
    reap_ended(h->data);
}

int pool_watch(struct pool *p, uv_loop_t *loop)
{
    int rc = uv_signal_init(loop, &p->sigchld);
    if (rc < 0)
        return rc;
    p->sigchld.data = p;
    rc = uv_signal_start(&p->sigchld, on_sigchld, SIGCHLD);
    if (rc < 0) {
        uv_close((uv_handle_t *)&p->sigchld, NULL);
        return rc;
    }
    p->watching = true;
    /* A worker that died before the handler existed sent its SIGCHLD to
     * nobody: look once now. */
    reap_ended(p);
    return 0;
}

void pool_unwatch(struct pool *p)
{
    if (p->watching && !uv_is_closing((uv_handle_t *)&p->sigchld))
        uv_close((uv_handle_t *)&p->sigchld, NULL);
    p->watching = false;
}

void pool_signal_all(struct pool *p, int sig)
{
    for (uint32_t i = 0; i < p->n; i++)
        if (p->w[i].alive && kill(p->w[i].pid, sig) < 0 && errno != ESRCH)
            log_warn("worker %u (pid %d): kill: %s", i, (int)p->w[i].pid, strerror(errno));
}

int pool_reap_all(struct pool *p, int timeout_ms)
{
    uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000ull;
    int killed = 0;
    for (;;) {
        uint32_t left = 0;
        for (uint32_t i = 0; i < p->n; i++) {
            struct pool_worker *w = &p->w[i];
            if (!w->alive)
                continue;
            int st;
            pid_t r = waitpid(w->pid, &st, WNOHANG);
            if (r < 0 && errno == EINTR) {
                left++;
                continue;
            }
            if (r == 0) {
                left++;
                continue;
            }
            w->alive = false;
            w->wstatus = r < 0 ? 0 : st;
        }
        if (left == 0)
            return killed;
        if (now_ns() >= deadline) {
            /* Past the deadline: SIGKILL cannot be ignored, and a blocking
             * waitpid after it ends in bounded time. */
            for (uint32_t i = 0; i < p->n; i++) {
                struct pool_worker *w = &p->w[i];
                if (!w->alive)
                    continue;
                kill(w->pid, SIGKILL);
                killed++;
                int st;
                while (waitpid(w->pid, &st, 0) < 0 && errno == EINTR)
                    ;
                w->alive = false;
                w->wstatus = st;
            }
            return killed;
        }
        sleep_until_ns(now_ns() + 1000000ull); /* 1 ms: this is the end of a run, not a hot path */
    }
}

uint32_t pool_alive(const struct pool *p)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < p->n; i++)
        n += p->w[i].alive;
    return n;
}

int pool_wait_one(struct pool *p, uint32_t index, int timeout_ms, int *wstatus)
{
    struct pool_worker *w = &p->w[index];
    uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000ull;
    while (w->alive) {
        int st;
        pid_t r = waitpid(w->pid, &st, WNOHANG);
        if (r == w->pid) {
            w->alive = false;
            w->wstatus = st;
            break;
        }
        bool hopeless = r < 0 && errno != EINTR;
        if (hopeless || now_ns() >= deadline)
            return -1;
        sleep_until_ns(now_ns() + 1000000ull);
    }
    *wstatus = w->wstatus;
    return 0;
}

void pool_describe_exit(int wstatus, char *buf, size_t len)
{
    if (WIFSIGNALED(wstatus)) {
        int sig = WTERMSIG(wstatus);
        const char *abbrev = sigabbrev_np(sig);
        if (abbrev)
            snprintf(buf, len, "killed by SIG%s", abbrev);
        else
            snprintf(buf, len, "killed by signal %d", sig);
    } else if (WIFEXITED(wstatus)) {
        snprintf(buf, len, "exited with status %d (%s)", WEXITSTATUS(wstatus),
                 exit_status_meaning(WEXITSTATUS(wstatus)));
    } else {
        snprintf(buf, len, "ended with wait status %#x", (unsigned)wstatus);
    }
}

void pool_describe_loss(struct pool *p, uint32_t index, int timeout_ms, const char *symptom, char *buf, size_t len)
{
    int wstatus;
    char how[64];
    if (pool_wait_one(p, index, timeout_ms, &wstatus) < 0) {
        snprintf(buf, len, "%s", symptom);
        return;
    }
    pool_describe_exit(wstatus, how, sizeof how);
    snprintf(buf, len, "%s (%s)", how, symptom);
}

void pool_free(struct pool *p)
{
    if (p->slots)
        munmap(p->slots, (size_t)p->n * sizeof *p->slots);
    free(p->w);
    p->slots = NULL;
    p->w = NULL;
}

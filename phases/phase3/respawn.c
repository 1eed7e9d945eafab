/* respawn.c - --recover in phase 3's main process: a dead worker gets new
 * pipes and a new process, which loads its last checkpoint; the main
 * process writes it its replay from the log (recover.h), and the run goes on
 * from the stage it had reached. The policy (restart or give up) and the
 * log are recover.c's; this file is only phase 3's transport for them.
 *
 * The replay is written through a blocking pipe, outside the loop's
 * rhythm: it cannot deadlock, because until the replay is out the new
 * worker has nothing to write but READY into an empty reply pipe (no query
 * reaches it meanwhile), so it only reads. It is short: at most the log's
 * capacity of messages. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "fnv.h"
#include "log.h"
#include "p3.h"
#include "run.h"
#include "timeline.h"

#define TICK_MS 1 /* how soon a source paused on a full log looks again */

/* Resumes the source when it paused on a message whose worker's log was
 * full and has room again (the pump cannot know: no pipe became writable);
 * says when a restarted worker applies messages again. */
static void on_tick(uv_timer_t *h)
{
    struct phase3 *p = h->loop->data;
    for (uint32_t i = 0; i < p->n; i++)
        recover_log_back(&p->rec, i);
    if (p->stage == ST_RUN && !p->pumping && p->rt.have_held && p->n > 0 &&
        recover_room(&p->rec, route_worker(p->rt.held.id_hash, p->n)))
        pump_start(p);
}

int respawn_watch(struct phase3 *p)
{
    int rc = uv_timer_init(&p->loop, &p->recover_tick);
    return rc < 0 ? rc : uv_timer_start(&p->recover_tick, on_tick, TICK_MS, TICK_MS);
}

/* Writes everything w's queue holds. The replay must be whole before
 * anything new goes to w, so for its length the pipe blocks: a write waits
 * for the worker to read, and fails (EPIPE) if it dies again. */
static int flush_blocking(struct phase3 *p, struct wk *w)
{
    int flags = fcntl(w->msg_fd, F_GETFL);
    if (flags < 0 || fcntl(w->msg_fd, F_SETFL, flags & ~O_NONBLOCK) < 0)
        return -errno;
    int rc;
    do
        rc = outq_flush(&p->rt.pipe[w->index].q);
    while (rc == -EINTR || rc == -EAGAIN);
    if (fcntl(w->msg_fd, F_SETFL, flags) < 0 && rc == 0)
        rc = -errno;
    recover_log_back(&p->rec, w->index);
    return rc;
}

/* Sends w its replay. A failure (EPIPE: it died again) is left to SIGCHLD. */
static void replay(struct phase3 *p, struct wk *w)
{
    struct msg m;
    uint64_t n = 0;
    int rc = 0;
    while (rc == 0 && recover_replay_next(&p->rec, w->index, &m)) {
        while ((rc = outq_push_again(&p->rt.pipe[w->index].q, &m)) < 0)
            if ((rc = flush_blocking(p, w)) < 0)
                break;
        n++;
    }
    if (rc == 0)
        rc = flush_blocking(p, w);
    if (rc < 0)
        log_warn("worker %u: replay stopped after %llu messages: %s", w->index, (unsigned long long)n, strerror(-rc));
    else
        log_info("worker %u: restarted as pid %d; its replay of %llu messages written %.1f ms after its death",
                 w->index, w->pid, (unsigned long long)n, (double)(now_ns() - w->died_ns) / 1e6);
}

/* In COLLECT, the records a dead worker had sent before its end are dropped:
 * its successor sends all of them again. */
static void drop_records(struct phase3 *p, struct wk *w)
{
    extsort_drop(&p->records, w->index);
    w->records_got = 0;
}

/* The main process's view of w as of a worker that has just started. */
static void forget_old(struct phase3 *p, struct wk *w)
{
    if (w->ready) {
        w->ready = false;
        p->ready_count--;
    }
    if (w->drained) {
        w->drained = false;
        p->drained_count--;
    }
    if (p->stage == ST_COLLECT)
        drop_records(p, w);
    w->msg_writable_armed = w->req_writable_armed = false;
    p->rt.pipe[w->index].full = false;
    w->msg_closed = w->ctl_closed = false;
    w->ctl_in.head = w->ctl_in.tail = 0;
    w->ctl_out.len = w->ctl_head = 0; /* queries to the dead one fail at their deadline */
}

/* Every handle of the dead worker is closed: start its successor. */
static void respawn(struct phase3 *p, struct wk *w)
{
    if (p->exit_status != EXIT_OK)
        return;
    char what[128];
    int rc = p3_open_pipes(p, w);
    if (rc < 0 || (rc = pool_start_worker(&p->pool, w->index)) < 0) {
        snprintf(what, sizeof what, "cannot be restarted: %s", strerror(-rc));
        p3_worker_lost(p, w->index, what);
        return;
    }
    w->pid = (int)p->pool.w[w->index].pid;
    tl_instant(TL_RESTART, (uint64_t)w->pid, w->index);
    int ends[] = {w->msg_rfd, w->req_rfd, w->rep_wfd};
    for (size_t k = 0; k < 3; k++)
        if (close(ends[k]) < 0)
            log_warn("worker %u: close of the worker's end of a pipe: %s", w->index, strerror(errno));
    w->msg_rfd = w->req_rfd = w->rep_wfd = -1;
    forget_old(p, w);
    outq_reset(&p->rt.pipe[w->index].q, w->msg_fd);
    if ((rc = p3_watch_worker(p, w)) < 0) {
        snprintf(what, sizeof what, "cannot be watched after its restart: %s", uv_strerror(rc));
        p3_worker_lost(p, w->index, what);
        return;
    }
    replay(p, w);
    if (p->stage >= ST_DRAIN) {
        pump_close_msgs(p, w->index); /* the source is over: after its replay, the end of file */
    } else if (p->stage == ST_RUN) {
        pump_start(p); /* the source may have paused for this worker */
    }
}

void respawn_on_closed(struct phase3 *p, struct wk *w)
{
    if (w->closing > 0 && --w->closing == 0)
        respawn(p, w);
}

static void on_old_closed(uv_handle_t *h)
{
    struct wk *w = h->data;
    struct phase3 *p = h->loop->data;
    int *fd = h == (uv_handle_t *)&w->msg_poll   ? &w->msg_fd
              : h == (uv_handle_t *)&w->req_poll ? &w->req_fd
                                                 : &w->rep_fd;
    if (close(*fd) < 0)
        log_warn("worker %u: close of a pipe: %s", w->index, strerror(errno));
    *fd = -1;
    respawn_on_closed(p, w);
}

/* libuv must stop watching a descriptor before it is closed, and a handle
 * can be initialised again only once its close has completed. A handle
 * whose descriptor is still open is either closed here or already closing
 * (the drain's end of file, the end of the run): in both cases its close
 * callback calls respawn_on_closed(), and the restart waits for the last. */
static void close_old(struct phase3 *p, struct wk *w)
{
    uv_handle_t *hs[3] = {(uv_handle_t *)&w->msg_poll, (uv_handle_t *)&w->req_poll, (uv_handle_t *)&w->rep_poll};
    int fds[3] = {w->msg_fd, w->req_fd, w->rep_fd};
    w->closing = 1; /* held until every close is counted, so none restarts early */
    for (int k = 0; k < 3; k++) {
        if (fds[k] < 0)
            continue;
        w->closing++;
        if (!uv_is_closing(hs[k]))
            uv_close(hs[k], on_old_closed);
    }
    respawn_on_closed(p, w);
}

void respawn_on_death(struct phase3 *p, uint32_t i, int pid, int wstatus)
{
    struct wk *w = &p->w[i];
    char how[64], why[256];
    pool_describe_exit(wstatus, how, sizeof how);
    if (w->ended) {
        /* Its records are all in: nothing of it is needed any more. */
        log_warn("worker %u (pid %d): %s after sending its records; not restarted", i, pid, how);
        if (p->stage == ST_EXIT && pool_alive(&p->pool) == 0)
            uv_stop(&p->loop);
        return;
    }
    const char *src_name = !p->o->trace ? "" : strcmp(p->o->trace, "-") == 0 ? "<stdin>" : p->o->trace;
    if (recover_on_death(&p->rec, i, wstatus, src_name, why, sizeof why) == RECOVER_GIVE_UP) {
        fprintf(stderr, "%s: worker %u (pid %d): %s %s; giving up, no dump written\n", PROGRAM, i, pid, how, why);
        p->exit_status = EXIT_WORKER_LOST;
        pool_signal_all(&p->pool, SIGKILL);
        uv_stop(&p->loop);
        return;
    }
    fprintf(stderr, "%s: worker %u (pid %d): %s; %s (--recover)\n", PROGRAM, i, pid, how, why);
    w->died_ns = now_ns();
    close_old(p, w);
}

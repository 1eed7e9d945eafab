/* respawn.c - --recover in phase 5's coordinator, for the workers it forks
 * itself: a dead worker gets a new process, which loads its last checkpoint
 * from the shared area it inherits (recover.h), connects and says HELLO; the
 * coordinator then sends it its replay from the log, before anything new and
 * under the same credit as everything else, and the run goes on from the
 * stage it had reached. The policy (restart or give up) and the log are
 * recover.c's; this file is only phase 5's transport for them.
 *
 * A remote worker (--remote) is not ours to restart: when it is lost, the
 * coordinator prints the command of its replacement and waits for it, as
 * long as it takes (as for the first workers). Its checkpoints arrive over
 * the network, and its replacement gets the last one before the replay
 * (ckpt.c). No signal reaches it, so a remote death is weighed as an
 * outside kill: never a poison message.
 *
 * A worker is dead from the moment the coordinator decides so (SIGCHLD, or
 * a lost connection, a lapsed lease or a protocol error, each of which
 * kills it first) until its successor's HELLO. Meanwhile:
 *   - nothing is sent to it: its batch is dropped (every MSG in it is in the
 *     log, I2) and the source pauses on the first message for it, as
 *     recover_room() says while the replay is not out (I4);
 *   - what its old connection still delivers is dropped (old_rid), so
 *     neither its credit nor its records count; a remote one that comes
 *     back (stopped, then continued) is told once that it was replaced;
 *   - queries to it fail at once (SPEC §8: fast, never hanging), and the
 *     --query answers it owed are asked again after its replay, with its
 *     COLLECT: it missed them, or the records it sent are dropped.
 * The successor's HELLO starts a new connection: sequence numbers from 1
 * and the credit window it grants, nothing in flight. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <zmq.h>

#include "clock.h"
#include "fnv.h"
#include "log.h"
#include "p5.h"
#include "timeline.h"

#define TICK_MS 2 /* how soon a source paused on a full log looks again */

/* A remote worker's progress, where a local one publishes its own (its
 * area's `applied`): the position it restarted from, plus the messages it
 * has handed credit back for since its HELLO. */
static void remote_progress(struct coord *p, uint32_t i)
{
    const struct wk *w = &p->w[i];
    if (p->c->remote && !w->dead && w->hello)
        atomic_store_explicit(&p->rec.area[i]->applied, p->rec.log[i].restored + w->credited_msgs - w->credited_base,
                              memory_order_relaxed);
}

/* Resumes a source paused on a message whose worker's log was full and has
 * room again (no credit may come back to say so); says when a restarted
 * worker applies messages again. */
static void on_tick(uv_timer_t *h)
{
    struct coord *p = h->loop->data;
    for (uint32_t i = 0; i < p->n; i++) {
        remote_progress(p, i);
        recover_log_back(&p->rec, i);
    }
    if (p->stage == ST_RUN && !p->pumping && p->have_held && p->n > 0 &&
        recover_room(&p->rec, route_worker(p->held.id_hash, p->n)))
        route_start(p);
}

int respawn_watch(struct coord *p)
{
    int rc = uv_timer_init(&p->loop, &p->recover_tick);
    return rc < 0 ? rc : uv_timer_start(&p->recover_tick, on_tick, TICK_MS, TICK_MS);
}

void respawn_send_gone(struct coord *p, const uint8_t *rid, size_t len, enum wire_gone why)
{
    uint8_t buf[WIRE_HDR];
    wire_put_hdr(buf, &(struct wire_hdr){.kind = WIRE_EXIT, .aux = why, .seq = 0});
    /* Never blocking, and nothing lost if it fails: a peer that cannot
     * take it is gone, or will end with the run like any stale worker. */
    if (zmq_send(p->router, rid, len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(p->router, buf, sizeof buf, ZMQ_DONTWAIT) < 0)
        log_debug("cannot tell a peer it has no place in the run: %s", zmq_strerror(errno));
}

bool respawn_drop_old(struct coord *p, const uint8_t *rid, size_t len)
{
    for (uint32_t i = 0; i < p->n; i++) {
        struct wk *w = &p->w[i];
        if (w->old_rid_len != len || memcmp(w->old_rid, rid, len) != 0)
            continue;
        /* A remote worker stopped past its lease may come back: once, it
         * learns that it has been replaced, and ends. A local one has
         * been killed; what arrives is only what it sent before. */
        if (p->c->remote && !w->old_told) {
            w->old_told = true;
            respawn_send_gone(p, rid, len, WIRE_GONE_REPLACED);
        }
        return true;
    }
    return false;
}

/* The records a dead worker sent before its end are dropped: its successor
 * sends all of them again. */
static void drop_records(struct coord *p, struct wk *w)
{
    extsort_drop(&p->records, w->index);
    w->records_got = 0;
}

/* Its --query answers are asked again with its next tail: forget the ones
 * in flight, silently (they are not failures). Other queries fail at their
 * deadline, as any query whose answer does not come. */
static void forget_final_queries(struct coord *p, struct wk *w)
{
    for (uint64_t c = p->oldest_corr; c < p->next_corr; c++) {
        struct qt_entry *e = &p->qt[c % QT_SLOTS];
        if (e->corr == c && e->pending && e->final && e->worker == w->index)
            e->pending = false;
    }
}

/* The coordinator's view of w as of a worker that is not there. */
static void mark_dead(struct coord *p, struct wk *w)
{
    if (w->dead)
        return;
    w->dead = true;
    w->restart_ns = now_ns(); /* its HELLO is due within START_TIMEOUT_MS of this (coord.c), and of its restart */
    if (w->hello) {
        memcpy(w->old_rid, w->rid, w->rid_len);
        w->old_rid_len = w->rid_len;
        w->old_told = false;
    }
    w->hello = false;
    w->replaying = w->have_rp = false;
    w->ck_open = w->restoring = false;
    route_batch_empty(w);
    w->credit_frames = 0;
    w->credit_bytes = 0;
    if (w->drained) {
        w->drained = false;
        p->drained_count--;
    }
    drop_records(p, w);
    forget_final_queries(p, w);
    w->tail_sent = false;
}

/* A remote worker lost: the policy as for a SIGKILL, then a wait for
 * whoever starts its replacement. */
static void remote_lost(struct coord *p, struct wk *w, const char *what)
{
    char why[256];
    recover_on_death(&p->rec, w->index, SIGKILL, "", why, sizeof why); /* never RECOVER_GIVE_UP: see above */
    fprintf(stderr, "%s: worker %u (pid %d): %s; %s (--recover); start its replacement, on any host, as:\n", PROGRAM,
            w->index, w->pid, what, why);
    p5_print_worker_command(p, w->index);
    w->died_ns = now_ns();
    tl_died(w->index, w->pid, SIGKILL);
}

void respawn_kill(struct coord *p, uint32_t i, const char *what)
{
    struct wk *w = &p->w[i];
    if (w->dead || p->exit_status != EXIT_OK)
        return;
    if (p->c->remote) {
        if (w->ended)
            return; /* its records are all in: nothing of it is needed any more */
        mark_dead(p, w);
        remote_lost(p, w, what);
        return;
    }
    log_warn("worker %u (pid %d): %s; killing it, --recover restarts it", i, w->pid, what);
    if (!w->ended)
        mark_dead(p, w); /* an ended one owes nothing: it is not restarted */
    if (p->pool.w[i].alive && kill(p->pool.w[i].pid, SIGKILL) < 0)
        log_warn("worker %u: kill: %s", i, strerror(errno));
}

static void restart(struct coord *p, struct wk *w)
{
    int rc = pool_start_worker(&p->pool, w->index);
    if (rc < 0) {
        char what[128];
        snprintf(what, sizeof what, "cannot be restarted: %s", strerror(-rc));
        p5_lose(p, w->index, what);
        return;
    }
    w->pid = (int)p->pool.w[w->index].pid;
    w->restart_ns = now_ns();
    tl_instant(TL_RESTART, (uint64_t)w->pid, w->index);
}

void respawn_on_death(struct coord *p, uint32_t i, int pid, int wstatus)
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
    mark_dead(p, w);
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
    restart(p, w);
}

void respawn_on_hello(struct coord *p, struct wk *w)
{
    bool successor = w->dead;
    if (p->c->remote)
        ckpt_restore_begin(w); /* empty at a first start: it says how often to checkpoint */
    w->dead = false;
    w->replaying = successor;
    w->have_rp = false;
    w->replayed = 0;
    if (successor)
        log_debug("worker %u: restarted as pid %d, connected %.1f ms after its death", w->index, w->pid,
                  (double)(now_ns() - w->died_ns) / 1e6);
    respawn_replay(p, w);
}

/* The replay is out: w is like any other worker again, and takes up the
 * stage the run is in. */
static void replay_done(struct coord *p, struct wk *w)
{
    w->replaying = false;
    if (route_send(p, w) < 0 && p->exit_status != EXIT_OK)
        return;
    log_info("worker %u: restarted as pid %d; its replay of %llu messages sent %.1f ms after its death", w->index,
             w->pid, (unsigned long long)w->replayed, (double)(now_ns() - w->died_ns) / 1e6);
    if (p->stage == ST_DRAIN)
        route_drain_worker(p, w); /* it missed its tail, or its records were dropped */
    else if (p->stage == ST_RUN && p->have_held)
        route_start(p); /* the source may have paused for this worker */
}

/* The replay goes through the batch like any message: it is paid for with
 * credit, so it never overruns the window the successor granted. A message
 * refused for lack of credit waits in rp; credit coming back (route_credit)
 * or a sealed batch leaving (route_retry) calls this again. */
void respawn_replay(struct coord *p, struct wk *w)
{
    if (w->restoring && !ckpt_restore_send(p, w))
        return; /* the rest when its queue has room (route_retry) */
    if (!w->replaying && p->exit_status == EXIT_OK) {
        /* A first start's checkpoint is out: the stage goes on. */
        if (p->stage == ST_DRAIN)
            route_drain_worker(p, w);
        else if (p->stage == ST_RUN && p->have_held)
            route_start(p);
        return;
    }
    while (w->replaying && p->exit_status == EXIT_OK) {
        if (!w->have_rp && !recover_replay_next(&p->rec, w->index, &w->rp)) {
            replay_done(p, w);
            return;
        }
        int rc = route_append(p, w, &w->rp);
        if (rc < 0) {
            w->have_rp = w->replaying; /* -EAGAIN; or it died again (mark_dead) */
            return;
        }
        w->have_rp = false;
        w->replayed++;
    }
}

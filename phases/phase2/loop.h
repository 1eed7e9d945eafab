/* loop.h - the state of phase 2's event loop, shared by the two files that
 * make it up: stream.c (the source, the router and the stop signals: the
 * callbacks that move messages) and loop.c (set-up, status output and the
 * end of the run). Not a public interface: main.c sees only phase2.h.
 *
 * The handles of a run, all on one uv_loop_t:
 *   produce_idle   the source at full speed, or when it is behind --rate
 *   produce_timer  the source under --rate, asleep until the next is due
 *   route          the router: active while the queue holds messages
 *   wrap_up        ends the run one turn after the drain (loop_wrap_up_soon)
 *   sig_int, sig_term, sig_usr1, status_timer, progress_timer
 *   qs.serve, qc.wake, qc.tick   the query server and the --queries load
 * An active idle handle makes the loop poll without blocking: it must be
 * stopped whenever its callback has nothing to do, or an idle run spins at
 * 100 % CPU. The run ends when every handle is closed (loop_finish).
 *
 * One thread owns all of it: every function here runs on the loop, and no
 * callback may block. */
#ifndef MSGROUTE_PHASE2_LOOP_H
#define MSGROUTE_PHASE2_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "pacer.h"
#include "phase2.h"
#include "qclient.h"
#include "query.h"
#include "queue.h"

struct loop {
    uv_loop_t uv;
    const struct options *o;
    const struct phase2_config *cfg;
    struct source *src;
    struct shard *shard;
    struct queue q; /* cfg->batch * PHASE2_QUEUE_BATCHES slots */

    uv_idle_t produce_idle;   /* the source, when it has messages to push now */
    uv_timer_t produce_timer; /* the source under --rate (initialised only then) */
    uv_idle_t route;          /* the router */
    uv_idle_t wrap_up;        /* ends the run one turn after the drain */
    uv_signal_t sig_int, sig_term, sig_usr1;
    uv_timer_t status_timer, progress_timer;
    struct query_server qs;
    struct qclient qc;
    bool has_qs, has_qc;

    struct hist *queries;
    struct pacer rate;   /* --rate's token bucket, on uv_now() in ns */
    struct msg held;     /* taken from the source, refused by a full queue */
    bool holding;        /* held is valid: push it before taking another */
    bool waiting;        /* the source is blocked on a full queue (for the debug log) */
    bool source_done;    /* the source ran out or was stopped: nothing more enters the queue */
    bool stop_requested; /* a first SIGINT/SIGTERM came: drain, dump, exit 0 */
    bool interrupted;    /* a second one came: end now, no dump, exit 130 */
    bool failed;         /* an error was logged: no dump, exit with failure */
    int failure;         /* the exit status of that error (exits.h): out of memory unless said */
    bool closing;        /* loop_finish() ran: every handle is closing */
    uint64_t start_ns, end_ns, start_hr;
};

/* stream.c: the callbacks that move messages. */

/* The source's turn of the loop (an idle callback; phase2_run starts it). */
void stream_on_produce_idle(uv_idle_t *h);
/* SIGINT and SIGTERM (SPEC §8). */
void stream_on_stop_signal(uv_signal_t *h, int signum);

/* loop.c: the end of the run. */

/* The source is done and the queue drained: end the run on the next turn
 * (so that a second SIGINT already on its way is still seen). */
void loop_wrap_up_soon(struct loop *l);
/* Ends the run now: answers pending queries, closes every handle; uv_run()
 * then returns. Idempotent. Set l->failed first when the run failed. From
 * then on (l->closing) no callback may start a handle again: a closing
 * handle that is started again stays active, and the loop never ends. */
void loop_finish(struct loop *l);
/* A function of the lab that is not written yet: logs it once, with where
 * to look, and ends the run as failed. */
void loop_not_written(struct loop *l, const char *func);

#endif

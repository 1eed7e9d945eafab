/* p3.h - the state of phase 3's driver, the fixed code of the main
 * process: phase3.c (set-up, signals, supervision), pump.c (the source and
 * the message pipes, around the router), ask.c (the query clock and the
 * request pipes, around the query module), control.c (the reply pipes and
 * the stages of a run) and respawn.c (--recover). Not a public interface:
 * main.c sees only phase3.h.
 *
 * The lesson modules never see this struct. Each gets its own state through
 * its own header and returns what happened: router.h (struct router: the
 * message queues and the held message), query.h (struct queries: the table
 * of queries in flight and the run's query counts), worker.h (the worker
 * process, which shares nothing with the main process but its pipes). The
 * driver alone ends a run, names a worker, closes a pipe or moves a stage.
 *
 * Stages (struct phase3.stage), each entered once, in order:
 *   START    workers forked; waiting for READY from each (orderly start:
 *            no message is routed before every worker runs its loop);
 *   RUN      the pump (a uv_idle handle, so one loop turn is one batch)
 *            routes up to PUMP_TURN messages per turn, then flushes every
 *            dirty pipe: one write() per worker per turn at most, plus one
 *            whenever a worker's batch reaches OUTQ_BATCH;
 *   DRAIN    the source has ended or SIGINT/SIGTERM arrived: no new message;
 *            each pipe is flushed and closed, and its worker, at end of
 *            file, replies STATS;
 *   FINAL    --query answers, asked once every worker has drained, so they
 *            see the final state;
 *   COLLECT  COLLECT to each worker; RECORDS frames arrive until END;
 *   EXIT     request pipes closed; the workers exit 0 and are reaped.
 * A worker that dies in any stage but EXIT, or exits non-zero, ends the run
 * with exit 3 and no records; a second SIGINT ends it with 130. Either way
 * the remaining workers are SIGKILLed and reaped before phase3_run returns.
 * With --recover, a dead worker is restarted instead, in whatever stage
 * (respawn.c, recover.h), and the run goes on from the stage it had reached.
 *
 * One thread owns all of it: every function here runs in the main loop. */
#ifndef MSGROUTE_PHASE3_P3_H
#define MSGROUTE_PHASE3_P3_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "codec.h"
#include "inq.h"
#include "outq.h"
#include "pacer.h"
#include "phase3.h"
#include "pool.h"
#include "ptimer.h"
#include "query.h"
#include "recover.h"
#include "rng.h"
#include "router.h"
#include "tl_loop.h"

#define PROGRAM "phase3"
/* Messages routed per loop turn, about 100-300 us of work: it bounds how
 * long a query answer, a signal or a writable pipe waits for the pump, and
 * the end-of-turn flush still writes hundreds of messages per syscall.
 * Measured against 8192 (six alternating runs of `phase3 --messages 2000000
 * --ids 10000 --queries 1000 --workers 2 --json` on a busy 2-CPU machine):
 * median 3.4 vs 1.7 M msgs/s, query p50 13 vs 17 ms at that full speed. */
#define PUMP_TURN 1024
/* The longest a small batch waits for more after a full turn (router.h),
 * per worker that shares a CPU (pin_workers_per_cpu()): a worker that waits
 * for its CPU anyway gains nothing from being written to more often. */
#define LINGER_NS 1000000ull
#define CTL_INQ_CAP (256u * 1024u)
#define CTL_OUT_CAP (64u * 1024u) /* queued queries per worker: about 800 */
#define SWEEP_MS 5                /* deadline resolution of queries */

enum stage { ST_START, ST_RUN, ST_DRAIN, ST_FINAL, ST_COLLECT, ST_EXIT };

/* The main process's view of one worker. */
struct wk {
    uint32_t index;
    int pid;
    int msg_fd, req_fd, rep_fd;    /* main's ends: messages and requests out, replies in */
    int msg_rfd, req_rfd, rep_wfd; /* the worker's ends, closed here after the fork */
    struct inq ctl_in;
    struct codec_buf ctl_out;
    size_t ctl_head; /* bytes of ctl_out already written */
    uv_poll_t msg_poll, req_poll, rep_poll;
    bool msg_writable_armed, req_writable_armed;
    bool msg_closed, ctl_closed;
    bool ready, drained, ended;
    uint64_t handled, busy_ns, machines, records_got;
    int64_t rss_kb;
    bool query_warned;
    int closing;      /* --recover: handles of a dead worker still closing */
    uint64_t died_ns; /* --recover: when its death was noticed */
};

struct phase3 {
    const struct options *o;
    const struct p3_config *c;
    struct source *src;
    uint32_t n;
    struct wk *w;
    struct pool pool;
    bool pool_started;
    uv_loop_t loop;
    uv_idle_t pump;
    uv_timer_t rate_timer, sweep_timer, status_timer;
    struct ptimer qtimer; /* the query clock (ask.c) */
    bool qtimer_made;
    uv_signal_t sigint, sigterm, sigusr1;
    struct tl_loop turns; /* --timeline: the loop's turns */

    enum stage stage;
    int exit_status; /* EXIT_OK until something decides otherwise */
    unsigned interrupts;

    struct router rt; /* the lesson's router (router.h): message queues, the held message */
    struct queries q; /* the lesson's queries (query.h): the table in flight, counts, latencies */

    struct pacer rate, qpace;
    struct rng qrng;
    uint32_t final_left;

    bool pumping;
    uint64_t start_ns, end_ns;
    uint32_t ready_count, drained_count, ended_count;

    struct extsort records;  /* COLLECT: the workers' records, on their way to the dump */
    struct machine *scratch; /* one RECORDS frame, decoded */

    struct recover rec;      /* --recover: checkpoints and logs (recover.h) */
    uv_timer_t recover_tick; /* --recover: resumes a source paused on a full log */
};

/* pump.c: the source into the pipes, through router.h. */
void pump_start(struct phase3 *p); /* (re)starts the pump in stage RUN */
void pump_stop(struct phase3 *p);
void pump_drain(struct phase3 *p);                  /* stops the source; flushes and closes every pipe */
void pump_close_msgs(struct phase3 *p, uint32_t i); /* worker i's end of file, once */

/* ask.c: queries, their answers and deadlines, through query.h. */
void ask_start(struct phase3 *p); /* the query clock, at the start of the run */
void ask_final(struct phase3 *p); /* the --query list, after the drain */
void ask_on_answer(struct phase3 *p, const struct codec_frame *f);
void ask_on_sweep(uv_timer_t *h);

/* control.c: control pipes and the stages they drive. */
void control_flush(struct phase3 *p, struct wk *w);
void control_collect(struct phase3 *p);
void control_on_replies(uv_poll_t *h, int status, int events);

/* respawn.c: --recover. */
int respawn_watch(struct phase3 *p); /* starts recover_tick */
void respawn_on_death(struct phase3 *p, uint32_t i, int pid, int wstatus);
/* Every close callback of a worker's pipe handles calls this: a dead
 * worker's successor starts when the last of them has closed. */
void respawn_on_closed(struct phase3 *p, struct wk *w);

/* phase3.c: a worker's three pipes (the main process's ends non-blocking),
 * and the loop's handles on the main process's ends. 0 or a negative errno. */
int p3_open_pipes(struct phase3 *p, struct wk *w);
int p3_watch_worker(struct phase3 *p, struct wk *w);

/* phase3.c: ends the run with exit 3, naming worker i and what happened;
 * under --recover, kills worker i instead (its restart follows). */
void p3_worker_failed(struct phase3 *p, uint32_t i, const char *what);
/* phase3.c: ends the run with exit 3 whatever the flags. */
void p3_worker_lost(struct phase3 *p, uint32_t i, const char *what);
/* phase3.c: ends the run with EXIT_NOT_WRITTEN because func, a function of
 * the lab (labs/phase3/), is still the starter's stub: the driver calls it
 * when a lesson module returns *_NOT_WRITTEN. */
void p3_not_written(struct phase3 *p, const char *func);

#endif

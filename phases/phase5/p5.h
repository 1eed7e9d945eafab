/* p5.h - the state of phase 5's coordinator, shared by the files that make
 * it up: coord.c (set-up, supervision, leases, signals, the end), route.c
 * (source -> batches -> ROUTER under credit), inbox.c (what workers send)
 * and query.c (queries and deadlines). Not a public interface: main.c sees
 * only phase5.h.
 *
 * Stages, each entered once, in order:
 *   START    workers forked; waiting for each one's HELLO (its window);
 *   RUN      the pump (a uv_idle) routes up to PUMP_TURN messages a turn
 *            into per-worker batches, each frame paid for with credit;
 *   DRAIN    the source is done (or SIGINT/SIGTERM): batches flushed, then
 *            each worker gets its tail in the same ordered stream: the
 *            --query list and COLLECT, which it answers with ANSWERs,
 *            STATS, RECORDS... and END;
 *   EXIT     every END is in: WIRE_EXIT sent; the workers exit 0 and are
 *            reaped.
 * A worker that dies, falls silent past its lease, reconnects or breaks
 * the protocol ends the run with exit 3 and no records; with --recover it
 * is killed instead and restarted from its checkpoint (respawn.c), or, a
 * remote one, replaced by whoever starts a worker of its index (ckpt.c),
 * in whatever stage, and the run goes on.
 *
 * Flow control, the invariant: frames in flight to worker i (sent, not yet
 * handed back as credit) never exceed its window, in frames and in bytes
 * (one frame larger than the whole byte window may go alone, when nothing
 * else is in flight). A worker that runs out of credit stops the source
 * exactly as phase 3's full pipe does, so memory is bounded everywhere: the
 * coordinator's batch buffers, ZeroMQ's queues (at most window bytes per
 * worker) and the worker's inbox.
 *
 * One thread owns all of it: every function here runs in the loop. */
#ifndef MSGROUTE_PHASE5_P5_H
#define MSGROUTE_PHASE5_P5_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "codec.h"
#include "pacer.h"
#include "phase5.h"
#include "pool.h"
#include "ptimer.h"
#include "recover.h"
#include "rng.h"
#include "tl_loop.h"
#include "wire.h"
#include "zap.h"
#include "zwatch.h"

#define PROGRAM "phase5"
#define PUMP_TURN 4096             /* messages routed per loop turn */
#define BATCH_BYTES (256u * 1024u) /* a batch is sent once it holds this much */
#define RID_MAX 64                 /* routing id of a worker: "w<index>.<pid>@<host>" (worker.c) */
#define QT_SLOTS 4096u             /* queries in flight at most (a power of two) */
#define SWEEP_MS 5                 /* query deadline resolution */
#define LEASE_TICK_MS 20           /* how often leases are checked */
#define RETRY_MS 1                 /* a worker whose ZeroMQ queue was full is retried this often */
#define START_TIMEOUT_MS 10000     /* every local worker must say HELLO within this */
#define REMOTE_LINGER_MS 2000      /* --remote: how long the last WIRE_EXITs may take to leave */
#define REPLY_MAX (1u << 20)       /* largest message a worker may send (ZMQ_MAXMSGSIZE) */

enum stage { ST_START, ST_RUN, ST_DRAIN, ST_EXIT };

/* The coordinator's view of one worker. */
struct wk {
    uint32_t index;
    int pid;
    uint8_t rid[RID_MAX]; /* its routing id, once its HELLO arrived */
    size_t rid_len;
    bool hello;
    char peer[64]; /* the address its connection came from (ZeroMQ's Peer-Address) */
    uint64_t seq_out, seq_in;
    uint64_t last_heard_ns;
    /* credit (p5.h: the invariant) */
    uint32_t window_frames, window_bytes;
    uint32_t credit_frames;
    int64_t credit_bytes; /* below 0 only while one oversize frame is in flight */
    /* the batch being built; sealed once full, until ZeroMQ takes it */
    struct codec_buf batch;
    uint32_t batch_msgs;
    bool sealed;
    uint64_t sent_msgs;
    uint64_t credited_msgs; /* messages it has said it applied (the credit handed back) */
    uint64_t credited_base; /* --remote --recover: credited_msgs at its HELLO (respawn.c: its progress) */
    bool tail_sent, drained, ended, exit_sent;
    uint64_t handled, busy_ns, machines, records_got;
    int64_t rss_kb;
    bool query_warned;
    /* --recover (respawn.c) */
    bool ever_hello;          /* counted in hello_count once, whatever its restarts */
    bool dead;                /* killed or died: no process of it is connected */
    bool replaying;           /* its successor said HELLO; its replay is not all sent */
    bool have_rp;             /* rp is the replay's next message, waiting for credit */
    struct msg rp;            /* (its id points into the source's id table) */
    uint8_t old_rid[RID_MAX]; /* the dead one's routing id: what still arrives from it is dropped */
    size_t old_rid_len;
    bool old_told; /* the dead one was told it has been replaced (wire_gone) */
    uint64_t died_ns, restart_ns, replayed;
    /* --remote --recover (ckpt.c): the checkpoint arriving from it ... */
    bool ck_open;
    uint32_t ck_machines, ck_got;
    uint64_t ck_pos;
    unsigned ck_copy;
    struct machine *ck_dst;
    /* ... and the one it starts from, going out */
    bool restoring, rs_opened;
    uint32_t rs_next;
    bool ckpt_batch; /* its batch holds checkpoint frames: it leaves as WIRE_CKPT */
};

struct qt_entry {
    uint64_t corr, intended_ns, deadline_ns;
    uint32_t worker;
    bool pending, final;
    uint8_t id_len;
    char id[MSG_ID_MAX + 1];
};

struct coord {
    const struct options *o;
    const struct p5_config *c;
    struct source *src;
    uint32_t n;
    struct wk *w;
    struct pool pool;
    bool pool_started;
    void *zctx, *router;
    char endpoint[P5_ENDPOINT_MAX]; /* what the ROUTER actually bound (the port filled in) */
    uv_loop_t loop;
    struct zwatch zw;
    struct zap zap; /* with --keys: who may connect (zap.h) */
    uv_idle_t pump;
    uv_timer_t rate_timer, retry_timer, lease_timer, sweep_timer, status_timer;
    struct ptimer qtimer; /* query.c: the query clock */
    bool qtimer_made;
    uv_signal_t sigint, sigterm, sigusr1;

    enum stage stage;
    int exit_status;
    unsigned interrupts;
    uint64_t start_begin_ns;

    struct pacer rate, qpace;
    struct rng qrng;
    struct qt_entry *qt; /* QT_SLOTS */
    uint64_t next_corr, oldest_corr;
    struct hist *hist;
    uint64_t q_failed, q_not_found, q_late;
    uint32_t final_left;

    struct msg held; /* refused for lack of credit; routed first when credit returns */
    bool have_held, pumping, retrying;
    bool stop_early; /* a stop request before every worker had connected */
    uint64_t routed, start_ns, end_ns;
    struct tl_loop turns; /* --timeline: the loop's turns */
    uint32_t hello_count, drained_count, ended_count;
    uint64_t bad_from_strangers;

    struct extsort records;  /* the workers' records, on their way to the dump */
    struct machine *scratch; /* one RECORDS frame, decoded */

    struct recover rec;      /* --recover: checkpoints and logs (recover.h) */
    uv_timer_t recover_tick; /* --recover: resumes a source paused on a full log */
};

/* route.c */
void route_start(struct coord *p); /* (re)starts the pump in stage RUN */
void route_drain(struct coord *p); /* stops the source; flush, then each worker's tail */
void route_credit(struct coord *p, struct wk *w, uint32_t frames, uint32_t bytes);
int route_send(struct coord *p, struct wk *w);                        /* sends w's batch: 0, -EAGAIN (kept), or lost */
void route_batch_empty(struct wk *w);                                 /* forgets what w's batch holds */
int route_append(struct coord *p, struct wk *w, const struct msg *m); /* 0, -EAGAIN (no credit), or lost */
void route_drain_worker(struct coord *p, struct wk *w);               /* w's tail, once the drain began */
void route_send_exit(struct coord *p, struct wk *w);                  /* WIRE_EXIT */
void route_retry(struct coord *p);                                    /* sends every sealed batch ZeroMQ takes now */
void route_on_retry(uv_timer_t *h);                                   /* route_retry, from the backstop timer */
void route_on_writable(struct zwatch *z);                             /* route_retry, when ZMQ_EVENTS has ZMQ_POLLOUT */

/* inbox.c: everything the ROUTER receives. */
void inbox_on_readable(struct zwatch *z);

/* query.c */
void query_start(struct coord *p);
void query_ask_final(struct coord *p, struct wk *w); /* the --query list of w, into its tail */
void query_on_answer(struct coord *p, struct wk *w, const struct codec_frame *f);
void query_on_sweep(uv_timer_t *h);
int query_init(struct coord *p);
void query_free(struct coord *p);

/* respawn.c: --recover (recover.h); for a remote worker, its replacement
 * is started elsewhere, and a peer with no place in the run is told so. */
int respawn_watch(struct coord *p);                                       /* starts recover_tick */
void respawn_kill(struct coord *p, uint32_t i, const char *what);         /* instead of losing the run */
void respawn_on_death(struct coord *p, uint32_t i, int pid, int wstatus); /* SIGCHLD: restart or give up */
void respawn_on_hello(struct coord *p, struct wk *w);                     /* its successor connected: the replay */
void respawn_replay(struct coord *p, struct wk *w);                       /* sends what credit allows of it */
bool respawn_drop_old(struct coord *p, const uint8_t *rid, size_t len);   /* from a dead worker? told to go */
/* A WIRE_EXIT outside any sequence to the peer at rid: it has no place in the run (wire.h). */
void respawn_send_gone(struct coord *p, const uint8_t *rid, size_t len, enum wire_gone why);

/* ckpt.c: --recover with remote workers (their checkpoints over the network). */
void ckpt_on_message(struct coord *p, struct wk *w, const uint8_t *body, size_t len, const struct wire_hdr *h);
void ckpt_restore_begin(struct wk *w);                 /* w is to get its checkpoint before anything else */
bool ckpt_restore_send(struct coord *p, struct wk *w); /* puts it in w's batch: true once it has left */

/* coord.c */
/* Ends the run with exit 3 naming worker i and how, at once (no --recover). */
void p5_lose(struct coord *p, uint32_t i, const char *how);
/* Ends the run with exit 3, naming worker i (index, pid, endpoint) and what happened. */
void p5_worker_lost(struct coord *p, uint32_t i, const char *what);
/* "pid 4242, from 127.0.0.1 to tcp://127.0.0.1:40211": who worker i is. */
void p5_describe(const struct coord *p, uint32_t i, char *buf, size_t len);
void p5_after_drain(struct coord *p);                            /* every worker sent END: release them */
void p5_start_run(struct coord *p);                              /* every worker said HELLO */
void p5_print_worker_command(const struct coord *p, uint32_t i); /* --remote: how to start worker i */

#endif

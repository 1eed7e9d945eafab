/* phase5.h - phase 5: the system over ZeroMQ (SPEC §10). A coordinator (a
 * libuv loop with one ROUTER socket) routes the source to N worker
 * processes, each a DEALER, as batches of phase 3's msgpack frames under
 * credit-based flow control; queries travel the same connections with
 * correlation ids. Workers are started by the coordinator itself (forked,
 * pool.h) and connect over TCP on the loopback, or with --remote started
 * elsewhere as `phase5 --worker`, the same worker body as a program of its
 * own. */
#ifndef MSGROUTE_PHASE5_H
#define MSGROUTE_PHASE5_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli.h"
#include "extsort.h"
#include "hist.h"
#include "keys.h"
#include "sm.h"
#include "source.h"
#include "summary.h"

#define P5_FINAL_QUERIES_MAX 16
#define P5_ENDPOINT_MAX 256

/* Phase 5's own flags. */
struct p5_config {
    char bind[P5_ENDPOINT_MAX];     /* where the ROUTER binds: tcp://127.0.0.1:* unless --bind */
    uint32_t window_frames;         /* credit each worker grants: frames in flight to it */
    uint32_t window_bytes;          /* ... and their bytes */
    uint32_t batch_frames;          /* MSG frames per ZeroMQ message at most */
    int hwm;                        /* ZMQ_SNDHWM/RCVHWM toward the workers, in messages (back: p5_upstream_hwm()) */
    uint32_t lease_ms;              /* a worker silent this long is lost */
    bool remote;                    /* --remote: wait for workers started elsewhere */
    char keys_dir[P5_ENDPOINT_MAX]; /* --keys DIR, or "" */
    struct keys *keys;              /* loaded from keys_dir, or NULL: no CURVE. The run wipes its secrets once used */
    const char *final_queries[P5_FINAL_QUERIES_MAX]; /* --query ID, asked after the drain */
    size_t nfinal;
    uint64_t query_spin_ns; /* --query-spin-us (cli.h), in ns: the query clock's spin lead */
};

#define P5_WINDOW_FRAMES_DEFAULT 16384u
#define P5_WINDOW_BYTES_DEFAULT (8u << 20)
#define P5_BATCH_FRAMES_DEFAULT 1024u
#define P5_HWM_DEFAULT 1000

/* The queues from the workers to the coordinator (the worker's send queue,
 * the ROUTER's receive queue from it) hold at most this many messages,
 * whatever --hwm says: what flows that way is replies, returned credit and,
 * at the end, every machine in RECORDS frames of up to 1 024 records, which
 * no credit governs. A deep queue there would hold a share of the machines
 * in the coordinator (or in the worker's send queue) while the coordinator
 * sorts; a short one makes the worker wait for it instead. */
#define P5_UPSTREAM_HWM 16

static inline int p5_upstream_hwm(int hwm)
{
    return hwm < P5_UPSTREAM_HWM ? hwm : P5_UPSTREAM_HWM;
}
#define P5_LEASE_MS_DEFAULT 300u
/* No spin lead by default (cli.h, --query-spin-us): a query here crosses
 * ZeroMQ's I/O threads, which a spinning loop competes with for the CPUs,
 * and the timer's wake-up is a small part of its round trip
 * (solutions/phase5/ANSWERS.md, experiment 3, has the figures). */
#define P5_QUERY_SPIN_US_DEFAULT 0
/* A silent worker whose process is not stopped gets this many leases before
 * it is declared hung (coord.c). */
#define P5_LEASE_GRACE 10

/* What a finished run hands back to main(). Free with p5_result_free(). */
struct p5_result {
    struct extsort records; /* every machine of every worker, to be sorted (extsort.h) */
    struct worker_stats *per_worker;
    struct hist *queries;
    struct run_summary sum;
};

/* Runs the coordinator over src: EXIT_OK (r filled), EXIT_WORKER_LOST (a
 * worker died, stopped answering or broke the protocol: named on stderr, no
 * records), EXIT_INTERRUPTED, EXIT_SETUP_FAILED or EXIT_NO_MEMORY. */
int phase5_run(const struct options *o, const struct p5_config *c, struct source *src, struct p5_result *r);
void p5_result_free(struct p5_result *r);

/* One worker's settings, from the coordinator's fork or from the command
 * line of `phase5 --worker`. */
struct p5_worker_setup {
    char connect[P5_ENDPOINT_MAX];
    uint32_t index, of;
    uint32_t expected_ids; /* table size hint */
    uint64_t work_ns;
    uint32_t window_frames, window_bytes;
    int hwm;
    uint32_t lease_ms;
    bool curve;       /* a CURVE client with keys: needs coord_pub and the worker pair */
    struct keys keys; /* wiped by p5_worker_run once its socket has them */
    struct recover_area
        *recover; /* --recover: its checkpoint area (recover.h), shared with the coordinator; else NULL */
};

struct pool_slot;
struct recover_area;

/* The body of a worker: connects, says HELLO, applies what arrives, exits
 * at WIRE_EXIT. Returns its exit status (exits.h): EXIT_OK, EXIT_PROTOCOL for
 * anything from the network that breaks the protocol, EXIT_PEER_GONE,
 * EXIT_NO_MEMORY, EXIT_SETUP_FAILED. slot (NULL when run by hand) gets its
 * counters for the status table. With s->curve, the secret key in s is
 * wiped once the socket has it. */
int p5_worker_run(struct p5_worker_setup *s, struct pool_slot *slot);

#endif

/* phase2.h - the system on one libuv event loop: a source handle feeds a
 * bounded queue, a router handle drains it in batches, queries are answered
 * asynchronously between batches. One process, one thread, one uv_loop_t. */
#ifndef MSGROUTE_PHASE2_H
#define MSGROUTE_PHASE2_H

#include <stdint.h>

#include "cli.h"
#include "hist.h"
#include "shard.h"
#include "source.h"
#include "summary.h"

/* --batch: messages the router applies per turn of the loop. A turn costs a
 * poll (an epoll_wait syscall, since the signal handles own a file
 * descriptor) and a pass over the timers and idle handles; a batch spreads
 * that cost over many messages. But nothing else runs during a batch, so a
 * query or a signal waits for up to one batch. User-space instructions per
 * message, 1 M messages on 10 000 ids (valgrind --tool=callgrind phase2
 * --messages 1000000 --ids 10000 --batch B), with phase 1 at 212:
 *     batch 1: 807    16: 274    64: 248    256: 241    1024: 239
 * plus, at batch 1, a syscall per message. Past 256 there is little left to
 * amortise, while a batch of 256 takes about 10 us, so a query waits
 * microseconds. */
#define PHASE2_BATCH_DEFAULT 256u
#define PHASE2_BATCH_MAX 65536u

/* The queue holds this many batches: room for the source to run ahead of
 * the router by a few turns (a --rate catch-up burst), small enough to stay
 * in cache. */
#define PHASE2_QUEUE_BATCHES 4u
/* Payload bytes the queue may hold, at least the largest payload. */
#define PHASE2_QUEUE_PAYLOAD_BYTES (4u << 20)

struct phase2_config {
    uint32_t batch;
    uint64_t query_spin_ns; /* --query-spin-us (cli.h), in ns: the query client's spin lead */
};

/* Runs the loop until the source is drained or a signal ends it (SPEC §8).
 * Query latencies go into queries. Fills messages, seconds and the query
 * counters of out, and self with the loop's status row (worker 0).
 * Returns EXIT_OK when every message taken was applied (the source ended or
 * was stopped), EXIT_INTERRUPTED after a second stop request (the state is
 * incomplete), or the exit status of a failure, already logged:
 * EXIT_SETUP_FAILED, EXIT_NO_MEMORY or EXIT_NOT_WRITTEN. */
int phase2_run(const struct options *o, const struct phase2_config *c, struct source *src, struct shard *shard,
               struct hist *queries, struct run_summary *out, struct worker_stats *self);

#endif

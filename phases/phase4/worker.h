/* worker.h - the body of a phase 4 worker: drain its ring into its machines
 * and publish every machine it changes in the shared state table. */
#ifndef MSGROUTE_PHASE4_WORKER_H
#define MSGROUTE_PHASE4_WORKER_H

#include <stdint.h>

#include "exits.h"
#include "pool.h"
#include "ring.h"
#include "statetab.h"

/* What every process of a run knows about the shared segment. Built by the
 * main process before the fork, so a worker inherits it (and the mapping) as
 * it is: the pointers are valid in every process. */
struct phase4_shared {
    struct ring **rings; /* one per worker */
    struct statetab tab; /* one slot per known id */
    uint32_t nworkers;
    uint64_t work_ns;
};

/* pool_body_fn: worker `index` consumes rings[index] until the END record,
 * then returns 0. Returns PHASE4_WORKER_CORRUPT when the ring breaks its
 * format (a bug or a hostile producer: the run cannot trust this worker's
 * state any more) and PHASE4_WORKER_NOMEM when out of memory. */
int phase4_worker(struct pool *p, uint32_t index, void *arg);

#define PHASE4_WORKER_NICE 5 /* workers yield the CPU to the main process (worker.c says why) */
/* Its exit statuses, from the one table of exits.h. */
#define PHASE4_WORKER_CORRUPT EXIT_PROTOCOL
#define PHASE4_WORKER_NOMEM EXIT_NO_MEMORY
#define PHASE4_WORKER_TODO EXIT_NOT_WRITTEN /* the lab's starter: a function is not written yet (lab.h) */

#endif

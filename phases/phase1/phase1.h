/* phase1.h - the synchronous loop of phase 1. */
#ifndef MSGROUTE_PHASE1_H
#define MSGROUTE_PHASE1_H

#include "cli.h"
#include "hist.h"
#include "shard.h"
#include "source.h"
#include "summary.h"

/* Routes every message of src into shard until the source ends or SIGINT /
 * SIGTERM asks to stop (a second one exits 130 at once). Fills messages,
 * seconds and query counters of out. Returns EXIT_OK, or the exit status
 * of what went wrong (exits.h): EXIT_SETUP_FAILED, EXIT_NO_MEMORY, or
 * EXIT_NOT_WRITTEN when the starter's route_all() runs. */
int phase1_run(const struct options *o, struct source *src, struct shard *shard, struct hist *queries,
               struct run_summary *out);

#endif

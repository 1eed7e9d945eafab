/* work.h - the simulated CPU work of --work-ns (SPEC §7): a compute loop of
 * about W ns per message that never touches the machine's state.
 *
 * Without it, a message costs a few tens of nanoseconds and IPC dominates
 * every phase; with it, the labs can show what parallel workers buy. The loop
 * runs a fixed number of iterations calibrated once per process, so the work
 * is deterministic in instructions even when the clock is noisy. */
#ifndef MSGROUTE_WORK_H
#define MSGROUTE_WORK_H

#include <stdint.h>

/* Measures the loop's speed (about 20 ms, once; later calls are free) and
 * returns the iteration count for ns nanoseconds. */
uint64_t work_iterations_for(uint64_t ns);

/* Runs the loop for n iterations. */
void work_run(uint64_t n);

#endif

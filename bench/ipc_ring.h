/* ipc_ring.h - ipc_bench's hook for the phase-4 shared-memory ring.
 *
 * ipc_ring.c measures the ring when phase 4 is built (CMake compiles it
 * against phase4_core); ipc_ring_none.c stands in until then, so ipc_bench
 * builds with whatever phases exist. */
#ifndef MSGROUTE_IPC_RING_H
#define MSGROUTE_IPC_RING_H

#include <stdbool.h>
#include <stdint.h>

typedef void (*ipc_report_fn)(const char *transport, uint64_t size, int rep, uint64_t n, uint64_t ns);

bool ipc_ring_available(void);

/* Streams n messages of size bytes through a ring between two processes,
 * reps + 1 times (the first discarded); reports each repetition. 0, or -1
 * after saying why on stderr. */
int ipc_ring_bench(uint64_t size, uint64_t n, int reps, ipc_report_fn report);

#endif

/* ipc_ring_none.c - the ring hook of ipc_bench when phase 4 is not built. */
#include "ipc_ring.h"

bool ipc_ring_available(void)
{
    return false;
}

int ipc_ring_bench(uint64_t size, uint64_t n, int reps, ipc_report_fn report)
{
    (void)size;
    (void)n;
    (void)reps;
    (void)report;
    return 0;
}

/* work.c - the calibrated busy loop behind --work-ns. */
#include "work.h"

#include "clock.h"

/* A dependent multiply-add chain: one iteration cannot start before the
 * previous ends, so the compiler and the CPU cannot collapse or overlap it. */
static uint64_t spin(uint64_t n, uint64_t x)
{
    for (uint64_t i = 0; i < n; i++)
        x = x * 6364136223846793005ull + 1442695040888963407ull;
    return x;
}

static volatile uint64_t sink; /* keeps the loop's result alive */
static double iterations_per_ns;

uint64_t work_iterations_for(uint64_t ns)
{
    if (ns == 0)
        return 0;
    if (iterations_per_ns == 0) {
        /* Best of five short runs: the fastest is the least disturbed. */
        const uint64_t n = 1000000;
        uint64_t best = UINT64_MAX;
        for (int r = 0; r < 5; r++) {
            uint64_t t0 = now_ns();
            sink = spin(n, sink);
            uint64_t dt = now_ns() - t0;
            if (dt < best)
                best = dt;
        }
        iterations_per_ns = (double)n / (double)(best ? best : 1);
    }
    uint64_t it = (uint64_t)((double)ns * iterations_per_ns + 0.5);
    return it ? it : 1;
}

void work_run(uint64_t n)
{
    if (n)
        sink = spin(n, sink);
}

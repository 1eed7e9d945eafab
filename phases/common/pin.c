/* pin.c - sched_setaffinity for the roles of a run. */
#define _GNU_SOURCE
#include "pin.h"

#include <errno.h>
#include <sched.h>

#include "summary.h"

int pin_self(enum pin_mode mode, int role)
{
    if (mode == PIN_NONE)
        return 0;
    int cpu = (mode == PIN_SAME || role == PIN_MAIN) ? 0 : (role + 1) % cpu_count();
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set) == 0 ? 0 : -errno;
}

uint32_t pin_workers_per_cpu(enum pin_mode mode, uint32_t workers)
{
    uint32_t cpus = mode == PIN_SAME ? 1 : (uint32_t)cpu_count();
    return workers > cpus ? (workers + cpus - 1) / cpus : 1;
}

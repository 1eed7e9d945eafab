/* pin.h - CPU placement of --pin (SPEC §7). spread: the main process on CPU
 * 0 and worker i on CPU (i + 1) mod cpu_count; same: everything on CPU 0. */
#ifndef MSGROUTE_PIN_H
#define MSGROUTE_PIN_H

#include <stdint.h>

#include "cli.h"

#define PIN_MAIN (-1) /* role of the main process */

/* Pins the calling process for its role (PIN_MAIN or a worker index).
 * Returns 0, or a negative errno from sched_setaffinity. */
int pin_self(enum pin_mode mode, int role);

/* How many of a run's workers share a CPU, rounded up (at least 1; all of
 * them under --pin same): with more than one, a worker that is woken may
 * wait for its CPU behind the others, whatever woke it. The main process is
 * not counted: the workers run at a lower priority and yield to it. */
uint32_t pin_workers_per_cpu(enum pin_mode mode, uint32_t workers);

#endif

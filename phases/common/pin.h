/* pin.h - CPU placement of --pin (SPEC §7). spread: the main process on CPU
 * 0 and worker i on CPU (i + 1) mod cpu_count; same: everything on CPU 0. */
#ifndef MSGROUTE_PIN_H
#define MSGROUTE_PIN_H

#include "cli.h"

#define PIN_MAIN (-1) /* role of the main process */

/* Pins the calling process for its role (PIN_MAIN or a worker index).
 * Returns 0, or a negative errno from sched_setaffinity. */
int pin_self(enum pin_mode mode, int role);

#endif

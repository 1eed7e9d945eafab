/* tl_loop.h - a libuv loop's turns on the timeline: a prepare and a check
 * handle cut every turn in two spans, the poll (waiting for I/O, then the
 * I/O callbacks) and the rest (timers and idle callbacks: where phase 2's
 * source and router and phase 3's pump run), so the spans the phase records
 * inside those callbacks nest in them.
 *
 * A library of its own (it needs libuv; phase 1 does not link it). Both
 * handles are unreferenced: they never keep a loop alive, and a loop that
 * closes every handle at its end (uv_walk) closes them too. */
#ifndef MSGROUTE_TL_LOOP_H
#define MSGROUTE_TL_LOOP_H

#include <stdint.h>
#include <uv.h>

struct tl_loop {
    uv_prepare_t prepare;
    uv_check_t check;
    const uint64_t *messages; /* a counter the turn span reports the growth of */
    uint64_t last, t_prepare, t_check;
};

/* Starts recording loop's turns when the timeline is on; otherwise does
 * nothing (no handle, no cost). 0 or a negative libuv error. */
int tl_loop_watch(struct tl_loop *t, uv_loop_t *loop, const uint64_t *messages);

#endif

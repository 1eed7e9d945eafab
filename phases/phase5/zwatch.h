/* zwatch.h - a ZeroMQ socket inside a libuv loop: the lesson of phase 5's
 * event loop. libuv waits on file descriptors; a ZeroMQ socket is not one,
 * but it exposes ZMQ_FD, a descriptor that becomes readable when the
 * socket's state MAY have changed. zwatch turns that into "call on_readable
 * whenever a message is waiting", without ever missing one.
 *
 * Ownership: the socket belongs to the loop's thread, and only that thread
 * may touch it (a ZeroMQ socket is not thread-safe); zwatch never creates
 * or closes it. */
#ifndef MSGROUTE_PHASE5_ZWATCH_H
#define MSGROUTE_PHASE5_ZWATCH_H

#include <stdbool.h>

#include <uv.h>

struct zwatch;

/* Receives and handles the waiting messages, at most a bounded number (so
 * that one busy peer cannot starve the loop), and returns; zwatch calls it
 * again while ZMQ_EVENTS says more is waiting. */
typedef void (*zwatch_fn)(struct zwatch *z);

struct zwatch {
    void *sock;
    zwatch_fn on_readable;
    /* Optional: called once per drain while want_out is set and ZMQ_EVENTS
     * has ZMQ_POLLOUT, for a caller with a message ZeroMQ refused (EAGAIN). */
    zwatch_fn on_writable;
    bool want_out;
    void *data;
    uv_poll_t poll;       /* ZMQ_FD, UV_READABLE */
    uv_prepare_t prepare; /* the last look before the loop may block */
    uv_idle_t spin;       /* keeps the loop from blocking while input is left */
    bool closed;
    int error; /* errno of a failed zmq_getsockopt(ZMQ_EVENTS), else 0 */
};

/* Starts watching sock on loop. 0 or a negative libuv/errno code. */
int zwatch_start(struct zwatch *z, uv_loop_t *loop, void *sock, zwatch_fn on_readable, void *data);

/* Reads everything waiting now (for a caller that must not wait for the
 * next loop turn, e.g. a lease check after the loop was descheduled). */
void zwatch_drain(struct zwatch *z);

/* Closes the three handles (the loop must run once more to finish). The
 * socket is the caller's to close after that. */
void zwatch_close(struct zwatch *z);

#endif

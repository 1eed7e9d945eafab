/* zcall.h - the libzmq calls phase 5 makes outside its loop's receive and
 * send paths, retried when a signal interrupts them.
 *
 * A socket call first runs the commands libzmq's I/O thread has queued for
 * the socket, and the poll() it waits on them with can be interrupted by a
 * signal handler (a status request every millisecond does it): the call
 * then fails with EINTR having changed nothing, and doing it again is the
 * right answer. zmq_ctx_term() fails the same way. The send and receive
 * paths handle EINTR where they are (worker.c, inbox.c, zwatch.c). */
#ifndef MSGROUTE_PHASE5_ZCALL_H
#define MSGROUTE_PHASE5_ZCALL_H

#include <errno.h>
#include <stddef.h>

#include <zmq.h>

static inline int zcall_setsockopt(void *sock, int opt, const void *value, size_t len)
{
    int rc;
    while ((rc = zmq_setsockopt(sock, opt, value, len)) < 0 && errno == EINTR)
        ;
    return rc;
}

static inline int zcall_set_int(void *sock, int opt, int value)
{
    return zcall_setsockopt(sock, opt, &value, sizeof value);
}

static inline int zcall_getsockopt(void *sock, int opt, void *value, size_t *len)
{
    int rc;
    while ((rc = zmq_getsockopt(sock, opt, value, len)) < 0 && errno == EINTR)
        ;
    return rc;
}

static inline int zcall_bind(void *sock, const char *endpoint)
{
    int rc;
    while ((rc = zmq_bind(sock, endpoint)) < 0 && errno == EINTR)
        ;
    return rc;
}

static inline int zcall_connect(void *sock, const char *endpoint)
{
    int rc;
    while ((rc = zmq_connect(sock, endpoint)) < 0 && errno == EINTR)
        ;
    return rc;
}

static inline int zcall_socket_monitor(void *sock, const char *endpoint, int events)
{
    int rc;
    while ((rc = zmq_socket_monitor(sock, endpoint, events)) < 0 && errno == EINTR)
        ;
    return rc;
}

static inline int zcall_ctx_term(void *ctx)
{
    int rc;
    while ((rc = zmq_ctx_term(ctx)) < 0 && errno == EINTR)
        ;
    return rc;
}

#endif

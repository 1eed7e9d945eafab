/* zcall.h - the libzmq calls phase 5 makes outside its loop's receive and
 * send paths, retried when a signal interrupts them, and the context every
 * phase 5 process makes its sockets in.
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
#include <malloc.h>
#include <stddef.h>

#include <zmq.h>

/* Blocks up to this size come from the heap, and the heap keeps up to this
 * much free memory at its top: both above a batch (BATCH_BYTES and one
 * frame), far below the memory of a run. */
#define ZCALL_MMAP_THRESHOLD (4u << 20)
#define ZCALL_TRIM_THRESHOLD (16u << 20)

/* A ZeroMQ context, once glibc's heap is told to keep what it frees.
 *
 * libzmq's I/O thread allocates each message it receives and the thread
 * that takes it frees it; what is sent goes the other way. By default
 * glibc gives the top of a heap back to the kernel as soon as 128 KiB of it
 * is free and serves a large block with an mmap() of its own, so a stream
 * of batches of tens or hundreds of KiB would make nearly every message a
 * fresh mapping or a trim, whose pages fault in again, and in a process
 * with threads every unmapping flushes the other CPUs' TLBs with an
 * interrupt. Fixed thresholds above a batch keep that memory in the
 * process for the next message. */
static inline void *zcall_ctx_new(void)
{
    mallopt(M_MMAP_THRESHOLD, (int)ZCALL_MMAP_THRESHOLD);
    mallopt(M_TRIM_THRESHOLD, (int)ZCALL_TRIM_THRESHOLD);
    return zmq_ctx_new();
}

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

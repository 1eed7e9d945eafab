/* zcall.h - the libzmq calls phase 5 makes outside its loop's receive and
 * send paths, retried when a signal interrupts them, the context every
 * phase 5 process makes its sockets in, and the TCP options that close a
 * connection to a host that is gone.
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

/* How a connection to a host that is gone gets closed: by the kernel's TCP
 * keepalive, not by ZeroMQ's heartbeats (ZMQ_HEARTBEAT_IVL).
 *
 * In libzmq 4.3.4 (Debian's; its master branch as of 2026 is the same), a
 * connection that has stopped reading because its receive queue is at the
 * high-water mark, and whose peer then dies, keeps an I/O error flag until
 * the queue drains. Meanwhile its heartbeat timer, or the PONG owed to a
 * PING still in its buffer, writes to it, and an assertion aborts the
 * whole process: "Assertion failed: !_io_error
 * (src/stream_engine_base.cpp:331)". make faults found it in the
 * coordinator, killing workers that were sending checkpoints through the
 * short queues of P5_UPSTREAM_HWM; libzmq's issue 4841 reports the same
 * assertion. With no heartbeats in either direction nothing writes to such
 * a connection.
 *
 * A process that dies closes its connections at once, and whether a worker
 * is alive is its lease's business (coord.c). What is left is a host that
 * vanished, a cable cut. On an idle connection keepalive notices: after
 * P5_KEEPALIVE_IDLE_S seconds of silence the kernel probes every
 * P5_KEEPALIVE_INTVL_S, and P5_KEEPALIVE_CNT unanswered probes close it. A
 * peer that is only stopped or busy is not gone, and its kernel answers.
 *
 * A worker's connection is seldom idle, though: credit handed back,
 * answers and leases are on their way. Data unacknowledged for
 * unacked_max_ms closes a connection too (ZMQ_TCP_MAXRT, TCP_USER_TIMEOUT),
 * so a worker passes P5_UNACKED_MAX_MS. Linux also closes a connection
 * whose peer has read nothing, its window shut, for that long: hence a long
 * bound, and none (0) in the coordinator, whose leases judge the workers
 * and which must not drop one that is only slow to read. */
#define P5_KEEPALIVE_IDLE_S 1
#define P5_KEEPALIVE_INTVL_S 1
#define P5_KEEPALIVE_CNT 3
#define P5_UNACKED_MAX_MS 20000

static inline int zcall_set_keepalive(void *sock, int unacked_max_ms)
{
    if (zcall_set_int(sock, ZMQ_TCP_KEEPALIVE, 1) < 0 ||
        zcall_set_int(sock, ZMQ_TCP_KEEPALIVE_IDLE, P5_KEEPALIVE_IDLE_S) < 0 ||
        zcall_set_int(sock, ZMQ_TCP_KEEPALIVE_INTVL, P5_KEEPALIVE_INTVL_S) < 0 ||
        zcall_set_int(sock, ZMQ_TCP_KEEPALIVE_CNT, P5_KEEPALIVE_CNT) < 0)
        return -1;
    return zcall_set_int(sock, ZMQ_TCP_MAXRT, unacked_max_ms); /* 0: the kernel's default */
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

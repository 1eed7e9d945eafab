/* zwatch.c - ZMQ_FD in a libuv loop, done right (zwatch.h).
 *
 * The bug every newcomer writes: put ZMQ_FD in a uv_poll_t, and in its
 * callback call zmq_recv() once. It works in a demo and hangs under load,
 * because ZMQ_FD is not a level-triggered "a message is waiting" signal:
 *
 *   - it is EDGE-triggered. It becomes readable when the socket's state
 *     changes, and the signal is consumed by the next call that processes
 *     the socket's internal commands: zmq_recv(), zmq_send() and
 *     zmq_getsockopt(ZMQ_EVENTS) all do. Ten messages that arrive together
 *     raise it once; read one, and the other nine sit there with the
 *     descriptor silent, until some unrelated event happens to wake you;
 *   - so after a wake-up the socket must be drained until ZMQ_EVENTS itself
 *     says ZMQ_POLLIN is clear. Only a ZMQ_EVENTS call that answers "nothing"
 *     re-arms the edge: from then on a new arrival raises ZMQ_FD again;
 *   - and any zmq_send() or zmq_recv() made elsewhere in the loop (the
 *     router sending a batch from an idle callback, a timer sending a
 *     query) may consume an edge that was meant for the reader. Nobody
 *     would ever poll the descriptor again for that input.
 *
 * Hence three handles. The uv_poll_t wakes the loop when the edge rises.
 * The uv_prepare_t runs on every loop turn just before libuv may block in
 * epoll_wait, after every timer, idle and I/O callback of the turn, so
 * whatever those callbacks did to the socket, the last thing before
 * sleeping is zwatch_drain(), which ends on a ZMQ_EVENTS that said "no
 * input": sleeping is then safe, as any later arrival raises the edge. And
 * when the drain stops on its budget with input still waiting (a flood
 * must not starve the source or the timers), the uv_idle_t makes the next
 * epoll_wait return at once, so the prepare handle drains again on the next
 * turn instead of the loop sleeping on a descriptor that will not fire.
 *
 * Writability is only a hint here: a ROUTER's ZMQ_POLLOUT means "some
 * peer can take a message", not "this peer can", so it cannot be waited
 * for (the loop would spin while one worker's queue is full and another's
 * is not). on_writable is tried once per drain when ZMQ_POLLOUT is set,
 * which is as soon as the refusing peer reads (its reads reach this socket
 * as a command, which raises ZMQ_FD); the caller keeps a slow timer as the
 * backstop. */
#include "zwatch.h"

#include <errno.h>

#include <zmq.h>

#include "lab.h"
#include "zcall.h"

/* Rounds of on_readable per drain: each reads a bounded batch itself. */
#define ZW_ROUNDS 16

static void on_poll(uv_poll_t *h, int status, int events)
{
    (void)status; /* an error on ZMQ_FD shows as a failing ZMQ_EVENTS below */
    (void)events;
    zwatch_drain(h->data);
}

static void on_prepare(uv_prepare_t *h)
{
    zwatch_drain(h->data);
}

static void on_spin(uv_idle_t *h)
{
    (void)h; /* its being active is the point: epoll_wait does not block */
}

void zwatch_drain(struct zwatch *z)
{
    /* TODO: Drain the socket until ZMQ_EVENTS says no input is left, in at
     * most ZW_ROUNDS rounds: each round asks ZMQ_EVENTS (zcall_getsockopt)
     * and calls z->on_readable() while ZMQ_POLLIN is set. A failing
     * ZMQ_EVENTS sets z->error and stops the loop. While z->want_out is set
     * and ZMQ_POLLOUT is up, call z->on_writable() once per drain, then ask
     * ZMQ_EVENTS again (the sends consumed the edge). Leaving on a ZMQ_EVENTS
     * that saw no input stops z->spin; leaving on the budget with input
     * still waiting starts it (on_spin), so the loop does not sleep on a
     * descriptor whose edge will not rise again. */
    lab_not_written("zwatch_drain()");
    (void)on_spin;
    z->error = ENOSYS;
    uv_stop(z->poll.loop);
}

int zwatch_start(struct zwatch *z, uv_loop_t *loop, void *sock, zwatch_fn on_readable, void *data)
{
    *z = (struct zwatch){.sock = sock, .on_readable = on_readable, .data = data};
    int fd;
    size_t len = sizeof fd;
    if (zcall_getsockopt(sock, ZMQ_FD, &fd, &len) < 0)
        return -errno;
    int rc;
    if ((rc = uv_poll_init(loop, &z->poll, fd)) < 0)
        return rc;
    uv_prepare_init(loop, &z->prepare);
    uv_idle_init(loop, &z->spin);
    z->poll.data = z->prepare.data = z->spin.data = z;
    if ((rc = uv_poll_start(&z->poll, UV_READABLE, on_poll)) < 0)
        return rc;
    return uv_prepare_start(&z->prepare, on_prepare);
}

void zwatch_close(struct zwatch *z)
{
    if (z->closed)
        return;
    z->closed = true;
    uv_handle_t *hs[] = {(uv_handle_t *)&z->poll, (uv_handle_t *)&z->prepare, (uv_handle_t *)&z->spin};
    for (int i = 0; i < 3; i++)
        if (!uv_is_closing(hs[i]))
            uv_close(hs[i], NULL);
}

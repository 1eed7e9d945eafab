/* worker.c - one worker process: pipe in, machines, answers out. It calls
 * only libraries (inq.h, codec.h, shard.h, libuv) and ends with an exit
 * status (worker.h); fail() keeps the first reason a worker has to stop. */
#include "worker.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "clock.h"
#include "codec.h"
#include "fnv.h"
#include "inq.h"
#include "log.h"
#include "shard.h"
#include "summary.h"
#include "timeline.h"

#define MSG_INQ_CAP (256u * 1024u)
#define CTL_INQ_CAP (16u * 1024u)
/* Room for the largest frame a worker sends: a full RECORDS batch. */
#define CTL_OUT_CAP (64u + (size_t)CODEC_RECORDS_MAX * CODEC_RECORD_MAX)

struct worker {
    const struct worker_setup *setup;
    struct pool_slot *slot;
    struct shard shard;
    struct inq msgs, ctl;
    struct codec_buf out;
    uv_loop_t loop;
    uv_poll_t msg_poll, ctl_poll;
    bool msgs_done;
    uint64_t busy_ns;
    int status;
};

static void fail(struct worker *w, int status, const char *what, const char *why)
{
    log_error("worker %u: %s: %s", w->setup->index, what, why);
    if (w->status == WORKER_EXIT_OK)
        w->status = status;
    uv_stop(&w->loop);
}

/* Writes the whole control buffer, waiting in poll() when the pipe is
 * full (see worker.h for why blocking here is safe). */
static int ctl_send(struct worker *w)
{
    /* LAB: Write all of w->out (w->out.len bytes) to the reply pipe, then empty
     * it. The pipe is non-blocking: a write may take only part of the bytes,
     * or none (EAGAIN) when the pipe is full; wait until it can take more and
     * go on (worker.h says why waiting is safe here). Retry on EINTR. Return
     * 0, or a negative errno when the pipe is broken (the main process is
     * gone). */
    /* LAB STUB: fail(w, WORKER_EXIT_TODO, "ctl_send()", "not written yet: see labs/phase3/README.md"); */
    /* LAB STUB: return -ENOSYS; */
    size_t off = 0;
    while (off < w->out.len) {
        ssize_t n = write(w->setup->rep_fd, w->out.data + off, w->out.len - off);
        if (n >= 0) {
            off += (size_t)n;
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            return -errno;
        struct pollfd pfd = {.fd = w->setup->rep_fd, .events = POLLOUT};
        if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
            return -errno;
    }
    w->out.len = 0;
    return 0;
    /* END LAB */
}

static void publish_stats(struct worker *w)
{
    atomic_store_explicit(&w->slot->handled, w->shard.handled, memory_order_relaxed);
    atomic_store_explicit(&w->slot->busy_ns, w->busy_ns, memory_order_relaxed);
}

static void send_stats(struct worker *w)
{
    long rss = rss_peak_self_kb();
    atomic_store_explicit(&w->slot->rss_kb, rss, memory_order_relaxed);
    if (codec_put_stats(&w->out, w->setup->index, w->shard.handled, w->busy_ns, table_count(&w->shard.table), rss) <
            0 ||
        ctl_send(w) < 0)
        fail(w, WORKER_EXIT_IO, "reply pipe", "cannot send statistics");
}

static void on_msgs(uv_poll_t *h, int status, int events)
{
    /* LAB: The message pipe is readable (or in error: fail). Read once
     * (inq_read), then apply every whole frame received, in order, with
     * shard_deliver(); anything but a MSG frame, or an undecodable one, is a
     * protocol error. Count the time spent applying in w->busy_ns and
     * publish the counters. At end of file (with no partial frame left) the
     * router has sent everything: stop watching the pipe, mark the messages
     * done and send STATS. */
    /* LAB STUB: (void)events; */
    /* LAB STUB: (void)status; */
    /* LAB STUB: (void)send_stats; */
    /* LAB STUB: (void)publish_stats; */
    /* LAB STUB: fail(h->data, WORKER_EXIT_TODO, "on_msgs()", "not written yet: see labs/phase3/README.md"); */
    struct worker *w = h->data;
    (void)events;
    if (status < 0) {
        fail(w, WORKER_EXIT_IO, "message pipe", uv_strerror(status));
        return;
    }
    ssize_t n = inq_read(&w->msgs, w->setup->msg_fd);
    if (n == -EAGAIN)
        return;
    if (n < 0) {
        fail(w, WORKER_EXIT_IO, "message pipe", strerror((int)-n));
        return;
    }
    uint64_t t0 = now_ns();
    struct codec_frame f = {0};
    int rc;
    while ((rc = inq_next(&w->msgs, &f)) == CODEC_OK) {
        if (f.type != CODEC_MSG) {
            fail(w, WORKER_EXIT_PROTOCOL, "message pipe", "a frame that is not a message");
            return;
        }
        if (shard_deliver(&w->shard, &f.u.msg.m, f.u.msg.payload) < 0) {
            fail(w, WORKER_EXIT_NOMEM, "machine table", "out of memory");
            return;
        }
    }
    if (rc < 0) {
        fail(w, rc == -ENOMEM ? WORKER_EXIT_NOMEM : WORKER_EXIT_PROTOCOL, "message pipe", codec_strerror(rc));
        return;
    }
    w->busy_ns += now_ns() - t0;
    publish_stats(w);
    if (n == 0) {
        if (inq_pending(&w->msgs) > 0) {
            fail(w, WORKER_EXIT_PROTOCOL, "message pipe", "ended inside a frame");
            return;
        }
        log_debug("worker %u: message pipe drained after %llu messages", w->setup->index,
                  (unsigned long long)w->shard.handled);
        uv_poll_stop(&w->msg_poll);
        w->msgs_done = true;
        send_stats(w);
    }
    /* END LAB */
}

static void answer_query(struct worker *w, const struct codec_frame *f)
{
    /* LAB: Look up the machine the QUERY frame f names, without creating it,
     * and queue an ANSWER with the query's correlation id (not found is an
     * answer too). Answers collect in w->out; when it is full, send it first
     * and try again. */
    /* LAB STUB: (void)f; */
    /* LAB STUB: fail(w, WORKER_EXIT_TODO, "answer_query()", "not written yet: see labs/phase3/README.md"); */
    const struct machine *m =
        table_find(&w->shard.table, f->u.query.id, f->u.query.id_len, fnv1a64(f->u.query.id, f->u.query.id_len));
    /* Answers collect in the buffer and leave in one write per read of the
     * request pipe (on_ctl); a full buffer is sent first. */
    if (codec_put_answer(&w->out, f->u.query.corr, m) == 0)
        return;
    if (ctl_send(w) < 0 || codec_put_answer(&w->out, f->u.query.corr, m) < 0)
        fail(w, WORKER_EXIT_IO, "reply pipe", "cannot send an answer");
    /* END LAB */
}

/* Sends every machine in RECORDS batches, then END with the count. */
static void send_records(struct worker *w)
{
    const struct table *t = &w->shard.table;
    if (w->out.len > 0 && ctl_send(w) < 0) { /* answers queued before COLLECT */
        fail(w, WORKER_EXIT_IO, "reply pipe", "cannot send answers");
        return;
    }
    for (const struct machine *next = table_first(t); next;) {
        if (codec_put_table(&w->out, t, &next, CODEC_RECORDS_MAX) < 0 || ctl_send(w) < 0) {
            fail(w, WORKER_EXIT_IO, "reply pipe", "cannot send records");
            return;
        }
    }
    if (codec_put_end(&w->out, table_count(t)) < 0 || ctl_send(w) < 0)
        fail(w, WORKER_EXIT_IO, "reply pipe", "cannot send the end of records");
}

static void on_ctl(uv_poll_t *h, int status, int events)
{
    /* LAB: The request pipe is readable (or in error: fail). Read once, then
     * handle every whole frame: QUERY is answered; COLLECT, once the
     * messages are done, sends the records; anything else is a protocol
     * error. Send the queued answers in one write. At end of file the main
     * process has all it needs: stop the loop (the worker exits 0). */
    /* LAB STUB: (void)events; */
    /* LAB STUB: (void)status; */
    /* LAB STUB: (void)answer_query; */
    /* LAB STUB: (void)send_records; */
    /* LAB STUB: fail(h->data, WORKER_EXIT_TODO, "on_ctl()", "not written yet: see labs/phase3/README.md"); */
    struct worker *w = h->data;
    (void)events;
    if (status < 0) {
        fail(w, WORKER_EXIT_IO, "request pipe", uv_strerror(status));
        return;
    }
    ssize_t n = inq_read(&w->ctl, w->setup->ctl_fd);
    if (n == -EAGAIN)
        return;
    if (n < 0) {
        fail(w, WORKER_EXIT_IO, "request pipe", strerror((int)-n));
        return;
    }
    struct codec_frame f = {0};
    int rc;
    while ((rc = inq_next(&w->ctl, &f)) == CODEC_OK) {
        if (f.type == CODEC_QUERY) {
            answer_query(w, &f);
        } else if (f.type == CODEC_COLLECT && w->msgs_done) {
            send_records(w);
        } else {
            fail(w, WORKER_EXIT_PROTOCOL, "request pipe", "unexpected frame");
            return;
        }
    }
    if (rc < 0) {
        fail(w, WORKER_EXIT_PROTOCOL, "request pipe", codec_strerror(rc));
        return;
    }
    if (w->out.len > 0 && ctl_send(w) < 0) {
        fail(w, WORKER_EXIT_IO, "reply pipe", "cannot send answers");
        return;
    }
    if (n == 0) {
        /* The main process has all it needs (or is gone): an orderly end. */
        log_debug("worker %u: request pipe closed, exiting", w->setup->index);
        uv_stop(&w->loop);
    }
    /* END LAB */
}

static void on_closed(uv_handle_t *h)
{
    (void)h;
}

int worker_run(const struct worker_setup *s, struct pool_slot *slot)
{
    struct worker w = {.setup = s, .slot = slot};
    w.out.cap = CTL_OUT_CAP;
    w.out.data = malloc(CTL_OUT_CAP);
    int rc = -ENOMEM;
    /* shard_recover_from(): under --recover, the machines of the last
     * checkpoint when this worker replaces a dead one. */
    if (!w.out.data || shard_init(&w.shard, s->expected_ids, s->work_ns) < 0 ||
        shard_recover_from(&w.shard, s->recover) < 0 || inq_init(&w.msgs, MSG_INQ_CAP) < 0 ||
        inq_init(&w.ctl, CTL_INQ_CAP) < 0) {
        log_error("worker %u: out of memory at start", s->index);
        w.status = WORKER_EXIT_NOMEM;
        goto out;
    }
    /* --timeline: each read of a pipe and the frames handled after it. */
    inq_timeline(&w.msgs, TL_PIPE_READ, s->index);
    inq_timeline(&w.ctl, TL_REQUESTS, s->index);
    if ((rc = uv_loop_init(&w.loop)) < 0) {
        log_error("worker %u: uv_loop_init: %s", s->index, uv_strerror(rc));
        w.status = WORKER_EXIT_IO;
        goto out;
    }
    if ((rc = uv_poll_init(&w.loop, &w.msg_poll, s->msg_fd)) < 0) {
        log_error("worker %u: uv_poll_init: %s", s->index, uv_strerror(rc));
        w.status = WORKER_EXIT_IO;
        goto close_loop;
    }
    if ((rc = uv_poll_init(&w.loop, &w.ctl_poll, s->ctl_fd)) < 0) {
        log_error("worker %u: uv_poll_init: %s", s->index, uv_strerror(rc));
        w.status = WORKER_EXIT_IO;
        uv_close((uv_handle_t *)&w.msg_poll, on_closed);
        uv_run(&w.loop, UV_RUN_DEFAULT);
        goto close_loop;
    }
    w.msg_poll.data = w.ctl_poll.data = &w;
    if ((rc = uv_poll_start(&w.msg_poll, UV_READABLE, on_msgs)) < 0 ||
        (rc = uv_poll_start(&w.ctl_poll, UV_READABLE, on_ctl)) < 0) {
        log_error("worker %u: uv_poll_start: %s", s->index, uv_strerror(rc));
        w.status = WORKER_EXIT_IO;
        goto close_handles;
    }
    if (codec_put_ready(&w.out, s->index, (int64_t)getpid()) < 0 || ctl_send(&w) < 0) {
        fail(&w, WORKER_EXIT_IO, "reply pipe", "cannot say ready");
        goto close_handles;
    }
    log_debug("worker %u: ready", s->index);
    uv_run(&w.loop, UV_RUN_DEFAULT);

close_handles:
    uv_close((uv_handle_t *)&w.msg_poll, on_closed);
    uv_close((uv_handle_t *)&w.ctl_poll, on_closed);
    uv_run(&w.loop, UV_RUN_DEFAULT);
close_loop:
    uv_loop_close(&w.loop);
out:
    inq_free(&w.msgs);
    inq_free(&w.ctl);
    shard_free(&w.shard);
    free(w.out.data);
    close(s->msg_fd);
    close(s->ctl_fd);
    close(s->rep_fd);
    return w.status;
}

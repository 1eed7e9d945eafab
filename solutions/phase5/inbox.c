/* inbox.c - everything the coordinator's ROUTER receives, decoded as
 * hostile input (SPEC §10: frames from the network): a message is trusted
 * only once its routing id belongs to a worker that said HELLO, its
 * envelope is whole, its sequence number is the next one and every frame
 * in it decodes (codec.c never trusts a length). A stranger's bad message
 * is reported and dropped, and the run goes on; a worker's bad message is
 * a protocol error that ends the run (exit 3): a worker that breaks the
 * protocol cannot be trusted with its machines (with --recover: it is
 * killed and restarted, respawn.c, and a second HELLO for its index, from
 * the successor's pid, starts its new connection). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "clock.h"
#include "lab.h"
#include "log.h"
#include "p5.h"
#include "run.h"

#define INBOX_BUDGET 64   /* messages per call: zwatch calls again while more wait */
#define STRANGER_LINES 10 /* reports of strangers' messages before they are only counted */

static void stranger(struct coord *p, const char *peer, const char *why)
{
    if (++p->bad_from_strangers <= STRANGER_LINES)
        fprintf(stderr, "%s: ignored a message from an unknown peer (%s): %s%s\n", PROGRAM, peer, why,
                p->bad_from_strangers == STRANGER_LINES ? " (further ones are only counted)" : "");
}

static struct wk *find_worker(struct coord *p, const uint8_t *rid, size_t len)
{
    for (uint32_t i = 0; i < p->n; i++)
        if (p->w[i].hello && p->w[i].rid_len == len && memcmp(p->w[i].rid, rid, len) == 0)
            return &p->w[i];
    return NULL;
}

/* A HELLO from a peer not yet known: one READY frame naming a free index
 * of this run, with the pid the pool started there; or, under --recover,
 * the index of a dead worker and the pid of its successor. */
static void on_hello(struct coord *p, const uint8_t *rid, size_t rid_len, const uint8_t *body, size_t len,
                     const struct wire_hdr *h, const char *peer)
{
    char why[160];
    struct codec_frame f = {0};
    struct wire_iter it;
    size_t used;
    wire_iter_init(&it, body, len);
    if (wire_next(&it, &f, &used) != 1 || f.type != CODEC_READY || wire_next(&it, &f, &used) != 0) {
        stranger(p, peer, "a HELLO that is not exactly one READY frame");
        return;
    }
    wire_iter_init(&it, body, len);
    wire_next(&it, &f, &used);
    uint32_t i = f.u.ready.index;
    if (h->seq != 1 || h->aux != p->n || i >= p->n || rid_len > RID_MAX) {
        snprintf(why, sizeof why, "a HELLO for worker %u of %u (seq %llu) that does not fit this run of %u workers", i,
                 h->aux, (unsigned long long)h->seq, p->n);
        stranger(p, peer, why);
        return;
    }
    struct wk *w = &p->w[i];
    if (p->c->remote && w->hello && !w->dead) {
        /* A replacement started too early: it would wait for ever. */
        respawn_send_gone(p, rid, rid_len, WIRE_GONE_TAKEN);
        snprintf(why, sizeof why, "a HELLO for worker %u, which is connected (told to end)", i);
        stranger(p, peer, why);
        return;
    }
    if (p->stage != ST_START && !w->dead) {
        stranger(p, peer, "a HELLO after every worker had connected");
        return;
    }
    if (w->hello || (!p->c->remote && f.u.ready.pid != (int64_t)p->pool.w[i].pid)) {
        snprintf(why, sizeof why, "a HELLO for worker %u claiming pid %lld, which is not the one this run started", i,
                 (long long)f.u.ready.pid);
        stranger(p, peer, why);
        return;
    }
    if (h->credit_frames == 0 || h->credit_bytes < CODEC_MSG_OVERHEAD) {
        p5_worker_lost(p, i, "granted no usable window in its HELLO");
        return;
    }
    memcpy(w->rid, rid, rid_len);
    w->rid_len = rid_len;
    w->hello = true;
    if (p->c->remote)
        w->pid = (int)f.u.ready.pid; /* its host's pid: only a name here */
    snprintf(w->peer, sizeof w->peer, "%s", peer);
    w->seq_in = 1;
    w->seq_out = 0;
    w->window_frames = w->credit_frames = h->credit_frames;
    w->window_bytes = h->credit_bytes;
    w->credit_bytes = h->credit_bytes;
    w->last_heard_ns = now_ns();
    log_debug("worker %u (pid %d) connected from %s: window %u frames, %u bytes", i, w->pid, peer, h->credit_frames,
              h->credit_bytes);
    if (w->dead || (p->o->recover && p->c->remote))
        respawn_on_hello(p, w); /* its checkpoint and replay first, under the credit it just granted */
    if (w->ever_hello)
        return;
    w->ever_hello = true;
    if (++p->hello_count == p->n && p->stage == ST_START)
        p5_start_run(p);
}

static void on_stats(struct coord *p, struct wk *w, const struct codec_frame *f)
{
    if (w->drained || !w->tail_sent || f->u.stats.index != w->index) {
        p5_worker_lost(p, w->index, "sent STATS out of turn (protocol error)");
        return;
    }
    w->drained = true;
    w->handled = f->u.stats.handled;
    w->busy_ns = f->u.stats.busy_ns;
    w->machines = f->u.stats.machines;
    w->rss_kb = f->u.stats.rss_kb;
    if (++p->drained_count == p->n)
        p->end_ns = now_ns();
}

/* A RECORDS frame of w, which has sent no more than it holds: 0, or -1 when
 * they cannot be kept for the dump (the run is then ending). */
static int take_records(struct coord *p, struct wk *w, const struct codec_frame *f)
{
    int rc = extsort_add_all(&p->records, f->records, f->u.records.count, w->index);
    if (rc < 0) {
        p->exit_status = run_sorter_failed(PROGRAM, &p->records, rc);
        pool_signal_all(&p->pool, SIGKILL);
        uv_stop(&p->loop);
        return -1;
    }
    w->records_got += f->u.records.count;
    return 0;
}

/* One frame of a worker's DATA message: 0, or -1 when it broke the
 * protocol (the run is then ending). */
static int on_frame(struct coord *p, struct wk *w, const struct codec_frame *f)
{
    switch (f->type) {
    case CODEC_ANSWER: query_on_answer(p, w, f); return 0;
    case CODEC_STATS: on_stats(p, w, f); return p->exit_status == EXIT_OK ? 0 : -1;
    case CODEC_RECORDS:
        if (!w->drained || w->ended || w->records_got + f->u.records.count > w->machines)
            break;
        return take_records(p, w, f);
    case CODEC_END:
        if (!w->drained || w->ended || f->u.end.records_sent != w->records_got || w->records_got != w->machines)
            break;
        w->ended = true;
        if (++p->ended_count == p->n)
            p5_after_drain(p);
        return 0;
    }
    p5_worker_lost(p, w->index, "sent a frame it has no business sending (protocol error)");
    return -1;
}

static void on_worker_msg(struct coord *p, struct wk *w, const uint8_t *body, size_t len)
{
    /* LAB: A message from worker w, which said HELLO. Note when w was last
     * heard from (its lease). An empty message is ZMQ_PROBE_ROUTER
     * announcing a new connection: w reconnected, and what was in flight
     * on its old connection may be lost, so w is lost (p5_worker_lost()).
     * Else the envelope must decode (wire_get_hdr()) and carry the next
     * sequence number (w->seq_in + 1): a gap is a protocol error that loses
     * w. A bare WIRE_LEASE ends there; a WIRE_CKPT (a remote worker's
     * checkpoint) goes to ckpt_on_message(); any other kind but WIRE_DATA
     * loses w.
     * Hand each frame to on_frame() (wire_iter_init(), wire_next(); stop
     * when it returns -1), lose w on a bad frame, and last take back the
     * envelope's credit (route_credit()). */
    /* LAB STUB: lab_end_run(p, "on_worker_msg()"); */
    /* LAB STUB: (void)w; */
    /* LAB STUB: (void)body; */
    /* LAB STUB: (void)len; */
    /* LAB STUB: (void)on_frame; */
    char why[200], what[240];
    struct wire_hdr h;
    w->last_heard_ns = now_ns();
    if (len == 0) {
        /* ZMQ_PROBE_ROUTER: the worker's socket announces every new
         * connection. A second one means the first connection broke, and
         * whatever was in flight on it may be gone. */
        p5_worker_lost(p, w->index, "reconnected; messages in flight on its lost connection may be lost with it");
        return;
    }
    if (wire_get_hdr(body, len, &h, why, sizeof why) < 0) {
        snprintf(what, sizeof what, "sent a bad message: %s (protocol error)", why);
        p5_worker_lost(p, w->index, what);
        return;
    }
    if (h.seq != w->seq_in + 1) {
        snprintf(what, sizeof what, "sent message %llu after %llu: a gap in its sequence (protocol error)",
                 (unsigned long long)h.seq, (unsigned long long)w->seq_in);
        p5_worker_lost(p, w->index, what);
        return;
    }
    w->seq_in++;
    if (h.kind == WIRE_LEASE && len == WIRE_HDR)
        return;
    if (h.kind == WIRE_CKPT) {
        ckpt_on_message(p, w, body, len, &h);
        return;
    }
    if (h.kind != WIRE_DATA) {
        snprintf(what, sizeof what, "sent a %s message (protocol error)",
                 h.kind == WIRE_HELLO ? "second HELLO" : "bad");
        p5_worker_lost(p, w->index, what);
        return;
    }
    struct codec_frame f = {.records = p->scratch};
    struct wire_iter it;
    size_t used;
    int rc;
    wire_iter_init(&it, body, len);
    while ((rc = wire_next(&it, &f, &used)) == 1)
        if (on_frame(p, w, &f) < 0)
            return;
    if (rc < 0) {
        snprintf(what, sizeof what, "sent a bad frame: %s (protocol error)", codec_strerror(rc));
        p5_worker_lost(p, w->index, what);
        return;
    }
    route_credit(p, w, h.credit_frames, h.credit_bytes);
    /* END LAB */
}

static void on_message(struct coord *p, zmq_msg_t *id, zmq_msg_t *body, bool extra_parts)
{
    const uint8_t *rid = zmq_msg_data(id), *data = zmq_msg_data(body);
    size_t rid_len = zmq_msg_size(id), len = zmq_msg_size(body);
    const char *peer = zmq_msg_gets(body, "Peer-Address");
    if (!peer)
        peer = "unknown address";
    struct wk *w = find_worker(p, rid, rid_len);
    if (w) {
        if (extra_parts)
            p5_worker_lost(p, w->index, "sent a message of more than one part (protocol error)");
        else
            on_worker_msg(p, w, data, len);
        return;
    }
    if (len == 0 && !extra_parts) {
        log_debug("a new connection from %s", peer);
        return;
    }
    if (p->o->recover && respawn_drop_old(p, rid, rid_len))
        return; /* sent by a worker since dead: its successor starts afresh */
    char why[200];
    struct wire_hdr h;
    if (extra_parts) {
        stranger(p, peer, "a message of more than one part");
        return;
    }
    if (wire_get_hdr(data, len, &h, why, sizeof why) < 0) {
        stranger(p, peer, why);
        return;
    }
    if (h.kind != WIRE_HELLO) {
        stranger(p, peer, "a message before any HELLO");
        return;
    }
    on_hello(p, rid, rid_len, data, len, &h, peer);
}

/* Receives one part; false at EAGAIN or an error. */
static bool recv_part(void *sock, zmq_msg_t *m)
{
    for (;;) {
        if (zmq_msg_recv(m, sock, ZMQ_DONTWAIT) >= 0)
            return true;
        if (errno != EINTR) {
            if (errno != EAGAIN)
                log_warn("zmq_msg_recv: %s", zmq_strerror(errno));
            return false;
        }
    }
}

void inbox_on_readable(struct zwatch *z)
{
    struct coord *p = z->data;
    /* LAB: Receive and handle up to INBOX_BUDGET messages (zwatch calls
     * again while more wait), stopping early once the run is ending. A
     * ROUTER message is [routing id][body]: receive the id part then, if
     * it says more follows, the body (recv_part(), into zmq_msg_t's you
     * init and close); receive and drop any further parts, and tell
     * on_message() there were some. Stop at the first part that is not
     * there (EAGAIN). */
    /* LAB STUB: lab_end_run(p, "inbox_on_readable()"); */
    /* LAB STUB: (void)recv_part; */
    /* LAB STUB: (void)on_message; */
    for (int k = 0; k < INBOX_BUDGET && p->exit_status == EXIT_OK; k++) {
        zmq_msg_t id, body;
        zmq_msg_init(&id);
        if (!recv_part(p->router, &id)) {
            zmq_msg_close(&id);
            return;
        }
        zmq_msg_init(&body);
        bool whole = zmq_msg_more(&id) && recv_part(p->router, &body);
        bool extra = false;
        /* A ROUTER message is [routing id][body]; drop any further parts. */
        for (bool more = whole && zmq_msg_more(&body); more;) {
            zmq_msg_t rest;
            zmq_msg_init(&rest);
            more = recv_part(p->router, &rest) && zmq_msg_more(&rest);
            zmq_msg_close(&rest);
            extra = true;
        }
        if (whole)
            on_message(p, &id, &body, extra);
        zmq_msg_close(&body);
        zmq_msg_close(&id);
    }
    /* END LAB */
}

/* worker.c - one phase 5 worker: a DEALER connected to the coordinator,
 * its own machine table, batches in, replies out.
 *
 * A worker has one socket and nothing else to watch, so it needs no libuv
 * loop: zmq_poll() with a timeout (the next lease renewal) is its loop, and
 * zmq_poll, unlike a bare ZMQ_FD, handles the edge-triggered signalling
 * itself (zwatch.c). Sends block: that cannot deadlock, because the
 * coordinator reads its ROUTER whatever else it is waiting for.
 *
 * Every message from the network is hostile until proven otherwise: its
 * envelope and sequence number are checked, then every frame is decoded
 * once without applying anything; only a message that is whole is applied
 * (a second pass). A bad message applies nothing and ends the worker with
 * EXIT_PROTOCOL (7), naming what was wrong.
 *
 * Credit: the HELLO grants the window; each DATA message's reply hands back
 * the frames and bytes of the MSG frames it applied.
 *
 * With --remote --recover, a worker has no checkpoint area to share: the
 * coordinator first sends it the checkpoint it starts from (empty at a first
 * start), and it sends its machines back every so many messages (wire.h).
 *
 * A worker whose connection to the coordinator closes ends (EXIT_PEER_GONE):
 * the coordinator takes a reconnection for a lost worker anyway, and a
 * worker on another host has no parent whose death would end it. A socket
 * monitor (zmq_socket_monitor) says when the connection closes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "clock.h"
#include "fnv.h"
#include "keys.h"
#include "log.h"
#include "phase5.h"
#include "pool.h"
#include "shard.h"
#include "summary.h"
#include "timeline.h"
#include "wire.h"
#include "zcall.h"

/* Room for the largest frame a worker sends, a full RECORDS batch, and
 * the envelope. A reply is sent when the next frame does not fit. */
#define OUT_CAP (WIRE_HDR + 64u + (size_t)CODEC_RECORDS_MAX * CODEC_RECORD_MAX)
#define LEASE_CHECK_EVERY 256 /* messages applied between two looks at the clock */
#define KEPT_MAX 1024         /* MSG frames of one message kept decoded from pass one to pass two */
#define MONITOR_ENDPOINT "inproc://phase5-worker-monitor"
/* A closed connection, or a handshake the coordinator refused: a worker
 * without the right keys (or one without CURVE facing a coordinator with
 * it) would otherwise retry forever in silence. */
#define MONITOR_EVENTS                                                                                                 \
    (ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |             \
     ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)

struct p5w {
    struct p5_worker_setup *s;
    struct pool_slot *slot;
    void *ctx, *sock;
    void *monitor; /* a PAIR receiving the DEALER's disconnection events */
    struct shard shard;
    struct codec_buf out; /* the envelope's room, then reply frames */
    uint64_t seq_out, seq_in;
    uint32_t ret_frames, ret_bytes; /* credit to hand back with the next reply */
    bool answered;                  /* out holds an ANSWER: send it before reading on */
    uint64_t last_sent_ns, renew_ns;
    uint64_t busy_ns;
    bool done;
    int status;
    struct machine *recs; /* CODEC_RECORDS_MAX: a checkpoint's RECORDS frame, decoded */
    /* The leading MSG frames of the message being handled, as pass one
     * decoded them (check_frames), and where in it they end. */
    struct kept {
        struct msg m; /* m.id borrows from the message */
        const uint8_t *payload;
        uint32_t used; /* the frame's size: the credit it hands back */
    } * kept;
    uint32_t nkept;
    size_t kept_end;
    /* --remote --recover (wire.h): the checkpoint it starts from, being
     * loaded, then one of its own every ck_every messages. */
    enum { CK_NONE, CK_LOADING, CK_ON } ck;
    uint64_t ck_pos, ck_every, ck_next;
    uint32_t ck_machines, ck_got;
};

static int fail(struct p5w *w, int status, const char *fmt, const char *why)
{
    char what[300];
    snprintf(what, sizeof what, fmt, why);
    log_error("worker %u: %s", w->s->index, what);
    if (w->status == EXIT_OK)
        w->status = status;
    return -1;
}

/* Sends out as one message of kind with the credit owed, blocking. */
static int send_out(struct p5w *w, uint8_t kind)
{
    struct wire_hdr h = {.kind = kind,
                         .aux = w->s->of,
                         .seq = ++w->seq_out,
                         .credit_frames = w->ret_frames,
                         .credit_bytes = w->ret_bytes};
    wire_put_hdr(w->out.data, &h);
    uint64_t t0 = tl_now();
    while (zmq_send(w->sock, w->out.data, w->out.len, 0) < 0)
        if (errno != EINTR)
            return fail(w, EXIT_PEER_GONE, "cannot send to the coordinator: %s", zmq_strerror(errno));
    tl_span(TL_NET_SEND, t0, w->out.len, w->s->index);
    w->out.len = WIRE_HDR;
    w->ret_frames = w->ret_bytes = 0;
    w->answered = false;
    w->last_sent_ns = now_ns();
    return 0;
}

static void publish(struct p5w *w)
{
    if (!w->slot)
        return;
    /* Relaxed: one writer, and the status table wants a recent value,
     * not an ordering with anything else (pool.h). */
    atomic_store_explicit(&w->slot->handled, w->shard.handled, memory_order_relaxed);
    atomic_store_explicit(&w->slot->busy_ns, w->busy_ns, memory_order_relaxed);
}

/* Makes room for a frame of up to need bytes in out, sending what is
 * there first if it must. */
static int room(struct p5w *w, size_t need)
{
    if (w->out.cap - w->out.len >= need)
        return 0;
    return send_out(w, WIRE_DATA);
}

static int answer(struct p5w *w, const struct codec_frame *f)
{
    if (room(w, CODEC_RECORD_MAX + 32) < 0)
        return -1;
    const struct machine *m = shard_find(&w->shard, f->u.query.id, f->u.query.id_len);
    tl_flow('t', TL_QUERY, f->u.query.corr);
    codec_put_answer(&w->out, f->u.query.corr, m);
    w->answered = true;
    return 0;
}

/* COLLECT: STATS, every machine in RECORDS frames, END. */
static int collect(struct p5w *w)
{
    const struct table *t = &w->shard.table;
    uint32_t n = table_count(t);
    long rss = rss_peak_self_kb();
    if (w->slot)
        atomic_store_explicit(&w->slot->rss_kb, rss, memory_order_relaxed);
    if (room(w, 64) < 0)
        return -1;
    codec_put_stats(&w->out, w->s->index, w->shard.handled, w->busy_ns, n, rss);
    const struct machine *next = table_first(t);
    for (uint32_t k = 0; k < n; k += CODEC_RECORDS_MAX) {
        uint32_t c = n - k < CODEC_RECORDS_MAX ? n - k : CODEC_RECORDS_MAX;
        if (room(w, 16 + (size_t)c * CODEC_RECORD_MAX) < 0)
            return -1;
        if (codec_put_table(&w->out, t, &next, c) < 0)
            return fail(w, EXIT_NO_MEMORY, "%s", "a RECORDS frame does not fit its buffer");
    }
    if (room(w, 16) < 0)
        return -1;
    codec_put_end(&w->out, n);
    return 0;
}

/* Pass one: every frame decodes, is one the coordinator may send, and a
 * MSG is one this worker owns (SPEC §4). Nothing is applied. The leading
 * MSG frames, a whole batch in the common case, are kept decoded (w->kept)
 * so that pass two does not decode them again: the decoder is most of a
 * worker's cost per message. */
static int check_frames(struct p5w *w, const uint8_t *buf, size_t len)
{
    struct wire_iter it;
    struct codec_frame f = {0};
    size_t used;
    int rc;
    char why[160];
    bool keeping = true;
    w->nkept = 0;
    w->kept_end = WIRE_HDR;
    wire_iter_init(&it, buf, len);
    while ((rc = wire_next(&it, &f, &used)) == 1) {
        if (f.type == CODEC_MSG) {
            uint32_t owner = route_worker(f.u.msg.m.id_hash, w->s->of);
            if (owner != w->s->index) {
                snprintf(why, sizeof why, "a message for worker %u of %u", owner, w->s->of);
                return fail(w, EXIT_PROTOCOL, "bad message from the coordinator: %s; nothing of it applied", why);
            }
            keeping = keeping && w->nkept < KEPT_MAX;
            if (keeping) {
                w->kept[w->nkept++] = (struct kept){f.u.msg.m, f.u.msg.payload, (uint32_t)used};
                w->kept_end += used;
            }
            continue;
        }
        keeping = false; /* pass two takes the rest in order, decoding it again */
        if (f.type != CODEC_QUERY && f.type != CODEC_COLLECT) {
            snprintf(why, sizeof why, "a frame of type %u, which only a worker sends", f.type);
            return fail(w, EXIT_PROTOCOL, "bad message from the coordinator: %s; nothing of it applied", why);
        }
    }
    if (rc < 0)
        return fail(w, EXIT_PROTOCOL, "bad frame from the coordinator: %s; nothing of its message applied",
                    codec_strerror(rc));
    return 0;
}

/* Applies one MSG frame of used bytes, the credit it hands back counted;
 * *applied counts them. */
static int apply_msg(struct p5w *w, const struct msg *m, const uint8_t *payload, size_t used, uint32_t *applied)
{
    if (shard_deliver(&w->shard, m, payload) < 0)
        return fail(w, EXIT_NO_MEMORY, "%s", "out of memory for a new machine");
    w->ret_frames++;
    w->ret_bytes += (uint32_t)used;
    if (++*applied % LEASE_CHECK_EVERY == 0) {
        /* A long batch (--work-ns, big payloads) must not let the lease
         * lapse: renew it, handing back the credit so far. */
        if (now_ns() - w->last_sent_ns >= w->renew_ns && send_out(w, WIRE_DATA) < 0)
            return -1;
    }
    return 0;
}

/* Pass two: applies a message check_frames() accepted, in order: the
 * frames it kept decoded, then the rest from where they end. */
static int apply_frames(struct p5w *w, const uint8_t *buf, size_t len)
{
    struct wire_iter it;
    struct codec_frame f = {0};
    size_t used;
    uint32_t applied = 0;
    uint64_t t0 = now_ns();
    for (uint32_t k = 0; k < w->nkept; k++)
        if (apply_msg(w, &w->kept[k].m, w->kept[k].payload, w->kept[k].used, &applied) < 0)
            return -1;
    wire_iter_init(&it, buf, len);
    it.p = buf + w->kept_end;
    it.left = len - w->kept_end;
    while (wire_next(&it, &f, &used) == 1) {
        switch (f.type) {
        case CODEC_MSG:
            if (apply_msg(w, &f.u.msg.m, f.u.msg.payload, used, &applied) < 0)
                return -1;
            break;
        case CODEC_QUERY:
            if (answer(w, &f) < 0)
                return -1;
            break;
        case CODEC_COLLECT:
            if (collect(w) < 0)
                return -1;
            break;
        }
    }
    uint64_t t1 = now_ns();
    w->busy_ns += t1 - t0;
    if (applied)
        tl_span_at(TL_APPLY_BATCH, t0, t1, applied, w->s->index);
    publish(w);
    return 0;
}

/* The checkpoint's frames, in their place: STATS for this worker opens it,
 * RECORDS of its own machines up to the count STATS gave, END with that
 * count closes it; and only before the first message applied. With apply,
 * pass two: the machines go into the table. */
static int ckpt_frame(struct p5w *w, const struct codec_frame *f, bool apply, char *why, size_t len)
{
    if (f->type == CODEC_STATS && w->ck == CK_NONE && f->u.stats.index == w->s->index &&
        f->u.stats.machines <= UINT32_MAX) {
        w->ck = CK_LOADING;
        w->ck_pos = f->u.stats.handled;
        w->ck_machines = (uint32_t)f->u.stats.machines;
        w->ck_got = 0;
        return 0;
    }
    if (f->type == CODEC_RECORDS && w->ck == CK_LOADING && f->u.records.count <= w->ck_machines - w->ck_got) {
        for (uint32_t k = 0; k < f->u.records.count; k++) {
            const struct machine *r = &f->records[k];
            uint32_t owner = route_worker(r->id_hash, w->s->of);
            if (owner != w->s->index) {
                snprintf(why, len, "a checkpoint holding machine %s of worker %u", r->id, owner);
                return -1;
            }
            if (!apply)
                continue;
            if (table_find(&w->shard.table, r->id, r->id_len, r->id_hash)) {
                snprintf(why, len, "a checkpoint holding machine %s twice", r->id);
                return -1;
            }
            if (!table_put(&w->shard.table, r)) {
                snprintf(why, len, "%s", "no memory for its machines");
                return -1;
            }
        }
        w->ck_got += f->u.records.count;
        return 0;
    }
    if (f->type == CODEC_END && w->ck == CK_LOADING && w->ck_got == w->ck_machines &&
        f->u.end.records_sent == w->ck_machines) {
        w->ck = CK_ON;
        return 0;
    }
    snprintf(why, len, "a frame of type %u out of place in a checkpoint", f->type);
    return -1;
}

/* A WIRE_CKPT message from the coordinator: a piece of the checkpoint this
 * worker starts from. Checked whole first (the checkpoint's state is
 * rewound after pass one), then applied. */
static int load_checkpoint(struct p5w *w, const uint8_t *buf, size_t len, uint32_t every)
{
    char why[200];
    if (w->shard.handled > 0 || w->ck == CK_ON || every == 0)
        return fail(w, EXIT_PROTOCOL, "bad message from the coordinator: %s",
                    w->ck == CK_ON ? "a second checkpoint" : "a checkpoint it cannot start from");
    struct codec_frame f = {.records = w->recs};
    struct wire_iter it;
    size_t used;
    int rc = 0;
    for (int pass = 0; pass < 2; pass++) {
        uint32_t got = w->ck_got, machines = w->ck_machines;
        int ck = w->ck;
        uint64_t pos = w->ck_pos;
        wire_iter_init(&it, buf, len);
        while ((rc = wire_next(&it, &f, &used)) == 1)
            if (ckpt_frame(w, &f, pass == 1, why, sizeof why) < 0)
                return fail(w, EXIT_PROTOCOL, "bad checkpoint from the coordinator: %s", why);
        if (rc < 0)
            return fail(w, EXIT_PROTOCOL, "bad frame from the coordinator: %s; nothing of its message applied",
                        codec_strerror(rc));
        if (pass == 0) { /* rewind: pass two goes through the same frames */
            w->ck_got = got;
            w->ck_machines = machines;
            w->ck = ck;
            w->ck_pos = pos;
        }
    }
    if (w->ck == CK_ON) {
        w->shard.handled = w->ck_pos;
        w->ck_every = every;
        w->ck_next = w->ck_pos + every;
        if (w->ck_pos > 0)
            log_info("worker %u: restored %u machines from its checkpoint at message %llu", w->s->index, w->ck_machines,
                     (unsigned long long)w->ck_pos);
    }
    return 0;
}

/* --remote --recover: its machines to the coordinator as of now, as
 * WIRE_CKPT messages after the replies owed so far (wire.h). */
static int send_checkpoint(struct p5w *w)
{
    const struct table *t = &w->shard.table;
    uint32_t n = table_count(t);
    if ((w->out.len > WIRE_HDR || w->ret_frames > 0) && send_out(w, WIRE_DATA) < 0)
        return -1;
    codec_put_stats(&w->out, w->s->index, w->shard.handled, w->busy_ns, n, 0);
    const struct machine *next = table_first(t);
    for (uint32_t k = 0; k < n; k += CODEC_RECORDS_MAX) {
        uint32_t c = n - k < CODEC_RECORDS_MAX ? n - k : CODEC_RECORDS_MAX;
        if (w->out.cap - w->out.len < 16 + (size_t)c * CODEC_RECORD_MAX && send_out(w, WIRE_CKPT) < 0)
            return -1;
        if (codec_put_table(&w->out, t, &next, c) < 0)
            return fail(w, EXIT_NO_MEMORY, "%s", "a RECORDS frame does not fit its buffer");
    }
    if (w->out.cap - w->out.len < 16 && send_out(w, WIRE_CKPT) < 0)
        return -1;
    codec_put_end(&w->out, n);
    w->ck_next = w->shard.handled + w->ck_every;
    return send_out(w, WIRE_CKPT);
}

/* The coordinator says this worker has no place in its run (wire_gone). */
static int gone(struct p5w *w, uint32_t why)
{
    if (why == WIRE_GONE_REPLACED)
        return fail(w, EXIT_PEER_GONE, "%s", "the coordinator took this worker for lost and has replaced it; ending");
    if (why == WIRE_GONE_TAKEN)
        return fail(w, EXIT_PEER_GONE, "%s",
                    "the coordinator has this index connected already; start a replacement only once the "
                    "coordinator asks for one; ending");
    return fail(w, EXIT_PROTOCOL, "bad message from the coordinator: %s",
                "an end outside the sequence of no known kind");
}

static int on_message(struct p5w *w, const uint8_t *buf, size_t len)
{
    struct wire_hdr h;
    char why[200];
    if (wire_get_hdr(buf, len, &h, why, sizeof why) < 0)
        return fail(w, EXIT_PROTOCOL, "bad message from the coordinator: %s", why);
    if (h.kind == WIRE_EXIT && h.seq == 0 && len == WIRE_HDR)
        return gone(w, h.aux);
    if (h.seq != w->seq_in + 1) {
        snprintf(why, sizeof why, "message %llu after %llu: a gap, messages were lost", (unsigned long long)h.seq,
                 (unsigned long long)w->seq_in);
        return fail(w, EXIT_PROTOCOL, "bad message from the coordinator: %s", why);
    }
    w->seq_in++;
    if (h.kind == WIRE_EXIT && len == WIRE_HDR) {
        w->done = true;
        return 0;
    }
    if (h.kind == WIRE_CKPT)
        return load_checkpoint(w, buf, len, h.aux);
    if (h.kind != WIRE_DATA)
        return fail(w, EXIT_PROTOCOL, "bad message from the coordinator: %s",
                    "an envelope of a kind only a worker sends");
    if (w->ck == CK_LOADING)
        return fail(w, EXIT_PROTOCOL, "bad message from the coordinator: %s", "messages before its checkpoint's end");
    if (check_frames(w, buf, len) < 0 || apply_frames(w, buf, len) < 0)
        return -1;
    return w->ck == CK_ON && w->shard.handled >= w->ck_next ? send_checkpoint(w) : 0;
}

/* A CURVE client: it checks the coordinator by its public key and shows
 * the worker key, which the coordinator's ZAP handler admits (zap.h). The
 * secret key is wiped from s once the socket holds it. */
static int set_curve(struct p5w *w)
{
    struct keys *k = &w->s->keys;
    int rc = 0;
    if (zcall_setsockopt(w->sock, ZMQ_CURVE_SERVERKEY, k->coord_pub, KEYS_Z85_LEN) < 0 ||
        zcall_setsockopt(w->sock, ZMQ_CURVE_PUBLICKEY, k->worker_pub, KEYS_Z85_LEN) < 0 ||
        zcall_setsockopt(w->sock, ZMQ_CURVE_SECRETKEY, k->worker_secret, KEYS_Z85_LEN) < 0)
        rc = -1;
    int e = errno;
    keys_wipe_secrets(k);
    errno = e;
    return rc;
}

/* The DEALER: a routing id of its own ("w<index>.<pid>@<host>": workers on
 * two hosts, containers say, can have the same pid) so that a
 * reconnect shows up at the ROUTER as the same peer announcing itself
 * again (ZMQ_PROBE_ROUTER sends an empty message on every connect), which
 * the coordinator treats as a lost worker. MAXMSGSIZE bounds what a
 * hostile peer can make it allocate: the window, one largest frame, and
 * room for queries; libzmq drops a connection that sends more. */
static int connect_dealer(struct p5w *w)
{
    char rid[64], host[256] = "";
    gethostname(host, sizeof host - 1);
    int n = snprintf(rid, sizeof rid, "w%u.%d@%s", w->s->index, (int)getpid(), host);
    if (n >= (int)sizeof rid)
        n = (int)sizeof rid - 1; /* a long host name, cut: the pid and the index come first */
    int64_t maxmsg = (int64_t)WIRE_HDR + w->s->window_bytes + CODEC_FRAME_MAX + (1 << 20);
    if (!(w->ctx = zcall_ctx_new()) || !(w->sock = zmq_socket(w->ctx, ZMQ_DEALER)))
        return -1;
    if (zcall_setsockopt(w->sock, ZMQ_ROUTING_ID, rid, (size_t)n) < 0 ||
        zcall_set_int(w->sock, ZMQ_PROBE_ROUTER, 1) < 0 ||
        zcall_set_int(w->sock, ZMQ_SNDHWM, p5_upstream_hwm(w->s->hwm)) < 0 ||
        zcall_set_int(w->sock, ZMQ_RCVHWM, w->s->hwm) < 0 || zcall_set_int(w->sock, ZMQ_LINGER, 1000) < 0 ||
        zcall_set_keepalive(w->sock, P5_UNACKED_MAX_MS) < 0 ||
        zcall_setsockopt(w->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) < 0)
        return -1;
    if (w->s->curve && set_curve(w) < 0)
        return -1;
    if (zcall_socket_monitor(w->sock, MONITOR_ENDPOINT, MONITOR_EVENTS) < 0 ||
        !(w->monitor = zmq_socket(w->ctx, ZMQ_PAIR)) || zcall_connect(w->monitor, MONITOR_ENDPOINT) < 0)
        return -1;
    return zcall_connect(w->sock, w->s->connect);
}

/* An event of the monitor: -1 when it says the connection closed. Its
 * first part is a 16-bit event number and a 32-bit value, the second the
 * endpoint (zmq_socket_monitor(3)). */
static int on_monitor(struct p5w *w)
{
    zmq_msg_t part;
    uint16_t event = 0;
    bool more = true;
    for (int k = 0; more; k++) {
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, w->monitor, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&part);
            return 0;
        }
        if (k == 0 && zmq_msg_size(&part) >= sizeof event)
            memcpy(&event, zmq_msg_data(&part), sizeof event);
        more = zmq_msg_more(&part);
        zmq_msg_close(&part);
    }
    if (event == ZMQ_EVENT_DISCONNECTED)
        return fail(w, EXIT_PEER_GONE, "%s", "the connection to the coordinator closed; ending");
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
        return fail(w, EXIT_PEER_GONE, "%s", "the coordinator refused this worker's CURVE key (not its --keys?)");
    if (event & (ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL))
        return fail(w, EXIT_PEER_GONE, "%s",
                    "the handshake with the coordinator failed (do both, or neither, run with the same --keys?)");
    return 0;
}

static int hello(struct p5w *w)
{
    codec_put_ready(&w->out, w->s->index, (int64_t)getpid());
    struct wire_hdr h = {.kind = WIRE_HELLO,
                         .aux = w->s->of,
                         .seq = ++w->seq_out,
                         .credit_frames = w->s->window_frames,
                         .credit_bytes = w->s->window_bytes};
    wire_put_hdr(w->out.data, &h);
    while (zmq_send(w->sock, w->out.data, w->out.len, 0) < 0)
        if (errno != EINTR)
            return fail(w, EXIT_PEER_GONE, "cannot send HELLO: %s", zmq_strerror(errno));
    w->out.len = WIRE_HDR;
    w->last_sent_ns = now_ns();
    return 0;
}

/* Receives and handles every message waiting, then sends one reply with
 * the credit of all of them and whatever answers and records they asked
 * for: under load, one reply per wake-up rather than one per batch halves
 * the messages on the wire. An answer is the exception: it leaves as soon
 * as the message that asked for it is applied, since the batches queued
 * behind that message are no part of it, and applying them first would
 * only hold the query's round trip up. -1 when the worker must end. */
static int drain(struct p5w *w)
{
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, w->sock, ZMQ_DONTWAIT) < 0) {
            int e = errno;
            zmq_msg_close(&m);
            if (e != EAGAIN && e != EINTR)
                return fail(w, EXIT_PEER_GONE, "cannot receive: %s", zmq_strerror(e));
            if (w->ret_frames == 0 && w->out.len == WIRE_HDR)
                return 0;
            return send_out(w, WIRE_DATA);
        }
        int rc = zmq_msg_more(&m) ? fail(w, EXIT_PROTOCOL, "bad message from the coordinator: %s", "more than one part")
                                  : on_message(w, zmq_msg_data(&m), zmq_msg_size(&m));
        zmq_msg_close(&m);
        if (rc < 0 || w->done)
            return rc;
        if (w->answered && send_out(w, WIRE_DATA) < 0)
            return -1;
    }
}

static int run(struct p5w *w)
{
    if (connect_dealer(w) < 0)
        return fail(w, EXIT_SETUP_FAILED, "cannot connect its DEALER: %s", zmq_strerror(errno));
    if (hello(w) < 0)
        return -1;
    while (!w->done) {
        uint64_t now = now_ns(), due = w->last_sent_ns + w->renew_ns;
        long timeout = due > now ? (long)((due - now) / 1000000) + 1 : 0;
        zmq_pollitem_t items[2] = {{.socket = w->sock, .events = ZMQ_POLLIN},
                                   {.socket = w->monitor, .events = ZMQ_POLLIN}};
        uint64_t t0 = tl_now();
        if (zmq_poll(items, 2, timeout) < 0 && errno != EINTR)
            return fail(w, EXIT_PEER_GONE, "zmq_poll: %s", zmq_strerror(errno));
        tl_span(TL_NET_WAIT, t0, 0, w->s->index);
        if (drain(w) < 0)
            return -1;
        /* After the drain: a WIRE_EXIT that arrived before the close wins. */
        if (!w->done && (items[1].revents & ZMQ_POLLIN) && on_monitor(w) < 0)
            return -1;
        if (!w->done && now_ns() - w->last_sent_ns >= w->renew_ns && send_out(w, WIRE_LEASE) < 0)
            return -1;
    }
    return 0;
}

int p5_worker_run(struct p5_worker_setup *s, struct pool_slot *slot)
{
    struct p5w w = {.s = s, .slot = slot, .renew_ns = (uint64_t)s->lease_ms * 1000000ull / 4};
    w.out.cap = OUT_CAP;
    w.out.len = WIRE_HDR;
    w.out.data = malloc(OUT_CAP);
    w.kept = malloc(KEPT_MAX * sizeof *w.kept);
    w.recs = malloc(CODEC_RECORDS_MAX * sizeof *w.recs);
    /* --recover: a restarted worker starts from its last checkpoint. */
    if (!w.out.data || !w.kept || !w.recs || shard_init(&w.shard, s->expected_ids, s->work_ns) < 0 ||
        shard_recover_from(&w.shard, s->recover) < 0) {
        free(w.out.data);
        free(w.kept);
        free(w.recs);
        keys_wipe_secrets(&s->keys);
        log_error("worker %u: out of memory", s->index);
        return EXIT_NO_MEMORY;
    }
    run(&w);
    keys_wipe_secrets(&s->keys); /* already, unless the socket could not be made */
    if (w.monitor)
        zmq_close(w.monitor);
    /* The linger lets a released worker's last messages out; with the
     * coordinator gone, what it queued after the close has nobody to reach,
     * and waiting for it would only delay the exit. */
    if (w.sock && w.status == EXIT_PEER_GONE)
        zcall_set_int(w.sock, ZMQ_LINGER, 0);
    if (w.sock)
        zmq_close(w.sock);
    if (w.ctx)
        zcall_ctx_term(w.ctx);
    shard_free(&w.shard);
    free(w.out.data);
    free(w.kept);
    free(w.recs);
    return w.status;
}

/* zap.c - the ZAP handler (zap.h): one request in, one reply out, in the
 * loop. A request is seven frames (RFC 27): version "1.0", request id,
 * domain, peer address, routing id, mechanism, and for CURVE the client's
 * 32-byte public key. The reply is six: version, the same request id, a
 * status code, its text, a user id and empty metadata.
 *
 * The requests come from libzmq itself over inproc, yet each frame's size
 * is checked all the same before it is read: a handler that trusted them
 * would be one libzmq bug away from reading past a buffer. A REP socket
 * must answer every request before it can receive the next, so even a
 * malformed one gets its 400. */
#include "zap.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <zmq.h>

#include "log.h"
#include "zcall.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01" /* the one address libzmq asks (RFC 27) */
#define ZAP_FRAMES 7                          /* in a CURVE request */
#define ZAP_BUDGET 16                         /* requests per call: zwatch calls again while more wait */
#define ADDR_MAX 64

enum { F_VERSION, F_REQUEST_ID, F_DOMAIN, F_ADDRESS, F_ROUTING_ID, F_MECHANISM, F_KEY };

/* The frame's bytes are exactly text. */
static bool frame_is(zmq_msg_t *m, const char *text)
{
    size_t len = strlen(text);
    return zmq_msg_size(m) == len && memcmp(zmq_msg_data(m), text, len) == 0;
}

static int send_frame(void *sock, const void *data, size_t len, bool more)
{
    while (zmq_send(sock, data, len, more ? ZMQ_SNDMORE : 0) < 0)
        if (errno != EINTR)
            return -1;
    return 0;
}

/* 200 when why is NULL, else 400 with why as its text. */
static void reply(struct zap *z, zmq_msg_t *request_id, const char *why)
{
    const char *code = why ? "400" : "200", *text = why ? why : "OK";
    const char *user = why ? "" : "worker";
    const void *id = request_id ? zmq_msg_data(request_id) : "";
    size_t id_len = request_id ? zmq_msg_size(request_id) : 0;
    if (send_frame(z->sock, "1.0", 3, true) < 0 || send_frame(z->sock, id, id_len, true) < 0 ||
        send_frame(z->sock, code, 3, true) < 0 || send_frame(z->sock, text, strlen(text), true) < 0 ||
        send_frame(z->sock, user, strlen(user), true) < 0 || send_frame(z->sock, "", 0, false) < 0)
        log_warn("ZAP handler: cannot reply: %s", zmq_strerror(errno));
}

/* "refused a peer at 10.0.0.7 (CURVE key ...)": the key is a public one. */
static void report(struct zap *z, zmq_msg_t *f, int nframes, const char *why)
{
    if (++z->refused > ZAP_REPORT_LINES)
        return;
    char addr[ADDR_MAX] = "an unknown address", key[KEYS_Z85_LEN + 1] = "none";
    if (nframes > F_ADDRESS && zmq_msg_size(&f[F_ADDRESS]) > 0 && zmq_msg_size(&f[F_ADDRESS]) < sizeof addr) {
        memcpy(addr, zmq_msg_data(&f[F_ADDRESS]), zmq_msg_size(&f[F_ADDRESS]));
        addr[zmq_msg_size(&f[F_ADDRESS])] = '\0';
    }
    if (nframes > F_KEY && zmq_msg_size(&f[F_KEY]) == KEYS_BIN_LEN)
        zmq_z85_encode(key, zmq_msg_data(&f[F_KEY]), KEYS_BIN_LEN);
    fprintf(stderr, "phase5: refused a peer at %s (CURVE key %s): %s%s\n", addr, key, why,
            z->refused == ZAP_REPORT_LINES ? " (further refusals are only counted)" : "");
}

/* Decides one request of nframes frames (extra: it was not whole). */
static void judge(struct zap *z, zmq_msg_t *f, int nframes, bool extra)
{
    const char *why = NULL;
    if (extra || nframes != ZAP_FRAMES || !frame_is(&f[F_VERSION], "1.0"))
        why = "a malformed ZAP request";
    else if (!frame_is(&f[F_MECHANISM], "CURVE"))
        why = "not a CURVE peer";
    else if (zmq_msg_size(&f[F_KEY]) != KEYS_BIN_LEN ||
             memcmp(zmq_msg_data(&f[F_KEY]), z->worker_key, KEYS_BIN_LEN) != 0)
        why = "not the worker key";
    if (why)
        report(z, f, nframes, why);
    else
        z->admitted++;
    reply(z, nframes > F_REQUEST_ID ? &f[F_REQUEST_ID] : NULL, why);
}

/* Receives one request, its first frames into f: how many (-1: none
 * waiting). *extra: it had more than ZAP_FRAMES, or was cut short. */
static int receive(struct zap *z, zmq_msg_t *f, bool *extra)
{
    int n = 0;
    *extra = false;
    for (bool more = true; more;) {
        zmq_msg_t part, *m = n < ZAP_FRAMES ? &f[n] : &part;
        zmq_msg_init(m);
        if (zmq_msg_recv(m, z->sock, ZMQ_DONTWAIT) < 0) {
            int e = errno;
            zmq_msg_close(m);
            if (e == EINTR)
                continue;
            if (n == 0)
                return -1; /* EAGAIN: nothing waits (or the socket failed: zwatch sees it) */
            *extra = true; /* a request cut short: answered as malformed */
            break;
        }
        more = zmq_msg_more(m);
        if (m == &part) {
            zmq_msg_close(&part); /* a frame beyond the last one a request has */
            *extra = true;
        } else {
            n++;
        }
    }
    return n;
}

static void on_readable(struct zwatch *w)
{
    struct zap *z = w->data;
    for (int k = 0; k < ZAP_BUDGET; k++) {
        zmq_msg_t f[ZAP_FRAMES];
        bool extra;
        int n = receive(z, f, &extra);
        if (n < 0)
            return;
        judge(z, f, n, extra);
        for (int i = 0; i < n; i++)
            zmq_msg_close(&f[i]);
    }
}

int zap_open(struct zap *z, void *zctx, const char *worker_pub)
{
    memset(z, 0, sizeof *z);
    if (keys_decode(worker_pub, z->worker_key) < 0) {
        errno = EINVAL;
        return -1;
    }
    int linger = 0;
    if (!(z->sock = zmq_socket(zctx, ZMQ_REP)) || zcall_setsockopt(z->sock, ZMQ_LINGER, &linger, sizeof linger) < 0 ||
        zcall_bind(z->sock, ZAP_ENDPOINT) < 0)
        return -1;
    return 0;
}

int zap_watch(struct zap *z, uv_loop_t *loop)
{
    return zwatch_start(&z->zw, loop, z->sock, on_readable, z);
}

void zap_close(struct zap *z)
{
    if (!z->sock)
        return;
    zmq_close(z->sock);
    z->sock = NULL;
    if (z->refused > 0)
        fprintf(stderr, "phase5: refused %llu peer%s in all (not the worker key), admitted %llu\n",
                (unsigned long long)z->refused, z->refused == 1 ? "" : "s", (unsigned long long)z->admitted);
}

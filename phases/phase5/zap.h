/* zap.h - the coordinator's gatekeeper: a ZAP handler (ZeroMQ RFC 27) that
 * admits a CURVE peer only if it holds the worker key.
 *
 * Why it is needed: a CURVE server alone lets in any client that knows the
 * server's PUBLIC key (it proves only that the server is who it claims to
 * be), and a public key is not a secret. With a ZAP handler bound in its
 * context, libzmq asks it about every CURVE handshake before the peer's
 * first message reaches the ROUTER; this one answers 200 for the worker
 * public key and 400 for anything else, so a refused peer can neither send
 * a message nor a query: its bytes never leave libzmq.
 *
 * The handler is a REP socket on inproc://zeromq.zap.01, read from the
 * coordinator's libuv loop like the ROUTER (zwatch.h): it must exist before
 * the ROUTER binds, or the first handshakes would go unchecked. A peer
 * without CURVE at all never gets this far: its handshake fails on the
 * mechanism. Owned by the loop's thread, like every socket. */
#ifndef MSGROUTE_PHASE5_ZAP_H
#define MSGROUTE_PHASE5_ZAP_H

#include <stdint.h>

#include <uv.h>

#include "keys.h"
#include "zwatch.h"

#define ZAP_REPORT_LINES 10 /* refusals reported one by one; later ones are only counted */

struct zap {
    void *sock; /* the REP socket, NULL when not opened */
    struct zwatch zw;
    uint8_t worker_key[KEYS_BIN_LEN];
    uint64_t admitted, refused;
};

/* Binds the handler in zctx for the worker public key worker_pub (Z85).
 * 0, or -1 with errno (EINVAL: worker_pub is not a key). */
int zap_open(struct zap *z, void *zctx, const char *worker_pub);

/* Answers requests from loop's turns on. 0 or a negative libuv code. */
int zap_watch(struct zap *z, uv_loop_t *loop);

/* Closes the socket (after zwatch_close and the loop's last run), printing
 * how many peers were refused in all, if any. */
void zap_close(struct zap *z);

#endif

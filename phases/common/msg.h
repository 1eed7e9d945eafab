/* msg.h - the message of SPEC §2, its events and states, and the limits and
 * exit statuses every phase shares.
 *
 * A struct msg describes a message; it does not own its worker_id (the source
 * interns every id once) nor its payload (payload bytes are a pure function of
 * seq, see payload.h, so a phase materialises them only where they cross a
 * boundary). */
#ifndef MSGROUTE_MSG_H
#define MSGROUTE_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exits.h" /* the exit statuses every program shares */

#define MSG_ID_MAX 63                         /* bytes in a worker_id, without NUL */
#define MSG_PAYLOAD_MAX (16u * 1024u * 1024u) /* largest payload_len (16 MiB) */

enum event { EV_START, EV_PAUSE, EV_RESUME, EV_COMPLETE, EV_FAIL, EV_RESET, EV_STOP, EV_DATA, EV_HEARTBEAT, EV_COUNT };

enum state { ST_IDLE, ST_RUNNING, ST_PAUSED, ST_FAILED, ST_STOPPED, ST_COUNT };

struct msg {
    uint64_t seq;
    uint64_t id_hash; /* FNV-1a-64 of id: routing key and table hash */
    const char *id;   /* borrowed, NUL-terminated, id_len bytes */
    uint32_t payload_len;
    uint32_t id_index; /* the source's dense index of id (source.h); 0 when not from a source */
    uint8_t id_len;
    uint8_t event; /* enum event */
};

const char *event_name(enum event e);
const char *state_name(enum state s);

/* Parses an upper-case event name of exactly len bytes; false if unknown. */
bool event_parse(const char *s, size_t len, enum event *out);

/* True when id is 1..MSG_ID_MAX bytes of [A-Za-z0-9_.:-]. */
bool msg_id_valid(const char *id, size_t len);

#endif

/* msg.c - names of events and states, and the worker_id alphabet. */
#include "msg.h"

#include <string.h>

static const char *const event_names[EV_COUNT] = {
    "START", "PAUSE", "RESUME", "COMPLETE", "FAIL", "RESET", "STOP", "DATA", "HEARTBEAT",
};

static const char *const state_names[ST_COUNT] = {
    "IDLE", "RUNNING", "PAUSED", "FAILED", "STOPPED",
};

const char *event_name(enum event e)
{
    return (unsigned)e < EV_COUNT ? event_names[e] : "?";
}

const char *state_name(enum state s)
{
    return (unsigned)s < ST_COUNT ? state_names[s] : "?";
}

bool event_parse(const char *s, size_t len, enum event *out)
{
    for (int e = 0; e < EV_COUNT; e++) {
        if (strlen(event_names[e]) == len && memcmp(event_names[e], s, len) == 0) {
            *out = (enum event)e;
            return true;
        }
    }
    return false;
}

static bool id_char_ok(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == ':' || c == '-';
}

bool msg_id_valid(const char *id, size_t len)
{
    if (len == 0 || len > MSG_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!id_char_ok((unsigned char)id[i]))
            return false;
    return true;
}

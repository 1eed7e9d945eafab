/* json_top.h - reads one number of a program's --json summary (SPEC §7) the
 * way a JSON parser would: by walking the top-level object, key by key.
 * A pattern such as strstr("\"messages\":") cannot tell the summary's own
 * "messages" from those of its per_worker objects; this can.
 *
 * It is not a JSON library: no allocation, no decoding of escapes in keys
 * (the summary has none); it only skips nested objects, arrays and strings
 * correctly, and trusts nothing (a malformed line gives NULL). */
#ifndef MSGROUTE_TEST_JSON_TOP_H
#define MSGROUTE_TEST_JSON_TOP_H

/* The start of the last line of out that begins with '{' (a program's
 * summary is its last JSON line), or NULL. */
const char *json_top_last_object(const char *out);

/* A pointer to the value of key in the top level of the object that json
 * starts with, or NULL when the key is not there or the object is
 * malformed before it. */
const char *json_top_value(const char *json, const char *key);

#endif

/* keys.h - phase 5's CURVE key files (SPEC §10): `phase5 --keygen DIR`
 * writes them, `--keys DIR` reads them. A key is 32 bytes, kept as its 40
 * Z85 characters, the text ZeroMQ's socket options take.
 *
 * DIR holds two pairs: coordinator.key/.pub and worker.key/.pub. The
 * coordinator needs its own pair, the worker public key and, when it forks
 * its workers itself, the worker secret key too; a worker started by hand
 * needs the worker pair and the coordinator public key. Every file is made
 * mode 0600; a secret key file that group or others can read is refused,
 * as ssh refuses such a private key.
 *
 * Secret keys are never logged (public ones may be); keys_wipe() zeroes
 * them once the sockets have taken them. Errors come back as text, "FILE:
 * reason", for main() to print: nothing here exits. */
#ifndef MSGROUTE_PHASE5_KEYS_H
#define MSGROUTE_PHASE5_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KEYS_Z85_LEN 40 /* a 32-byte key in Z85 */
#define KEYS_BIN_LEN 32

/* One run's keys, each NUL-terminated Z85 or "" when not loaded. */
struct keys {
    char coord_pub[KEYS_Z85_LEN + 1];
    char coord_secret[KEYS_Z85_LEN + 1];
    char worker_pub[KEYS_Z85_LEN + 1];
    char worker_secret[KEYS_Z85_LEN + 1];
};

/* Which keys a program needs from DIR. */
enum keys_role {
    KEYS_COORDINATOR,       /* its pair and the worker public key (--remote) */
    KEYS_COORDINATOR_LOCAL, /* ... and the worker secret key, for the workers it forks */
    KEYS_WORKER,            /* the worker pair and the coordinator public key */
};

/* --keygen: makes dir (0700) if missing and writes both pairs into it,
 * each file created 0600 and never over an existing one. On success the
 * paths written go to out (one per line). 0, or -1 with the reason in why
 * and *exists set when a key file was already there (no file is then
 * written or touched). */
int keys_generate(const char *dir, char *out, size_t out_len, bool *exists, char *why, size_t why_len);

/* Reads what role needs from dir into k, checking each file (length, Z85
 * alphabet, mode of a secret key) and that each public key loaded with its
 * secret is that secret's. 0, or -1 with "FILE: reason" in why and k wiped. */
int keys_load(const char *dir, enum keys_role role, struct keys *k, char *why, size_t why_len);

/* z85 (KEYS_Z85_LEN characters) as 32 bytes; -1 when it is not Z85. */
int keys_decode(const char *z85, uint8_t bin[KEYS_BIN_LEN]);

/* Zeroes the secret keys (or all of k), in a way the compiler keeps. */
void keys_wipe_secrets(struct keys *k);
void keys_wipe(void *buf, size_t len);

#endif

/* keys.c - CURVE key files: writing them once, reading them as hostile
 * input (keys.h). A key file is 40 Z85 characters and an optional newline,
 * nothing else: a file of any other length, or with a character outside
 * Z85's alphabet, is refused before ZeroMQ sees it, so that a truncated copy
 * or a key pasted with a stray space is named here rather than failing as
 * a handshake nobody can explain. */
#define _GNU_SOURCE
#include "keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zmq.h>

#define KEYS_FILE_MAX 64 /* read at most this much: a longer file is not a key */

static const char z85_alphabet[] =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/* The four files, in the order --keygen writes them. */
enum { COORD_KEY, COORD_PUB, WORKER_KEY, WORKER_PUB, NFILES };
static const char *const file_name[NFILES] = {"coordinator.key", "coordinator.pub", "worker.key", "worker.pub"};

void keys_wipe(void *buf, size_t len)
{
    explicit_bzero(buf, len); /* unlike memset, never elided as a dead store */
}

void keys_wipe_secrets(struct keys *k)
{
    keys_wipe(k->coord_secret, sizeof k->coord_secret);
    keys_wipe(k->worker_secret, sizeof k->worker_secret);
}

static bool z85_text(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] == '\0' || !strchr(z85_alphabet, s[i]))
            return false;
    return true;
}

int keys_decode(const char *z85, uint8_t bin[KEYS_BIN_LEN])
{
    if (strlen(z85) != KEYS_Z85_LEN || !z85_text(z85, KEYS_Z85_LEN))
        return -1;
    return zmq_z85_decode(bin, z85) ? 0 : -1;
}

static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Creates path, 0600, with key and a newline; never over an existing file. */
static int write_key(const char *path, const char *key, char *why, size_t why_len)
{
    char line[KEYS_Z85_LEN + 1];
    memcpy(line, key, KEYS_Z85_LEN);
    line[KEYS_Z85_LEN] = '\n';
    int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(why, why_len, "%s: %s", path, strerror(errno));
        keys_wipe(line, sizeof line);
        return -1;
    }
    int rc = write_all(fd, line, sizeof line);
    int e = errno;
    keys_wipe(line, sizeof line);
    if (close(fd) < 0 && rc == 0)
        rc = -1, e = errno;
    if (rc < 0)
        snprintf(why, why_len, "%s: %s", path, strerror(e));
    return rc;
}

static void path_of(char *buf, size_t len, const char *dir, int file)
{
    snprintf(buf, len, "%s/%s", dir, file_name[file]);
}

/* Every key file absent? Checked first, so that --keygen over an old
 * directory refuses before it writes half a new set. */
static int none_exists(const char *dir, bool *exists, char *why, size_t why_len)
{
    char path[4096];
    struct stat st;
    for (int f = 0; f < NFILES; f++) {
        path_of(path, sizeof path, dir, f);
        if (lstat(path, &st) == 0) {
            *exists = true;
            snprintf(why, why_len,
                     "%s: a key file is already there; keys are never overwritten (remove the old "
                     "ones first, or use another directory)",
                     path);
            return -1;
        }
        if (errno != ENOENT) {
            snprintf(why, why_len, "%s: %s", path, strerror(errno));
            return -1;
        }
    }
    return 0;
}

int keys_generate(const char *dir, char *out, size_t out_len, bool *exists, char *why, size_t why_len)
{
    *exists = false;
    if (strlen(dir) > 4000) {
        snprintf(why, why_len, "%s: a directory name of at most 4000 bytes", dir);
        return -1;
    }
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        snprintf(why, why_len, "%s: %s", dir, strerror(errno));
        return -1;
    }
    if (none_exists(dir, exists, why, why_len) < 0)
        return -1;
    struct keys k;
    int rc = -1;
    if (zmq_curve_keypair(k.coord_pub, k.coord_secret) < 0 || zmq_curve_keypair(k.worker_pub, k.worker_secret) < 0) {
        snprintf(why, why_len, "zmq_curve_keypair: %s", zmq_strerror(errno));
        goto out;
    }
    const char *key[NFILES] = {k.coord_secret, k.coord_pub, k.worker_secret, k.worker_pub};
    char path[4096];
    size_t used = 0;
    out[0] = '\0';
    for (int f = 0; f < NFILES; f++) {
        path_of(path, sizeof path, dir, f);
        if (write_key(path, key[f], why, why_len) < 0) {
            for (int g = 0; g < f; g++) { /* no half set left behind to refuse the next try */
                path_of(path, sizeof path, dir, g);
                unlink(path);
            }
            goto out;
        }
        int n = snprintf(out + used, out_len - used, "%s\n", path);
        if (n > 0 && (size_t)n < out_len - used)
            used += (size_t)n;
    }
    rc = 0;
out:
    keys_wipe(&k, sizeof k);
    return rc;
}

/* Reads one key file into key (KEYS_Z85_LEN + 1 bytes). A secret key file
 * must be a regular file that only its owner can read. */
static int read_key(const char *path, bool secret, char *key, char *why, size_t why_len)
{
    char buf[KEYS_FILE_MAX];
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        snprintf(why, why_len, "%s: %s", path, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(why, why_len, "%s: not a regular file", path);
        goto fail;
    }
    if (secret && (st.st_mode & 077)) {
        snprintf(why, why_len, "%s: mode %04o: a secret key must be readable by its owner only (chmod 600 %s)", path,
                 (unsigned)(st.st_mode & 07777), path);
        goto fail;
    }
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) < 0 && errno == EINTR)
        ;
    if (n < 0) {
        snprintf(why, why_len, "%s: %s", path, strerror(errno));
        goto fail;
    }
    size_t len = (size_t)n;
    if (len == KEYS_Z85_LEN + 1 && buf[KEYS_Z85_LEN] == '\n')
        len--;
    if (len != KEYS_Z85_LEN || !z85_text(buf, len)) {
        snprintf(why, why_len, "%s: %s", path,
                 len != KEYS_Z85_LEN ? "not a key: want exactly 40 Z85 characters and an optional newline"
                                     : "not a key: a character outside the Z85 alphabet");
        goto fail;
    }
    memcpy(key, buf, KEYS_Z85_LEN);
    key[KEYS_Z85_LEN] = '\0';
    keys_wipe(buf, sizeof buf);
    close(fd);
    return 0;
fail:
    keys_wipe(buf, sizeof buf);
    if (fd >= 0)
        close(fd);
    return -1;
}

/* The public key file of a pair is the one its secret key gives. */
static int check_pair(const char *dir, int pub_file, const char *pub, const char *secret, char *why, size_t why_len)
{
    char derived[KEYS_Z85_LEN + 1];
    if (zmq_curve_public(derived, secret) < 0) {
        snprintf(why, why_len, "%s/%s: not a CURVE secret key: %s", dir, file_name[pub_file - 1], zmq_strerror(errno));
        return -1;
    }
    if (strcmp(derived, pub) != 0) {
        snprintf(why, why_len, "%s/%s: not the public key of %s", dir, file_name[pub_file], file_name[pub_file - 1]);
        return -1;
    }
    return 0;
}

int keys_load(const char *dir, enum keys_role role, struct keys *k, char *why, size_t why_len)
{
    memset(k, 0, sizeof *k);
    bool want[NFILES] = {
        [COORD_KEY] = role != KEYS_WORKER,
        [COORD_PUB] = true,
        [WORKER_KEY] = role != KEYS_COORDINATOR,
        [WORKER_PUB] = true,
    };
    char *dest[NFILES] = {k->coord_secret, k->coord_pub, k->worker_secret, k->worker_pub};
    char path[4096];
    for (int f = 0; f < NFILES; f++) {
        path_of(path, sizeof path, dir, f);
        if (want[f] && read_key(path, f == COORD_KEY || f == WORKER_KEY, dest[f], why, why_len) < 0)
            goto fail;
    }
    if ((want[COORD_KEY] && check_pair(dir, COORD_PUB, k->coord_pub, k->coord_secret, why, why_len) < 0) ||
        (want[WORKER_KEY] && check_pair(dir, WORKER_PUB, k->worker_pub, k->worker_secret, why, why_len) < 0))
        goto fail;
    return 0;
fail:
    keys_wipe(k, sizeof *k);
    return -1;
}

/* dump.c - sorting machines and writing the CSV dump atomically. */
#include "dump.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "signals.h"

int dump_compare(const struct machine *x, const struct machine *y)
{
    size_t n = x->id_len < y->id_len ? x->id_len : y->id_len;
    int c = memcmp(x->id, y->id, n);
    if (c)
        return c;
    return (x->id_len > y->id_len) - (x->id_len < y->id_len);
}

static int compare_ptr(const void *a, const void *b)
{
    return dump_compare(*(const struct machine *const *)a, *(const struct machine *const *)b);
}

/* The rows next hands out, after the header. -1 with errno on an error of
 * the stream or of next. */
static int write_rows(FILE *f, dump_next_fn next, void *ctx)
{
    if (fputs(DUMP_HEADER, f) == EOF)
        return -1;
    const struct machine *m;
    int got;
    while ((got = next(ctx, &m)) > 0) {
        if (fprintf(f, "%s,%s,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%016llx\n", m->id,
                    state_name((enum state)m->state), (unsigned long long)m->msgs, (unsigned long long)m->transitions,
                    (unsigned long long)m->invalid, (unsigned long long)m->jobs, (unsigned long long)m->failures,
                    (unsigned long long)m->bytes, (unsigned long long)m->last_seq, (unsigned long long)m->ooo,
                    (unsigned long long)m->corrupt, (unsigned long long)m->checksum) < 0)
            return -1;
    }
    if (got < 0) {
        errno = -got;
        return -1;
    }
    return 0;
}

static int write_stream(FILE *f, const char *name, dump_next_fn next, void *ctx, char *err, size_t errlen)
{
    if (write_rows(f, next, ctx) < 0 || fflush(f) == EOF) {
        snprintf(err, errlen, "%s: %s", name, strerror(errno));
        return -1;
    }
    return 0;
}

/* A FIFO, a terminal or a device is written in place: replacing it by a
 * regular file would harm (--dump /dev/null as root) and lie to whoever
 * reads the FIFO. There is nothing to make atomic about a stream anyway. */
static int write_in_place(const char *path, dump_next_fn next, void *ctx, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
    FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    int rc = write_stream(f, path, next, ctx, err, errlen);
    if (fclose(f) == EOF && rc == 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        rc = -1;
    }
    return rc;
}

/* mkstemp() and naming the file to signals.h happen with the signals held,
 * and so do the rename and forgetting the name: a second stop request at
 * any instant finds either no temporary file or one it knows to remove. */
static int create_temp(char *tmp)
{
    sigset_t held;
    signals_hold(&held);
    int fd = mkstemp(tmp);
    if (fd >= 0)
        signals_set_temp_file(tmp);
    int saved = errno;
    signals_release(&held);
    errno = saved;
    return fd;
}

/* Renames tmp over path, or removes it when path is NULL,
 * and forgets its name; a failed rename removes it too. A dump renamed
 * into place is done, in the same held instant (signals.h). */
static int finish_temp(const char *tmp, const char *path)
{
    sigset_t held;
    signals_hold(&held);
    int rc = path ? rename(tmp, path) : 0;
    int saved = errno;
    if (!path || rc < 0)
        unlink(tmp);
    else
        signals_dump_in_place();
    signals_set_temp_file(NULL);
    signals_release(&held);
    errno = saved;
    return rc;
}

/* Temporary file beside the target, then rename(2): atomic on one filesystem. */
static int write_file(const char *path, dump_next_fn next, void *ctx, char *err, size_t errlen)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    snprintf(tmp, plen + 16, "%s.tmpXXXXXX", path);
    FILE *f = NULL;
    int fd = create_temp(tmp);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        free(tmp);
        return -1;
    }
    /* mkstemp makes 0600; a dump is an ordinary result file. */
    if (fchmod(fd, 0644) < 0 || !(f = fdopen(fd, "w")))
        goto fail;
    fd = -1;
    if (write_rows(f, next, ctx) < 0 || fflush(f) == EOF || fsync(fileno(f)) < 0)
        goto fail;
    int rc = fclose(f);
    f = NULL;
    if (rc == EOF || finish_temp(tmp, path) < 0)
        goto fail;
    free(tmp);
    return 0;
fail:
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    if (f)
        fclose(f);
    if (fd >= 0)
        close(fd);
    finish_temp(tmp, NULL);
    free(tmp);
    return -1;
}

/* Where the dump goes: "-" is stdout; an existing FIFO, terminal or device
 * is written in place; a symbolic link is followed, so that the file it
 * names is replaced, not the link. Returns the path to write (resolved is
 * the caller's to free) or NULL with errno set. */
static const char *resolve_target(const char *path, char **resolved, bool *in_place)
{
    struct stat st;
    *resolved = NULL;
    *in_place = false;
    if (stat(path, &st) < 0)
        return errno == ENOENT ? path : NULL; /* a new file (a dangling link's target is not followed) */
    if (S_ISDIR(st.st_mode)) {
        errno = EISDIR;
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        *in_place = true;
        return path;
    }
    *resolved = realpath(path, NULL);
    return *resolved ? *resolved : NULL;
}

/* A stream's dump is in place once written whole: it cannot be taken back. */
static int stream_done(int rc)
{
    if (rc == 0)
        signals_dump_in_place();
    return rc;
}

static int write_target(const char *path, dump_next_fn next, void *ctx, char *err, size_t errlen)
{
    if (strcmp(path, "-") == 0)
        return stream_done(write_stream(stdout, "<stdout>", next, ctx, err, errlen));
    char *resolved;
    bool in_place;
    const char *target = resolve_target(path, &resolved, &in_place);
    if (!target) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    int rc = in_place ? stream_done(write_in_place(target, next, ctx, err, errlen))
                      : write_file(target, next, ctx, err, errlen);
    free(resolved);
    return rc;
}

/* dump_write()'s rows: an array of pointers, sorted. */
struct sorted_rows {
    const struct machine **order;
    size_t n, i;
};

static int next_sorted(void *ctx, const struct machine **row)
{
    struct sorted_rows *s = ctx;
    if (s->i == s->n)
        return 0;
    *row = s->order[s->i++];
    return 1;
}

int dump_write_each(const char *path, dump_next_fn next, void *ctx, char *err, size_t errlen)
{
    return write_target(path, next, ctx, err, errlen);
}

int dump_write(const char *path, const struct table *t, char *err, size_t errlen)
{
    size_t n = table_count(t);
    /* An array of pointers, sorted instead of the machines themselves
     * (so sizeof *order is a pointer's size, as it should be).
     * NOLINTNEXTLINE(bugprone-sizeof-expression) */
    const struct machine **order = malloc((n ? n : 1) * sizeof *order);
    if (!order) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    size_t i = 0;
    for (const struct machine *m = table_first(t); m; m = table_next(t, m))
        order[i++] = m;
    qsort(order, n, sizeof *order, compare_ptr); /* NOLINT(bugprone-sizeof-expression) */
    struct sorted_rows s = {.order = order, .n = n};
    int rc = write_target(path, next_sorted, &s, err, errlen);
    free(order);
    return rc;
}

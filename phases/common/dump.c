/* dump.c - sorting machines and writing the CSV dump atomically. */
#include "dump.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

static int write_rows(FILE *f, const struct machine *const *order, size_t n)
{
    if (fputs(DUMP_HEADER, f) == EOF)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const struct machine *m = order[i];
        if (fprintf(f, "%s,%s,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%016llx\n", m->id,
                    state_name((enum state)m->state), (unsigned long long)m->msgs, (unsigned long long)m->transitions,
                    (unsigned long long)m->invalid, (unsigned long long)m->jobs, (unsigned long long)m->failures,
                    (unsigned long long)m->bytes, (unsigned long long)m->last_seq, (unsigned long long)m->ooo,
                    (unsigned long long)m->corrupt, (unsigned long long)m->checksum) < 0)
            return -1;
    }
    return 0;
}

static int write_stdout(const struct machine *const *order, size_t n, char *err, size_t errlen)
{
    if (write_rows(stdout, order, n) < 0 || fflush(stdout) == EOF) {
        snprintf(err, errlen, "<stdout>: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* Temporary file beside the target, then rename(2): atomic on one filesystem. */
static int write_file(const char *path, const struct machine *const *order, size_t n, char *err, size_t errlen)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    snprintf(tmp, plen + 16, "%s.tmpXXXXXX", path);
    FILE *f = NULL;
    int fd = mkstemp(tmp);
    if (fd < 0)
        goto fail;
    /* mkstemp makes 0600; a dump is an ordinary result file. */
    if (fchmod(fd, 0644) < 0 || !(f = fdopen(fd, "w")))
        goto fail;
    fd = -1;
    if (write_rows(f, order, n) < 0 || fflush(f) == EOF || fsync(fileno(f)) < 0)
        goto fail;
    if (fclose(f) == EOF) {
        f = NULL;
        goto fail;
    }
    f = NULL;
    if (rename(tmp, path) < 0)
        goto fail;
    free(tmp);
    return 0;
fail:
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    if (f)
        fclose(f);
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    free(tmp);
    return -1;
}

int dump_write(const char *path, const struct machine *rows, size_t n, char *err, size_t errlen)
{
    /* An array of pointers, sorted instead of the machines themselves
     * (so sizeof *order is a pointer's size, as it should be).
     * NOLINTNEXTLINE(bugprone-sizeof-expression) */
    const struct machine **order = malloc((n ? n : 1) * sizeof *order);
    if (!order) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        order[i] = &rows[i];
    qsort(order, n, sizeof *order, compare_ptr); /* NOLINT(bugprone-sizeof-expression) */
    int rc = strcmp(path, "-") == 0 ? write_stdout(order, n, err, errlen) : write_file(path, order, n, err, errlen);
    free(order);
    return rc;
}

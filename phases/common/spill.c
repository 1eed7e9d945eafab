/* spill.c - unnamed scratch files, written whole and read back by offset. */
#define _GNU_SOURCE /* O_TMPFILE */
#include "spill.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "signals.h"

const char *spill_dir_beside(const char *path, char *buf, size_t len)
{
    struct stat st;
    if (strcmp(path, "-") == 0 || (stat(path, &st) == 0 && !S_ISREG(st.st_mode)))
        return NULL;
    if (snprintf(buf, len, "%s", path) >= (int)len)
        return NULL;
    char *slash = strrchr(buf, '/');
    if (!slash)
        return ".";
    slash[slash == buf] = '\0'; /* "/dump.csv" spills in "/" */
    return buf;
}

const char *spill_dir(const char *dir)
{
    if (!dir || !*dir)
        dir = getenv("TMPDIR");
    return dir && *dir ? dir : "/tmp";
}

int spill_open(const char *dir)
{
    dir = spill_dir(dir);
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0)
        return fd;
    if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
        return -errno;
    char name[PATH_MAX];
    if (snprintf(name, sizeof name, "%s/msgroute-spill.XXXXXX", dir) >= (int)sizeof name)
        return -ENAMETOOLONG;
    sigset_t held;
    signals_hold(&held);
    fd = mkostemp(name, O_CLOEXEC);
    int err = errno;
    if (fd >= 0)
        unlink(name);
    signals_release(&held);
    return fd >= 0 ? fd : -err;
}

int spill_write(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int spill_read_at(int fd, void *buf, size_t len, off_t at)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(fd, (char *)buf + got, len - got, at + (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -EIO;
        got += (size_t)n;
    }
    return 0;
}

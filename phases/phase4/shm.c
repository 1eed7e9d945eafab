/* shm.c - a memfd mapped shared, with no name to clean up. */
#define _GNU_SOURCE
#include "shm.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static size_t page_round(size_t n)
{
    long page = sysconf(_SC_PAGESIZE);
    size_t p = page > 0 ? (size_t)page : 4096;
    return (n + p - 1) / p * p;
}

void *shm_create(const char *name, size_t bytes, char *err, size_t errlen)
{
    void *addr = NULL;
    size_t len = page_round(bytes ? bytes : 1);
    /* CLOEXEC: a program a worker might exec must not inherit the segment. */
    int fd = memfd_create(name, MFD_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "memfd_create: %s", strerror(errno));
        return NULL;
    }
    /* A memfd starts 0777 (its only way in is /proc/PID/fd, guarded by
     * ptrace rules); say explicitly that it is ours alone. */
    if (fchmod(fd, 0600) < 0) {
        snprintf(err, errlen, "fchmod 0600: %s", strerror(errno));
        goto fail;
    }
    if (ftruncate(fd, (off_t)len) < 0) {
        snprintf(err, errlen, "ftruncate %zu bytes: %s", len, strerror(errno));
        goto fail;
    }
    addr = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (addr == MAP_FAILED) {
        snprintf(err, errlen, "mmap %zu bytes: %s", len, strerror(errno));
        addr = NULL;
        goto fail;
    }
fail:
    /* The mapping keeps the memory alive; the descriptor is not needed any
     * more, in this process or in the workers. */
    if (close(fd) < 0 && addr) {
        snprintf(err, errlen, "close: %s", strerror(errno));
        munmap(addr, len);
        addr = NULL;
    }
    return addr;
}

void shm_destroy(void *addr, size_t bytes)
{
    if (addr)
        munmap(addr, page_round(bytes ? bytes : 1));
}

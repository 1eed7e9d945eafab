/* mainmem.c - mappings left out of every fork (mainmem.h says why). */
#define _GNU_SOURCE /* mremap */
#include "mainmem.h"

#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

static size_t page_round(size_t len)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    return len ? (len + page - 1) / page * page : page;
}

/* MADV_DONTFORK on [p, p + len); on failure unmaps it and keeps errno. */
static void *left_out_of_forks(void *p, size_t len)
{
    if (madvise(p, len, MADV_DONTFORK) == 0)
        return p;
    int e = errno;
    munmap(p, len);
    errno = e;
    return NULL;
}

void *mainmem_alloc(size_t len, bool populate)
{
    len = page_round(len);
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | (populate ? MAP_POPULATE : MAP_NORESERVE), -1, 0);
    return p == MAP_FAILED ? NULL : left_out_of_forks(p, len);
}

void *mainmem_resize(void *p, size_t old_len, size_t new_len)
{
    old_len = page_round(old_len);
    new_len = page_round(new_len);
    void *q = mremap(p, old_len, new_len, MREMAP_MAYMOVE);
    if (q == MAP_FAILED)
        return NULL;
    /* The flag travels with a moved or grown mapping; said again so that
     * this file does not rest on it. Should it fail, the mapping is merely
     * inherited: memory lost, nothing wrong. */
    (void)madvise(q, new_len, MADV_DONTFORK);
    return q;
}

void mainmem_free(void *p, size_t len)
{
    if (p)
        munmap(p, page_round(len));
}

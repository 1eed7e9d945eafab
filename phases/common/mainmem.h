/* mainmem.h - memory that only the main process uses: private anonymous
 * mappings left out of every fork (MADV_DONTFORK).
 *
 * Why: a forked worker inherits every page its parent has mapped, and the
 * kernel counts each of them in the worker's RSS (copy-on-write or not)
 * and copies it on the first write of either side. The source's id index
 * and trace, and --recover's log, belong to the main process; a worker gets
 * each id in its message and never reads them. Left out of the fork, they
 * cost a worker nothing, and the main process writes them without a
 * copy-on-write fault. The rule that comes with it: a worker must never
 * touch this memory (it is not mapped there: a read is a SIGSEGV).
 *
 * Lengths are the caller's to remember, as with mmap(). */
#ifndef MSGROUTE_MAINMEM_H
#define MSGROUTE_MAINMEM_H

#include <stdbool.h>
#include <stddef.h>

/* len bytes of zeros (at least one page), left out of forks. populate:
 * fault every page in now rather than on first touch. NULL and errno. */
void *mainmem_alloc(size_t len, bool populate);

/* p (old_len bytes, from mainmem_alloc) grown or shrunk to new_len,
 * contents kept, possibly moved; the new bytes are zero. NULL and errno,
 * p untouched. */
void *mainmem_resize(void *p, size_t old_len, size_t new_len);

/* Unmaps p (NULL is a no-op). */
void mainmem_free(void *p, size_t len);

#endif

/* shm.h - the one shared-memory segment of a phase 4 run.
 *
 * The segment is a memfd: anonymous memory with a file descriptor, created
 * with mode 0600, sized, mapped MAP_SHARED, and its descriptor closed at
 * once. It never has a name in /dev/shm, so there is nothing to unlink and
 * nothing a crash can leave behind: the kernel frees the memory when the last
 * process that maps it exits, however it exits (normally, on SIGINT, or
 * SIGKILLed). Workers inherit the mapping through fork(), at the same address.
 *
 * shm_open() with a run-unique name would work too, but needs an unlink at
 * exactly the right moment and leaks an object when the process that should
 * unlink it is killed first; a memfd makes that whole class of bug
 * impossible. */
#ifndef MSGROUTE_SHM_H
#define MSGROUTE_SHM_H

#include <stddef.h>

/* Maps a zero-filled segment of bytes (rounded up to whole pages), named
 * `name` in /proc/PID/maps ("memfd:name"). Returns the address, or NULL with
 * "reason" in err. */
void *shm_create(const char *name, size_t bytes, char *err, size_t errlen);

/* Unmaps a segment made by shm_create() with the same size. */
void shm_destroy(void *addr, size_t bytes);

#endif

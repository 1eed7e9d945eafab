/* spill.h - an unnamed scratch file, for what a main process would
 * otherwise hold in memory for the whole of a run: a trace file's messages
 * (source.h) and the dump's records (extsort.h).
 *
 * The file has no name from its first instant (O_TMPFILE), or from the
 * instant after (a name removed at once, with the stop requests held
 * meanwhile), so it vanishes with the process whatever ends it. What is
 * written to it lives in the page cache, and goes to disk when the kernel
 * wants the memory back: on a tmpfs it stays memory, which is why a spill
 * goes beside the file it serves when it can. */
#ifndef MSGROUTE_SPILL_H
#define MSGROUTE_SPILL_H

#include <stddef.h>
#include <sys/types.h>

/* The directory of path, in buf: where a spill for it goes. NULL for "-"
 * or for something other than a regular file (a FIFO, /dev/null), whose
 * directory is no place for one: then the temporary directory. path need
 * not exist yet (a dump about to be written). */
const char *spill_dir_beside(const char *path, char *buf, size_t len);

/* Where spill_open(dir) makes its file: dir, or when it is NULL or ""
 * $TMPDIR, else /tmp. */
const char *spill_dir(const char *dir);

/* An unnamed file for reading and writing in spill_dir(dir). Its
 * descriptor, or -errno. */
int spill_open(const char *dir);

/* Writes all len bytes. 0 or -errno (-ENOSPC: the disk is full). */
int spill_write(int fd, const void *buf, size_t len);

/* Reads exactly len bytes at offset at. 0, or -EIO when the file is
 * shorter than what was written to it or cannot be read. */
int spill_read_at(int fd, void *buf, size_t len, off_t at);

#endif

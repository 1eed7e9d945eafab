/* dump.h - the final state dump of SPEC §6, the oracle of the whole suite.
 *
 * The file appears complete or not at all: rows go to a temporary file in the
 * same directory, which is flushed, synced and renamed over the target, so a
 * crash or an error never leaves a dump that looks whole but is not. */
#ifndef MSGROUTE_DUMP_H
#define MSGROUTE_DUMP_H

#include <stddef.h>

#include "sm.h"
#include "table.h"

#define DUMP_HEADER "worker_id,state,msgs,transitions,invalid,jobs,failures,bytes,last_seq,ooo,corrupt,checksum\n"

/* Writes t's machines in worker_id bytewise order to path ("-" is stdout),
 * leaving t untouched (it sorts pointers, not machines). Returns 0, or -1
 * with a "path: reason" message in err. */
int dump_write(const char *path, const struct table *t, char *err, size_t errlen);

/* The rows of a dump in order, one at a time: 1 with *row set (valid
 * until the next call), 0 at the end, or a negative errno. */
typedef int (*dump_next_fn)(void *ctx, const struct machine **row);

/* As dump_write(), with rows that come sorted from next (extsort.h). On an
 * error of next, err names it and errno is its errno. */
int dump_write_each(const char *path, dump_next_fn next, void *ctx, char *err, size_t errlen);

/* The bytewise order of SPEC §6. */
int dump_compare(const struct machine *x, const struct machine *y);

#endif

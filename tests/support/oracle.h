/* oracle.h - the expected final state of any input, from the shared core
 * alone: every message of a source delivered in order to one shard
 * (phases/common), then its dump (SPEC §6). No phase is involved, so a
 * test of phase N never depends on how far the student got in another
 * phase: this is the oracle every phase's tests compare with.
 *
 * For tests only; single-threaded. */
#ifndef MSGROUTE_TEST_ORACLE_H
#define MSGROUTE_TEST_ORACLE_H

#include "source.h"

/* Delivers every message of src and writes the dump to path. Returns 0, or
 * -1 with a reason in err (out of memory, unwritable path). */
int oracle_dump(struct source *src, const char *path, char *err, size_t errlen);

#endif

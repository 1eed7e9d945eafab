/* oracle.c - the shared core driven directly, with none of a phase's
 * concerns (no batching, pacing, queries or signals): see oracle.h. */
#include "oracle.h"

#include <stdio.h>
#include <stdlib.h>

#include "dump.h"
#include "payload.h"
#include "shard.h"

int oracle_dump(struct source *src, const char *path, char *err, size_t errlen)
{
    struct shard shard;
    if (shard_init(&shard, src->ids.count, 0) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    /* One buffer of the largest size a message may carry (SPEC §2), made
     * once: simpler than growing it, and an oracle is not measured. */
    uint8_t *buf = malloc(MSG_PAYLOAD_MAX);
    int rc = -1;
    struct msg m;
    if (!buf) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    while (source_next(src, &m)) {
        payload_fill(buf, m.seq, m.payload_len);
        if (shard_deliver(&shard, &m, buf) < 0) {
            snprintf(err, errlen, "out of memory at message %llu", (unsigned long long)m.seq);
            goto out;
        }
    }
    rc = dump_write(path, shard.table.machines, table_count(&shard.table), err, errlen);
out:
    free(buf);
    shard_free(&shard);
    return rc;
}

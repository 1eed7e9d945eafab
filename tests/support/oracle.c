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
    if (shard_init(&shard, source_ids_capacity(src), 0) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    /* One buffer of the largest payload the source hands out, made once:
     * simpler than growing it, and an oracle is not measured. */
    uint32_t cap = source_payload_max(src);
    uint8_t *buf = malloc(cap ? cap : 1);
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
    if (source_failed(src)) {
        snprintf(err, errlen, "%s", source_failed(src));
        goto out;
    }
    rc = dump_write(path, &shard.table, err, errlen);
out:
    free(buf);
    shard_free(&shard);
    return rc;
}

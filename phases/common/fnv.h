/* fnv.h - FNV-1a-64, the one hash of the suite: it names a machine's worker
 * (SPEC §4), indexes the machine tables and folds each machine's checksum
 * (SPEC §3). Inline because it runs once or twice per message. */
#ifndef MSGROUTE_FNV_H
#define MSGROUTE_FNV_H

#include <stddef.h>
#include <stdint.h>

#define FNV64_OFFSET 14695981039346656037ull
#define FNV64_PRIME 1099511628211ull

static inline uint64_t fnv1a64(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = FNV64_OFFSET;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * FNV64_PRIME;
    return h;
}

/* One FNV step over a whole 64-bit value, as the checksum of SPEC §3 does. */
static inline uint64_t fnv64_fold(uint64_t h, uint64_t v)
{
    return (h ^ v) * FNV64_PRIME;
}

/* SPEC §4: the worker that owns an id. The default policy never changes. */
static inline uint32_t route_worker(uint64_t id_hash, uint32_t nworkers)
{
    return (uint32_t)(id_hash % nworkers);
}

#endif

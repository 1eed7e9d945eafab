/* payload.c - fill and verify the payload pattern.
 *
 * The pattern repeats every 256 bytes, so both directions work on a 256-byte
 * template built once per call: a memcpy/memcmp per block instead of a byte
 * loop, which keeps a 1 MiB payload near memory bandwidth. */
#include "payload.h"

#include <string.h>

/* Builds only as much of the block as len needs, so small payloads stay cheap. */
static void make_block(uint8_t block[256], uint64_t seq, size_t len)
{
    size_t n = len < 256 ? len : 256;
    for (size_t i = 0; i < n; i++)
        block[i] = (uint8_t)(seq + i);
}

void payload_fill(uint8_t *buf, uint64_t seq, size_t len)
{
    uint8_t block[256];
    make_block(block, seq, len);
    for (size_t off = 0; off < len; off += 256)
        memcpy(buf + off, block, len - off < 256 ? len - off : 256);
}

bool payload_check(const uint8_t *buf, uint64_t seq, size_t len)
{
    uint8_t block[256];
    make_block(block, seq, len);
    for (size_t off = 0; off < len; off += 256)
        if (memcmp(buf + off, block, len - off < 256 ? len - off : 256) != 0)
            return false;
    return true;
}

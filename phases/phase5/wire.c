/* wire.c - phase 5's envelope (wire.h), written and read byte by byte so
 * that its layout is the same on every host whatever the compiler pads. */
#include "wire.h"

#include <stdio.h>

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

void wire_put_hdr(uint8_t *buf, const struct wire_hdr *h)
{
    put32(buf, WIRE_MAGIC);
    buf[4] = h->kind;
    buf[5] = buf[6] = buf[7] = 0;
    put32(buf + 8, h->aux);
    put64(buf + 12, h->seq);
    put32(buf + 20, h->credit_frames);
    put32(buf + 24, h->credit_bytes);
}

int wire_get_hdr(const uint8_t *buf, size_t len, struct wire_hdr *h, char *why, size_t why_len)
{
    if (len < WIRE_HDR) {
        snprintf(why, why_len, "%zu bytes, shorter than the %u-byte envelope", len, WIRE_HDR);
        return -1;
    }
    if (get32(buf) != WIRE_MAGIC || buf[5] || buf[6] || buf[7]) {
        snprintf(why, why_len, "not a msgroute phase 5 envelope (bad magic)");
        return -1;
    }
    h->kind = buf[4];
    if (h->kind < WIRE_HELLO || h->kind > WIRE_CKPT) {
        snprintf(why, why_len, "unknown envelope kind %u", h->kind);
        return -1;
    }
    h->aux = get32(buf + 8);
    h->seq = get64(buf + 12);
    h->credit_frames = get32(buf + 20);
    h->credit_bytes = get32(buf + 24);
    return 0;
}

int wire_next(struct wire_iter *it, struct codec_frame *f, size_t *used)
{
    if (it->left == 0)
        return 0;
    int rc = codec_decode_frame(it->p, it->left, f, used);
    if (rc == CODEC_INCOMPLETE)
        return CODEC_E_TRUNCATED;
    if (rc < 0)
        return rc;
    it->p += *used;
    it->left -= *used;
    return 1;
}

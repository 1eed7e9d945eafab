/* fuzz_ring_record.c - fuzz target: phase 4's ring record decoder,
 * ring_decode() (phases/phase4/ring.h), over a data area whose every byte the
 * fuzzer controls, as a broken or hostile producer could write it.
 *
 * Input layout: 1 byte choosing the data area's size (8 B to 16 KiB, a power
 * of two), 8 bytes of read position and 4 of published bytes (both
 * little-endian, both hostile), then the data area's bytes (zero-filled past
 * the end of the input). The area is a buffer of exactly its size, so
 * AddressSanitizer catches a read outside it. Records are decoded from the
 * position on, as ring_next() does, until the published bytes run out or one
 * is corrupt. Checked beyond "does not crash": every record the decoder
 * accepts has its length, id and payload fragment inside the area and within
 * what was published, and its fields in their ranges (a short record: its
 * own size, no id, no payload). */
#include <string.h>

#include "fuzz.h"
#include "ring.h"

static uint64_t le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void check_within(const void *p, size_t n, const uint8_t *area, uint32_t size)
{
    const uint8_t *q = p;
    FUZZ_CHECK(q >= area && n <= size && (size_t)(q - area) <= size - n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum { HEADER = 13 };
    if (size < HEADER)
        return 0;
    uint32_t area_size = 1u << (3 + data[0] % 12);
    uint64_t pos = le(data + 1, 8);
    uint64_t avail = le(data + 9, 4);
    uint8_t *area = malloc(area_size);
    FUZZ_CHECK(area != NULL);
    size_t n = size - HEADER < area_size ? size - HEADER : area_size;
    memcpy(area, data + HEADER, n);
    memset(area + n, 0, area_size - n);

    for (int records = 0; records < 4096; records++) {
        struct ring_view v;
        uint32_t rec_len = 0;
        int rc = ring_decode(area, area_size, pos, avail, &v, &rec_len);
        if (rc != RING_OK) {
            FUZZ_CHECK(rc == RING_EMPTY || rc == RING_CORRUPT);
            FUZZ_CHECK(rc != RING_EMPTY || avail == 0);
            break;
        }
        /* Progress, whole records, and never past what was published or
         * past the end of the circle (records never wrap). */
        FUZZ_CHECK(rec_len >= RING_ALIGN && rec_len % RING_ALIGN == 0 && rec_len <= avail);
        uint32_t off = (uint32_t)(pos & (area_size - 1));
        FUZZ_CHECK(rec_len <= area_size - off);
        if (v.kind == RING_MSG) {
            FUZZ_CHECK(v.id_len >= 1 && v.id_len <= MSG_ID_MAX && v.event < EV_COUNT);
            FUZZ_CHECK(v.payload_len <= MSG_PAYLOAD_MAX && (uint64_t)v.frag_off + v.frag_len <= v.payload_len);
            check_within(v.id, v.id_len, area + off, rec_len);
            check_within(v.frag, v.frag_len, area + off, rec_len);
        } else if (v.kind == RING_SHORT) {
            FUZZ_CHECK(rec_len == sizeof(struct ring_short) && v.event < EV_COUNT);
            FUZZ_CHECK(v.id == NULL && v.id_len == 0 && v.payload_len == 0 && v.frag_len == 0);
            check_within(v.frag, 0, area + off, rec_len);
        } else {
            FUZZ_CHECK(v.kind == RING_PAD || v.kind == RING_END);
        }
        if (v.kind == RING_END)
            break;
        pos += rec_len;
        avail -= rec_len;
    }
    free(area);
    return 0;
}

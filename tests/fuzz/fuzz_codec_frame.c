/* fuzz_codec_frame.c - fuzz target: a stream of phase 3 frames (length
 * prefix + msgpack body, codec.h) as a worker or the main process reads it
 * from a pipe.
 *
 * The input is the stream. Frames are decoded one after another until the
 * first error or until the bytes run out, each as the main process decodes
 * them (with room for RECORDS) and as a worker does (without, so it must
 * refuse RECORDS). Checked beyond "does not crash": a decoded frame lies
 * within the bytes present, its fields are in their ranges, and encoding it
 * again and decoding that gives the same frame (codec_check.h). */
#include <string.h>

#include "codec.h"
#include "codec_check.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct machine records[CODEC_RECORDS_MAX];
    const uint8_t *p = data;
    size_t left = size;
    for (;;) {
        struct codec_frame f;
        memset(&f, 0, sizeof f);
        f.records = records;
        size_t used = 0, whole = 0;
        int rc = codec_decode_frame(p, left, &f, &used);
        if (rc == CODEC_INCOMPLETE) {
            /* Either the prefix is short, or it promises more than is here. */
            int src = codec_frame_size(p, left, &whole);
            FUZZ_CHECK(src == CODEC_INCOMPLETE || (src == CODEC_OK && whole > left));
            return 0;
        }
        if (rc != CODEC_OK) {
            FUZZ_CHECK(rc < 0 && codec_strerror(rc) != NULL);
            return 0;
        }
        FUZZ_CHECK(used > CODEC_PREFIX && used <= left);
        codec_check_frame(&f, p + CODEC_PREFIX, used - CODEC_PREFIX);
        codec_check_round_trip(&f);

        /* As a worker: no room for RECORDS, everything else the same. */
        struct codec_frame w;
        memset(&w, 0, sizeof w);
        size_t wused = 0;
        rc = codec_decode_frame(p, left, &w, &wused);
        if (f.type == CODEC_RECORDS)
            FUZZ_CHECK(rc == CODEC_E_NOSPACE);
        else
            FUZZ_CHECK(rc == CODEC_OK && wused == used && w.type == f.type);
        p += used;
        left -= used;
    }
}

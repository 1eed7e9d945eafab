/* fuzz_codec_query.c - fuzz target: the body of a query request or response
 * (phase 3's request/response channel: QUERY [2, corr, worker_id] and ANSWER
 * [3, corr, record | nil], codec.h), as codec_decode_body() reads it once a
 * frame's prefix has been checked.
 *
 * The seeds are QUERY and ANSWER bodies; whatever the fuzzer turns them into
 * must decode to a frame within the bytes given, with valid fields, that
 * survives encoding again (codec_check.h). A query's worker_id must obey
 * SPEC §2, since a worker looks it up in its table as it is. */
#include <string.h>

#include "codec.h"
#include "codec_check.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > CODEC_BODY_MAX)
        return 0;
    static struct machine records[CODEC_RECORDS_MAX];
    struct codec_frame f;
    memset(&f, 0, sizeof f);
    f.records = records;
    int rc = codec_decode_body(data, size, &f);
    FUZZ_CHECK(rc == CODEC_OK || (rc < 0 && codec_strerror(rc) != NULL));
    if (rc != CODEC_OK)
        return 0;
    codec_check_frame(&f, data, size);
    codec_check_round_trip(&f);
    if (f.type == CODEC_QUERY)
        FUZZ_CHECK(msg_id_valid(f.u.query.id, f.u.query.id_len));
    if (f.type == CODEC_ANSWER && f.u.answer.found)
        FUZZ_CHECK(msg_id_valid(f.u.answer.rec.id, f.u.answer.rec.id_len));
    return 0;
}

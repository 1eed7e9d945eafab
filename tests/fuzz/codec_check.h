/* codec_check.h - the promises of a decoded phase 3 frame, shared by the two
 * codec fuzz targets. Each check aborts (FUZZ_CHECK) when broken. */
#ifndef MSGROUTE_CODEC_CHECK_H
#define MSGROUTE_CODEC_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"

/* Every pointer of f lies inside body[0, len) and every field is in the
 * range SPEC §2/§3 gives it. */
void codec_check_frame(const struct codec_frame *f, const uint8_t *body, size_t len);

/* Encoding f with codec_put_*() and decoding the result gives f again. */
void codec_check_round_trip(const struct codec_frame *f);

#endif

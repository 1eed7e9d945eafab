/* fuzz.h - what every fuzz target shares: the libFuzzer entry point and a
 * check that survives NDEBUG.
 *
 * Each fuzz_<target>.c defines LLVMFuzzerTestOneInput(). Built with clang and
 * -fsanitize=fuzzer it is a fuzzer (MSGROUTE_FUZZ); built with replay.c it is
 * a Criterion test that feeds it the seed corpus and every past crash, so the
 * regression tests run in every build, with any compiler. */
#ifndef MSGROUTE_FUZZ_H
#define MSGROUTE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken promise of the code under test: abort, which both libFuzzer and
 * Criterion report as a crash with this line. */
#define FUZZ_CHECK(cond)                                                                                               \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                                   \
            abort();                                                                                                   \
        }                                                                                                              \
    } while (0)

#endif

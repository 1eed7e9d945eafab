/* replay.c - the regression side of fuzzing: a Criterion program that feeds
 * one fuzz target every input of its seed corpus (corpus/<target>/) and every
 * input that ever crashed it (crashes/<target>/).
 *
 * It is linked with one fuzz_<target>.c and built in every configuration, with
 * gcc or clang, so a fixed crash stays fixed in the plain and the sanitizer
 * suites alike; only finding new inputs needs clang and libFuzzer. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <string.h>

#include "fuzz.h"
#include "proc.h"

/* Feeds every regular file of dir to the target; returns how many. A missing
 * directory is an empty one. Each input is copied into a buffer of exactly its
 * size, as libFuzzer does, so a sanitizer build catches a read past the end. */
static int replay_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, "README.md") == 0)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t len;
        char *text = read_file(path, &len);
        cr_assert_not_null(text, "cannot read %s", path);
        uint8_t *input = malloc(len ? len : 1);
        cr_assert_not_null(input);
        memcpy(input, text, len);
        free(text);
        cr_log_info("replaying %s (%zu bytes)", path, len);
        LLVMFuzzerTestOneInput(input, len);
        free(input);
        n++;
    }
    closedir(d);
    return n;
}

Test(replay, seed_corpus_is_handled, .timeout = 60)
{
    int n = replay_dir(FUZZ_DIR "/corpus/" FUZZ_TARGET);
    cr_expect_gt(n, 0, "the seed corpus of %s is empty", FUZZ_TARGET);
}

Test(replay, every_past_crash_is_fixed, .timeout = 60)
{
    replay_dir(FUZZ_DIR "/crashes/" FUZZ_TARGET);
}

/* fuzz_trace_load.c - fuzz target: a whole trace file through
 * source_load_trace(), then every message it hands out.
 *
 * The loader takes a path, so the input goes into a memfd that the loader
 * opens as /proc/self/fd/N: the real fopen/getc path runs, and no file is left
 * on disk per input. Checked beyond "does not crash": a rejected trace has a
 * "FILE:LINE: reason" or "FILE: reason" message, and an accepted one hands out
 * exactly its messages, each valid by SPEC §2. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "source.h"

static int write_all(int fd, const uint8_t *data, size_t size)
{
    while (size > 0) {
        ssize_t n = write(fd, data, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        data += n;
        size -= (size_t)n;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz_trace", MFD_CLOEXEC);
    FUZZ_CHECK(fd >= 0 && write_all(fd, data, size) == 0); /* the harness, not the loader */
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);

    struct source s;
    char err[512] = "";
    if (source_load_trace(&s, path, err, sizeof err) < 0) {
        FUZZ_CHECK(strncmp(err, path, strlen(path)) == 0 && strstr(err, ": ") != NULL);
    } else {
        struct msg m;
        uint64_t n = 0;
        while (source_next(&s, &m)) {
            FUZZ_CHECK(m.seq >= 1 && m.event < EV_COUNT && m.payload_len <= MSG_PAYLOAD_MAX);
            FUZZ_CHECK(msg_id_valid(m.id, m.id_len) && strlen(m.id) == m.id_len);
            n++;
        }
        /* "1 a STOP" is the shortest message line: n lines need 8n bytes
         * plus n - 1 LFs. */
        FUZZ_CHECK(n == s.total && n <= (size + 1) / 9);
        FUZZ_CHECK(s.seen_count <= s.ids.count);
        source_free(&s);
    }
    close(fd);
    return 0;
}

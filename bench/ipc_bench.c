/* ipc_bench.c - what moving one message costs, by payload size (SPEC §9,
 * experiment 2): an in-process call that copies the message, a pipe between
 * two processes (length-prefixed frames, as phase 3 sends them), and the
 * phase-4 shared-memory ring when that phase is built (ipc_ring.c).
 *
 *     ipc_bench [--sizes 100,1024,10240,102400,1048576] [--bytes B] [--reps R]
 *               [--transport call,pipe,ring] [--pipe-size B]
 *
 * Each repetition streams n = B / size messages (clamped to 100..200000) and
 * prints one JSON line {"bench":"ipc","transport",...,"ns_per_msg"}; one
 * warm-up repetition before them is run and discarded. Throughput, not
 * latency: the sender never waits for one message before sending the next,
 * which is how the phases use these channels. The pipe is enlarged to
 * --pipe-size bytes (default 1 MiB, phase 3's default; 0 keeps the kernel's
 * 64 KiB), since a small pipe makes every large message several wake-ups. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"
#include "clock.h"
#include "ipc_ring.h"
#include "payload.h"

#define PROG "ipc_bench"
#define MIN_MSGS 100
#define MAX_MSGS 200000
#define CALL_MIN_NS 20000000ull

static void report(const char *transport, uint64_t size, int rep, uint64_t n, uint64_t ns)
{
    printf("{\"bench\":\"ipc\",\"transport\":\"%s\",\"size\":%llu,\"rep\":%d,\"messages\":%llu,"
           "\"seconds\":%.6f,\"ns_per_msg\":%.1f}\n",
           transport, (unsigned long long)size, rep, (unsigned long long)n, (double)ns / 1e9, (double)ns / (double)n);
    fflush(stdout);
}

/* The receiver of the in-process "transport": copies the message out, as a
 * consumer must to own it. Called through a volatile pointer so that the
 * compiler cannot inline it and drop the copy. */
static uint8_t deliver(uint8_t *dst, const uint8_t *src, size_t n)
{
    memcpy(dst, src, n);
    return dst[n - 1];
}
static uint8_t (*volatile deliver_fn)(uint8_t *, const uint8_t *, size_t) = deliver;
static volatile unsigned call_sink; /* keeps the copies' results alive */

static int bench_call(uint64_t size, uint64_t n, int reps)
{
    uint8_t *src = malloc(size), *dst = malloc(size);
    if (!src || !dst) {
        free(src);
        free(dst);
        fprintf(stderr, "%s: out of memory\n", PROG);
        return -1;
    }
    payload_fill(src, 1, size);
    /* A call is so cheap that n of them can take less than the clock's
     * noise: repeat rounds of n until CALL_MIN_NS have passed. */
    unsigned sink = 0;
    for (int rep = 0; rep <= reps; rep++) {
        uint64_t t0 = now_ns(), t1, done = 0;
        do {
            for (uint64_t i = 0; i < n; i++)
                sink += deliver_fn(dst, src, size);
            done += n;
        } while ((t1 = now_ns()) - t0 < CALL_MIN_NS);
        if (rep > 0)
            report("call", size, rep, done, t1 - t0);
    }
    call_sink = sink;
    free(src);
    free(dst);
    return 0;
}

/* The pipe's receiving process: reps + 1 rounds of n frames, then an ack
 * byte per round on the back channel. */
static int pipe_child(int in, int ack, uint64_t size, uint64_t n, int reps)
{
    uint8_t *buf = malloc(size);
    if (!buf)
        return -1;
    for (int rep = 0; rep <= reps; rep++) {
        for (uint64_t i = 0; i < n; i++) {
            uint32_t len;
            if (bench_read_all(in, &len, sizeof len) < 0 || len != size || bench_read_all(in, buf, len) < 0) {
                free(buf);
                return -1;
            }
        }
        if (bench_write_all(ack, "k", 1) < 0) {
            free(buf);
            return -1;
        }
    }
    free(buf);
    return 0;
}

static uint64_t pipe_size = 1u << 20;

static int bench_pipe(uint64_t size, uint64_t n, int reps)
{
    int data[2] = {-1, -1}, back[2] = {-1, -1};
    uint8_t *frame = malloc(sizeof(uint32_t) + size);
    pid_t pid = -1;
    if (!frame || pipe(data) < 0 || pipe(back) < 0)
        goto fail;
    if (pipe_size && fcntl(data[1], F_SETPIPE_SZ, (int)pipe_size) < 0) {
        fprintf(stderr, "%s: F_SETPIPE_SZ %llu: %s; keeping the default pipe size\n", PROG,
                (unsigned long long)pipe_size, strerror(errno));
        pipe_size = 0;
    }
    pid = fork();
    if (pid < 0)
        goto fail;
    if (pid == 0) {
        close(data[1]);
        close(back[0]);
        _exit(pipe_child(data[0], back[1], size, n, reps) == 0 ? 0 : 1);
    }
    close(data[0]);
    close(back[1]);
    data[0] = back[1] = -1;

    uint32_t len = (uint32_t)size;
    memcpy(frame, &len, sizeof len);
    payload_fill(frame + sizeof len, 1, size);
    for (int rep = 0; rep <= reps; rep++) {
        uint64_t t0 = now_ns();
        for (uint64_t i = 0; i < n; i++)
            if (bench_write_all(data[1], frame, sizeof len + size) < 0)
                goto fail;
        char k;
        if (bench_read_all(back[0], &k, 1) < 0)
            goto fail;
        uint64_t t1 = now_ns();
        if (rep > 0)
            report("pipe", size, rep, n, t1 - t0);
    }
    close(data[1]);
    close(back[0]);
    free(frame);
    return bench_wait_child(pid, PROG);
fail:
    fprintf(stderr, "%s: pipe, %llu-byte messages: %s\n", PROG, (unsigned long long)size,
            errno ? strerror(errno) : "receiver ended early");
    for (int i = 0; i < 2; i++) {
        if (data[i] >= 0)
            close(data[i]);
        if (back[i] >= 0)
            close(back[i]);
    }
    if (pid > 0)
        bench_wait_child(pid, PROG);
    free(frame);
    return -1;
}

int main(int argc, char **argv)
{
    uint64_t sizes[BENCH_MAX_LIST] = {100, 1024, 10240, 102400, 1048576};
    int nsizes = 5;
    uint64_t bytes = 64ull << 20;
    int reps = 5;
    const char *transports = "call,pipe,ring";
    static const struct option opts[] = {
        {"sizes", required_argument, NULL, 's'},
        {"bytes", required_argument, NULL, 'b'},
        {"reps", required_argument, NULL, 'r'},
        {"transport", required_argument, NULL, 't'},
        {"pipe-size", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    uint64_t v;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            if ((nsizes = bench_parse_list(optarg, 1, 16u << 20, sizes, BENCH_MAX_LIST)) <= 0)
                goto usage;
            break;
        case 'b':
            if (bench_parse_list(optarg, 1, 1ull << 40, &bytes, 1) != 1)
                goto usage;
            break;
        case 'r':
            if (bench_parse_list(optarg, 1, 1000, &v, 1) != 1)
                goto usage;
            reps = (int)v;
            break;
        case 't': transports = optarg; break;
        case 'p':
            if (bench_parse_list(optarg, 0, 1u << 30, &pipe_size, 1) != 1)
                goto usage;
            break;
        case 'h':
            printf("usage: %s [--sizes LIST] [--bytes B] [--reps R] [--transport call,pipe,ring] [--pipe-size B]\n",
                   PROG);
            return 0;
        default: goto usage;
        }
    }
    if (optind < argc)
        goto usage;
    if (strstr(transports, "ring") && !ipc_ring_available())
        fprintf(stderr, "%s: the phase-4 ring is not built; skipping it\n", PROG);

    for (int i = 0; i < nsizes; i++) {
        uint64_t n = bytes / sizes[i];
        n = n < MIN_MSGS ? MIN_MSGS : n > MAX_MSGS ? MAX_MSGS : n;
        if (strstr(transports, "call") && bench_call(sizes[i], n, reps) < 0)
            return 1;
        if (strstr(transports, "pipe") && bench_pipe(sizes[i], n, reps) < 0)
            return 1;
        if (strstr(transports, "ring") && ipc_ring_available()) {
            int rc = ipc_ring_bench(sizes[i], n, reps, report);
            if (rc < 0)
                return 1;
        }
    }
    return 0;
usage:
    fprintf(stderr, "%s: bad arguments. Try '%s --help'.\n", PROG, PROG);
    return 2;
}

/* ipc_ring.c - ipc_bench's measurement of the phase-4 shared-memory ring
 * (phases/phase4/ring.h), built only when phase 4 is.
 *
 * The producer copies each payload into the ring (the one copy phase 4
 * makes) and publishes every PUBLISH_EVERY records; the consumer, in another
 * process, reads each record where it lies (no copy, as phase 4's workers
 * do) and returns the space. A pipe carries one acknowledgement per
 * repetition, after the consumer has seen all n messages, so a repetition's
 * time covers delivery, not just enqueueing. */
#include "ipc_ring.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench_util.h"
#include "clock.h"
#include "payload.h"
#include "ring.h"

#define PROG "ipc_bench"
#define PUBLISH_EVERY 64
#define WAIT_MS 100

bool ipc_ring_available(void)
{
    return true;
}

/* The smallest power-of-two data area, at least phase 4's default of 1 MiB,
 * in which a message of size payload bytes crosses as one record. */
static uint32_t ring_size_for(uint64_t size)
{
    uint64_t need = 4 * (size + sizeof(struct ring_rec) + MSG_ID_MAX + RING_ALIGN);
    uint64_t s = 1u << 20;
    while (s < need)
        s <<= 1;
    return s > RING_MAX_BYTES ? RING_MAX_BYTES : (uint32_t)s;
}

/* Where the consumer folds a byte of each payload, so that reading it cannot
 * be optimised away. */
static volatile unsigned ring_sink;

/* The consumer: counts whole messages, acknowledges every n of them, stops
 * at the END record. */
static int consume(struct ring *r, int ack, uint64_t n)
{
    struct ring_consumer c;
    ring_consumer_init(&c, r);
    uint64_t got = 0;
    for (;;) {
        struct ring_view v;
        int st = ring_next(&c, &v);
        if (st == RING_CORRUPT)
            return -1;
        if (st == RING_EMPTY) {
            ring_release(&c);
            ring_wait_data(&c, WAIT_MS);
            continue;
        }
        if (v.kind == RING_END)
            return 0;
        if (v.frag_len)
            ring_sink += v.frag[v.frag_len - 1]; /* touch the payload where it lies */
        if (v.frag_off + v.frag_len == v.payload_len && ++got == n) {
            got = 0;
            ring_release(&c);
            if (bench_write_all(ack, "k", 1) < 0)
                return -1;
        }
    }
}

static uint8_t *put_wait(struct ring_producer *p, const struct msg *m, uint32_t len)
{
    uint8_t *dst;
    while (!(dst = ring_put(p, m, 0, 0, len))) {
        ring_publish(p);
        ring_wait_room(p, WAIT_MS);
    }
    return dst;
}

int ipc_ring_bench(uint64_t size, uint64_t n, int reps, ipc_report_fn report)
{
    uint32_t rsize = ring_size_for(size);
    size_t bytes = ring_bytes(rsize);
    int back[2] = {-1, -1};
    pid_t pid = -1;
    uint8_t *src = malloc(size);
    void *mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (!src || mem == MAP_FAILED || ring_format(mem, rsize) < 0 || pipe(back) < 0)
        goto fail;
    pid = fork();
    if (pid < 0)
        goto fail;
    if (pid == 0) {
        close(back[0]);
        _exit(consume(mem, back[1], n) == 0 ? 0 : 1);
    }
    close(back[1]);
    back[1] = -1;

    struct ring_producer p;
    ring_producer_init(&p, mem);
    payload_fill(src, 1, size);
    struct msg m = {.seq = 1, .id = "id-1", .id_len = 4, .payload_len = (uint32_t)size, .event = EV_DATA};
    for (int rep = 0; rep <= reps; rep++) {
        uint64_t t0 = now_ns();
        for (uint64_t i = 0; i < n; i++) {
            memcpy(put_wait(&p, &m, (uint32_t)size), src, size);
            if (i % PUBLISH_EVERY == PUBLISH_EVERY - 1)
                ring_publish(&p);
        }
        ring_publish(&p);
        char k;
        if (bench_read_all(back[0], &k, 1) < 0)
            goto fail;
        uint64_t t1 = now_ns();
        if (rep > 0)
            report("ring", size, rep, n, t1 - t0);
    }
    while (!ring_put_end(&p)) {
        ring_publish(&p);
        ring_wait_room(&p, WAIT_MS);
    }
    ring_publish(&p);
    close(back[0]);
    munmap(mem, bytes);
    free(src);
    return bench_wait_child(pid, PROG);
fail:
    fprintf(stderr, "%s: ring, %llu-byte messages: %s\n", PROG, (unsigned long long)size,
            errno ? strerror(errno) : "consumer ended early");
    if (pid > 0) {
        kill(pid, SIGKILL);
        bench_wait_child(pid, PROG);
    }
    for (int i = 0; i < 2; i++)
        if (back[i] >= 0)
            close(back[i]);
    if (mem != MAP_FAILED)
        munmap(mem, bytes);
    free(src);
    return -1;
}

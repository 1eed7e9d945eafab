/* core_bench - how fast is phase 1, and how much of it is the source?
 *
 * Runs, REPS times each and alternating so that machine noise hits both
 * alike: (a) the source alone (generate and discard), (b) phase 1's real
 * loop (phase1_run: source -> table -> machine). Prints the median and the
 * spread (min-max) of messages/s, and the source's share of phase 1's time.
 *
 *     build/bin/core_bench [--messages 20000000] [--ids 10000] [--reps 5]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clock.h"
#include "phase1.h"
#include "shard.h"
#include "source.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double source_alone(const struct gen_config *g)
{
    struct source s;
    if (source_init_generator(&s, g) < 0)
        exit(1);
    struct msg m;
    uint64_t sink = 0, t0 = now_ns();
    while (source_next(&s, &m))
        sink += m.seq ^ m.id_hash ^ m.event; /* use every field so nothing is skipped */
    double secs = (double)(now_ns() - t0) / 1e9;
    if (sink == 42)
        puts("");
    source_free(&s);
    return secs;
}

static double phase1(const struct gen_config *g)
{
    struct options o = {.gen = *g, .workers = 1};
    struct source s;
    struct shard sh;
    struct hist *h = malloc(sizeof *h);
    if (!h || source_init_generator(&s, g) < 0 || shard_init(&sh, g->ids, 0) < 0)
        exit(1);
    hist_init(h);
    struct run_summary sum = {0};
    if (phase1_run(&o, &s, &sh, h, &sum) < 0)
        exit(1);
    shard_free(&sh);
    source_free(&s);
    free(h);
    return sum.seconds;
}

int main(int argc, char **argv)
{
    struct gen_config g = {.messages = 20000000, .ids = 10000, .dist = DIST_UNIFORM, .seed = 1};
    int reps = 5;
    bool ok = argc % 2 == 1;
    for (int i = 1; ok && i + 1 < argc; i += 2) {
        uint64_t v = 0;
        if (strcmp(argv[i], "--messages") == 0 && cli_parse_u64(argv[i + 1], 1, UINT64_MAX / 2, &v))
            g.messages = v;
        else if (strcmp(argv[i], "--ids") == 0 && cli_parse_u64(argv[i + 1], 1, 1u << 24, &v))
            g.ids = (uint32_t)v;
        else if (strcmp(argv[i], "--reps") == 0 && cli_parse_u64(argv[i + 1], 1, 100, &v))
            reps = (int)v;
        else
            ok = false;
    }
    if (!ok) {
        fprintf(stderr, "usage: core_bench [--messages M] [--ids K] [--reps R]\n");
        return 2;
    }
    double src[100] = {0}, p1[100] = {0};
    source_alone(&g); /* warm-up, discarded */
    for (int r = 0; r < reps; r++) {
        src[r] = source_alone(&g);
        p1[r] = phase1(&g);
    }
    qsort(src, (size_t)reps, sizeof src[0], cmp_double);
    qsort(p1, (size_t)reps, sizeof p1[0], cmp_double);
    double n = (double)g.messages;
    printf("core_bench: %llu messages, %u uniform ids, 0-byte payloads, %d repetitions (median, min-max)\n",
           (unsigned long long)g.messages, g.ids, reps);
    printf("  source alone  %7.2f M msgs/s  (%.2f-%.2f)\n", n / src[reps / 2] / 1e6, n / src[reps - 1] / 1e6,
           n / src[0] / 1e6);
    printf("  phase 1       %7.2f M msgs/s  (%.2f-%.2f)\n", n / p1[reps / 2] / 1e6, n / p1[reps - 1] / 1e6,
           n / p1[0] / 1e6);
    printf("  source share of phase 1 time: %.0f %%\n", 100.0 * src[reps / 2] / p1[reps / 2]);
    if (p1[reps - 1] > 1.3 * p1[0])
        printf(
            "  warning: phase 1 runs spread over %.0f %%: the machine is busy, trust the ratio more than the rates\n",
            100.0 * (p1[reps - 1] / p1[0] - 1));
    return 0;
}

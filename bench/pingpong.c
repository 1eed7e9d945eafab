/* pingpong.c - the floor under every cross-process query: one 8-byte
 * message to another process over a pipe and one back (SPEC §9, the floor
 * line of experiment 5).
 *
 *     pingpong [--rounds N] [--reps R] [--pin none|same|spread]
 *
 * Each repetition times N round trips one by one and prints one JSON line
 * with their p50, p99, p99.9 and mean in ns; a warm-up repetition runs
 * first and is discarded. With --pin same both processes share CPU 0 (a
 * wake-up is a context switch); with spread the child runs on CPU 1 (a
 * wake-up crosses CPUs: on a virtual machine this is often the slower one,
 * which is why an idle phase can answer a query slower than a busy one). */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"
#include "clock.h"
#include "hist.h"

#define PROG "pingpong"

static int pin_to(int cpu)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(ncpu > 0 ? cpu % ncpu : 0, &set);
    return sched_setaffinity(0, sizeof set, &set);
}

/* The echo side: returns every 8-byte message until end of file. */
static int echo(int in, int out)
{
    uint64_t v;
    for (;;) {
        if (bench_read_all(in, &v, sizeof v) < 0)
            return errno == 0 ? 0 : -1; /* end of file: the parent is done */
        if (bench_write_all(out, &v, sizeof v) < 0)
            return -1;
    }
}

int main(int argc, char **argv)
{
    uint64_t rounds = 20000, v;
    int reps = 5;
    const char *pin = "none";
    static const struct option opts[] = {
        {"rounds", required_argument, NULL, 'n'},
        {"reps", required_argument, NULL, 'r'},
        {"pin", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (bench_parse_list(optarg, 1, 100000000, &rounds, 1) != 1)
                goto usage;
            break;
        case 'r':
            if (bench_parse_list(optarg, 1, 1000, &v, 1) != 1)
                goto usage;
            reps = (int)v;
            break;
        case 'p':
            pin = optarg;
            if (strcmp(pin, "none") != 0 && strcmp(pin, "same") != 0 && strcmp(pin, "spread") != 0)
                goto usage;
            break;
        case 'h': printf("usage: %s [--rounds N] [--reps R] [--pin none|same|spread]\n", PROG); return 0;
        default: goto usage;
        }
    }
    if (optind < argc)
        goto usage;

    int to_child[2], to_parent[2];
    if (pipe(to_child) < 0 || pipe(to_parent) < 0) {
        fprintf(stderr, "%s: pipe: %s\n", PROG, strerror(errno));
        return 1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "%s: fork: %s\n", PROG, strerror(errno));
        return 1;
    }
    if (pid == 0) {
        close(to_child[1]);
        close(to_parent[0]);
        if (strcmp(pin, "none") != 0)
            pin_to(strcmp(pin, "same") == 0 ? 0 : 1);
        _exit(echo(to_child[0], to_parent[1]) == 0 ? 0 : 1);
    }
    close(to_child[0]);
    close(to_parent[1]);
    if (strcmp(pin, "none") != 0 && pin_to(0) < 0)
        fprintf(stderr, "%s: cannot pin: %s\n", PROG, strerror(errno));

    int status = 0;
    struct hist *h = malloc(sizeof *h); /* 64 KiB: too big for a comfortable stack frame */
    if (!h) {
        status = 1;
        goto out;
    }
    for (int rep = 0; rep <= reps && status == 0; rep++) {
        hist_init(h);
        for (uint64_t i = 0; i < rounds; i++) {
            uint64_t t0 = now_ns(), back;
            if (bench_write_all(to_child[1], &t0, sizeof t0) < 0 ||
                bench_read_all(to_parent[0], &back, sizeof back) < 0) {
                fprintf(stderr, "%s: round trip %llu: %s\n", PROG, (unsigned long long)i,
                        errno ? strerror(errno) : "echo process ended");
                status = 1;
                break;
            }
            hist_record(h, now_ns() - t0);
        }
        if (rep > 0 && status == 0)
            printf("{\"bench\":\"pingpong\",\"pin\":\"%s\",\"rep\":%d,\"rounds\":%llu,\"rtt_p50_ns\":%llu,"
                   "\"rtt_p99_ns\":%llu,\"rtt_p999_ns\":%llu,\"rtt_mean_ns\":%.1f}\n",
                   pin, rep, (unsigned long long)rounds, (unsigned long long)hist_percentile(h, 50),
                   (unsigned long long)hist_percentile(h, 99), (unsigned long long)hist_percentile(h, 99.9),
                   hist_mean(h));
        fflush(stdout);
    }
out:
    free(h);
    close(to_child[1]); /* end of file tells the echo process to exit */
    close(to_parent[0]);
    if (bench_wait_child(pid, PROG) < 0)
        status = 1;
    return status;
usage:
    fprintf(stderr, "%s: bad arguments. Try '%s --help'.\n", PROG, PROG);
    return 2;
}

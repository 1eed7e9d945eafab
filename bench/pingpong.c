/* pingpong.c - the floor under every cross-process query: one 8-byte
 * message to another process over a pipe and one back (SPEC §9, the floor
 * lines of experiment 5).
 *
 *     pingpong [--rounds N] [--reps R] [--pin none|same|spread] [--gap-us G]
 *
 * Each repetition times N round trips one by one and prints one JSON line
 * with their p50, p99, p99.9 and mean in ns; a warm-up repetition runs
 * first and is discarded. With --pin same both processes share CPU 0 (a
 * wake-up is a context switch); with spread the child runs on CPU 1 (a
 * wake-up crosses CPUs: on a virtual machine this is often the slower one,
 * which is why an idle phase can answer a query slower than a busy one).
 *
 * --gap-us G (default 0, the hot ping-pong) starts a round every G us, on a
 * timerfd, so both processes block and their CPUs may go idle, as those of
 * a query to an idle program do. G must be well above a round (tens of us)
 * or the rounds queue behind each other (see rep_rounds). Each round is then a timer wake (the
 * parent, from its due time to running: wake_*), a worker wake (the child,
 * from the write to running) and a reply wake (the parent again); rtt_* is
 * the last two, due_* all three: the floor of a query from its intended
 * time. A timerfd, not clock_nanosleep, because nanosleep adds the
 * thread's timer slack (50 us by default) and a timerfd does not: the
 * timer is the one a libuv loop watches for a nanosecond due time
 * (phases/common/ptimer.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
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

/* One repetition: rounds round trips, gap_ns apart (0: back to back).
 * h[0] the round trips, h[1] the timer wakes, h[2] due time -> reply.
 * Rounds are due on a fixed schedule, start + k * gap, as the phases'
 * queries are (pacer.h): a stall delays every round due during it, and the
 * percentiles count it as they count the queries it delays. Restarting the
 * gap after each round would count a 5 ms stall once (coordinated
 * omission) and report a floor the queries can never reach. */
static int rep_rounds(int out, int in, int tfd, uint64_t gap_ns, uint64_t rounds, struct hist h[3])
{
    for (int i = 0; i < 3; i++)
        hist_init(&h[i]);
    uint64_t due = now_ns();
    for (uint64_t i = 0; i < rounds; i++) {
        if (gap_ns) {
            due += gap_ns;
            if (bench_wait_until(tfd, due) < 0) {
                fprintf(stderr, "%s: timerfd: %s\n", PROG, strerror(errno));
                return -1;
            }
        }
        uint64_t t0 = now_ns(), back;
        if (bench_write_all(out, &t0, sizeof t0) < 0 || bench_read_all(in, &back, sizeof back) < 0) {
            fprintf(stderr, "%s: round trip %llu: %s\n", PROG, (unsigned long long)i,
                    errno ? strerror(errno) : "echo process ended");
            return -1;
        }
        uint64_t t1 = now_ns();
        hist_record(&h[0], t1 - t0);
        if (gap_ns) {
            hist_record(&h[1], t0 - due);
            hist_record(&h[2], t1 - due);
        }
    }
    return 0;
}

static void print_rep(const char *pin, uint64_t gap_us, int rep, uint64_t rounds, struct hist h[3])
{
    printf("{\"bench\":\"pingpong\",\"pin\":\"%s\",\"gap_us\":%llu,\"rep\":%d,\"rounds\":%llu,"
           "\"rtt_p50_ns\":%llu,\"rtt_p99_ns\":%llu,\"rtt_p999_ns\":%llu,\"rtt_mean_ns\":%.1f",
           pin, (unsigned long long)gap_us, rep, (unsigned long long)rounds,
           (unsigned long long)hist_percentile(&h[0], 50), (unsigned long long)hist_percentile(&h[0], 99),
           (unsigned long long)hist_percentile(&h[0], 99.9), hist_mean(&h[0]));
    if (gap_us)
        printf(",\"wake_p50_ns\":%llu,\"wake_p99_ns\":%llu,\"wake_p999_ns\":%llu,\"due_p50_ns\":%llu,"
               "\"due_p99_ns\":%llu,\"due_p999_ns\":%llu",
               (unsigned long long)hist_percentile(&h[1], 50), (unsigned long long)hist_percentile(&h[1], 99),
               (unsigned long long)hist_percentile(&h[1], 99.9), (unsigned long long)hist_percentile(&h[2], 50),
               (unsigned long long)hist_percentile(&h[2], 99), (unsigned long long)hist_percentile(&h[2], 99.9));
    printf("}\n");
    fflush(stdout);
}

int main(int argc, char **argv)
{
    uint64_t rounds = 20000, gap_us = 0, v;
    int reps = 5;
    const char *pin = "none";
    static const struct option opts[] = {
        {"rounds", required_argument, NULL, 'n'}, {"reps", required_argument, NULL, 'r'},
        {"pin", required_argument, NULL, 'p'},    {"gap-us", required_argument, NULL, 'g'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
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
        case 'g':
            if (bench_parse_list(optarg, 0, 10000000, &gap_us, 1) != 1)
                goto usage;
            break;
        case 'h': printf("usage: %s [--rounds N] [--reps R] [--pin none|same|spread] [--gap-us G]\n", PROG); return 0;
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

    int status = 0, tfd = -1;
    struct hist *h = malloc(3 * sizeof *h); /* 192 KiB: too big for a comfortable stack frame */
    if (!h) {
        status = 1;
        goto out;
    }
    if (gap_us && (tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC)) < 0) {
        fprintf(stderr, "%s: timerfd_create: %s\n", PROG, strerror(errno));
        status = 1;
        goto out;
    }
    for (int rep = 0; rep <= reps && status == 0; rep++) {
        if (rep_rounds(to_child[1], to_parent[0], tfd, gap_us * 1000, rounds, h) < 0) {
            status = 1;
            break;
        }
        if (rep > 0)
            print_rep(pin, gap_us, rep, rounds, h);
    }
out:
    free(h);
    if (tfd >= 0)
        close(tfd);
    close(to_child[1]); /* end of file tells the echo process to exit */
    close(to_parent[0]);
    if (bench_wait_child(pid, PROG) < 0)
        status = 1;
    return status;
usage:
    fprintf(stderr, "%s: bad arguments. Try '%s --help'.\n", PROG, PROG);
    return 2;
}

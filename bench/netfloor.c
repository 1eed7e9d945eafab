/* netfloor.c - the floors under a phase-5 query (experiment 6): one 8-byte
 * message to another process and one back over 127.0.0.1, first through a
 * bare ZeroMQ DEALER -> ROUTER -> DEALER pair, then through a bare TCP
 * connection (one write each way), both blocking.
 *
 *     netfloor [--rounds N] [--reps R] [--transport zmq,tcp] [--gap-us G]
 *
 * Each repetition times N round trips back to back and prints one JSON
 * line per transport with their p50, p99, p99.9 and mean in ns; a warm-up
 * repetition runs first and is discarded. --gap-us G starts a round every
 * G us instead, on a fixed schedule (as pingpong's --gap-us, and as a
 * phase's queries are paced): every thread on both sides then sleeps
 * between rounds, as those of a query to a lightly loaded phase 5 do, and
 * due_* adds the timer wake, from each round's due time to its reply: the
 * floor of a query timed from its intended time. The hot floor is not: on
 * a virtual machine each wake-up of a sleeping thread costs tens of
 * microseconds, and a ZeroMQ round trip wakes six of them. A phase-5 query pays the ZeroMQ
 * round trip plus its own loop, codec and worker; the TCP line shows what
 * ZeroMQ itself adds over the kernel's loopback path (its I/O thread: two
 * more thread hand-offs per direction). Neither is pinned, as phase 5's
 * processes are not.
 *
 * The echo side is a forked child. A ZeroMQ context does not survive a
 * fork, so the child makes its own and binds an ephemeral port, and tells
 * the parent the endpoint through a pipe; for TCP the parent listens
 * before the fork and the child inherits the socket. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <zmq.h>

#include "bench_util.h"
#include "clock.h"
#include "hist.h"

#define PROG "netfloor"
#define ENDPOINT_MAX 256

/* One connected timing side: a DEALER socket, or a TCP socket (fd). */
struct link {
    void *ctx, *sock;
    int fd;
};

static int zfail(const char *what)
{
    fprintf(stderr, "%s: %s: %s\n", PROG, what, zmq_strerror(zmq_errno()));
    return -1;
}

static int zsend(void *s, const void *buf, size_t n, int flags)
{
    while (zmq_send(s, buf, n, flags) < 0)
        if (zmq_errno() != EINTR)
            return zfail("zmq_send");
    return 0;
}

/* Receives one frame of exactly n bytes (an end marker may be empty:
 * *got says what came). */
static int zrecv(void *s, void *buf, size_t n, int *got)
{
    int r;
    while ((r = zmq_recv(s, buf, n, 0)) < 0)
        if (zmq_errno() != EINTR)
            return zfail("zmq_recv");
    *got = r;
    return 0;
}

/* The echo child of the ZeroMQ floor: a ROUTER that returns each message to
 * the peer it came from, until an empty body. ROUTER_MANDATORY makes a
 * reply to a vanished peer an error rather than a silent drop. */
static int zmq_echo(int report_fd)
{
    int one = 1, zero = 0, status = -1, got;
    char ep[ENDPOINT_MAX] = "";
    size_t len = sizeof ep;
    uint8_t id[256], body[8];
    void *ctx = zmq_ctx_new(), *s = ctx ? zmq_socket(ctx, ZMQ_ROUTER) : NULL;
    if (!s || zmq_setsockopt(s, ZMQ_ROUTER_MANDATORY, &one, sizeof one) < 0 ||
        zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero) < 0 || zmq_bind(s, "tcp://127.0.0.1:*") < 0 ||
        zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, ep, &len) < 0) {
        zfail("echo ROUTER");
        goto out;
    }
    if (bench_write_all(report_fd, ep, sizeof ep) < 0)
        goto out;
    close(report_fd);
    for (;;) {
        int idlen, more = 0;
        size_t mlen = sizeof more;
        if (zrecv(s, id, sizeof id, &idlen) < 0 || zmq_getsockopt(s, ZMQ_RCVMORE, &more, &mlen) < 0)
            goto out;
        if (!more || zrecv(s, body, sizeof body, &got) < 0) {
            fprintf(stderr, "%s: echo: a message without a body\n", PROG);
            goto out;
        }
        if (got == 0)
            break; /* the parent's end marker */
        if (zsend(s, id, (size_t)idlen, ZMQ_SNDMORE) < 0 || zsend(s, body, (size_t)got, 0) < 0)
            goto out;
    }
    status = 0;
out:
    if (s)
        zmq_close(s);
    if (ctx)
        zmq_ctx_term(ctx);
    return status;
}

/* The echo child of the TCP floor: accepts one connection on the inherited
 * listener and returns every 8 bytes until end of file. */
static int tcp_echo(int listener)
{
    int one = 1, fd;
    while ((fd = accept(listener, NULL, NULL)) < 0)
        if (errno != EINTR)
            return -1;
    close(listener);
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0)
        return -1;
    uint64_t v;
    for (;;) {
        if (bench_read_all(fd, &v, sizeof v) < 0)
            return errno == 0 ? 0 : -1; /* end of file: the parent is done */
        if (bench_write_all(fd, &v, sizeof v) < 0)
            return -1;
    }
}

/* Forks the ZeroMQ echo child and connects a DEALER to it. */
static pid_t zmq_open(struct link *l)
{
    int p[2], zero = 0;
    char ep[ENDPOINT_MAX];
    if (pipe(p) < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        _exit(zmq_echo(p[1]) == 0 ? 0 : 1);
    }
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        return -1;
    }
    int r = bench_read_all(p[0], ep, sizeof ep);
    close(p[0]);
    if (r < 0) { /* the child said why; the caller reaps it */
        fprintf(stderr, "%s: the echo child sent no endpoint\n", PROG);
        return pid;
    }
    ep[ENDPOINT_MAX - 1] = '\0';
    l->ctx = zmq_ctx_new();
    l->sock = l->ctx ? zmq_socket(l->ctx, ZMQ_DEALER) : NULL;
    if (!l->sock || zmq_setsockopt(l->sock, ZMQ_LINGER, &zero, sizeof zero) < 0 || zmq_connect(l->sock, ep) < 0)
        zfail("DEALER");
    return pid;
}

/* Listens on an ephemeral 127.0.0.1 port, forks the TCP echo child and
 * connects to it. */
static pid_t tcp_open(struct link *l)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    int one = 1, lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 1) < 0 ||
        getsockname(lfd, (struct sockaddr *)&a, &alen) < 0) {
        fprintf(stderr, "%s: listen on 127.0.0.1: %s\n", PROG, strerror(errno));
        if (lfd >= 0)
            close(lfd);
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0)
        _exit(tcp_echo(lfd) == 0 ? 0 : 1);
    close(lfd);
    if (pid < 0)
        return -1;
    l->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (l->fd < 0 || connect(l->fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        setsockopt(l->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0)
        fprintf(stderr, "%s: connect to 127.0.0.1:%d: %s\n", PROG, ntohs(a.sin_port), strerror(errno));
    return pid;
}

/* One round trip of 8 bytes; 0, or -1 after saying why. */
static int round_trip(struct link *l, uint64_t v)
{
    uint64_t back = 0;
    int got = 0;
    if (l->sock) {
        if (zsend(l->sock, &v, sizeof v, 0) < 0 || zrecv(l->sock, &back, sizeof back, &got) < 0)
            return -1;
    } else if (bench_write_all(l->fd, &v, sizeof v) < 0 || bench_read_all(l->fd, &back, sizeof back) < 0) {
        fprintf(stderr, "%s: tcp round trip: %s\n", PROG, errno ? strerror(errno) : "echo process ended");
        return -1;
    } else {
        got = sizeof back;
    }
    if (got != (int)sizeof back || back != v) {
        fprintf(stderr, "%s: the echo returned %d bytes, not the 8 sent\n", PROG, got);
        return -1;
    }
    return 0;
}

/* h[0] the round trips; with a gap, h[1] due time -> reply. */
static void print_rep(const char *transport, uint64_t gap_us, int rep, uint64_t rounds, const struct hist h[2])
{
    printf("{\"bench\":\"netfloor\",\"transport\":\"%s\",\"gap_us\":%llu,\"rep\":%d,\"rounds\":%llu,"
           "\"rtt_p50_ns\":%llu,\"rtt_p99_ns\":%llu,\"rtt_p999_ns\":%llu,\"rtt_mean_ns\":%.1f",
           transport, (unsigned long long)gap_us, rep, (unsigned long long)rounds,
           (unsigned long long)hist_percentile(&h[0], 50), (unsigned long long)hist_percentile(&h[0], 99),
           (unsigned long long)hist_percentile(&h[0], 99.9), hist_mean(&h[0]));
    if (gap_us)
        printf(",\"due_p50_ns\":%llu,\"due_p99_ns\":%llu,\"due_p999_ns\":%llu",
               (unsigned long long)hist_percentile(&h[1], 50), (unsigned long long)hist_percentile(&h[1], 99),
               (unsigned long long)hist_percentile(&h[1], 99.9));
    printf("}\n");
    fflush(stdout);
}

/* One repetition: rounds round trips over l, gap_ns apart (0: back to
 * back). Rounds are due at start + k * gap, so that a stall counts against
 * every round due during it, as it does against the queries it delays. */
static int rep_rounds(struct link *l, int tfd, uint64_t gap_ns, uint64_t rounds, struct hist h[2])
{
    hist_init(&h[0]);
    hist_init(&h[1]);
    uint64_t due = now_ns();
    for (uint64_t i = 0; i < rounds; i++) {
        if (gap_ns) {
            due += gap_ns;
            if (bench_wait_until(tfd, due) < 0) {
                fprintf(stderr, "%s: timerfd: %s\n", PROG, strerror(errno));
                return -1;
            }
        }
        uint64_t t0 = now_ns();
        if (round_trip(l, t0) < 0)
            return -1;
        uint64_t t1 = now_ns();
        hist_record(&h[0], t1 - t0);
        if (gap_ns)
            hist_record(&h[1], t1 - due);
    }
    return 0;
}

/* The warm-up and reps repetitions of rounds round trips over l. */
static int time_reps(struct link *l, const char *transport, uint64_t rounds, int reps, uint64_t gap_us,
                     struct hist h[2])
{
    int tfd = -1;
    if (gap_us && (tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC)) < 0) {
        fprintf(stderr, "%s: timerfd_create: %s\n", PROG, strerror(errno));
        return -1;
    }
    int status = 0;
    for (int rep = 0; rep <= reps && status == 0; rep++) {
        status = rep_rounds(l, tfd, gap_us * 1000, rounds, h);
        if (status == 0 && rep > 0)
            print_rep(transport, gap_us, rep, rounds, h);
    }
    if (tfd >= 0)
        close(tfd);
    return status;
}

/* One transport's floor: open, time, tell the echo child to end, reap it. */
static int floor_of(const char *transport, uint64_t rounds, int reps, uint64_t gap_us, struct hist h[2])
{
    struct link l = {.fd = -1};
    int zmq = strcmp(transport, "zmq") == 0, status = -1;
    pid_t pid = zmq ? zmq_open(&l) : tcp_open(&l);
    if (pid < 0) {
        fprintf(stderr, "%s: %s: cannot start the echo process: %s\n", PROG, transport, strerror(errno));
        return -1;
    }
    if (zmq ? l.sock != NULL : l.fd >= 0)
        status = time_reps(&l, transport, rounds, reps, gap_us, h);
    if (l.sock) { /* the end marker; a ROUTER never sees a peer leave */
        if (zsend(l.sock, "", 0, 0) < 0)
            status = -1;
        zmq_close(l.sock);
    }
    if (l.ctx)
        zmq_ctx_term(l.ctx);
    if (l.fd >= 0)
        close(l.fd); /* end of file ends the TCP echo child */
    if (status < 0 && zmq)
        kill(pid, SIGKILL); /* it may wait forever for the end marker */
    if (bench_wait_child(pid, PROG) < 0 && status == 0)
        status = -1;
    return status;
}

int main(int argc, char **argv)
{
    uint64_t rounds = 20000, gap_us = 0, v;
    int reps = 5, c;
    char transports[32] = "zmq,tcp";
    const char *list[2];
    int n = 0;
    static const struct option opts[] = {
        {"rounds", required_argument, NULL, 'n'},
        {"reps", required_argument, NULL, 'r'},
        {"transport", required_argument, NULL, 't'},
        {"gap-us", required_argument, NULL, 'g'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
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
        case 't':
            if (strlen(optarg) >= sizeof transports)
                goto usage;
            snprintf(transports, sizeof transports, "%s", optarg);
            break;
        case 'g':
            if (bench_parse_list(optarg, 0, 10000000, &gap_us, 1) != 1)
                goto usage;
            break;
        case 'h': printf("usage: %s [--rounds N] [--reps R] [--transport zmq,tcp] [--gap-us G]\n", PROG); return 0;
        default: goto usage;
        }
    }
    if (optind < argc)
        goto usage;
    for (char *t = strtok(transports, ","); t; t = strtok(NULL, ",")) {
        if ((strcmp(t, "zmq") != 0 && strcmp(t, "tcp") != 0) || n == 2)
            goto usage;
        list[n++] = t;
    }
    if (n == 0)
        goto usage;

    struct hist *h = malloc(2 * sizeof *h); /* 64 KiB each: too big for a comfortable stack frame */
    if (!h) {
        fprintf(stderr, "%s: out of memory\n", PROG);
        return 1;
    }
    int status = 0;
    for (int i = 0; i < n && status == 0; i++)
        if (floor_of(list[i], rounds, reps, gap_us, h) < 0)
            status = 1;
    free(h);
    return status;
usage:
    fprintf(stderr, "%s: bad arguments. Try '%s --help'.\n", PROG, PROG);
    return 2;
}

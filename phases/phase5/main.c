/* main.c - phase 5's program: the coordinator (parse, load, run, dump,
 * report), or with --worker one worker that connects to a coordinator. */
#define _GNU_SOURCE /* realpath */
#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "keys.h"
#include "log.h"
#include "phase5.h"
#include "run.h"
#include "signals.h"

/* True for an endpoint on this host only: tcp:// to an address of
 * 127.0.0.0/8, to ::1 or to localhost. Anything else accepts workers (and
 * anyone else) from the network, which needs CURVE (SPEC §10). The host is
 * parsed, not matched by prefix: "tcp://127.example.com:80" is not local. */
static bool loopback(const char *e)
{
    static const char tcp[] = "tcp://";
    if (strncmp(e, tcp, strlen(tcp)) != 0)
        return false;
    const char *host = e + strlen(tcp), *colon = strrchr(host, ':');
    size_t len = colon ? (size_t)(colon - host) : 0;
    if (len >= 2 && host[0] == '[' && host[len - 1] == ']')
        host++, len -= 2;
    char h[INET6_ADDRSTRLEN];
    if (len == 0 || len >= sizeof h)
        return false;
    memcpy(h, host, len);
    h[len] = '\0';
    struct in_addr a4;
    struct in6_addr a6;
    if (strcmp(h, "localhost") == 0)
        return true;
    if (inet_pton(AF_INET, h, &a4) == 1)
        return ntohl(a4.s_addr) >> 24 == 127;
    return inet_pton(AF_INET6, h, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

static bool set_bind(void *ctx, const char *arg, char *why, size_t why_len)
{
    struct p5_config *c = ctx;
    if (strlen(arg) >= sizeof c->bind) {
        snprintf(why, why_len, "an endpoint of at most %zu bytes", sizeof c->bind - 1);
        return false;
    }
    snprintf(c->bind, sizeof c->bind, "%s", arg);
    return true;
}

static bool set_keys(void *ctx, const char *arg, char *why, size_t why_len)
{
    struct p5_config *c = ctx;
    if (strlen(arg) >= sizeof c->keys_dir) {
        snprintf(why, why_len, "a directory name of at most %zu bytes", sizeof c->keys_dir - 1);
        return false;
    }
    snprintf(c->keys_dir, sizeof c->keys_dir, "%s", arg);
    return true;
}

/* Once every flag is known (--remote decides which keys are needed): a
 * bind beyond loopback only with --keys, and the keys loaded into k. */
static int load_keys(struct p5_config *c, struct keys *k)
{
    char why[600];
    if (!c->keys_dir[0]) {
        if (loopback(c->bind))
            return EXIT_OK;
        fprintf(stderr,
                "phase5: --bind %s: not a loopback address: binding to the network needs CURVE keys (SPEC §10); "
                "run `phase5 --keygen DIR` once and pass --keys DIR to the coordinator and its workers\n",
                c->bind);
        return EXIT_USAGE;
    }
    /* Absolute, for the worker commands --remote prints: they may be run
     * from any directory. (A directory that is not there is named below.) */
    char abs[PATH_MAX];
    if (realpath(c->keys_dir, abs) && strlen(abs) < sizeof c->keys_dir)
        snprintf(c->keys_dir, sizeof c->keys_dir, "%s", abs);
    if (keys_load(c->keys_dir, c->remote ? KEYS_COORDINATOR : KEYS_COORDINATOR_LOCAL, k, why, sizeof why) < 0) {
        fprintf(stderr, "phase5: --keys: %s\n", why);
        return EXIT_USAGE;
    }
    c->keys = k;
    return EXIT_OK;
}

/* `phase5 --keygen DIR`: both key pairs, written once. */
static int keygen_main(int argc, char **argv)
{
    if (argc != 3 || strcmp(argv[1], "--keygen") != 0) {
        fprintf(stderr, "usage: phase5 --keygen DIR (writes a coordinator and a worker CURVE key pair into DIR)\n");
        return EXIT_USAGE;
    }
    char out[4 * 4100], why[4200];
    bool exists;
    if (keys_generate(argv[2], out, sizeof out, &exists, why, sizeof why) < 0) {
        fprintf(stderr, "phase5 --keygen: %s\n", why);
        return exists ? EXIT_USAGE : EXIT_OUTPUT_FAILED;
    }
    printf("phase5 --keygen: wrote, each mode 0600:\n%s"
           "the coordinator takes --keys %s; a worker on another host needs worker.key, worker.pub and "
           "coordinator.pub in a directory of its own, given as its --keys (never copy coordinator.key)\n",
           out, argv[2]);
    return EXIT_OK;
}

static bool add_query(void *ctx, const char *arg, char *why, size_t why_len)
{
    struct p5_config *c = ctx;
    return cli_add_final_query(c->final_queries, &c->nfinal, P5_FINAL_QUERIES_MAX, arg, why, why_len);
}

static bool parse_u32(const char *arg, uint64_t min, uint64_t max, uint32_t *out, char *why, size_t why_len)
{
    uint64_t v;
    if (!cli_parse_u64(arg, min, max, &v)) {
        snprintf(why, why_len, "want a number from %llu to %llu", (unsigned long long)min, (unsigned long long)max);
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

static bool set_window(void *ctx, const char *arg, char *why, size_t why_len)
{
    return parse_u32(arg, 1, 1u << 24, &((struct p5_config *)ctx)->window_frames, why, why_len);
}

static bool set_window_bytes(void *ctx, const char *arg, char *why, size_t why_len)
{
    return parse_u32(arg, 4096, 1u << 30, &((struct p5_config *)ctx)->window_bytes, why, why_len);
}

static bool set_batch(void *ctx, const char *arg, char *why, size_t why_len)
{
    return parse_u32(arg, 1, 1u << 20, &((struct p5_config *)ctx)->batch_frames, why, why_len);
}

static bool set_hwm(void *ctx, const char *arg, char *why, size_t why_len)
{
    uint32_t v;
    if (!parse_u32(arg, 1, 1u << 20, &v, why, why_len))
        return false;
    ((struct p5_config *)ctx)->hwm = (int)v;
    return true;
}

static bool set_lease(void *ctx, const char *arg, char *why, size_t why_len)
{
    return parse_u32(arg, 50, 600000, &((struct p5_config *)ctx)->lease_ms, why, why_len);
}

static bool set_remote(void *ctx, const char *arg, char *why, size_t why_len)
{
    (void)arg;
    (void)why;
    (void)why_len;
    ((struct p5_config *)ctx)->remote = true;
    return true;
}

/* One flag of `phase5 --worker` and its value into s: false when neither
 * is one it knows. */
static bool worker_flag(struct p5_worker_setup *s, const char *f, const char *v, bool *have_index)
{
    uint64_t u;
    if (strcmp(f, "--connect") == 0 && strlen(v) < sizeof s->connect)
        snprintf(s->connect, sizeof s->connect, "%s", v);
    else if (strcmp(f, "--index") == 0 && cli_parse_u64(v, 0, CLI_MAX_WORKERS - 1, &u))
        s->index = (uint32_t)u, *have_index = true;
    else if (strcmp(f, "--of") == 0 && cli_parse_u64(v, 1, CLI_MAX_WORKERS, &u))
        s->of = (uint32_t)u;
    else if (strcmp(f, "--work-ns") == 0 && cli_parse_u64(v, 0, 1000000000, &u))
        s->work_ns = u;
    else if (strcmp(f, "--window") == 0 && cli_parse_u64(v, 1, 1u << 24, &u))
        s->window_frames = (uint32_t)u;
    else if (strcmp(f, "--window-bytes") == 0 && cli_parse_u64(v, 4096, 1u << 30, &u))
        s->window_bytes = (uint32_t)u;
    else if (strcmp(f, "--hwm") == 0 && cli_parse_u64(v, 1, 1u << 20, &u))
        s->hwm = (int)u;
    else if (strcmp(f, "--lease") == 0 && cli_parse_u64(v, 50, 600000, &u))
        s->lease_ms = (uint32_t)u;
    else
        return false;
    return true;
}

/* `phase5 --worker --connect ENDPOINT --index K --of N`: one worker. Its
 * flags are few and its own, so they are parsed here, not by cli.c. */
static int worker_main(int argc, char **argv)
{
    struct p5_worker_setup s = {.of = 0,
                                .expected_ids = 1024,
                                .window_frames = P5_WINDOW_FRAMES_DEFAULT,
                                .window_bytes = P5_WINDOW_BYTES_DEFAULT,
                                .hwm = P5_HWM_DEFAULT,
                                .lease_ms = P5_LEASE_MS_DEFAULT};
    bool have_index = false;
    const char *keys_dir = NULL;
    char why[600] = "";
    log_init("phase5");
    for (int k = 1; k < argc; k++) {
        const char *f = argv[k], *v = k + 1 < argc ? argv[k + 1] : NULL;
        if (strcmp(f, "--worker") == 0)
            continue;
        if (!v) {
            snprintf(why, sizeof why, "%s wants a value", f);
            break;
        }
        k++;
        if (strcmp(f, "--keys") == 0) {
            keys_dir = v;
            continue;
        }
        if (!worker_flag(&s, f, v, &have_index)) {
            snprintf(why, sizeof why, "bad flag or value: %s %s", f, v);
            break;
        }
    }
    if (!why[0] && (!s.connect[0] || !have_index || s.of == 0 || s.index >= s.of))
        snprintf(why, sizeof why, "want --connect ENDPOINT --index K --of N with K < N");
    if (!why[0] && keys_dir) {
        char bad[500];
        if (keys_load(keys_dir, KEYS_WORKER, &s.keys, bad, sizeof bad) < 0)
            snprintf(why, sizeof why, "--keys: %s", bad);
        s.curve = true;
    }
    if (why[0]) {
        fprintf(stderr,
                "phase5 --worker: %s\nusage: phase5 --worker --connect ENDPOINT --index K --of N "
                "[--work-ns W] [--window FRAMES] [--window-bytes BYTES] [--hwm N] [--lease MS] [--keys DIR]\n",
                why);
        return EXIT_USAGE;
    }
    return p5_worker_run(&s, NULL);
}

int main(int argc, char **argv)
{
    /* build/bin/phase5 (launch.c) started this program with the stop and
     * status signals blocked; each mode unblocks them once it is ready. */
    for (int k = 1; k < argc; k++) {
        if (strcmp(argv[k], "--worker") == 0) {
            /* `pkill -USR1 phase5` asks for a status and reaches workers
             * too: a worker ignores it, as the ones the pool forks do. A
             * stop request ends it (the coordinator sees a lost worker). */
            signal(SIGUSR1, SIG_IGN);
            signals_unblock();
            return worker_main(argc, argv);
        }
        if (strcmp(argv[k], "--keygen") == 0) {
            signals_unblock();
            return keygen_main(argc, argv);
        }
    }
    struct p5_config cfg = {.bind = "tcp://127.0.0.1:*",
                            .window_frames = P5_WINDOW_FRAMES_DEFAULT,
                            .window_bytes = P5_WINDOW_BYTES_DEFAULT,
                            .batch_frames = P5_BATCH_FRAMES_DEFAULT,
                            .hwm = P5_HWM_DEFAULT,
                            .lease_ms = P5_LEASE_MS_DEFAULT,
                            .query_spin_ns = P5_QUERY_SPIN_US_DEFAULT * 1000ull};
    const struct cli_extra extras[] = {
        {"bind", "ENDPOINT", "where the ROUTER binds (default tcp://127.0.0.1:*; beyond loopback only with --keys)",
         set_bind, &cfg},
        {"keys", "DIR", "CURVE keys from `phase5 --keygen DIR`: only peers with the worker key get in", set_keys, &cfg},
        {"query", "ID", "after the drain, ask ID's worker for its machine and print the answer (repeatable)", add_query,
         &cfg},
        {"window", "FRAMES", "credit each worker grants, in frames (default 16384)", set_window, &cfg},
        {"window-bytes", "BYTES", "credit each worker grants, in bytes (default 8388608)", set_window_bytes, &cfg},
        {"batch", "FRAMES", "messages per ZeroMQ message at most (default 1024)", set_batch, &cfg},
        {"hwm", "N", "ZeroMQ high-water mark toward the workers, in messages (default 1000; back, at most 16)", set_hwm,
         &cfg},
        {"lease", "MS", "a worker silent this long is lost (default 300)", set_lease, &cfg},
        {"query-spin-us", "US", CLI_QUERY_SPIN_HELP(P5_QUERY_SPIN_US_DEFAULT), cli_set_query_spin, &cfg.query_spin_ns},
        {"remote", NULL, "start no worker: wait for N started elsewhere (it prints their command)", set_remote, &cfg},
    };
    const struct cli_program program = {
        .name = "phase5",
        .purpose = "Routes messages to N worker processes over ZeroMQ (ROUTER/DEALER on TCP), batched msgpack "
                   "frames under credit flow control (msgroute phase 5). `phase5 --worker --connect ENDPOINT "
                   "--index K --of N [--keys DIR]` runs one worker; `phase5 --keygen DIR` writes CURVE keys.",
        .phase = 5,
        .has_workers = true,
        .extras = extras,
        .nextras = sizeof extras / sizeof extras[0],
    };
    struct options o;
    struct source src;
    int status = run_begin(&program, argc, argv, &o, &src);
    if (status != RUN_GO)
        return status;
    struct keys keys;
    if ((status = load_keys(&cfg, &keys)) != EXIT_OK) {
        source_free(&src);
        return run_end(program.name, status);
    }
    struct p5_result r;
    status = phase5_run(&o, &cfg, &src, &r);
    keys_wipe(&keys, sizeof keys);
    if (status == EXIT_OK)
        status = run_check_source(&src);
    if (status == EXIT_OK)
        status = run_finish_sorted(program.name, &o, &r.records, &r.sum);
    p5_result_free(&r);
    source_free(&src);
    return run_end(program.name, status);
}

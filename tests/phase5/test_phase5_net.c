/* test_phase5_net.c - phase 5 beyond one address (SPEC §10, Security and
 * Tests): --keygen and the key files, golden dumps through CURVE with local
 * and --remote workers, workers on 127.0.0.1, 127.0.0.2 and 127.0.0.3 as
 * separate hosts, strangers refused by the coordinator's ZAP handler, and
 * workers in network namespaces of the test's own joined by veth pairs.
 *
 * No test sends traffic to any address but 127.0.0.0/8 and 10.213.0.0/24
 * inside its own namespaces. Every test leaves no process, no file and no
 * namespace behind: the namespaces are deleted by the suite's .fini, which
 * Criterion runs after a failed assertion too, and any a killed test left
 * are swept by the next one's .init. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zmq.h>

#include "codec.h"
#include "conformance.h"
#include "fnv.h"
#include "proc.h"
#include "remote.h"
#include "wire.h"
#include "zcall.h"

#define PHASE5 BIN_DIR "/phase5"
#define IP "/usr/sbin/ip"
#define LONG_LEASE "--lease", "20000"
#define NS_PREFIX "msgroute-p5-" /* then the test's pid, '-' and a letter */
#define NS_MAX 3

/* ---------------------------------------------------------- namespaces */

/* The namespaces this test made, for .fini to delete. */
static char made_ns[NS_MAX][64];
static int nmade;

/* Runs `ip args...`: its exit status; its stderr into err. */
static int ip(char *err, size_t err_len, char *const args[])
{
    char *argv[24] = {IP};
    int n = 1;
    for (; args[n - 1] && n < 23; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    struct proc_result r;
    if (proc_run(argv, NULL, 10000, &r) < 0) {
        snprintf(err, err_len, "cannot run %s", IP);
        return -1;
    }
    int st = r.timed_out ? -1 : r.status;
    snprintf(err, err_len, "%s", r.err ? r.err : "");
    proc_result_free(&r);
    return st;
}

static void ns_delete(const char *ns)
{
    char err[512];
    ip(err, sizeof err, (char *[]){"netns", "delete", (char *)ns, NULL});
}

/* Namespaces of a test that was killed before its .fini (a timeout): its
 * pid is gone. Only names of this file's own pattern are touched. */
static void ns_sweep_orphans(void)
{
    char *argv[] = {IP, "netns", "list", NULL}, err[512];
    struct proc_result r;
    if (proc_run(argv, NULL, 10000, &r) < 0)
        return;
    for (char *line = strtok(r.out ? r.out : "", "\n"); line; line = strtok(NULL, "\n")) {
        int pid;
        char name[64];
        if (sscanf(line, "%63s", name) != 1 || strncmp(name, NS_PREFIX, strlen(NS_PREFIX)) != 0 ||
            sscanf(name + strlen(NS_PREFIX), "%d-", &pid) != 1)
            continue;
        if (kill(pid, 0) < 0 && errno == ESRCH)
            ip(err, sizeof err, (char *[]){"netns", "delete", name, NULL});
    }
    proc_result_free(&r);
}

static void net_init(void)
{
    conf_suite_init();
    if (geteuid() == 0)
        ns_sweep_orphans();
}

static void net_fini(void)
{
    for (int k = 0; k < nmade; k++)
        ns_delete(made_ns[k]);
    nmade = 0;
    conf_suite_fini();
}

TestSuite(phase5_net, .timeout = 120, .init = net_init, .fini = net_fini);

/* Makes namespace NS_PREFIX<pid>-<letter> into name (64 bytes): false,
 * with the reason in why, when this machine does not let the test. */
static bool ns_add(char letter, char *name, char *why, size_t why_len)
{
    snprintf(name, 64, "%s%d-%c", NS_PREFIX, (int)getpid(), letter);
    if (ip(why, why_len, (char *[]){"netns", "add", name, NULL}) != 0)
        return false;
    snprintf(made_ns[nmade++], sizeof made_ns[0], "%s", name);
    return true;
}

/* Runs `ip args...` and fails the test if it fails. */
static void ip_ok(char *const args[])
{
    char err[512];
    int st = ip(err, sizeof err, args);
    cr_assert_eq(st, 0, "ip %s %s %s ...: exit %d: %s", args[0], args[1], args[2] ? args[2] : "", st, err);
}

/* Three namespaces as three hosts on one LAN: the coordinator's, ns[0],
 * holds a bridge with 10.213.0.1/24; ns[1] and ns[2] each have an eth0,
 * 10.213.0.2 and 10.213.0.3, the far end of a veth pair on that bridge.
 * Every link is made inside the namespaces: nothing touches the host's. */
static bool ns_lab(char ns[NS_MAX][64], char *why, size_t why_len)
{
    if (geteuid() != 0) {
        snprintf(why, why_len, "not root: network namespaces need CAP_SYS_ADMIN");
        return false;
    }
    for (int k = 0; k < NS_MAX; k++)
        if (!ns_add((char)('c' + k), ns[k], why, why_len))
            return false;
    ip_ok((char *[]){"-n", ns[0], "link", "add", "br0", "type", "bridge", NULL});
    for (int k = 1; k < NS_MAX; k++) {
        char veth[16], addr[32];
        snprintf(veth, sizeof veth, "p5v%d%c", (int)getpid() % 1000000, (char)('a' + k));
        snprintf(addr, sizeof addr, "10.213.0.%d/24", k + 1);
        ip_ok((char *[]){"link", "add", veth, "netns", ns[0], "type", "veth", "peer", "name", "eth0", "netns", ns[k],
                         NULL});
        ip_ok((char *[]){"-n", ns[0], "link", "set", veth, "master", "br0", "up", NULL});
        ip_ok((char *[]){"-n", ns[k], "addr", "add", addr, "dev", "eth0", NULL});
        ip_ok((char *[]){"-n", ns[k], "link", "set", "eth0", "up", NULL});
        ip_ok((char *[]){"-n", ns[k], "link", "set", "lo", "up", NULL});
    }
    ip_ok((char *[]){"-n", ns[0], "addr", "add", "10.213.0.1/24", "dev", "br0", NULL});
    ip_ok((char *[]){"-n", ns[0], "link", "set", "br0", "up", NULL});
    ip_ok((char *[]){"-n", ns[0], "link", "set", "lo", "up", NULL});
    return true;
}

/* ----------------------------------------------------------------- keys */

static const char *const key_files[] = {"coordinator.key", "coordinator.pub", "worker.key", "worker.pub"};

/* `phase5 --keygen conf_dir/name`: its path into dir (CONF_PATH_MAX). */
static char *keygen(char *dir, const char *name)
{
    conf_path(dir, name);
    char *argv[] = {PHASE5, "--keygen", dir, NULL};
    conf_run_ok(argv);
    return dir;
}

/* dir/file's text (its first 40 characters), into key (41 bytes). */
static void read_key(const char *dir, const char *file, char *key)
{
    char path[CONF_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    char *text = read_file(path, NULL);
    cr_assert(text && strlen(text) == 41, "%s", path);
    snprintf(key, 41, "%s", text);
    free(text);
}

/* Replaces dir/file with text, mode mode. */
static void write_key_file(const char *dir, const char *file, const char *text, mode_t mode)
{
    char path[CONF_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    unlink(path);
    int fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0600);
    cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    cr_assert_eq(fchmod(fd, mode), 0);
    close(fd);
}

/* A worker's key directory that holds another key pair than dir's worker
 * one, with dir's coordinator public key: a stranger that knows the
 * server's public key (no secret) but not the worker key. */
static char *stranger_keys(char *out, const char *dir)
{
    char other[CONF_PATH_MAX], pub[41];
    keygen(other, "other-keys");
    read_key(dir, "coordinator.pub", pub);
    char line[64];
    snprintf(line, sizeof line, "%s\n", pub);
    write_key_file(other, "coordinator.pub", line, 0600);
    snprintf(out, CONF_PATH_MAX, "%s", other);
    return out;
}

Test(phase5_net, keygen_writes_two_key_pairs_each_mode_0600_in_a_0700_directory_and_never_overwrites)
{
    char dir[CONF_PATH_MAX];
    conf_path(dir, "keys");
    char *argv[] = {PHASE5, "--keygen", dir, NULL};
    struct proc_result r;
    conf_run(argv, NULL, 0, &r);
    struct stat st;
    cr_assert_eq(stat(dir, &st), 0);
    cr_expect_eq(st.st_mode & 07777, 0700, "directory mode %o", st.st_mode & 07777);
    char before[4][41];
    for (int f = 0; f < 4; f++) {
        char path[CONF_PATH_MAX + 32];
        snprintf(path, sizeof path, "%s/%s", dir, key_files[f]);
        cr_assert_eq(stat(path, &st), 0, "%s missing", path);
        cr_expect_eq(st.st_mode & 07777, 0600, "%s: mode %o", path, st.st_mode & 07777);
        cr_expect_eq(st.st_size, 41, "%s: %lld bytes", path, (long long)st.st_size);
        cr_expect(strstr(r.out, path), "'%s' not named in: %s", path, r.out);
        read_key(dir, key_files[f], before[f]);
    }
    cr_expect_str_neq(before[0], before[2], "the two pairs are the same");
    proc_result_free(&r);

    conf_run(argv, NULL, 2, &r);
    cr_expect(strstr(r.err, "coordinator.key: a key file is already there") && strstr(r.err, "never overwritten"), "%s",
              r.err);
    proc_result_free(&r);
    for (int f = 0; f < 4; f++) {
        char now[41];
        read_key(dir, key_files[f], now);
        cr_expect_str_eq(now, before[f], "%s was changed", key_files[f]);
    }
}

/* `phase5 --keys dir` (or `phase5 --worker ... --keys dir`) exits 2 with
 * "dir/file: " and want on stderr. */
static void refused(const char *dir, bool worker, const char *file, const char *want)
{
    char *coord[] = {PHASE5, "--keys", (char *)dir, "--messages", "10", NULL};
    char *wk[] = {PHASE5, "--worker", "--connect", "tcp://127.0.0.1:9", "--index", "0",
                  "--of", "1",        "--keys",    (char *)dir,         NULL};
    struct proc_result r;
    conf_run(worker ? wk : coord, NULL, 2, &r);
    char named[CONF_PATH_MAX + 64];
    snprintf(named, sizeof named, "%s/%s: ", dir, file);
    cr_expect(strstr(r.err, named) && strstr(r.err, want), "want '%s%s' in: %s", named, want, r.err);
    if (!worker) /* a worker's usage line follows its reason */
        cr_expect_eq(strchr(r.err, '\n'), r.err + strlen(r.err) - 1, "want one line: %s", r.err);
    proc_result_free(&r);
}

Test(phase5_net, a_short_garbage_unmatched_missing_or_world_readable_key_file_is_refused_with_exit_2_naming_it)
{
    char dir[CONF_PATH_MAX], pub[41], line[64];
    keygen(dir, "short");
    write_key_file(dir, "coordinator.pub", "0123456789abcdefghij\n", 0600);
    refused(dir, false, "coordinator.pub", "want exactly 40 Z85 characters");
    refused(dir, true, "coordinator.pub", "want exactly 40 Z85 characters");

    keygen(dir, "garbage");
    write_key_file(dir, "coordinator.key", "0123456789 abcdefghij 0123456789 abcdefg\n", 0600);
    refused(dir, false, "coordinator.key", "a character outside the Z85 alphabet");

    keygen(dir, "mode");
    char path[CONF_PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/worker.key", dir);
    cr_assert_eq(chmod(path, 0644), 0);
    refused(dir, false, "worker.key", "mode 0644: a secret key must be readable by its owner only");
    refused(dir, true, "worker.key", "mode 0644");

    keygen(dir, "unmatched");
    read_key(dir, "coordinator.pub", pub);
    snprintf(line, sizeof line, "%s\n", pub);
    write_key_file(dir, "worker.pub", line, 0600);
    refused(dir, false, "worker.pub", "not the public key of worker.key");

    keygen(dir, "missing");
    snprintf(path, sizeof path, "%s/coordinator.key", dir);
    cr_assert_eq(unlink(path), 0);
    refused(dir, false, "coordinator.key", "No such file or directory");
}

/* ----------------------------------------------- golden dumps over CURVE */

Test(phase5_net, with_keys_every_golden_trace_gives_its_golden_dump_through_curve)
{
    char dir[CONF_PATH_MAX];
    keygen(dir, "keys");
    char *one[] = {"--keys", dir, "--workers", "1", NULL};
    char *three[] = {"--keys", dir, "--workers", "3", "--window", "64", "--window-bytes", "8192", "--batch", "8", NULL};
    conf_golden_dumps(PHASE5, one);
    conf_golden_dumps(PHASE5, three);
}

static const char *const golden[] = {"tiny", "edges", "hotkey", "lifecycle", "empty"};

/* One golden trace through a --remote coordinator (argv before "--trace
 * T --dump D": pre) and n workers started by start(rr, k): exit 0 from
 * all, the golden dump, and each text of want_err (NULL-terminated, or
 * NULL) on the coordinator's stderr. */
static void remote_golden(char *const pre[], int n, const char *trace,
                          void (*start)(struct remote_run *rr, int k, void *arg), void *arg,
                          const char *const want_err[])
{
    char t[512], want[512], out[512], *argv[40];
    snprintf(t, sizeof t, "%s/%s.trace", GOLDEN_DIR, trace);
    snprintf(want, sizeof want, "%s/%s.csv", GOLDEN_DIR, trace);
    conf_path(out, "remote.csv");
    unlink(out);
    int argc = 0;
    for (; pre[argc]; argc++)
        argv[argc] = pre[argc];
    char *tail[] = {"--trace", t, "--dump", out, NULL};
    for (int k = 0; k < 5; k++)
        argv[argc++] = tail[k];
    struct remote_run rr;
    remote_coordinator(argv, n, &rr);
    for (int k = 0; k < n; k++)
        start(&rr, k, arg);
    struct proc_result r;
    cr_assert_eq(proc_wait(&rr.coord, 30000, &r), 0);
    cr_assert_not(r.timed_out);
    cr_expect_eq(r.status, 0, "%s: exit %d: %s", trace, r.status, proc_tail(r.err));
    cr_expect(files_equal(out, want), "%s: the dump differs from the golden one", trace);
    for (int k = 0; want_err && want_err[k]; k++)
        cr_expect(strstr(r.err, want_err[k]), "%s: want '%s' in: %s", trace, want_err[k], proc_tail(r.err));
    for (int k = 0; k < n; k++) {
        char err[4096];
        int st = remote_worker_exit(&rr, k, 5000, err, sizeof err);
        cr_expect_eq(st, 0, "%s: worker %d: exit %d: %s", trace, k, st, err);
    }
    proc_result_free(&r);
    remote_assert_clean(&rr);
}

static void as_printed(struct remote_run *rr, int k, void *arg)
{
    const char *dir = arg;
    char want[CONF_PATH_MAX + 16];
    snprintf(want, sizeof want, " --keys %s", dir);
    cr_assert(strstr(rr->cmd[k], want), "no '%s' in the printed command: %s", want, rr->cmd[k]);
    remote_worker(rr, k);
}

Test(phase5_net, with_keys_remote_workers_started_from_the_printed_commands_give_every_golden_dump)
{
    char dir[CONF_PATH_MAX];
    keygen(dir, "keys");
    char *pre[] = {PHASE5, "--remote", "--workers", "3", "--keys", dir, LONG_LEASE, NULL};
    for (size_t t = 0; t < sizeof golden / sizeof golden[0]; t++)
        remote_golden(pre, 3, golden[t], as_printed, dir, NULL);
}

/* ------------------------------------ 127.0.0.1, .2 and .3 as three hosts */

/* Worker k connects from 127.0.0.(k+1), its own "host": ZeroMQ's
 * "tcp://SOURCE:*;ADDRESS:PORT" form of --connect (any source port). */
static void from_own_address(struct remote_run *rr, int k, void *arg)
{
    (void)arg;
    char connect[300];
    const char *host = rr->endpoint + strlen("tcp://");
    snprintf(connect, sizeof connect, "tcp://127.0.0.%d:*;%s", k + 1, host);
    remote_worker_as(rr, k, NULL, connect);
}

Test(phase5_net, workers_on_127_0_0_1_2_and_3_give_every_golden_dump_through_a_coordinator_on_127_0_0_2)
{
    char dir[CONF_PATH_MAX];
    keygen(dir, "keys");
    char *pre[] = {PHASE5,   "--remote", "--workers", "3", "--bind", "tcp://127.0.0.2:*",
                   "--keys", dir,        LONG_LEASE,  NULL};
    for (size_t t = 0; t < sizeof golden / sizeof golden[0]; t++)
        remote_golden(pre, 3, golden[t], from_own_address, NULL, NULL);
    /* 127.0.0.2 is loopback: SPEC §10 asks CURVE only beyond it. */
    char *plain[] = {PHASE5, "--remote", "--workers", "3", "--bind", "tcp://127.0.0.2:*", LONG_LEASE, NULL};
    remote_golden(plain, 3, "lifecycle", from_own_address, NULL, NULL);
}

Test(phase5_net, the_coordinator_names_each_workers_address_in_its_status_and_in_its_loss_report)
{
    char dir[CONF_PATH_MAX], out[512];
    keygen(dir, "keys");
    conf_path(out, "d.csv");
    char *argv[] = {PHASE5, "--remote", "--workers", "3",          "--bind",   "tcp://127.0.0.2:*", "--keys",
                    dir,    "--rate",   "50000",     "--messages", "10000000", LONG_LEASE,          "--status-every",
                    "0.1",  "--dump",   out,         NULL};
    struct remote_run rr;
    remote_coordinator(argv, 3, &rr);
    for (int k = 0; k < 3; k++)
        from_own_address(&rr, k, NULL);
    for (int k = 0; k < 3; k++) {
        char want[64 + sizeof rr.endpoint];
        snprintf(want, sizeof want, "worker %d: pid %d, connected from 127.0.0.%d to %s", k, (int)rr.worker[k].pid,
                 k + 1, rr.endpoint);
        cr_expect(wait_for_text(rr.coord.err_path, want, 10000, NULL, 0), "no '%s' in the status table", want);
    }
    kill(rr.worker[2].pid, SIGKILL);
    struct proc_result r;
    cr_assert_eq(proc_wait(&rr.coord, 10000, &r), 0);
    cr_assert_not(r.timed_out);
    cr_expect_eq(r.status, 3, "exit %d: %s", r.status, proc_tail(r.err));
    char want[300];
    snprintf(want, sizeof want, "worker 2 (pid %d): ", (int)rr.worker[2].pid);
    char where[300];
    snprintf(where, sizeof where, "[connected from 127.0.0.3 to %s]", rr.endpoint);
    cr_expect(strstr(r.err, want) && strstr(r.err, where), "want '%s' ... '%s' in: %s", want, where, proc_tail(r.err));
    cr_expect_neq(access(out, F_OK), 0, "a dump was written");
    for (int k = 0; k < 2; k++) {
        char err[4096];
        int st = remote_worker_exit(&rr, k, 5000, err, sizeof err);
        cr_expect(st == 0 || st == 8, "worker %d: exit %d (want 0, released, or 8, peer gone): %s", k, st, err);
    }
    remote_worker_exit(&rr, 2, 1000, NULL, 0);
    proc_result_free(&r);
    remote_assert_clean(&rr);
}

/* ------------------------------------------------------------- strangers */

/* What a stranger tries: a HELLO claiming worker 0, then a DATA message
 * with a MSG frame for id and a QUERY frame for it. */
static void inject(void *sock, const char *id)
{
    uint8_t buf[512];
    struct codec_buf b = {.data = buf, .len = WIRE_HDR, .cap = sizeof buf};
    struct wire_hdr h = {.kind = WIRE_HELLO, .aux = 2, .seq = 1, .credit_frames = 64, .credit_bytes = 65536};
    wire_put_hdr(buf, &h);
    codec_put_ready(&b, 0, 1);
    zmq_send(sock, buf, b.len, 0);
    h = (struct wire_hdr){.kind = WIRE_DATA, .aux = 2, .seq = 2};
    wire_put_hdr(buf, &h);
    b.len = WIRE_HDR;
    struct msg m = {.seq = 1, .id = id, .id_len = (uint8_t)strlen(id), .event = EV_START};
    m.id_hash = fnv1a64(id, m.id_len);
    cr_assert_eq(codec_put_msg_head(&b, &m), 0);
    cr_assert_eq(codec_put_query(&b, 1, id, strlen(id)), 0);
    zmq_send(sock, buf, b.len, 0);
}

/* A DEALER of the test's own at endpoint: with keys (a CURVE client with
 * server_pub and its own pair into pub), or without CURVE when server_pub
 * is NULL. It injects, waits a moment, and closes. */
static void stranger(const char *endpoint, const char *server_pub, char *pub)
{
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 500;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    if (server_pub) {
        char secret[41];
        cr_assert_eq(zmq_curve_keypair(pub, secret), 0);
        cr_assert_eq(zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, server_pub, 40), 0);
        cr_assert_eq(zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, pub, 40), 0);
        cr_assert_eq(zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, secret, 40), 0);
    }
    cr_assert_eq(zmq_connect(s, endpoint), 0, "%s: %s", endpoint, zmq_strerror(zmq_errno()));
    inject(s, "intruder");
    proc_sleep_ms(300);
    zmq_close(s);
    zmq_ctx_term(ctx);
}

Test(phase5_net, a_stranger_with_another_key_pair_or_without_curve_cannot_inject_a_message_or_a_query)
{
    char dir[CONF_PATH_MAX], out[512], ref[512], endpoint[256], server_pub[41], pub[41];
    keygen(dir, "keys");
    read_key(dir, "coordinator.pub", server_pub);
    char *gen[] = {"--messages", "20000", "--ids", "300", NULL};
    conf_phase1_dump(gen, conf_path(ref, "ref.csv"));
    char *argv[] = {PHASE5,
                    "--keys",
                    dir,
                    "--messages",
                    "20000",
                    "--ids",
                    "300",
                    "--rate",
                    "20000",
                    "--workers",
                    "2",
                    "--dump",
                    conf_path(out, "d.csv"),
                    NULL};
    struct proc p;
    start_coordinator(argv, &p, endpoint, sizeof endpoint);
    conf_worker_pid(p.pid, 1, 2);
    proc_sleep_ms(200);
    stranger(endpoint, server_pub, pub);
    stranger(endpoint, NULL, NULL);
    char want[200];
    snprintf(want, sizeof want, "refused a peer at 127.0.0.1 (CURVE key %s): not the worker key", pub);
    cr_expect(wait_for_text(p.err_path, want, 5000, NULL, 0), "no '%s' during the run", want);

    struct proc_result r;
    cr_assert_eq(proc_wait(&p, 20000, &r), 0);
    cr_assert_not(r.timed_out);
    cr_assert_eq(r.status, 0, "exit %d: %s", r.status, proc_tail(r.err));
    /* At least once: libzmq may retry the refused stranger's handshake. */
    cr_expect(strstr(r.err, " in all (not the worker key), admitted 2\n"), "%s", proc_tail(r.err));
    /* Not one of their messages reached the ROUTER: inbox.c reports every
     * stranger's message it sees. */
    cr_expect_null(strstr(r.err, "unknown peer"), "%s", proc_tail(r.err));
    cr_expect(files_equal(ref, out), "dump differs from phase 1's");
    proc_result_free(&r);
    conf_assert_clean_exit(p.pid);
}

Test(phase5_net, a_worker_with_other_keys_or_none_is_refused_with_exit_8_and_the_right_one_then_runs)
{
    char dir[CONF_PATH_MAX], other[CONF_PATH_MAX], out[512], want[512], trace[512], other_pub[41];
    keygen(dir, "keys");
    stranger_keys(other, dir);
    read_key(other, "worker.pub", other_pub);
    snprintf(trace, sizeof trace, "%s/hotkey.trace", GOLDEN_DIR);
    snprintf(want, sizeof want, "%s/hotkey.csv", GOLDEN_DIR);
    conf_path(out, "d.csv");
    char *argv[] = {PHASE5,    "--remote", "--workers", "1",      "--keys", dir,
                    "--trace", trace,      LONG_LEASE,  "--dump", out,      NULL};
    struct remote_run rr;
    remote_coordinator(argv, 1, &rr);
    char *wrong[] = {PHASE5, "--worker", "--connect", rr.endpoint, "--index", "0",
                     "--of", "1",        LONG_LEASE,  "--keys",    other,     NULL};
    char *none[] = {PHASE5, "--worker", "--connect", rr.endpoint, "--index", "0", "--of", "1", LONG_LEASE, NULL};
    struct proc_result r;
    char tail[512];
    /* Refused only by a coordinator that is there: otherwise each waits. */
    cr_assert_not(proc_has_exited(rr.coord.pid), "the coordinator has ended: %s",
                  proc_err_tail(rr.coord.pid, tail, sizeof tail));
    conf_run(wrong, NULL, 8, &r);
    cr_expect(strstr(r.err, "the coordinator refused this worker's CURVE key"), "%s", r.err);
    proc_result_free(&r);
    conf_run(none, NULL, 8, &r);
    cr_expect(strstr(r.err, "the handshake with the coordinator failed"), "%s", r.err);
    proc_result_free(&r);

    remote_worker(&rr, 0);
    cr_assert_eq(proc_wait(&rr.coord, 20000, &r), 0);
    cr_assert_not(r.timed_out);
    cr_expect_eq(r.status, 0, "exit %d: %s", r.status, proc_tail(r.err));
    char refusal[200];
    snprintf(refusal, sizeof refusal, "refused a peer at 127.0.0.1 (CURVE key %s): not the worker key", other_pub);
    cr_expect(strstr(r.err, refusal), "want '%s' in: %s", refusal, proc_tail(r.err));
    cr_expect(files_equal(out, want), "the dump differs from the golden one");
    cr_expect_eq(remote_worker_exit(&rr, 0, 5000, NULL, 0), 0);
    proc_result_free(&r);
    remote_assert_clean(&rr);
}

/* ------------------------------------------------ network namespaces */

struct in_ns {
    char (*ns)[64];
};

/* Worker k in namespace ns[k + 1], from its printed command. */
static void in_namespace(struct remote_run *rr, int k, void *arg)
{
    struct in_ns *lab = arg;
    char *wrap[] = {IP, "netns", "exec", lab->ns[k + 1], NULL};
    remote_worker_as(rr, k, wrap, NULL);
}

Test(phase5_net, workers_in_network_namespaces_of_their_own_give_the_golden_dumps_through_curve)
{
    char ns[NS_MAX][64], why[512];
    if (!ns_lab(ns, why, sizeof why))
        cr_skip_test("cannot make network namespaces here: %s", why);
    char dir[CONF_PATH_MAX];
    keygen(dir, "keys");
    /* The coordinator in ns[0] binds its bridge's address, which is not
     * loopback: --keys is what allows it. */
    char *pre[] = {IP,         "netns",     "exec",     ns[0],    PHASE5,
                   "--remote", "--workers", "2",        "--bind", "tcp://10.213.0.1:*",
                   "--keys",   dir,         LONG_LEASE, NULL};
    struct in_ns lab = {ns};
    const char *traces[] = {"hotkey", "lifecycle", "edges"};
    /* Its debug log names where each worker connected from. */
    const char *const from[] = {"connected from 10.213.0.2", "connected from 10.213.0.3", NULL};
    setenv("MSGROUTE_LOG", "debug", 1);
    for (size_t t = 0; t < sizeof traces / sizeof traces[0]; t++)
        remote_golden(pre, 2, traces[t], in_namespace, &lab, from);
    unsetenv("MSGROUTE_LOG");
}

/* A host that vanishes: the coordinator's namespace loses its address, so
 * nothing the worker sends is acknowledged and nothing reaches it. The
 * worker keeps handing credit back, so its connection is not idle and
 * keepalive does not probe it; it is the bound on unacknowledged data
 * (P5_UNACKED_MAX_MS, zcall.h) that ends it, with exit 8, instead of the
 * kernel's retransmissions for minutes. */
Test(phase5_net, a_worker_whose_coordinators_host_vanishes_ends_with_exit_8_at_its_unacked_bound, .timeout = 90)
{
    char ns[NS_MAX][64], why[512];
    if (!ns_lab(ns, why, sizeof why))
        cr_skip_test("cannot make network namespaces here: %s", why);
    char dir[CONF_PATH_MAX];
    keygen(dir, "keys");
    /* A lease longer than the worker's bound: the coordinator must not end
     * the run (and its worker) first. */
    char *argv[] = {IP,          "netns",     "exec",    ns[0],    PHASE5,
                    "--remote",  "--workers", "1",       "--bind", "tcp://10.213.0.1:*",
                    "--keys",    dir,         "--lease", "120000", "--messages",
                    "100000000", "--rate",    "20000",   NULL};
    struct remote_run rr;
    struct in_ns lab = {ns};
    remote_coordinator(argv, 1, &rr);
    in_namespace(&rr, 0, &lab);
    proc_sleep_ms(1500);
    /* The run is under way: neither has ended before the cut. */
    cr_expect_not(proc_has_exited(rr.coord.pid), "the coordinator ended before the cut: %s",
                  proc_err_tail(rr.coord.pid, why, sizeof why));
    cr_expect_not(proc_has_exited(rr.worker[0].pid), "the worker ended before the cut");
    ip_ok((char *[]){"-n", ns[0], "addr", "del", "10.213.0.1/24", "dev", "br0", NULL});
    long long t0 = proc_now_ms();
    char err[4096];
    int st = remote_worker_exit(&rr, 0, P5_UNACKED_MAX_MS + 20000, err, sizeof err);
    long long took = proc_now_ms() - t0;
    cr_expect_eq(st, 8, "worker: exit %d after %lld ms: %s", st, took, err);
    cr_expect(strstr(err, "connection to the coordinator closed"), "%s", err);
    cr_expect_lt(took, P5_UNACKED_MAX_MS + 10000, "the worker took %lld ms to give up", took);
    kill(rr.coord.pid, SIGKILL);
    struct proc_result r;
    proc_wait(&rr.coord, 5000, &r);
    proc_result_free(&r);
    remote_assert_clean(&rr);
}

/* test_phase5_remote_recover.c - --remote --recover (SPEC §8, §10;
 * phases/phase5/ckpt.c): workers on "other hosts" send their checkpoints
 * over the network; one that is killed, stopped or breaks the protocol is
 * replaced by a worker started from the command the coordinator prints for
 * it, which gets the last checkpoint and the replay, and the run ends with
 * phase 1's dump. Every run leaves no process and nothing in /dev/shm. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "codec.h"
#include "conformance.h"
#include "fnv.h"
#include "proc.h"
#include "remote.h"
#include "wire.h"

#define PHASE5 BIN_DIR "/phase5"
#define RUN_MS 90000
#define REPLACE "start its replacement, on any host, as:"

TestSuite(phase5_remote_recover, .timeout = 180, .init = conf_suite_init, .fini = conf_suite_fini);

/* The coordinator argv with its log at debug level (its "checkpoint of"
 * lines tell when a worker has sent one); the workers it prints start
 * without. */
static void start_logged(char *const argv[], int n, struct remote_run *rr)
{
    cr_assert_eq(setenv("MSGROUTE_LOG", "debug", 1), 0);
    remote_coordinator(argv, n, rr);
    unsetenv("MSGROUTE_LOG");
}

/* How many times text occurs in the file at path. */
static int count_in(const char *path, const char *text)
{
    char *s = read_file(path, NULL);
    int k = 0;
    for (const char *at = s; at && (at = strstr(at, text)); at++)
        k++;
    free(s);
    return k;
}

/* Waits until the file at path holds text at least times times. */
static bool wait_count(const char *path, const char *text, int times, int ms)
{
    for (long long end = proc_now_ms() + ms; proc_now_ms() < end; proc_sleep_ms(10))
        if (count_in(path, text) >= times)
            return true;
    return false;
}

/* Worker k's process is gone (killed by the test): reaped, and a new one
 * started from the same printed command once the coordinator asks for it
 * (the n-th time it does). */
static void replace(struct remote_run *rr, int k, int nth)
{
    cr_assert(wait_count(rr->coord.err_path, REPLACE, nth, 10000),
              "the coordinator did not ask for worker %d's replacement", k);
    remote_worker_exit(rr, k, 5000, NULL, 0);
    remote_worker(rr, k);
}

/* The checkpoint position a restart named: "from its checkpoint at message N". */
static unsigned long long restart_position(const char *err, int nth)
{
    const char *at = err;
    for (int k = 0; k < nth && at; k++)
        if ((at = strstr(at, "from its checkpoint at message ")))
            at += strlen("from its checkpoint at message ");
    return at ? strtoull(at, NULL, 10) : 0;
}

/* Starts argv's two remote workers and waits until worker k has sent a
 * checkpoint. */
static void start_past_a_checkpoint(char *const argv[], struct remote_run *rr, int k)
{
    start_logged(argv, 2, rr);
    for (int i = 0; i < 2; i++)
        remote_worker(rr, i);
    char said[64];
    snprintf(said, sizeof said, "worker %d: checkpoint of", k);
    cr_assert(wait_count(rr->coord.err_path, said, 1, 20000), "worker %d sent no checkpoint", k);
}

/* The end every run here must reach: exit 0, phase 1's dump (d1), every
 * worker ending with 0, nothing left. r keeps the coordinator's log for the
 * caller's own checks; the caller frees it. */
static void assert_exact_end(struct remote_run *rr, const char *d1, const char *dn, struct proc_result *r)
{
    cr_assert_eq(proc_wait(&rr->coord, RUN_MS, r), 0);
    cr_assert_not(r->timed_out);
    cr_assert_eq(r->status, 0, "exit %d: %s", r->status, proc_tail(r->err));
    cr_expect(files_equal(d1, dn), "the dump differs from phase 1's");
    for (int k = 0; k < rr->n; k++) {
        char err[4096];
        int st = remote_worker_exit(rr, k, 5000, err, sizeof err);
        cr_expect_eq(st, 0, "worker %d: exit %d: %s", k, st, err);
    }
    remote_assert_clean(rr);
}

/* A worker told that it has no place in the run (wire.h, wire_gone): it
 * ends at once with exit 8, saying told. */
static void assert_told_to_end(struct proc *p, const char *who, const char *told)
{
    struct proc_result r;
    cr_assert_eq(proc_wait(p, 5000, &r), 0);
    cr_expect_not(r.timed_out, "%s did not end", who);
    cr_expect_eq(r.status, 8, "%s: exit %d, want 8: %s", who, r.status, proc_tail(r.err));
    cr_expect(strstr(r.err, told), "%s was not told: %s", who, proc_tail(r.err));
    proc_result_free(&r);
}

Test(phase5_remote_recover,
     killed_remote_workers_are_replaced_from_their_printed_command_and_checkpoint_and_the_dump_is_exact)
{
    char d1[CONF_PATH_MAX], dn[CONF_PATH_MAX];
    conf_path(d1, "p1.csv");
    conf_path(dn, "pn.csv");
    char *gen[] = {"--messages", "1500000", "--ids", "1000", "--seed", "4", NULL};
    conf_phase1_dump(gen, d1);
    char *argv[] = {PHASE5, "--remote", "--recover", "--workers", "2",      "--messages", "1500000", "--ids",
                    "1000", "--seed",   "4",         "--rate",    "300000", "--dump",     dn,        NULL};
    struct remote_run rr;
    /* Killed once it has sent a checkpoint: its replacement starts from it. */
    start_past_a_checkpoint(argv, &rr, 1);
    kill(rr.worker[1].pid, SIGKILL);
    replace(&rr, 1, 1);
    /* Its replacement is killed in turn, as soon as it has connected. */
    cr_assert(wait_count(rr.coord.err_path, "worker 1: restarted as pid", 1, 10000), "the replacement did not connect");
    kill(rr.worker[1].pid, SIGKILL);
    replace(&rr, 1, 2);

    struct proc_result r;
    assert_exact_end(&rr, d1, dn, &r);
    cr_expect_gt(restart_position(r.err, 1), 0, "the first restart was not from a checkpoint: %s", proc_tail(r.err));
    cr_expect(strstr(r.err, "worker 1 (pid "), "%s", proc_tail(r.err));
    proc_result_free(&r);
}

/* A stopped remote worker is lost at its lease; once its replacement has
 * taken over, the stale one, continued, cannot touch the run (what it sends
 * is dropped) and is told that it was replaced: it ends at once, with exit
 * 8, while the run goes on. */
Test(phase5_remote_recover, a_stopped_remote_worker_is_replaced_at_its_lease_and_the_stale_one_changes_nothing)
{
    char d1[CONF_PATH_MAX], dn[CONF_PATH_MAX];
    conf_path(d1, "p1.csv");
    conf_path(dn, "pn.csv");
    char *gen[] = {"--messages", "600000", "--ids", "500", "--seed", "7", NULL};
    conf_phase1_dump(gen, d1);
    char *argv[] = {PHASE5, "--remote", "--recover", "--workers", "2",      "--messages", "600000", "--ids",
                    "500",  "--seed",   "7",         "--rate",    "200000", "--dump",     dn,       NULL};
    struct remote_run rr;
    start_past_a_checkpoint(argv, &rr, 0);
    struct proc stale = rr.worker[0];
    cr_assert_eq(kill(stale.pid, SIGSTOP), 0);
    cr_assert(wait_count(rr.coord.err_path, REPLACE, 1, 10000), "the stopped worker was not lost");
    remote_worker(&rr, 0);
    cr_assert(wait_count(rr.coord.err_path, "worker 0: restarted as pid", 1, 10000), "the replacement did not connect");
    kill(stale.pid, SIGCONT);
    assert_told_to_end(&stale, "the stale worker", "has replaced it");
    cr_expect(!proc_has_exited(rr.coord.pid), "the run ended before the stale worker did: nothing was shown");

    struct proc_result r;
    assert_exact_end(&rr, d1, dn, &r);
    cr_expect(strstr(r.err, "worker 0 (pid ") && strstr(r.err, "past its 300 ms lease"), "%s", proc_tail(r.err));
    proc_result_free(&r);
    conf_assert_clean_exit(stale.pid);
}

/* A replacement started while the worker it would replace is still
 * connected would wait for ever for a place that is not free: the
 * coordinator tells it so, it ends at once with exit 8, and the run, which
 * it never touched, ends with phase 1's dump. */
Test(phase5_remote_recover, a_replacement_started_while_its_worker_is_connected_is_told_to_end)
{
    char d1[CONF_PATH_MAX], dn[CONF_PATH_MAX];
    conf_path(d1, "p1.csv");
    conf_path(dn, "pn.csv");
    char *gen[] = {"--messages", "400000", "--ids", "500", NULL};
    conf_phase1_dump(gen, d1);
    char *argv[] = {PHASE5,  "--remote", "--recover", "--workers", "2",      "--messages", "400000",
                    "--ids", "500",      "--rate",    "200000",    "--dump", dn,           NULL};
    struct remote_run rr;
    start_past_a_checkpoint(argv, &rr, 0);
    struct proc first = rr.worker[0];
    remote_worker(&rr, 0);
    struct proc early = rr.worker[0];
    rr.worker[0] = first;
    assert_told_to_end(&early, "the early replacement", "connected already");

    struct proc_result r;
    assert_exact_end(&rr, d1, dn, &r);
    cr_expect(strstr(r.err, "a HELLO for worker 0, which is connected (told to end)"), "%s", proc_tail(r.err));
    proc_result_free(&r);
    conf_assert_clean_exit(early.pid);
}

/* A HELLO as worker 0 of 1 granting a small window, from a DEALER of the
 * test's own. */
static void fake_hello(void *sock)
{
    uint8_t buf[256];
    struct codec_buf b = {.data = buf, .len = WIRE_HDR, .cap = sizeof buf};
    struct wire_hdr h = {.kind = WIRE_HELLO, .aux = 1, .seq = 1, .credit_frames = 64, .credit_bytes = 65536};
    wire_put_hdr(buf, &h);
    codec_put_ready(&b, 0, 4242);
    cr_assert_eq(zmq_send(sock, buf, b.len, 0), (int)b.len);
}

/* A fake worker (the test's own DEALER, worker 0 of 1) sends the checkpoint
 * that put() writes after the envelope; the coordinator must take it for a
 * protocol error (expect: what its log then says) and ask for a
 * replacement, which gets the checkpoint the run had (none: empty) and
 * finishes with phase 1's dump. Before that, the coordinator's first
 * message to the fake is its empty starting checkpoint. */
static void fake_checkpoint_is_refused(void (*put)(struct codec_buf *b), const char *expect)
{
    char d1[CONF_PATH_MAX], dn[CONF_PATH_MAX];
    conf_path(d1, "p1.csv");
    conf_path(dn, "pn.csv");
    char *gen[] = {"--messages", "100000", "--ids", "300", NULL};
    conf_phase1_dump(gen, d1);
    char *argv[] = {PHASE5,  "--remote", "--recover", "--workers", "1",      "--messages", "100000",
                    "--ids", "300",      "--lease",   "20000",     "--dump", dn,           NULL};
    struct remote_run rr;
    start_logged(argv, 1, &rr);

    void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0, timeout = 10000;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    cr_assert_eq(zmq_connect(s, rr.endpoint), 0, "%s: %s", rr.endpoint, zmq_strerror(zmq_errno()));
    fake_hello(s);
    uint8_t first[4096];
    int got = zmq_recv(s, first, sizeof first, 0);
    struct wire_hdr h;
    char why[128];
    cr_assert_geq(got, (int)WIRE_HDR, "nothing from the coordinator");
    cr_assert_eq(wire_get_hdr(first, (size_t)got, &h, why, sizeof why), 0, "%s", why);
    cr_expect_eq(h.kind, WIRE_CKPT, "its first message is of kind %u, not a checkpoint", h.kind);
    cr_expect_gt(h.aux, 0, "no checkpoint interval");

    uint8_t buf[1024];
    struct codec_buf b = {.data = buf, .len = WIRE_HDR, .cap = sizeof buf};
    h = (struct wire_hdr){.kind = WIRE_CKPT, .aux = 1, .seq = 2};
    wire_put_hdr(buf, &h);
    put(&b);
    cr_assert_eq(zmq_send(s, buf, b.len, 0), (int)b.len);
    cr_assert(wait_count(rr.coord.err_path, REPLACE, 1, 10000), "the bad checkpoint was not refused");
    zmq_close(s);
    zmq_ctx_term(ctx);
    remote_worker(&rr, 0);

    struct proc_result r;
    assert_exact_end(&rr, d1, dn, &r);
    cr_expect(strstr(r.err, expect) && strstr(r.err, "(protocol error)"), "%s", proc_tail(r.err));
    proc_result_free(&r);
}

/* A position past every message routed to the worker. */
static void put_position_from_the_future(struct codec_buf *b)
{
    codec_put_stats(b, 0, 99999999, 0, 0, 0);
    codec_put_end(b, 0);
}

Test(phase5_remote_recover, a_checkpoint_that_cannot_be_the_workers_is_refused_and_its_replacement_finishes_the_run)
{
    fake_checkpoint_is_refused(put_position_from_the_future, "sent a checkpoint of 0 machines at message 99999999");
}

/* A checkpoint at the start of the stream (a position the coordinator
 * accepts) that names one machine twice: its replacement would refuse to
 * load it, and so would every later one. */
static void put_a_machine_twice(struct codec_buf *b)
{
    struct machine twice[2];
    sm_init(&twice[0], "id-7", 4, fnv1a64("id-7", 4));
    twice[1] = twice[0];
    codec_put_stats(b, 0, 0, 0, 2, 0);
    cr_assert_eq(codec_put_records(b, twice, 2), 0);
    codec_put_end(b, 2);
}

Test(phase5_remote_recover, a_checkpoint_naming_a_machine_twice_is_refused_and_its_replacement_finishes_the_run)
{
    fake_checkpoint_is_refused(put_a_machine_twice, "sent a checkpoint holding machine id-7 twice");
}

/* test_pool.c - the worker pool of pool.h as phases 3-5 use it: workers
 * run their body and are reaped, a death is reported from the loop with its
 * cause, a worker keeps only its own descriptors, ignores Ctrl-C, and
 * pool_reap_all() never leaves one behind. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "pool.h"

TestSuite(pool, .timeout = 20);

struct seen {
    int calls;
    uint32_t index[8];
    int wstatus[8];
    uint64_t at_ns[8];
};

static void on_exit_record(struct pool *p, uint32_t i, pid_t pid, int wstatus, void *arg)
{
    struct seen *s = arg;
    (void)p;
    (void)pid;
    s->index[s->calls] = i;
    s->wstatus[s->calls] = wstatus;
    s->at_ns[s->calls] = now_ns();
    s->calls++;
}

static int body_exit_index(struct pool *p, uint32_t index, void *arg)
{
    (void)p;
    (void)arg;
    return (int)index + 10;
}

static int body_wait_forever(struct pool *p, uint32_t index, void *arg)
{
    (void)p;
    (void)index;
    (void)arg;
    for (;;)
        pause();
    return 0;
}

static void stop_when_all_reaped(uv_timer_t *t)
{
    struct pool *p = t->data;
    if (pool_alive(p) == 0)
        uv_stop(t->loop);
}

/* Runs loop until every worker of p is reaped or timeout_ms pass. */
static void run_until_reaped(uv_loop_t *loop, struct pool *p, int timeout_ms)
{
    uv_timer_t t;
    uv_timer_init(loop, &t);
    t.data = p;
    uv_timer_start(&t, stop_when_all_reaped, 1, 1);
    uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000u;
    while (pool_alive(p) > 0 && now_ns() < deadline)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
}

static void close_loop(uv_loop_t *loop, struct pool *p)
{
    pool_unwatch(p);
    uv_run(loop, UV_RUN_DEFAULT);
    cr_expect_eq(uv_loop_close(loop), 0);
}

Test(pool, every_worker_runs_its_body_and_its_exit_status_is_reported)
{
    struct seen s = {0};
    struct pool p;
    cr_assert_eq(pool_init(&p, 3, PIN_NONE, body_exit_index, NULL, on_exit_record, &s), 0);
    cr_assert_eq(pool_start(&p), 0);
    uv_loop_t loop;
    uv_loop_init(&loop);
    cr_assert_eq(pool_watch(&p, &loop), 0);
    run_until_reaped(&loop, &p, 5000);
    cr_assert_eq(s.calls, 3);
    for (int k = 0; k < 3; k++) {
        cr_expect(WIFEXITED(s.wstatus[k]));
        cr_expect_eq(WEXITSTATUS(s.wstatus[k]), (int)s.index[k] + 10);
        char how[64];
        pool_describe_exit(s.wstatus[k], how, sizeof how);
        char want[64];
        snprintf(want, sizeof want, "exited with status %u (an unknown status)", s.index[k] + 10);
        cr_expect_str_eq(how, want);
    }
    close_loop(&loop, &p);
    pool_free(&p);
}

Test(pool, a_killed_worker_is_reported_from_the_loop_within_100_ms)
{
    struct seen s = {0};
    struct pool p;
    cr_assert_eq(pool_init(&p, 2, PIN_NONE, body_wait_forever, NULL, on_exit_record, &s), 0);
    cr_assert_eq(pool_start(&p), 0);
    uv_loop_t loop;
    uv_loop_init(&loop);
    cr_assert_eq(pool_watch(&p, &loop), 0);
    uint64_t t0 = now_ns();
    kill(p.w[1].pid, SIGKILL);
    while (s.calls == 0 && now_ns() - t0 < 2000000000ull)
        uv_run(&loop, UV_RUN_ONCE);
    cr_assert_eq(s.calls, 1);
    cr_expect_eq(s.index[0], 1);
    cr_expect_lt(s.at_ns[0] - t0, 100000000ull, "reported after %.1f ms", (double)(s.at_ns[0] - t0) / 1e6);
    char how[64];
    pool_describe_exit(s.wstatus[0], how, sizeof how);
    cr_expect_str_eq(how, "killed by SIGKILL");
    cr_expect(p.w[0].alive);
    cr_expect_not(p.w[1].alive);
    pool_signal_all(&p, SIGKILL);
    run_until_reaped(&loop, &p, 5000);
    cr_expect_eq(pool_alive(&p), 0);
    close_loop(&loop, &p);
    pool_free(&p);
}

/* Two pipes made before the fork: worker 0 keeps the first only. */
static int fds_a[2], fds_b[2];

static size_t keep_first(uint32_t index, int *fds, void *arg)
{
    (void)index;
    (void)arg;
    fds[0] = fds_a[1];
    return 1;
}

static int body_check_fds(struct pool *p, uint32_t index, void *arg)
{
    (void)p;
    (void)index;
    (void)arg;
    bool kept = fcntl(fds_a[1], F_GETFD) >= 0;
    bool closed =
        fcntl(fds_b[0], F_GETFD) < 0 && errno == EBADF && fcntl(fds_b[1], F_GETFD) < 0 && fcntl(fds_a[0], F_GETFD) < 0;
    /* Ctrl-C reaches the whole process group: a worker must survive it. */
    raise(SIGINT);
    return kept && closed ? 0 : 1;
}

Test(pool, a_worker_keeps_only_its_own_descriptors_and_ignores_sigint)
{
    cr_assert_eq(pipe(fds_a), 0);
    cr_assert_eq(pipe(fds_b), 0);
    struct pool p;
    cr_assert_eq(pool_init(&p, 1, PIN_NONE, body_check_fds, keep_first, NULL, NULL), 0);
    cr_assert_eq(pool_start(&p), 0);
    cr_assert_eq(pool_reap_all(&p, 5000), 0);
    cr_expect(WIFEXITED(p.w[0].wstatus), "worker did not exit normally: %#x", (unsigned)p.w[0].wstatus);
    cr_expect_eq(WEXITSTATUS(p.w[0].wstatus), 0, "a descriptor was kept or closed wrongly");
    for (int k = 0; k < 2; k++) {
        close(fds_a[k]);
        close(fds_b[k]);
    }
    pool_free(&p);
}

Test(pool, reap_all_kills_what_does_not_end_by_the_deadline)
{
    struct pool p;
    cr_assert_eq(pool_init(&p, 3, PIN_NONE, body_wait_forever, NULL, NULL, NULL), 0);
    cr_assert_eq(pool_start(&p), 0);
    pid_t pids[3];
    for (int i = 0; i < 3; i++)
        pids[i] = p.w[i].pid;
    uint64_t t0 = now_ns();
    cr_expect_eq(pool_reap_all(&p, 50), 3);
    cr_expect_lt(now_ns() - t0, 2000000000ull);
    cr_expect_eq(pool_alive(&p), 0);
    for (int i = 0; i < 3; i++)
        cr_expect(kill(pids[i], 0) < 0 && errno == ESRCH, "worker %d is still there", i);
    pool_free(&p);
}

static int body_count(struct pool *p, uint32_t index, void *arg)
{
    (void)arg;
    atomic_store_explicit(&pool_slot(p, index)->handled, 1000 + index, memory_order_relaxed);
    return 0;
}

Test(pool, a_worker_s_statistics_slot_is_visible_to_the_main_process)
{
    struct pool p;
    cr_assert_eq(pool_init(&p, 2, PIN_NONE, body_count, NULL, NULL, NULL), 0);
    cr_assert_eq(pool_start(&p), 0);
    cr_assert_eq(pool_reap_all(&p, 5000), 0);
    for (uint32_t i = 0; i < 2; i++)
        cr_expect_eq(atomic_load(&pool_slot(&p, i)->handled), 1000 + i);
    cr_expect_eq((uintptr_t)pool_slot(&p, 1) % 64, 0, "two slots would share a cache line");
    pool_free(&p);
}

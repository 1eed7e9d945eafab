/* grade_util.c - the oracle dump, JSON reading and the performance ratio of
 * the graded tests (see grade_util.h). */
#include "grade_util.h"

#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "json_top.h"
#include "oracle.h"
#include "proc.h"

int grade_oracle_dump(const struct gen_config *cfg, const char *path)
{
    struct source src;
    if (source_init_generator(&src, cfg) < 0)
        return -1;
    char err[256];
    int rc = oracle_dump(&src, path, err, sizeof err);
    source_free(&src);
    return rc;
}

static char *test_dir;

const char *grade_test_dir(void)
{
    if (!test_dir)
        test_dir = temp_dir();
    cr_assert_not_null(test_dir, "cannot create a temporary folder");
    return test_dir;
}

void grade_drop_dir(void)
{
    remove_dir(test_dir);
    test_dir = NULL;
}

void grade_run_workload(const char *program, const struct gen_config *cfg, const char *dist, char *const flags[],
                        const char *out, struct proc_result *r)
{
    char messages[32], ids[32], payload[32], seed[32];
    snprintf(messages, sizeof messages, "%llu", (unsigned long long)cfg->messages);
    snprintf(ids, sizeof ids, "%u", cfg->ids);
    snprintf(payload, sizeof payload, "%u-%u", cfg->payload_min, cfg->payload_max);
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)cfg->seed);
    enum { ARGV_MAX = 48 };
    char *argv[ARGV_MAX] = {(char *)program, "--messages", messages, "--ids", ids,      "--dist",    (char *)dist,
                            "--payload",     payload,      "--seed", seed,    "--dump", (char *)out, "--json"};
    int n = 14;
    while (flags && *flags) {
        cr_assert_lt(n, ARGV_MAX - 1, "too many flags for one run");
        argv[n++] = *flags++;
    }
    argv[n] = NULL;
    /* Started in a process group of its own (proc.h), whose id is its pid:
     * what is left in it after the run is a worker nobody reaped. */
    struct proc p;
    cr_assert_eq(proc_start(argv, &p), 0, "cannot start %s", program);
    cr_assert_eq(proc_wait(&p, 30000, r), 0);
    int left = count_group_processes(p.pid);
    cr_assert_not(r->timed_out, "%s did not finish within 30 s; its stderr ended:\n%s", program, proc_tail(r->err));
    cr_assert_eq(r->status, 0, "%s exited %d; its stderr ended:\n%s", program, r->status, proc_tail(r->err));
    cr_expect_eq(grade_json_number(r->out, "corrupt"), 0, "corrupt payloads reported");
    cr_expect_eq(left, 0, "%d processes of the run are still there", left);
}

void grade_expect_oracle_dump(const char *program, const struct gen_config *cfg, const char *dist, const char *knob,
                              const char *const values[], size_t nvalues, char *const extra[], double secs[])
{
    char want[512], got[512];
    snprintf(want, sizeof want, "%s/oracle.csv", grade_test_dir());
    cr_assert_eq(grade_oracle_dump(cfg, want), 0, "the oracle could not run");
    for (size_t k = 0; k < nvalues; k++) {
        char *flags[32], label[64] = "";
        int n = 0;
        if (knob) {
            flags[n++] = (char *)knob;
            flags[n++] = (char *)values[k];
            snprintf(label, sizeof label, "%s %s: ", knob, values[k]);
        }
        for (char *const *e = extra; e && *e; e++) {
            cr_assert_lt(n, 31, "too many extra flags");
            flags[n++] = *e;
        }
        flags[n] = NULL;
        snprintf(got, sizeof got, "%s/run-%zu.csv", grade_test_dir(), k);
        struct proc_result r;
        double t0 = grade_now();
        grade_run_workload(program, cfg, dist, flags, got, &r);
        if (secs)
            secs[k] = grade_now() - t0;
        cr_expect(files_equal(got, want), "%sthe dump differs from the oracle's (%s, %llu messages, %u ids)", label,
                  dist, (unsigned long long)cfg->messages, cfg->ids);
        double routed = grade_json_number(r.out, "messages");
        cr_expect_eq(routed, (double)cfg->messages, "%s%.0f messages routed, not %llu", label, routed,
                     (unsigned long long)cfg->messages);
        proc_result_free(&r);
    }
}

double grade_json_number(const char *out, const char *key)
{
    const char *p = json_top_value(json_top_last_object(out), key);
    return p ? strtod(p, NULL) : -1;
}

double grade_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double grade_children_cpu(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_CHILDREN, &ru) < 0)
        return 0;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

/* One timed run of bin with args, checked; its time by the clock asked. */
static double timed_run(const char *bin, char *const args[], uint64_t expect, bool student, enum grade_clock clock)
{
    char *argv[32] = {(char *)bin};
    int n = 1;
    while (args[n - 1] && n < 31) {
        argv[n] = args[n - 1];
        n++;
    }
    argv[n] = NULL;
    struct proc_result r;
    double c0 = grade_children_cpu(), t0 = grade_now();
    cr_assert_eq(proc_run(argv, NULL, 60000, &r), 0, "cannot start %s", bin);
    double secs = clock == GRADE_CPU ? grade_children_cpu() - c0 : grade_now() - t0;
    cr_assert_not(r.timed_out, "%s: no result within 60 s; its stderr ended:\n%s", bin, proc_tail(r.err));
    cr_assert_eq(r.status, 0, "%s %s: exit %d; its stderr ended:\n%s", student ? "your" : "the reference", bin,
                 r.status, proc_tail(r.err));
    double got = grade_json_number(r.out, "messages");
    cr_assert_eq(got, (double)expect, "%s: routed %.0f messages, not %llu", bin, got, (unsigned long long)expect);
    proc_result_free(&r);
    return secs;
}

double grade_perf_ratio(const char *program, char *const args[], uint64_t expect_messages, int reps,
                        enum grade_clock clock)
{
    const char *ref = getenv("MSGROUTE_REF_BIN");
    if (!ref || !*ref)
        cr_skip_test("no reference build (MSGROUTE_REF_BIN): performance is graded by 'make grade', "
                     "as a ratio to the reference measured in the same run");
    char mine[512], theirs[512];
    snprintf(mine, sizeof mine, "%s/%s", BIN_DIR, program);
    snprintf(theirs, sizeof theirs, "%s/%s", ref, program);
    double *a = calloc((size_t)reps, sizeof *a), *b = calloc((size_t)reps, sizeof *b);
    cr_assert(a && b);
    for (int i = 0; i < reps; i++) {
        /* Alternate which goes first, so that a warm-up or a burst of load
         * from elsewhere does not always favour the same side. */
        if (i % 2) {
            b[i] = timed_run(theirs, args, expect_messages, false, clock);
            a[i] = timed_run(mine, args, expect_messages, true, clock);
        } else {
            a[i] = timed_run(mine, args, expect_messages, true, clock);
            b[i] = timed_run(theirs, args, expect_messages, false, clock);
        }
    }
    /* The best of each side: on a shared machine other load only ever adds
     * time, so the minimum is the closest to the program's own cost. */
    qsort(a, (size_t)reps, sizeof *a, cmp_double);
    qsort(b, (size_t)reps, sizeof *b, cmp_double);
    double ratio = a[0] > 0 ? b[0] / a[0] : 0;
    cr_log_info("%s: best %.3f s, reference %.3f s (%s time, %d runs each): ratio %.2f", program, a[0], b[0],
                clock == GRADE_CPU ? "CPU" : "wall", reps, ratio);
    free(a);
    free(b);
    return ratio;
}

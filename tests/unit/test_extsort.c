/* test_extsort.c - the dump's rows in order in bounded memory (extsort.h):
 * runs far smaller than the input, so that the spill file and the merge do
 * the work, a worker's records forgotten and sent again, and the errors. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dump.h"
#include "extsort.h"
#include "fnv.h"

TestSuite(extsort, .timeout = 20);

static struct machine machine(uint32_t k, uint64_t msgs)
{
    struct machine m;
    char id[32];
    int len = snprintf(id, sizeof id, "m-%u", k);
    sm_init(&m, id, (size_t)len, fnv1a64(id, (size_t)len));
    m.msgs = msgs;
    m.invalid = k % 3;
    return m;
}

/* A directory of its own, so that a file left behind is seen. */
static char *scratch_dir(void)
{
    static char dir[64];
    snprintf(dir, sizeof dir, "/tmp/test_extsort.XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    return dir;
}

static int entries(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

/* Takes every row; checks they are strictly in the dump's order; returns
 * how many, with the sum of their msgs. */
static uint64_t drain(struct extsort *x, uint64_t *msgs)
{
    uint64_t n = 0;
    *msgs = 0;
    struct machine prev;
    const struct machine *row;
    int rc;
    while ((rc = extsort_next(x, &row)) == 1) {
        if (n > 0)
            cr_assert_lt(dump_compare(&prev, row), 0, "%s came after %s", row->id, prev.id);
        prev = *row;
        *msgs += row->msgs;
        n++;
    }
    cr_assert_eq(rc, 0, "the merge failed: %s", strerror(-rc));
    return n;
}

Test(extsort, spilled_runs_merge_into_one_sorted_stream_and_leave_no_file)
{
    char *dir = scratch_dir();
    struct extsort x;
    cr_assert_eq(extsort_init(&x, dir, 3, 7), 0);
    enum { N = 1000 };
    uint64_t want_msgs = 0;
    for (uint32_t i = 0; i < N; i++) {
        uint32_t k = (i * 7919u) % N; /* every k once, out of order */
        struct machine m = machine(k, k + 1);
        want_msgs += k + 1;
        cr_assert_eq(extsort_add(&x, &m, k % 3), 0);
    }
    cr_assert_gt(x.nruns, 100, "the runs were not spilled");
    cr_assert_eq(extsort_total(&x).machines, N);
    cr_assert_eq(extsort_finish(&x), 0);
    uint64_t msgs;
    cr_assert_eq(drain(&x, &msgs), N);
    cr_assert_eq(msgs, want_msgs);
    cr_assert_eq(entries(dir), 0, "the spill file has a name in %s", dir);
    extsort_free(&x);
    rmdir(dir);
}

/* A worker restarted by --recover sends its records again: the first
 * sending is forgotten, spilled or not. */
Test(extsort, a_dropped_worker_s_records_are_forgotten_spilled_or_not)
{
    struct extsort x;
    cr_assert_eq(extsort_init(&x, NULL, 2, 5), 0);
    for (uint32_t k = 0; k < 40; k++) {
        struct machine m = machine(k, 1);
        cr_assert_eq(extsort_add(&x, &m, k % 2), 0);
    }
    extsort_drop(&x, 1);
    cr_assert_eq(extsort_total(&x).machines, 20);
    for (uint32_t k = 1; k < 40; k += 2) { /* worker 1 again, with other counts */
        struct machine m = machine(k, 100);
        cr_assert_eq(extsort_add(&x, &m, 1), 0);
    }
    cr_assert_eq(extsort_total(&x).machines, 40);
    cr_assert_eq(extsort_finish(&x), 0);
    uint64_t msgs;
    cr_assert_eq(drain(&x, &msgs), 40, "a forgotten record came out, or a kept one did not");
    cr_assert_eq(msgs, 20 * 1 + 20 * 100);
    extsort_free(&x);
}

Test(extsort, two_records_of_one_machine_are_an_error_that_names_it)
{
    struct extsort x;
    cr_assert_eq(extsort_init(&x, NULL, 2, 4), 0);
    for (uint32_t k = 0; k < 10; k++) {
        struct machine m = machine(k, 1);
        cr_assert_eq(extsort_add(&x, &m, 0), 0);
    }
    struct machine twin = machine(6, 1);
    cr_assert_eq(extsort_add(&x, &twin, 1), 0);
    cr_assert_eq(extsort_finish(&x), 0);
    const struct machine *row;
    int rc;
    while ((rc = extsort_next(&x, &row)) == 1)
        ;
    cr_assert_eq(rc, -EBADMSG);
    cr_assert_str_eq(x.last.id, "m-6");
    cr_assert_eq(extsort_next(&x, &row), -EBADMSG, "the error was not kept");
    extsort_free(&x);
}

Test(extsort, without_a_dump_it_only_tallies)
{
    struct extsort x;
    cr_assert_eq(extsort_init(&x, NULL, 1, 0), 0);
    for (uint32_t k = 0; k < 10; k++) {
        struct machine m = machine(k, 1);
        cr_assert_eq(extsort_add(&x, &m, 0), 0);
    }
    struct machine_tally t = extsort_total(&x);
    cr_assert_eq(t.machines, 10);
    cr_assert_eq(t.invalid, 0 + 1 + 2 + 0 + 1 + 2 + 0 + 1 + 2 + 0);
    cr_assert_null(x.run);
    cr_assert_eq(extsort_finish(&x), 0);
    const struct machine *row;
    cr_assert_eq(extsort_next(&x, &row), 0);
    extsort_free(&x);
}

Test(extsort, a_spill_that_cannot_be_made_is_an_error)
{
    struct extsort x;
    cr_assert_eq(extsort_init(&x, "/nonexistent/dir", 1, 2), 0);
    struct machine m = machine(1, 1);
    cr_assert_eq(extsort_add(&x, &m, 0), 0);
    cr_assert_eq(extsort_add(&x, &m, 0), 0);
    cr_assert_eq(extsort_add(&x, &m, 0), -ENOENT, "the third record needed a spill file");
    extsort_free(&x);
}

Test(extsort, a_frame_of_records_goes_in_whole_or_stops_at_its_first_error)
{
    struct machine frame[5];
    struct extsort x;
    char *dir = scratch_dir();
    cr_assert_eq(extsort_init(&x, dir, 2, 7), 0);
    for (uint32_t f = 0; f < 8; f++) {
        for (uint32_t k = 0; k < 5; k++)
            frame[k] = machine(5 * f + k, 1);
        cr_assert_eq(extsort_add_all(&x, frame, 5, f % 2), 0);
    }
    cr_assert_eq(extsort_total(&x).machines, 40);
    cr_assert_eq(extsort_finish(&x), 0);
    uint64_t msgs;
    cr_assert_eq(drain(&x, &msgs), 40, "every record of every frame, across spilled runs");
    extsort_free(&x);
    cr_assert_eq(rmdir(dir), 0);

    cr_assert_eq(extsort_init(&x, "/nonexistent/dir", 1, 2), 0);
    cr_assert_eq(extsort_add_all(&x, frame, 5, 0), -ENOENT, "the third record needed a spill file");
    cr_assert_eq(extsort_total(&x).machines, 2, "only the records added before the error count");
    extsort_free(&x);
}

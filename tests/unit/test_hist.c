/* test_hist.c - the log-linear latency histogram keeps values within its
 * stated precision (1/128) and merges exactly. */
#include <criterion/criterion.h>

#include "hist.h"

TestSuite(hist, .timeout = 10);

static struct hist *new_hist(void)
{
    struct hist *h = malloc(sizeof *h);
    hist_init(h);
    return h;
}

Test(hist, an_empty_histogram_reports_zero)
{
    struct hist *h = new_hist();
    cr_assert_eq(hist_percentile(h, 50), 0);
    cr_assert_eq(h->count, 0);
    free(h);
}

Test(hist, small_values_are_exact)
{
    struct hist *h = new_hist();
    for (uint64_t v = 0; v < 100; v++)
        hist_record(h, v);
    cr_assert_eq(hist_percentile(h, 50), 49);
    cr_assert_eq(hist_percentile(h, 100), 99);
    cr_assert_eq(hist_percentile(h, 1), 0);
    free(h);
}

Test(hist, percentiles_of_a_wide_range_are_within_one_percent)
{
    struct hist *h = new_hist();
    for (uint64_t v = 1; v <= 1000000; v++)
        hist_record(h, v * 1000); /* 1 us .. 1 s in ns */
    const double ps[] = {50, 90, 99, 99.9};
    for (size_t i = 0; i < 4; i++) {
        double want = ps[i] / 100 * 1e9;
        double got = (double)hist_percentile(h, ps[i]);
        cr_expect_geq(got, want * 0.999, "p%g: %f < %f", ps[i], got, want);
        cr_expect_leq(got, want * 1.01, "p%g: %f > %f", ps[i], got, want);
    }
    cr_assert_eq(h->min, 1000);
    cr_assert_eq(h->max, 1000000000ull);
    free(h);
}

Test(hist, huge_values_do_not_overflow)
{
    struct hist *h = new_hist();
    hist_record(h, UINT64_MAX);
    hist_record(h, 1ull << 63);
    cr_assert_eq(hist_percentile(h, 100), UINT64_MAX);
    free(h);
}

Test(hist, merging_equals_recording_everything_in_one)
{
    struct hist *a = new_hist(), *b = new_hist(), *all = new_hist();
    for (uint64_t v = 1; v < 50000; v += 7) {
        hist_record(v % 2 ? a : b, v);
        hist_record(all, v);
    }
    hist_merge(a, b);
    cr_assert_eq(a->count, all->count);
    cr_assert_eq(memcmp(a->counts, all->counts, sizeof a->counts), 0);
    cr_assert_eq(hist_percentile(a, 99), hist_percentile(all, 99));
    free(a);
    free(b);
    free(all);
}

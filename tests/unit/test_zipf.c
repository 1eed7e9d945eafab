/* test_zipf.c - the Zipf sampler draws ranks with the theoretical
 * frequencies, and the generator is deterministic.
 *
 * Statistical tests use a fixed seed, so they are repeatable, and a stated
 * tolerance: Pearson's chi-square over all K ranks against the 0.1 % critical
 * value of the chi-square distribution with K - 1 degrees of freedom (for
 * K = 100, 99 degrees: 148.2), so a correct sampler would fail with
 * probability 0.001 for a random seed, and a sampler with the wrong exponent
 * fails by orders of magnitude. */
#include <criterion/criterion.h>
#include <math.h>

#include "source.h"
#include "zipf.h"

TestSuite(zipf, .timeout = 30);

static double chi_square(uint32_t k, double s, uint64_t draws, uint64_t seed)
{
    struct zipf z;
    cr_assert_eq(zipf_init(&z, k, s), 0);
    struct rng r;
    rng_seed(&r, seed);
    uint64_t *count = calloc(k, sizeof *count);
    for (uint64_t i = 0; i < draws; i++) {
        uint32_t x = zipf_sample(&z, &r);
        cr_assert_lt(x, k);
        count[x]++;
    }
    double chi = 0;
    for (uint32_t i = 0; i < k; i++) {
        double expected = zipf_pmf(k, s, i) * (double)draws;
        chi += ((double)count[i] - expected) * ((double)count[i] - expected) / expected;
    }
    free(count);
    zipf_free(&z);
    return chi;
}

Test(zipf, frequencies_match_the_theory_for_s_0_8_1_0_1_2)
{
    const double critical_99_df = 148.2;
    cr_expect_lt(chi_square(100, 0.8, 1000000, 7), critical_99_df);
    cr_expect_lt(chi_square(100, 1.0, 1000000, 7), critical_99_df);
    cr_expect_lt(chi_square(100, 1.2, 1000000, 7), critical_99_df);
}

Test(zipf, a_wrong_exponent_is_detected)
{
    /* The test above can fail: draws from s = 1.0 judged against s = 1.1. */
    struct zipf z;
    cr_assert_eq(zipf_init(&z, 100, 1.0), 0);
    struct rng r;
    rng_seed(&r, 7);
    uint64_t count[100] = {0};
    for (int i = 0; i < 1000000; i++)
        count[zipf_sample(&z, &r)]++;
    double chi = 0;
    for (uint32_t i = 0; i < 100; i++) {
        double expected = zipf_pmf(100, 1.1, i) * 1e6;
        chi += ((double)count[i] - expected) * ((double)count[i] - expected) / expected;
    }
    zipf_free(&z);
    cr_assert_gt(chi, 148.2 * 10);
}

Test(zipf, the_hottest_rank_of_a_large_population_has_its_share)
{
    /* K = 100 000, s = 1.1: rank 0 has probability 1 / H(K, 1.1). */
    struct zipf z;
    cr_assert_eq(zipf_init(&z, 100000, 1.1), 0);
    struct rng r;
    rng_seed(&r, 3);
    uint64_t hits = 0, n = 2000000;
    for (uint64_t i = 0; i < n; i++)
        hits += zipf_sample(&z, &r) == 0;
    double p = zipf_pmf(100000, 1.1, 0);
    double sd = sqrt(p * (1 - p) / (double)n);
    cr_assert_lt(fabs((double)hits / (double)n - p), 5 * sd, "rank 0: %f vs %f", (double)hits / (double)n, p);
    zipf_free(&z);
}

Test(zipf, uniform_ids_are_uniform)
{
    struct gen_config g = {.messages = 1000000, .ids = 100, .dist = DIST_UNIFORM, .seed = 11};
    struct source s;
    cr_assert_eq(source_init_generator(&s, &g), 0);
    uint64_t count[100] = {0};
    struct msg m;
    while (source_next(&s, &m))
        count[atoi(m.id + 3)]++;
    double chi = 0, e = 1e6 / 100;
    for (int i = 0; i < 100; i++)
        chi += ((double)count[i] - e) * ((double)count[i] - e) / e;
    cr_assert_lt(chi, 148.2);
    source_free(&s);
}

Test(zipf, the_generator_is_a_pure_function_of_its_flags)
{
    struct gen_config g = {.messages = 10000,
                           .ids = 50,
                           .dist = DIST_ZIPF,
                           .zipf_s = 1.1,
                           .payload_min = 0,
                           .payload_max = 300,
                           .seed = 5};
    struct source a, b;
    cr_assert_eq(source_init_generator(&a, &g), 0);
    cr_assert_eq(source_init_generator(&b, &g), 0);
    struct msg x, y;
    uint64_t seq = 0;
    while (source_next(&a, &x)) {
        cr_assert(source_next(&b, &y));
        cr_assert_eq(x.seq, ++seq);
        cr_assert_str_eq(x.id, y.id);
        cr_assert_eq(x.event, y.event);
        cr_assert_eq(x.payload_len, y.payload_len);
        cr_assert_leq(x.payload_len, 300);
    }
    cr_assert_not(source_next(&b, &y));
    cr_assert_eq(seq, 10000);
    source_free(&a);
    source_free(&b);
}

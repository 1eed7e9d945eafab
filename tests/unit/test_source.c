/* test_source.c - the generator's ids (source.h): each named and hashed as
 * SPEC §4 says although the source keeps no key per id; and the sample of
 * known ids, from which queries pick: only ids already emitted, and uniform
 * over all of them although it holds at most SOURCE_SAMPLE_IDS. Fixed
 * seeds: repeatable. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fnv.h"
#include "source.h"

TestSuite(source, .timeout = 20);

/* Emits every message of s; first[i] is the place of id i's first emission
 * among the distinct ids (UINT32_MAX for an id never emitted). Returns how
 * many distinct ids were emitted. */
static uint32_t emit_all(struct source *s, uint32_t *first, uint32_t ids)
{
    for (uint32_t i = 0; i < ids; i++)
        first[i] = UINT32_MAX;
    uint32_t distinct = 0;
    struct msg m;
    while (source_next(s, &m)) {
        cr_assert_lt(m.id_index, ids);
        struct idkey k = source_id(s, m.id_index);
        cr_assert_str_eq(m.id, k.s, "a message's id_index names another id");
        cr_assert_eq(m.id_len, k.len);
        cr_assert_eq(m.id_hash, k.hash);
        if (first[m.id_index] == UINT32_MAX)
            first[m.id_index] = distinct++;
    }
    return distinct;
}

/* The generator keeps no key per id: it makes each id's hash and length
 * as it goes. Every id from 1 to 7 digits must still be "id-<index>" with
 * the FNV-1a-64 of that string (SPEC §4 routes by it) and its length. */
Test(source, a_generated_id_is_its_index_named_with_its_own_hash_and_length)
{
    enum { IDS = 1000001 };
    struct gen_config g = {.messages = 1, .ids = IDS, .dist = DIST_UNIFORM, .seed = 3};
    struct source s;
    cr_assert_eq(source_init_generator(&s, &g), 0);
    cr_assert_eq(source_ids_known(&s), IDS);
    for (uint32_t i = 0; i < IDS; i++) {
        char want[MSG_ID_MAX + 1];
        int len = snprintf(want, sizeof want, "id-%u", i);
        struct idkey k = source_id(&s, i);
        if (strcmp(k.s, want) != 0 || k.len != len || k.hash != fnv1a64(want, (size_t)len))
            cr_assert_fail("id %u: got '%s' (length %u, hash %016llx), want '%s' (%d, %016llx)", i, k.s, k.len,
                           (unsigned long long)k.hash, want, len, (unsigned long long)fnv1a64(want, (size_t)len));
    }
    source_free(&s);
}

Test(source, queries_pick_only_ids_already_emitted_and_each_of_them)
{
    enum { IDS = 100000 };
    struct gen_config g = {.messages = 50, .ids = IDS, .dist = DIST_UNIFORM, .seed = 7};
    struct source s;
    cr_assert_eq(source_init_generator(&s, &g), 0);
    struct rng r;
    rng_seed(&r, 1);
    cr_assert_eq(source_random_seen(&s, &r), IDMAP_NONE, "an id was picked before any was emitted");
    uint32_t *first = malloc(IDS * sizeof *first);
    uint32_t distinct = emit_all(&s, first, IDS);
    cr_assert_eq(s.seen_count, distinct);
    uint8_t *picked = calloc(IDS, 1);
    for (int k = 0; k < 20000; k++) {
        uint32_t i = source_random_seen(&s, &r);
        cr_assert_lt(i, IDS);
        cr_assert_neq(first[i], UINT32_MAX, "a query picked %s, which was never emitted", source_id(&s, i).s);
        picked[i] = 1;
    }
    for (uint32_t i = 0; i < IDS; i++)
        if (first[i] != UINT32_MAX)
            cr_expect(picked[i], "id %u was emitted and never picked in 20 000 draws", i);
    free(picked);
    free(first);
    source_free(&s);
}

/* With far more ids than the sample holds, an id seen late must be as
 * likely as one seen early: a sample that kept the first ids it saw, or
 * that let every new id in, fails here. */
Test(source, the_sample_is_uniform_over_every_id_seen)
{
    enum { IDS = 40000 };
    struct gen_config g = {.messages = 10 * IDS, .ids = IDS, .dist = DIST_UNIFORM, .seed = 11};
    struct source s;
    cr_assert_eq(source_init_generator(&s, &g), 0);
    uint32_t *first = malloc(IDS * sizeof *first);
    uint32_t distinct = emit_all(&s, first, IDS);
    cr_assert_gt(distinct, 8 * SOURCE_SAMPLE_IDS);
    struct rng r;
    rng_seed(&r, 2);
    enum { DRAWS = 200000 };
    uint32_t late = 0, earliest_tenth = 0;
    for (int k = 0; k < DRAWS; k++) {
        uint32_t i = source_random_seen(&s, &r);
        cr_assert_lt(i, IDS);
        cr_assert_neq(first[i], UINT32_MAX);
        late += first[i] >= distinct / 2;
        earliest_tenth += first[i] < distinct / 10;
    }
    /* The sample is SOURCE_SAMPLE_IDS ids drawn without replacement: its
     * share of late ids has a standard deviation under 0.01. */
    double late_share = (double)late / DRAWS, early_share = (double)earliest_tenth / DRAWS;
    cr_expect(late_share > 0.45 && late_share < 0.55, "ids seen in the second half drew %.3f of the queries, not 0.5",
              late_share);
    cr_expect(early_share > 0.07 && early_share < 0.13, "the first tenth of the ids seen drew %.3f, not 0.1",
              early_share);
    free(first);
    source_free(&s);
}

/* test_source.c - the source's sample of known ids, from which queries pick
 * (source.h): only ids already emitted, and uniform over all of them although
 * it holds at most SOURCE_SAMPLE_IDS. Fixed seeds: repeatable. */
#include <criterion/criterion.h>
#include <stdlib.h>

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
        cr_assert_str_eq(m.id, idmap_key(&s->ids, m.id_index)->s, "a message's id_index names another id");
        if (first[m.id_index] == UINT32_MAX)
            first[m.id_index] = distinct++;
    }
    return distinct;
}

Test(source, queries_pick_only_ids_already_emitted_and_each_of_them)
{
    enum { IDS = 100000 };
    struct gen_config g = {.messages = 50, .ids = IDS, .dist = DIST_UNIFORM, .seed = 7};
    struct source s;
    cr_assert_eq(source_init_generator(&s, &g), 0);
    struct rng r;
    rng_seed(&r, 1);
    cr_assert_null(source_random_seen(&s, &r), "an id was picked before any was emitted");
    uint32_t *first = malloc(IDS * sizeof *first);
    uint32_t distinct = emit_all(&s, first, IDS);
    cr_assert_eq(s.seen_count, distinct);
    uint8_t *picked = calloc(IDS, 1);
    for (int k = 0; k < 20000; k++) {
        const struct idkey *key = source_random_seen(&s, &r);
        uint32_t i = (uint32_t)(key - s.ids.keys);
        cr_assert_neq(first[i], UINT32_MAX, "a query picked %s, which was never emitted", key->s);
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
        uint32_t i = (uint32_t)(source_random_seen(&s, &r) - s.ids.keys);
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

/* test_layout.c - the state table's layout (layout.h): every id gets a slot
 * of its own, each worker's slots are one run of the table, in the order
 * the source interned the worker's ids, and a stream keeps the id index;
 * and phase 4 reads back only the records of ids it was sent. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <unistd.h>

#include "conformance.h"
#include "fnv.h"
#include "layout.h"
#include "source.h"
#include "statetab.h"

/* Checks the layout of src's ids among workers, slot by slot. */
static void check_runs(const struct source *src, uint32_t workers)
{
    struct layout l;
    cr_assert_eq(layout_place(&l, src, workers), 0);
    uint32_t n = source_ids_known(src);
    cr_assert_eq(l.count, workers == 1 ? 0 : n, "one worker keeps the id index, more get a slot per id");
    uint32_t *owner = malloc((size_t)n * sizeof *owner);
    uint32_t *last = malloc((size_t)workers * sizeof *last);
    cr_assert(owner && last);
    for (uint32_t i = 0; i < n; i++)
        owner[i] = UINT32_MAX;
    for (uint32_t w = 0; w < workers; w++)
        last[w] = UINT32_MAX;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t s = layout_slot(&l, i), w = route_worker(source_id(src, i).hash, workers);
        cr_assert_lt(s, n, "id %u: slot %u is outside a table of %u", i, s, n);
        cr_assert_eq(owner[s], UINT32_MAX, "ids %u and another share slot %u", i, s);
        owner[s] = w;
        /* Interning order within a worker's run: the next slot of its own. */
        cr_assert(last[w] == UINT32_MAX || s == last[w] + 1, "id %u of worker %u: slot %u after %u", i, w, s, last[w]);
        last[w] = s;
    }
    /* Every slot used, and the runs in worker order: owners never go down. */
    for (uint32_t s = 1; s < n; s++)
        cr_assert_geq(owner[s], owner[s - 1], "slot %u (worker %u) after worker %u's", s, owner[s], owner[s - 1]);
    free(owner);
    free(last);
    layout_free(&l);
}

/* 200 000 ids: slots from 2^16 up need the third of the three bytes
 * layout.h keeps each in. */
Test(layout, each_workers_ids_take_one_run_of_slots_in_interning_order, .timeout = 30)
{
    struct gen_config g = {.messages = 10, .ids = 200000, .dist = DIST_UNIFORM, .seed = 3};
    struct source src;
    cr_assert_eq(source_init_generator(&src, &g), 0);
    uint32_t counts[] = {2, 3, 16};
    for (size_t k = 0; k < sizeof counts / sizeof *counts; k++)
        check_runs(&src, counts[k]);
    source_free(&src);
}

Test(layout, a_trace_file_is_placed_like_the_generator, .timeout = 30)
{
    struct source src;
    char err[256];
    cr_assert_eq(source_load_trace(&src, GOLDEN_DIR "/hotkey.trace", err, sizeof err), 0, "%s", err);
    cr_assert_not(src.is_stream);
    check_runs(&src, 3);
    source_free(&src);
}

Test(layout, with_one_worker_the_slot_is_the_id_index, .timeout = 30)
{
    struct gen_config g = {.messages = 10, .ids = 500, .dist = DIST_UNIFORM, .seed = 4};
    struct source src;
    cr_assert_eq(source_init_generator(&src, &g), 0);
    struct layout l;
    cr_assert_eq(layout_place(&l, &src, 1), 0);
    cr_assert_null(l.slot, "no table: the identity needs none");
    for (uint32_t i = 0; i < 500; i++)
        cr_assert_eq(layout_slot(&l, i), i);
    layout_free(&l);
    source_free(&src);
}

Test(layout, a_stream_keeps_the_id_index, .timeout = 30)
{
    /* Its ids arrive during the run: no slot can be given before. */
    struct source src = {.is_stream = true};
    struct layout l;
    cr_assert_eq(layout_place(&l, &src, 4), 0);
    cr_assert_null(l.slot);
    cr_assert_eq(layout_slot(&l, 12345), 12345u);
    layout_free(&l);
}

/* 2 000 000 ids make a table of 528 MB (129 000 pages), of which 1 000
 * messages write a thousand records. Reading every slot back (for the
 * dump, or for the count of machines without one) faults in, and creates,
 * every page; reading those of the ids sent faults in a few, beside the
 * generator's 20 MB of names, so the main process and its workers together
 * stay far below half the table's pages (the figures measured are in
 * solutions/phase4/ANSWERS.md). */
Test(layout, a_run_that_names_few_of_many_ids_reads_back_only_their_records, .timeout = 60)
{
    char *argv[] = {BIN_DIR "/phase4", "--workers", "2", "--ids", "2000000", "--messages", "1000", NULL};
    struct conf_usage used;
    conf_usage(argv, 50000, &used);
    long half_the_table = (long)(statetab_bytes(2000000) / (size_t)sysconf(_SC_PAGESIZE) / 2);
    cr_assert_lt(used.page_faults, half_the_table,
                 "%ld page faults, half the table is %ld pages: the whole table was read back", used.page_faults,
                 half_the_table);
}

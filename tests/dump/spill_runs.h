/* spill_runs.h - the checks of test_dump_spill.c, shared with its phase 5
 * twin (which make sanitize leaves out, tests/phase5/CMakeLists.txt says
 * why). A main process of phases 3-5 passes its workers' records to the
 * dump through an external sort (extsort.h): more machines than one
 * in-memory run must still give phase 1's dump, byte for byte, wherever the
 * dump goes, and leave no file behind. */
#ifndef MSGROUTE_TEST_SPILL_RUNS_H
#define MSGROUTE_TEST_SPILL_RUNS_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformance.h"
#include "extsort.h"
#include "proc.h"

/* Four in-memory runs' worth of machines and more. */
#define SPILL_IDS "40000"
#define SPILL_MESSAGES "120000"

static size_t spill_lines(const char *text)
{
    size_t n = 0;
    for (const char *p = text; (p = strchr(p, '\n')); p++)
        n++;
    return n;
}

/* bin with 3 workers, its dump to a file: phase 1's dump, and the directory
 * holds one more file (the dump), no spill file or temporary. */
static void spill_matches_phase1(const char *bin)
{
    char *gen[] = {"--ids", SPILL_IDS, "--messages", SPILL_MESSAGES, "--seed", "5", NULL};
    char *extra[] = {"--workers", "3", NULL};
    char ref[CONF_PATH_MAX];
    conf_phase1_dump(gen, conf_path(ref, "spill-phase1.csv"));
    char *text = read_file(ref, NULL);
    cr_assert_not_null(text);
    cr_assert_gt(spill_lines(text), 3 * EXTSORT_RUN_RECORDS, "too few machines to spill runs");
    free(text);
    int before = conf_dir_entries();
    conf_expect_dump(bin, gen, extra, ref); /* writes conf-out.csv */
    cr_expect_eq(conf_dir_entries(), before + 1, "a file besides the dump was left in the dump's directory");
}

/* The same with the dump on stdout. */
static void spill_to_stdout_matches_phase1(const char *bin)
{
    char *gen[] = {"--ids", SPILL_IDS, "--messages", SPILL_MESSAGES, "--seed", "6", NULL};
    char ref[CONF_PATH_MAX];
    conf_phase1_dump(gen, conf_path(ref, "spill-stdout-phase1.csv"));
    char *argv[] = {(char *)bin, "--ids",  SPILL_IDS, "--messages", SPILL_MESSAGES, "--seed", "6", "--workers",
                    "2",         "--dump", "-",       NULL};
    struct proc_result r;
    conf_run(argv, NULL, 0, &r);
    size_t len;
    char *want = read_file(ref, &len);
    cr_assert_not_null(want);
    cr_expect_eq(strlen(r.out), len, "stdout has %zu bytes, phase 1's dump %zu", strlen(r.out), len);
    cr_expect(strcmp(r.out, want) == 0, "the dump on stdout differs from phase 1's");
    free(want);
    proc_result_free(&r);
}

#endif

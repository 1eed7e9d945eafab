/* test_dump_spill.c - phases 3 and 4 give phase 1's dump when their main
 * process sorts more records than fit one in-memory run (spill_runs.h), and
 * phase 3 still does when workers are killed while the records spill. */
#include "recover_runs.h"
#include "spill_runs.h"

#define PHASE3 BIN_DIR "/phase3"
#define PHASE4 BIN_DIR "/phase4"

TestSuite(spill, .timeout = 120, .init = conf_suite_init, .fini = conf_suite_fini);

Test(spill, phase3_sorts_spilled_records_into_phase1s_dump_and_leaves_no_file)
{
    spill_matches_phase1(PHASE3);
}

Test(spill, phase4_sorts_spilled_records_into_phase1s_dump_and_leaves_no_file)
{
    spill_matches_phase1(PHASE4);
}

Test(spill, phase3_writes_a_spilled_dump_to_stdout_byte_for_byte)
{
    spill_to_stdout_matches_phase1(PHASE3);
}

/* Many machines and few messages, so that much of the run is the records'
 * collection: kills land while they are sent and spilled, and a restarted
 * worker's records must replace its first ones, spilled or not. */
Test(spill, phase3_kills_while_records_spill_still_give_phase1s_dump)
{
    char d1[CONF_PATH_MAX], dn[CONF_PATH_MAX];
    conf_path(d1, "p1.csv");
    conf_path(dn, "pn.csv");
    char *gen[] = {"--ids", "150000", "--messages", "150000", "--seed", "3", NULL};
    conf_phase1_dump(gen, d1);
    char *argv[] = {PHASE3,      "--ids", "150000",    "--messages", "150000", "--seed", "3",
                    "--workers", "3",     "--recover", "--dump",     dn,       NULL};
    recover_run_with_kills(argv, NULL, 3, 6, 1, 30, 90, dn, d1);
}

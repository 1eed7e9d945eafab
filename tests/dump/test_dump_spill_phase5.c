/* test_dump_spill_phase5.c - phase 5 gives phase 1's dump when its
 * coordinator sorts more records than fit one in-memory run (spill_runs.h). */
#include "spill_runs.h"

#define PHASE5 BIN_DIR "/phase5"

TestSuite(spill5, .timeout = 120, .init = conf_suite_init, .fini = conf_suite_fini);

Test(spill5, phase5_sorts_spilled_records_into_phase1s_dump_and_leaves_no_file)
{
    spill_matches_phase1(PHASE5);
}

Test(spill5, phase5_writes_a_spilled_dump_to_stdout_byte_for_byte)
{
    spill_to_stdout_matches_phase1(PHASE5);
}

/* test_recover.c - --recover in phases 3 and 4 (SPEC §8, recover.h): workers
 * SIGKILLed at random instants, whatever the input (the generator, a trace
 * file, a trace on stdin from a FIFO that cannot be read twice), during
 * queries, while large payloads cross in fragments and during the drain: the
 * run ends 0 with phase 1's dump of the same input, byte for byte. A worker
 * made to die on one message (MSGROUTE_TEST_POISON_SEQ) twice in a row ends
 * the run with exit 3, that message's trace line named, and no dump. Every
 * run is checked for leftovers: no process of its group (zombies included)
 * and nothing new in /dev/shm. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "conformance.h"
#include "recover_runs.h"

#define PHASE3 BIN_DIR "/phase3"
#define PHASE4 BIN_DIR "/phase4"

TestSuite(recover, .timeout = 150, .init = conf_suite_init, .fini = conf_suite_fini);

Test(recover, phase3_survives_20_random_kills_of_3_workers_with_queries_and_gives_phase1s_dump)
{
    recover_twenty_kills_from_the_generator(PHASE3);
}

Test(recover, phase4_survives_20_random_kills_of_3_workers_with_queries_and_gives_phase1s_dump)
{
    recover_twenty_kills_from_the_generator(PHASE4);
}

Test(recover, phase3_rebuilds_workers_fed_from_a_fifo_on_stdin_with_fragmented_payloads)
{
    char *extra[] = {"--pipe-size", "65536"};
    recover_kills_with_a_fifo_on_stdin(PHASE3, extra, 2);
}

Test(recover, phase4_rebuilds_workers_fed_from_a_fifo_on_stdin_with_fragmented_payloads)
{
    char *extra[] = {"--ring-kib", "64"};
    recover_kills_with_a_fifo_on_stdin(PHASE4, extra, 2);
}

Test(recover, phase3_rebuilds_workers_killed_during_the_drain)
{
    recover_kills_during_the_drain(PHASE3);
}

Test(recover, phase4_rebuilds_workers_killed_during_the_drain)
{
    recover_kills_during_the_drain(PHASE4);
}

Test(recover, phase3_gives_up_on_a_poison_message_naming_its_line_with_exit_3_and_no_dump)
{
    recover_a_poison_message_ends_the_run(PHASE3);
}

Test(recover, phase4_gives_up_on_a_poison_message_naming_its_line_with_exit_3_and_no_dump)
{
    recover_a_poison_message_ends_the_run(PHASE4);
}

/* The whole source fits one turn of phase 3's pump, so the drain closes
 * worker 1's pipe while it dies on its first message: its restart must wait
 * for that close to complete (a handle initialised again while its close is
 * under way aborts in libuv). The race is won about one run in seven on a
 * quiet machine; forty runs make it show. */
Test(recover, phase3_restarts_a_worker_that_dies_while_the_drain_closes_its_pipe, .timeout = 240)
{
    char trace[CONF_PATH_MAX];
    conf_path(trace, "short.trace");
    FILE *f = fopen(trace, "w");
    cr_assert(f);
    fprintf(f, "1 a START\n2 a DATA 7\n");
    for (int i = 0; i < 900; i++)
        fprintf(f, "%d id%d HEARTBEAT\n", 100 + i, i % 50);
    cr_assert_eq(fclose(f), 0);
    for (int run = 0; run < 40; run++)
        recover_expect_poison_named(PHASE3, trace, 2, 2);
}

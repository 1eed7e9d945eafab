/* test_paced_queries.c - a query is answered near its due time however far
 * apart the messages are: a loop that sleeps until its next message (--rate)
 * wakes for a query due before it. At --rate 50 the messages are 20 ms
 * apart, so a loop that slept to the next message alone would answer after
 * half a gap at the median (phase 1), or after half of its 1 ms look at its
 * workers (phase 4). The bounds sit well below those and well above one
 * wake-up of a loaded machine. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "conformance.h"
#include "proc.h"

TestSuite(paced_queries, .timeout = 60);

static void answers_between_messages(const char *phase, bool workers, double p50_max_us)
{
    char bin[512];
    snprintf(bin, sizeof bin, "%s/%s", BIN_DIR, phase);
    char *argv[] = {bin,         "--rate", "50",     "--messages", "15", "--ids", "10",
                    "--queries", "400",    "--json", NULL,         NULL, NULL};
    if (workers) {
        argv[10] = "--workers";
        argv[11] = "2";
    }
    struct proc_result r;
    cr_assert_eq(proc_run(argv, NULL, 20000, &r), 0);
    cr_assert_eq(r.status, 0, "%s exited %d: %s", phase, r.status, proc_tail(r.err));
    unsigned long long answered = conf_json_u64(r.out, "query_count");
    double p50 = conf_json_num(r.out, "query_p50_us");
    cr_assert_geq(answered, 80, "%s answered %llu queries in a 0.3 s run at 400/s", phase, answered);
    cr_assert_eq(conf_json_u64(r.out, "query_failed"), 0);
    cr_assert_leq(p50, p50_max_us, "%s: query p50 %.0f us with messages 20 ms apart (want <= %.0f)", phase, p50,
                  p50_max_us);
    proc_result_free(&r);
}

Test(paced_queries, phase1_wakes_for_a_query_between_two_messages)
{
    answers_between_messages("phase1", false, 3000);
}

Test(paced_queries, phase2_wakes_for_a_query_between_two_messages)
{
    answers_between_messages("phase2", false, 3000);
}

Test(paced_queries, phase3_wakes_for_a_query_between_two_messages)
{
    answers_between_messages("phase3", true, 3000);
}

Test(paced_queries, phase4_wakes_for_a_query_between_two_messages)
{
    answers_between_messages("phase4", true, 250);
}

/* test_hostile_cli.c - the command line as hostile input (SPEC §7): every
 * built phase answers a bad, missing or out-of-range value, an unknown flag or
 * a contradiction with exit status 2, a clear reason on stderr and nothing on
 * stdout; --help exits 0. One test per row of README.md. */
#include <criterion/criterion.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "hostile.h"
#include "proc.h"

TestSuite(cli, .timeout = 120);

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

Test(cli, unknown_flag_is_a_usage_error)
{
    hostile_usage_error(ARGS("--bogus"), "unknown option '--bogus'");
    hostile_usage_error(ARGS("-x"), "unknown option '-x'");
}

Test(cli, flag_without_its_value_is_a_usage_error)
{
    hostile_usage_error(ARGS("--messages"), "'--messages' needs a value");
    hostile_usage_error(ARGS("--trace"), "'--trace' needs a value");
}

Test(cli, non_numeric_count_is_a_usage_error)
{
    hostile_usage_error(ARGS("--messages", "12abc"), "bad value for --messages");
    hostile_usage_error(ARGS("--messages", ""), "bad value for --messages");
    hostile_usage_error(ARGS("--messages", " 5"), "bad value for --messages");
}

Test(cli, negative_count_is_a_usage_error)
{
    hostile_usage_error(ARGS("--messages", "-5"), "bad value for --messages");
    hostile_usage_error(ARGS("--work-ns", "-1"), "bad value for --work-ns");
}

Test(cli, number_past_2_to_the_64_is_a_usage_error)
{
    hostile_usage_error(ARGS("--seed", "18446744073709551616"), "bad value for --seed");
    hostile_usage_error(ARGS("--messages", "99999999999999999999999"), "bad value for --messages");
}

Test(cli, ids_out_of_range_are_a_usage_error)
{
    hostile_usage_error(ARGS("--ids", "0"), "want a count from 1 to 16777216");
    hostile_usage_error(ARGS("--ids", "16777217"), "want a count from 1 to 16777216");
}

Test(cli, payload_over_16_mib_or_reversed_is_a_usage_error)
{
    hostile_usage_error(ARGS("--payload", "16777217"), "bad value for --payload");
    hostile_usage_error(ARGS("--payload", "9-3"), "bad value for --payload");
    hostile_usage_error(ARGS("--payload", "-3"), "bad value for --payload");
    hostile_usage_error(ARGS("--payload", "1-"), "bad value for --payload");
}

Test(cli, bad_distribution_is_a_usage_error)
{
    hostile_usage_error(ARGS("--dist", "pareto"), "bad value for --dist");
    hostile_usage_error(ARGS("--dist", "zipf:0"), "bad value for --dist");
    hostile_usage_error(ARGS("--dist", "zipf:nan"), "bad value for --dist");
    hostile_usage_error(ARGS("--dist", "zipf:"), "bad value for --dist");
}

Test(cli, bad_rate_is_a_usage_error)
{
    hostile_usage_error(ARGS("--rate", "-1"), "bad value for --rate");
    hostile_usage_error(ARGS("--rate", "inf"), "bad value for --rate");
    hostile_usage_error(ARGS("--rate", "nan"), "bad value for --rate");
    hostile_usage_error(ARGS("--queries", "1e400"), "bad value for --queries");
}

Test(cli, bad_pin_mode_is_a_usage_error)
{
    hostile_usage_error(ARGS("--pin", "everywhere"), "want none, spread or same");
}

Test(cli, zero_query_timeout_or_status_interval_is_a_usage_error)
{
    hostile_usage_error(ARGS("--query-timeout", "0"), "bad value for --query-timeout");
    hostile_usage_error(ARGS("--status-every", "0"), "bad value for --status-every");
}

Test(cli, workers_out_of_range_are_a_usage_error)
{
    struct hostile_phase ph[5];
    int n = hostile_phases(ph);
    struct hostile_expect exp = {.status = 2, .err = "--workers", .quiet_stdout = true};
    for (int i = 0; i < n; i++) {
        if (ph[i].has_workers) {
            hostile_run(&ph[i], ARGS("--workers", "0"), NULL, &exp);
            hostile_run(&ph[i], ARGS("--workers", "257"), NULL, &exp);
        } else {
            hostile_run(&ph[i], ARGS("--workers", "2"), NULL, &exp);
        }
    }
}

Test(cli, trace_with_generator_flags_is_a_usage_error)
{
    hostile_usage_error(ARGS("--trace", GOLDEN_DIR "/tiny.trace", "--messages", "5"), "exclude each other");
    hostile_usage_error(ARGS("--seed", "3", "--trace", GOLDEN_DIR "/tiny.trace"), "exclude each other");
}

Test(cli, stray_argument_is_a_usage_error)
{
    hostile_usage_error(ARGS("extra"), "unexpected argument 'extra'");
}

Test(cli, value_given_to_a_switch_is_a_usage_error)
{
    hostile_usage_error(ARGS("--json=yes"), "--json");
}

Test(cli, help_exits_0_with_usage_on_stdout)
{
    struct hostile_expect exp = {.status = 0, .out = "usage: phase"};
    hostile_run_all(ARGS("--help"), NULL, &exp);
    hostile_run_all(ARGS("-h"), NULL, &exp);
    /* --help wins over a bad flag after it: the user asked for help. */
    hostile_run_all(ARGS("--help", "--messages", "x"), NULL, &exp);
}

Test(cli, dump_into_a_missing_directory_fails_clearly)
{
    struct hostile_expect exp = {.status = 1, .err = "cannot write the dump"};
    hostile_run_all(ARGS("--messages", "10", "--ids", "3", "--dump", "/nonexistent-msgroute-dir/out.csv"), NULL, &exp);
}

Test(cli, a_status_request_while_the_run_starts_up_is_ignored)
{
    /* SIGUSR1 (as `pkill -USR1 phaseN` sends it) 50 ms in, while a million
     * ids are still being built and before any phase handler exists: the
     * default action would kill the run with status 138. */
    struct hostile_phase ph[5];
    int n = hostile_phases(ph);
    for (int i = 0; i < n; i++) {
        char *argv[] = {ph[i].path, "--ids", "1000000", "--messages", "1000", NULL};
        struct proc p;
        cr_assert_eq(proc_start(argv, &p), 0);
        cr_expect_eq(proc_wait_started(p.pid, ph[i].path, HOSTILE_DEADLINE_MS), 0, "phase%d never started", ph[i].n);
        usleep(20000);
        kill(p.pid, SIGUSR1);
        struct proc_result r;
        cr_assert_eq(proc_wait(&p, HOSTILE_DEADLINE_MS, &r), 0);
        cr_expect_eq(r.status, 0, "phase%d: exit %d after an early SIGUSR1: %s", ph[i].n, r.status, r.err);
        proc_result_free(&r);
        cr_expect_eq(count_group_processes(p.pid), 0, "phase%d left processes behind", ph[i].n);
    }
}

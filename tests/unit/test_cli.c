/* test_cli.c - the common command line of SPEC §7. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include "cli.h"

TestSuite(cli, .timeout = 10);

static const struct cli_program one = {.name = "phaseX", .purpose = "test", .phase = 1};
static const struct cli_program many = {.name = "phaseY", .purpose = "test", .phase = 3, .has_workers = true};

#define PARSE(prog, o, ...)                                                                                            \
    ({                                                                                                                 \
        char *argv_[] = {"prog", __VA_ARGS__, NULL};                                                                   \
        cli_parse(prog, (int)(sizeof argv_ / sizeof argv_[0]) - 1, argv_, o);                                          \
    })

static void quiet(void)
{
    cr_redirect_stderr();
    cr_redirect_stdout();
}

Test(cli, defaults_are_the_documented_ones)
{
    struct options o;
    char *argv[] = {"prog", NULL};
    cr_assert_eq(cli_parse(&many, 1, argv, &o), CLI_RUN);
    cr_assert_eq(o.gen.messages, 1000000);
    cr_assert_eq(o.gen.ids, 10000);
    cr_assert_eq(o.gen.dist, DIST_UNIFORM);
    cr_assert_eq(o.workers, 2);
    cr_assert_eq(o.query_timeout_ms, 1000);
    cr_assert_null(o.trace);
    cr_assert_null(o.dump);
}

Test(cli, every_common_flag_is_read)
{
    struct options o;
    cr_assert_eq(PARSE(&many, &o, "--messages", "5", "--ids", "7", "--dist", "zipf:1.2", "--payload", "10-20", "--seed",
                       "9", "--workers", "4", "--rate", "1000", "--work-ns", "50", "--pin", "spread", "--queries", "10",
                       "--query-timeout", "250", "--status-every", "0.5", "--dump", "d.csv", "--json"),
                 CLI_RUN);
    cr_assert_eq(o.gen.messages, 5);
    cr_assert_eq(o.gen.ids, 7);
    cr_assert_eq(o.gen.dist, DIST_ZIPF);
    cr_assert_float_eq(o.gen.zipf_s, 1.2, 1e-12);
    cr_assert_eq(o.gen.payload_min, 10);
    cr_assert_eq(o.gen.payload_max, 20);
    cr_assert_eq(o.gen.seed, 9);
    cr_assert_eq(o.workers, 4);
    cr_assert_float_eq(o.rate, 1000, 1e-9);
    cr_assert_eq(o.work_ns, 50);
    cr_assert_eq(o.pin, PIN_SPREAD);
    cr_assert_eq(o.query_timeout_ms, 250);
    cr_assert_str_eq(o.dump, "d.csv");
    cr_assert(o.json);
}

Test(cli, help_is_not_an_error, .init = quiet)
{
    struct options o;
    cr_assert_eq(PARSE(&one, &o, "--help"), CLI_EXIT_OK);
}

Test(cli, bad_values_are_usage_errors, .init = quiet)
{
    struct options o;
    cr_assert_eq(PARSE(&one, &o, "--messages", "-1"), CLI_EXIT_USAGE);
    cr_assert_eq(PARSE(&one, &o, "--messages", "12x"), CLI_EXIT_USAGE);
    cr_assert_eq(PARSE(&one, &o, "--ids", "0"), CLI_EXIT_USAGE);
    cr_assert_eq(PARSE(&one, &o, "--dist", "zipf"), CLI_EXIT_USAGE);
    cr_assert_eq(PARSE(&one, &o, "--dist", "zipf:-1"), CLI_EXIT_USAGE);
    cr_assert_eq(PARSE(&one, &o, "--payload", "20-10"), CLI_EXIT_USAGE);
    cr_assert_eq(PARSE(&one, &o, "--payload", "16777217"), CLI_EXIT_USAGE);
    cr_assert_eq(PARSE(&one, &o, "--pin", "sideways"), CLI_EXIT_USAGE);
    cr_assert_eq(PARSE(&one, &o, "--rate", "nan"), CLI_EXIT_USAGE);
    cr_assert_eq(PARSE(&one, &o, "--bogus"), CLI_EXIT_USAGE);
    cr_assert_eq(PARSE(&one, &o, "--dump"), CLI_EXIT_USAGE);
    cr_assert_eq(PARSE(&one, &o, "stray"), CLI_EXIT_USAGE);
    cr_assert_eq(PARSE(&many, &o, "--workers", "0"), CLI_EXIT_USAGE);
    cr_assert_eq(PARSE(&many, &o, "--workers", "257"), CLI_EXIT_USAGE);
}

Test(cli, a_single_process_phase_accepts_only_one_worker, .init = quiet)
{
    struct options o;
    cr_assert_eq(PARSE(&one, &o, "--workers", "1"), CLI_RUN);
    cr_assert_eq(PARSE(&one, &o, "--workers", "2"), CLI_EXIT_USAGE);
    cr_assert_eq(PARSE(&one, &o, "--recover"), CLI_EXIT_USAGE);
}

Test(cli, a_trace_excludes_the_generator_flags, .init = quiet)
{
    struct options o;
    cr_assert_eq(PARSE(&one, &o, "--trace", "t", "--seed", "3"), CLI_EXIT_USAGE);
    cr_assert_eq(PARSE(&one, &o, "--trace", "t", "--dump", "x"), CLI_RUN);
}

/* --query-spin-us, an extra flag of phases 2, 3 and 5, through cli.c's setter. */
Test(cli, the_query_spin_lead_is_read_in_microseconds, .init = quiet)
{
    uint64_t spin_ns = CLI_QUERY_SPIN_US_DEFAULT * 1000ull;
    const struct cli_extra spin = {"query-spin-us", "US", CLI_QUERY_SPIN_HELP(CLI_QUERY_SPIN_US_DEFAULT),
                                   cli_set_query_spin, &spin_ns};
    const struct cli_program prog = {.name = "phaseZ", .purpose = "test", .phase = 2, .extras = &spin, .nextras = 1};
    struct options o;
    cr_assert_eq(PARSE(&prog, &o, "--queries", "10"), CLI_RUN);
    cr_assert_eq(spin_ns, 150000, "the default lead is 150 us");
    cr_assert_eq(PARSE(&prog, &o, "--query-spin-us", "0"), CLI_RUN);
    cr_assert_eq(spin_ns, 0);
    cr_assert_eq(PARSE(&prog, &o, "--query-spin-us", "40"), CLI_RUN);
    cr_assert_eq(spin_ns, 40000);
    cr_assert_eq(PARSE(&prog, &o, "--query-spin-us", "1000001"), CLI_EXIT_USAGE);
    cr_assert_eq(PARSE(&prog, &o, "--query-spin-us", "-5"), CLI_EXIT_USAGE);
    cr_assert_eq(PARSE(&prog, &o, "--query-spin-us", "1.5"), CLI_EXIT_USAGE);
    cr_assert_eq(spin_ns, 40000, "a refused value changes nothing");
}

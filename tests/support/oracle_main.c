/* oracle_main.c - the program `oracle`: phase 1's command line, the shared
 * core's answer (oracle.h). Tests run it where they need the dump a trace
 * or a generated workload must give, instead of the student's phase 1. */
#include <stdio.h>

#include "cli.h"
#include "oracle.h"
#include "run.h"

static const struct cli_program program = {
    .name = "oracle",
    .purpose = "Writes the final state (--dump) that any phase must give for this input (msgroute tests).",
    .phase = 1,
};

int main(int argc, char **argv)
{
    struct options o;
    struct source src;
    int status = run_begin(&program, argc, argv, &o, &src);
    if (status != RUN_GO)
        return status;
    char err[512];
    if (o.dump && oracle_dump(&src, o.dump, err, sizeof err) < 0) {
        fprintf(stderr, "oracle: %s\n", err);
        status = EXIT_OUTPUT_FAILED;
    } else {
        status = EXIT_OK;
    }
    source_free(&src);
    return status;
}

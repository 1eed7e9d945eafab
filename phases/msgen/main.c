/* msgen - writes the generator's messages as a trace (SPEC §5), so that any
 * generated run can be replayed exactly with --trace:
 *
 *     msgen --messages 1000000 --ids 10000 --dist zipf:1.1 --seed 7 > t.trace
 *
 * The output is a pure function of the flags: same flags, same bytes. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "source.h"
#include "trace.h"

static const struct cli_program program = {
    .name = "msgen",
    .purpose = "Writes a msgroute trace from the deterministic generator to stdout.",
    .phase = 0,
};

int main(int argc, char **argv)
{
    struct options o;
    switch (cli_parse(&program, argc, argv, &o)) {
    case CLI_EXIT_OK: return 0;
    case CLI_EXIT_USAGE: return 2;
    case CLI_RUN: break;
    }
    struct source src;
    int rc = source_init_generator(&src, &o.gen);
    if (rc < 0) {
        fprintf(stderr, "msgen: cannot start the generator: %s\n", strerror(-rc));
        return 2;
    }
    static char buf[1 << 16];
    setvbuf(stdout, buf, _IOFBF, sizeof buf);
    printf("# msgen --messages %llu --ids %u --dist ", (unsigned long long)o.gen.messages, o.gen.ids);
    if (o.gen.dist == DIST_ZIPF)
        printf("zipf:%g", o.gen.zipf_s);
    else
        printf("uniform");
    printf(" --payload %u-%u --seed %llu\n", o.gen.payload_min, o.gen.payload_max, (unsigned long long)o.gen.seed);
    struct msg m;
    while (source_next(&src, &m))
        if (trace_write_msg(stdout, &m) < 0)
            break;
    int failed = fflush(stdout) == EOF || ferror(stdout);
    source_free(&src);
    if (failed) {
        fprintf(stderr, "msgen: write error: %s\n", strerror(errno));
        return 1;
    }
    return 0;
}

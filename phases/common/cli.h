/* cli.h - the common command line of SPEC §7, parsed once for every program.
 *
 * A phase describes itself in a struct cli_program (its name, whether it has
 * workers, any flags of its own) and gets back a filled struct options or a
 * decision to exit: --help prints usage and exits 0, anything wrong prints one
 * clear line plus a usage hint and exits 2. */
#ifndef MSGROUTE_CLI_H
#define MSGROUTE_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "source.h"

#define CLI_MAX_WORKERS 256

enum pin_mode { PIN_NONE, PIN_SPREAD, PIN_SAME };

struct options {
    const char *trace; /* NULL: the built-in generator */
    struct gen_config gen;
    uint32_t workers;
    double rate;      /* messages per second, 0 = as fast as possible */
    uint64_t work_ns; /* simulated work per message */
    enum pin_mode pin;
    double queries; /* queries per second, 0 = none */
    uint32_t query_timeout_ms;
    bool recover;
    double status_every;  /* seconds, 0 = never */
    const char *dump;     /* NULL: no dump */
    const char *timeline; /* NULL: no timeline (timeline.h) */
    bool json;
};

/* A flag of one phase only (e.g. phase 2's --batch). set() parses arg into
 * the phase's own settings, or returns false with a reason in why. */
struct cli_extra {
    const char *name;
    const char *metavar; /* NULL for a flag without argument */
    const char *help;
    bool (*set)(void *ctx, const char *arg, char *why, size_t why_len);
    void *ctx;
};

struct cli_program {
    const char *name;
    const char *purpose; /* one line for --help */
    int phase;           /* 1..5; 0 for msgen (generator flags only) */
    bool has_workers;    /* phases 3-5: --workers above 1, --recover */
    const struct cli_extra *extras;
    size_t nextras;
};

enum cli_result { CLI_RUN, CLI_EXIT_OK, CLI_EXIT_USAGE };

/* Defaults: 1 000 000 messages over 10 000 uniform ids, 0-byte payloads,
 * seed 1, 2 workers (1 without workers), query timeout 1000 ms. */
void cli_defaults(const struct cli_program *p, struct options *o);
enum cli_result cli_parse(const struct cli_program *p, int argc, char **argv, struct options *o);
void cli_usage(const struct cli_program *p, FILE *f);

/* Strict number parsing shared with the phases' own flags: the whole string
 * must be a number in [min, max]. */
bool cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
bool cli_parse_double(const char *s, double min, double max, double *out);

/* --query-spin-us US, a flag of the phases whose loop asks --queries on a
 * ptimer (2, 3 and 5): the spin lead of that ptimer (ptimer.h), which wakes
 * the loop US before each due time and spins to it. The default of phases 2
 * and 3 is about the p99 of a timer's lateness on an idle virtual CPU
 * (bench/pingpong --gap-us measures it); phase 5's is 0 (phase5.h says
 * why). ctx is the uint64_t of nanoseconds it sets. */
#define CLI_QUERY_SPIN_US_DEFAULT 150
/* Its --help line, naming a default given as a bare number (a macro). */
#define CLI_QUERY_SPIN_HELP(default_us)                                                                                \
    "wake US before each --queries query is due and spin to it (0: never; default " CLI_STR(default_us) ")"
#define CLI_STR(x) CLI_STR_(x)
#define CLI_STR_(x) #x
bool cli_set_query_spin(void *ctx, const char *arg, char *why, size_t why_len);

/* A --query ID of the phases with workers (asked after the drain): checks
 * that arg is a worker_id and that list, holding *n of max, has room, then
 * appends it. False with why filled otherwise. */
bool cli_add_final_query(const char **list, size_t *n, size_t max, const char *arg, char *why, size_t why_len);

#endif

/* cli.c - getopt_long over the common flags plus a phase's extras. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "idmap.h"
#include "msg.h"

enum {
    OPT_TRACE = 1000,
    OPT_MESSAGES,
    OPT_IDS,
    OPT_DIST,
    OPT_PAYLOAD,
    OPT_SEED,
    OPT_WORKERS,
    OPT_RATE,
    OPT_WORK_NS,
    OPT_PIN,
    OPT_QUERIES,
    OPT_QUERY_TIMEOUT,
    OPT_RECOVER,
    OPT_STATUS_EVERY,
    OPT_DUMP,
    OPT_TIMELINE,
    OPT_JSON,
    OPT_HELP,
    OPT_EXTRA /* extras are OPT_EXTRA + i */
};

struct flag {
    const char *name, *metavar, *help;
    int id;
    bool generator; /* belongs to the generator (msgen has only these) */
    bool workers;   /* only for programs with workers */
};

static const struct flag flags[] = {
    {"trace", "FILE", "read messages from a trace file ('-' for stdin)", OPT_TRACE, false, false},
    {"messages", "M", "generate M messages (default 1000000)", OPT_MESSAGES, true, false},
    {"ids", "K", "over K distinct worker_ids (default 10000)", OPT_IDS, true, false},
    {"dist", "D", "id distribution: uniform or zipf:S (default uniform)", OPT_DIST, true, false},
    {"payload", "B|MIN-MAX", "payload bytes, fixed or a range (default 0, max 16777216)", OPT_PAYLOAD, true, false},
    {"seed", "X", "generator seed (default 1)", OPT_SEED, true, false},
    {"workers", "N", "worker processes (default 2; 1 only, for phases without workers)", OPT_WORKERS, false, false},
    {"rate", "R", "messages per second, 0 = as fast as possible (default 0)", OPT_RATE, false, false},
    {"work-ns", "W", "simulated work per message, in ns (default 0)", OPT_WORK_NS, false, false},
    {"pin", "MODE", "CPU placement: none, spread or same (default none)", OPT_PIN, false, false},
    {"queries", "Q", "queries per second at random known ids (default 0)", OPT_QUERIES, false, false},
    {"query-timeout", "MS", "deadline of one query in ms (default 1000)", OPT_QUERY_TIMEOUT, false, false},
    {"recover", NULL, "restart a dead worker and rebuild its machines", OPT_RECOVER, false, true},
    {"status-every", "S", "print the status table to stderr every S seconds", OPT_STATUS_EVERY, false, false},
    {"dump", "FILE", "write the final state as CSV ('-' for stdout)", OPT_DUMP, false, false},
    {"timeline", "FILE", "write a Chrome trace-event JSON timeline of every process (Perfetto UI, speedscope)",
     OPT_TIMELINE, false, false},
    {"json", NULL, "print a JSON summary as the last line of stdout", OPT_JSON, false, false},
    {"help", NULL, "show this help and exit", OPT_HELP, true, false},
};
#define NFLAGS (sizeof flags / sizeof flags[0])

static bool flag_applies(const struct cli_program *p, const struct flag *f)
{
    if (p->phase == 0)
        return f->generator;
    return !f->workers || p->has_workers;
}

void cli_defaults(const struct cli_program *p, struct options *o)
{
    memset(o, 0, sizeof *o);
    o->gen = (struct gen_config){.messages = 1000000, .ids = 10000, .dist = DIST_UNIFORM, .seed = 1};
    o->workers = p->has_workers ? 2 : 1;
    o->query_timeout_ms = 1000;
}

void cli_usage(const struct cli_program *p, FILE *f)
{
    fprintf(f, "usage: %s [options]\n%s\n\noptions:\n", p->name, p->purpose);
    for (size_t i = 0; i < NFLAGS; i++) {
        if (!flag_applies(p, &flags[i]))
            continue;
        char left[48];
        snprintf(left, sizeof left, "--%s%s%s", flags[i].name, flags[i].metavar ? " " : "",
                 flags[i].metavar ? flags[i].metavar : "");
        fprintf(f, "  %-26s %s\n", left, flags[i].help);
    }
    for (size_t i = 0; i < p->nextras; i++) {
        char left[48];
        const struct cli_extra *x = &p->extras[i];
        snprintf(left, sizeof left, "--%s%s%s", x->name, x->metavar ? " " : "", x->metavar ? x->metavar : "");
        fprintf(f, "  %-26s %s\n", left, x->help);
    }
    if (p->phase)
        fprintf(f, "\nexit status: 0 success, 2 bad usage or input, 3 a worker was lost, 130 interrupted twice\n"
                   "environment: MSGROUTE_LOG=debug|info|warn sets the log level (default warn)\n");
}

bool cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

bool cli_set_query_spin(void *ctx, const char *arg, char *why, size_t why_len)
{
    uint64_t us;
    if (!cli_parse_u64(arg, 0, 1000000, &us)) {
        snprintf(why, why_len, "want microseconds from 0 (never spin) to 1000000");
        return false;
    }
    *(uint64_t *)ctx = us * 1000;
    return true;
}

bool cli_parse_double(const char *s, double min, double max, double *out)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v) || v < min || v > max)
        return false;
    *out = v;
    return true;
}

bool cli_add_final_query(const char **list, size_t *n, size_t max, const char *arg, char *why, size_t why_len)
{
    if (!msg_id_valid(arg, strlen(arg))) {
        snprintf(why, why_len, "'%s' is not a worker_id (1-63 bytes of A-Za-z0-9_.:-)", arg);
        return false;
    }
    if (*n == max) {
        snprintf(why, why_len, "at most %zu of them", max);
        return false;
    }
    list[(*n)++] = arg;
    return true;
}

static bool parse_payload(const char *s, struct gen_config *g)
{
    uint64_t lo, hi;
    const char *dash = strchr(s, '-');
    if (!dash) {
        if (!cli_parse_u64(s, 0, MSG_PAYLOAD_MAX, &lo))
            return false;
        g->payload_min = g->payload_max = (uint32_t)lo;
        return true;
    }
    char first[24];
    size_t n = (size_t)(dash - s);
    if (n == 0 || n >= sizeof first)
        return false;
    memcpy(first, s, n);
    first[n] = '\0';
    if (!cli_parse_u64(first, 0, MSG_PAYLOAD_MAX, &lo) || !cli_parse_u64(dash + 1, lo, MSG_PAYLOAD_MAX, &hi))
        return false;
    g->payload_min = (uint32_t)lo;
    g->payload_max = (uint32_t)hi;
    return true;
}

static bool parse_dist(const char *s, struct gen_config *g)
{
    if (strcmp(s, "uniform") == 0) {
        g->dist = DIST_UNIFORM;
        return true;
    }
    if (strncmp(s, "zipf:", 5) == 0 && cli_parse_double(s + 5, 0.01, 10.0, &g->zipf_s)) {
        g->dist = DIST_ZIPF;
        return true;
    }
    return false;
}

static enum cli_result usage_error(const struct cli_program *p, const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "%s: ", p->name);
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, "\nTry '%s --help' for the options.\n", p->name);
    return CLI_EXIT_USAGE;
}

/* Applies one common flag; returns a reason when the value is bad. */
static const char *apply(const struct cli_program *p, struct options *o, int id, const char *arg)
{
    uint64_t u;
    switch (id) {
    case OPT_TRACE: o->trace = arg; return NULL;
    case OPT_MESSAGES: return cli_parse_u64(arg, 0, UINT64_MAX / 2, &o->gen.messages) ? NULL : "want a count >= 0";
    case OPT_IDS:
        if (!cli_parse_u64(arg, 1, IDMAP_MAX_IDS, &u))
            return "want a count from 1 to 16777216";
        o->gen.ids = (uint32_t)u;
        return NULL;
    case OPT_DIST: return parse_dist(arg, &o->gen) ? NULL : "want uniform or zipf:S with 0.01 <= S <= 10";
    case OPT_PAYLOAD: return parse_payload(arg, &o->gen) ? NULL : "want B or MIN-MAX, bytes from 0 to 16777216";
    case OPT_SEED: return cli_parse_u64(arg, 0, UINT64_MAX, &o->gen.seed) ? NULL : "want a number";
    case OPT_WORKERS:
        if (!cli_parse_u64(arg, 1, CLI_MAX_WORKERS, &u))
            return "want a count from 1 to 256";
        o->workers = (uint32_t)u;
        return NULL;
    case OPT_RATE: return cli_parse_double(arg, 0, 1e12, &o->rate) ? NULL : "want messages per second >= 0";
    case OPT_WORK_NS:
        return cli_parse_u64(arg, 0, 1000000000, &o->work_ns) ? NULL : "want nanoseconds from 0 to 1000000000";
    case OPT_PIN:
        if (strcmp(arg, "none") == 0)
            o->pin = PIN_NONE;
        else if (strcmp(arg, "spread") == 0)
            o->pin = PIN_SPREAD;
        else if (strcmp(arg, "same") == 0)
            o->pin = PIN_SAME;
        else
            return "want none, spread or same";
        return NULL;
    case OPT_QUERIES: return cli_parse_double(arg, 0, 1e9, &o->queries) ? NULL : "want queries per second >= 0";
    case OPT_QUERY_TIMEOUT:
        if (!cli_parse_u64(arg, 1, 3600000, &u))
            return "want milliseconds from 1 to 3600000";
        o->query_timeout_ms = (uint32_t)u;
        return NULL;
    case OPT_RECOVER: o->recover = true; return NULL;
    case OPT_STATUS_EVERY: return cli_parse_double(arg, 0.001, 86400, &o->status_every) ? NULL : "want seconds > 0";
    case OPT_DUMP: o->dump = arg; return NULL;
    case OPT_TIMELINE: return *arg ? (o->timeline = arg, NULL) : "want a file name";
    case OPT_JSON: o->json = true; return NULL;
    }
    (void)p;
    return "unknown option";
}

enum cli_result cli_parse(const struct cli_program *p, int argc, char **argv, struct options *o)
{
    cli_defaults(p, o);
    struct option longopts[NFLAGS + 16 + 1];
    size_t n = 0;
    for (size_t i = 0; i < NFLAGS; i++)
        if (flag_applies(p, &flags[i]))
            longopts[n++] =
                (struct option){flags[i].name, flags[i].metavar ? required_argument : no_argument, NULL, flags[i].id};
    for (size_t i = 0; i < p->nextras && i < 16; i++)
        longopts[n++] = (struct option){p->extras[i].name, p->extras[i].metavar ? required_argument : no_argument, NULL,
                                        OPT_EXTRA + (int)i};
    longopts[n] = (struct option){0, 0, 0, 0};

    opterr = 0;
    optind = 1;
    bool generator_flag = false;
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        const char *opt = argv[optind - 1];
        if (c == 'h' || c == OPT_HELP) {
            cli_usage(p, stdout);
            return CLI_EXIT_OK;
        }
        if (c == '?')
            return usage_error(p, "unknown option '%s'%s", opt, "");
        if (c == ':')
            return usage_error(p, "option '%s' needs a value%s", opt, "");
        if (c >= OPT_EXTRA) {
            const struct cli_extra *x = &p->extras[c - OPT_EXTRA];
            char why[160] = "bad value";
            if (!x->set(x->ctx, optarg, why, sizeof why))
                return usage_error(p, "--%s: %s", x->name, why);
            continue;
        }
        /* Name the flag from the table, not from argv: with "--rate -1",
         * argv[optind - 1] is the value, not the flag. */
        const struct flag *f = NULL;
        for (size_t i = 0; i < NFLAGS; i++)
            if (flags[i].id == c)
                f = &flags[i];
        const char *why = apply(p, o, c, optarg);
        if (why)
            return usage_error(p, "bad value for --%s: %s", f ? f->name : "?", why);
        if (f && f->generator)
            generator_flag = true;
    }
    if (optind < argc)
        return usage_error(p, "unexpected argument '%s'%s", argv[optind], "");
    if (o->trace && generator_flag)
        return usage_error(p,
                           "--trace and the generator flags (--messages, --ids, --dist, --payload, --seed) "
                           "exclude each other%s%s",
                           "", "");
    if (!p->has_workers && o->workers != 1)
        return usage_error(p, "%s runs everything in one process: --workers accepts only 1%s", p->name, "");
    return CLI_RUN;
}

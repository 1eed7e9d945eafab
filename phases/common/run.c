/* run.c - starting a run, opening sources, writing dumps, reporting. */
#include "run.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "dump.h"
#include "log.h"
#include "pin.h"
#include "timeline.h"

int run_begin(const struct cli_program *p, int argc, char **argv, struct options *o, struct source *s)
{
    switch (cli_parse(p, argc, argv, o)) {
    case CLI_EXIT_OK: return EXIT_OK;
    case CLI_EXIT_USAGE: return EXIT_USAGE;
    case CLI_RUN: break;
    }
    log_init(argv[0]);
    /* Until the phase installs its own handler, a status request (SIGUSR1)
     * must not kill a run that is still loading a large trace or building
     * its id table; there is no status to print yet, so it is ignored.
     * SIGINT keeps its default here: dying by it gives the shell status 130,
     * "interrupted", and nothing has been routed or written yet. */
    signal(SIGUSR1, SIG_IGN);
    if (pin_self(o->pin, PIN_MAIN) < 0)
        log_warn("--pin: cannot set CPU affinity; running unpinned");
    int status = run_open_source(p->name, o, s);
    if (status != EXIT_OK)
        return status;
    /* Before any fork: the workers inherit the buffer. A slot per worker and
     * three more per worker for --recover's restarts. */
    char err[512];
    if (o->timeline && timeline_start(o->timeline, 1 + 4 * o->workers, err, sizeof err) < 0) {
        fprintf(stderr, "%s: --timeline: %s\n", p->name, err);
        source_free(s);
        return EXIT_OUTPUT_FAILED;
    }
    return RUN_GO;
}

int run_end(const char *program, int status)
{
    char err[512];
    if (timeline_finish(err, sizeof err) < 0) {
        fprintf(stderr, "%s: cannot write the timeline: %s\n", program, err);
        if (status == EXIT_OK)
            status = EXIT_OUTPUT_FAILED;
    }
    return status;
}

int run_open_source(const char *program, const struct options *o, struct source *s)
{
    if (o->trace) {
        char err[512];
        if (source_load_trace(s, o->trace, err, sizeof err) < 0) {
            fprintf(stderr, "%s\n", err);
            return EXIT_USAGE;
        }
        return EXIT_OK;
    }
    int rc = source_init_generator(s, &o->gen);
    if (rc < 0) {
        fprintf(stderr, "%s: cannot start the generator: %s\n", program, strerror(-rc));
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

int run_write_dump(const char *program, const struct options *o, const struct machine *rows, size_t n)
{
    if (!o->dump)
        return EXIT_OK;
    char err[512];
    if (dump_write(o->dump, rows, n, err, sizeof err) < 0) {
        fprintf(stderr, "%s: cannot write the dump: %s\n", program, err);
        return EXIT_OUTPUT_FAILED;
    }
    return EXIT_OK;
}

void run_report(const char *program, const struct options *o, const struct run_summary *s)
{
    /* With --json or a dump on stdout, stdout is for machines: the human
     * lines go to stderr. */
    bool stdout_taken = o->json || (o->dump && strcmp(o->dump, "-") == 0);
    summary_print_text(stdout_taken ? stderr : stdout, program, s);
    if (o->json) {
        summary_print_json(stdout, s);
        fflush(stdout);
    }
}

int run_finish_shard(const char *program, const struct options *o, const struct shard *shard, struct run_summary *sum,
                     struct worker_stats *self)
{
    const struct machine *ms = shard->table.machines;
    uint32_t n = table_count(&shard->table);
    int status = run_write_dump(program, o, ms, n);
    if (status != EXIT_OK)
        return status;
    summary_count_machines(sum, ms, n);
    sum->rss_kb_max = rss_peak_self_kb();
    self->rss_kb = sum->rss_kb_max;
    run_report(program, o, sum);
    return EXIT_OK;
}

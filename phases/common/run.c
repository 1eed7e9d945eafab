/* run.c - starting a run, opening sources, writing dumps, reporting. */
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dump.h"
#include "log.h"
#include "pin.h"
#include "signals.h"
#include "spill.h"
#include "timeline.h"

/* A program started with stdin, stdout or stderr closed would be handed
 * those numbers by its first open(), pipe() or epoll_create(): its messages
 * would go down a pipe, and libuv asserts that no handle of its own is fd
 * 0-2. Each closed one is held by /dev/null opened the other way round, so
 * that its number stays taken and any use of it still fails (EBADF), as on
 * a closed descriptor. */
static int hold_stdio_numbers(void)
{
    for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; fd++) {
        if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
            continue;
        int held = open("/dev/null", (fd == STDIN_FILENO ? O_WRONLY : O_RDONLY) | O_NOCTTY);
        if (held < 0)
            return -errno;
        if (held != fd) { /* a lower number was closed too and is held already */
            close(held);
            return -EBADF;
        }
    }
    return 0;
}

int run_begin(const struct cli_program *p, int argc, char **argv, struct options *o, struct source *s)
{
    /* First of all: from here on no signal ends the run by its default
     * action (signals.h), and fds 0-2 are taken. */
    if (hold_stdio_numbers() < 0 || signals_install(p->name) < 0) {
        fprintf(stderr, "%s: cannot set up signals and standard streams: %s\n", p->name, strerror(errno));
        return EXIT_SETUP_FAILED;
    }
    switch (cli_parse(p, argc, argv, o)) {
    case CLI_EXIT_OK: return EXIT_OK;
    case CLI_EXIT_USAGE: return EXIT_USAGE;
    case CLI_RUN: break;
    }
    log_init(argv[0]);
    if (pin_self(o->pin, PIN_MAIN) < 0)
        log_warn("--pin: cannot set CPU affinity; running unpinned");
    int status = run_open_source(p->name, o, s);
    if (status != EXIT_OK)
        return status;
    if (signals_stops() > 0)
        log_warn("stopped during start-up: nothing will be routed; draining an empty run");
    /* Before any fork: the workers inherit the buffer. A slot per worker and
     * three more per worker for --recover's restarts. */
    char err[512];
    if (o->timeline && timeline_start(o->timeline, 1 + 4 * o->workers, err, sizeof err) < 0) {
        fprintf(stderr, "%s: --timeline: %s\n", p->name, err);
        source_free(s);
        return EXIT_SETUP_FAILED;
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
        int rc = source_load_trace(s, o->trace, err, sizeof err);
        if (rc < 0) {
            fprintf(stderr, "%s\n", err);
            return rc == -EINVAL ? EXIT_USAGE : rc == -ENOMEM ? EXIT_NO_MEMORY : EXIT_SETUP_FAILED;
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

int run_check_source(const struct source *s)
{
    const char *why = source_failed(s);
    if (!why)
        return EXIT_OK;
    fprintf(stderr, "%s\n", why);
    return EXIT_USAGE;
}

/* Writes --dump if asked. EXIT_OK or EXIT_OUTPUT_FAILED. */
static int write_dump(const char *program, const struct options *o, const struct table *t)
{
    if (!o->dump)
        return EXIT_OK;
    char err[512];
    if (dump_write(o->dump, t, err, sizeof err) < 0) {
        fprintf(stderr, "%s: cannot write the dump: %s\n", program, err);
        return EXIT_OUTPUT_FAILED;
    }
    return EXIT_OK;
}

int run_report(const char *program, const struct options *o, const struct run_summary *s)
{
    /* With --json or a dump on stdout, stdout is for machines: the human
     * lines go to stderr. */
    bool stdout_taken = o->json || (o->dump && strcmp(o->dump, "-") == 0);
    FILE *human = stdout_taken ? stderr : stdout;
    summary_print_text(human, program, s);
    if (fflush(human) == EOF && !stdout_taken)
        log_warn("cannot write the summary to stdout: %s", strerror(errno));
    if (!o->json)
        return EXIT_OK;
    /* The JSON line is a result, as the dump is: losing it is a failure. */
    summary_print_json(stdout, s);
    if (ferror(stdout) || fflush(stdout) == EOF) {
        fprintf(stderr, "%s: cannot write the --json summary: %s\n", program, strerror(errno));
        return EXIT_OUTPUT_FAILED;
    }
    return EXIT_OK;
}

/* Writes t's machines as the dump, adds their counters to sum, and
 * reports. */
static int finish_table(const char *program, const struct options *o, const struct table *t, struct run_summary *sum)
{
    int status = write_dump(program, o, t);
    if (status != EXIT_OK)
        return status;
    summary_count_machines(sum, t);
    return run_report(program, o, sum);
}

int run_sorter_init(const struct options *o, struct extsort *x)
{
    char buf[PATH_MAX];
    const char *dir = o->dump ? spill_dir_beside(o->dump, buf, sizeof buf) : NULL;
    return extsort_init(x, dir, o->workers, o->dump ? EXTSORT_RUN_RECORDS : 0);
}

int run_sorter_failed(const char *program, const struct extsort *x, int rc)
{
    if (rc == -ENOMEM) {
        fprintf(stderr, "%s: out of memory for the records of the dump\n", program);
        return EXIT_NO_MEMORY;
    }
    fprintf(stderr, "%s: cannot write the dump: cannot spill its records in %s: %s\n", program, x->dir, strerror(-rc));
    return EXIT_OUTPUT_FAILED;
}

static int next_sorted(void *ctx, const struct machine **row)
{
    return extsort_next(ctx, row);
}

int run_finish_sorted(const char *program, const struct options *o, struct extsort *x, struct run_summary *sum)
{
    struct machine_tally t = extsort_total(x);
    tally_merge(&sum->counted, &t);
    if (o->dump) {
        char err[512];
        int rc = extsort_finish(x);
        if (rc < 0) {
            fprintf(stderr, "%s: cannot sort the records for the dump: %s\n", program, strerror(-rc));
            return EXIT_OUTPUT_FAILED;
        }
        if (dump_write_each(o->dump, next_sorted, x, err, sizeof err) < 0) {
            if (x->error == -EBADMSG)
                fprintf(stderr, "%s: machine %s came twice (a routing error: a machine has one owner); no dump\n",
                        program, x->last.id);
            else
                fprintf(stderr, "%s: cannot write the dump: %s\n", program, err);
            return EXIT_OUTPUT_FAILED;
        }
    }
    return run_report(program, o, sum);
}

int run_finish_shard(const char *program, const struct options *o, const struct shard *shard, struct run_summary *sum,
                     struct worker_stats *self)
{
    sum->rss_kb_max = rss_peak_self_kb();
    self->rss_kb = sum->rss_kb_max;
    return finish_table(program, o, &shard->table, sum);
}

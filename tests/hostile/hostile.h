/* hostile.h - running every built phase on one hostile input and checking
 * that it fails the way SPEC §5 and §7 promise: the exit status, one clear
 * line on stderr, no summary, no dump, no process left behind.
 *
 * Shared by the hostile-input tests (README.md is their table). */
#ifndef MSGROUTE_HOSTILE_H
#define MSGROUTE_HOSTILE_H

#include <stdbool.h>
#include <stddef.h>

#define HOSTILE_MAX_ARGS 16
#define HOSTILE_DEADLINE_MS 20000 /* generous: the sanitizer build is slow */

/* A phase program found in BIN_DIR. */
struct hostile_phase {
    char path[512];
    int n;            /* 1..5 */
    bool has_workers; /* phases 3-5 */
};

/* The phase programs built in BIN_DIR (phase1..phase5), in order; returns how
 * many (at most 5). phase1 is always built with the tests. */
int hostile_phases(struct hostile_phase out[5]);

/* What one run is expected to do. */
struct hostile_expect {
    int status;        /* exit status */
    const char *err;   /* a substring stderr must hold, or NULL */
    const char *out;   /* a substring stdout must hold, or NULL */
    bool one_err_line; /* stderr is exactly one line */
    bool quiet_stdout; /* stdout is empty (no summary: nothing ran) */
};

/* Runs ph with args (NULL-terminated) and stdin from stdin_path (NULL:
 * /dev/null), in its own process group, and checks exp, that it finished
 * before the deadline and that no process of its group is left. Failures are
 * reported with the phase's name and the arguments. */
void hostile_run(const struct hostile_phase *ph, const char *const *args, const char *stdin_path,
                 const struct hostile_expect *exp);

/* The same on every built phase. */
void hostile_run_all(const char *const *args, const char *stdin_path, const struct hostile_expect *exp);

/* Expects a usage error (status 2, one line on stderr holding why, nothing on
 * stdout) from every built phase. */
void hostile_usage_error(const char *const *args, const char *why);

/* Expects the trace at path to be rejected by every built phase as SPEC §5
 * says: status 2, stderr exactly "<name>:<line>: ..." holding why, stdout
 * empty, and no dump written (the run is given --dump into a fresh directory
 * that must stay empty). name is how the error names the file (the path, or
 * "<stdin>" when from_stdin). line 0 means "<name>: ..." without a line. */
void hostile_trace_rejected(const char *path, bool from_stdin, const char *name, int line, const char *why);

/* Expects every built phase to accept the trace (file, or stdin) and to write
 * a dump byte-identical to golden_csv. */
void hostile_trace_accepted(const char *path, bool from_stdin, const char *golden_csv);

/* Writes len bytes of data to dir/name; returns the malloc'd path. */
char *hostile_write(const char *dir, const char *name, const void *data, size_t len);

#endif

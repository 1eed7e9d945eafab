/* test_signals.c - the second stop request of signals.h, outside any loop:
 * it ends the process with 130 and removes the dump's temporary file, until
 * the dump is in place; from then on it is only counted, so a run never
 * exits 130 beside a dump. Each case runs in a child, which the request
 * may end. */
#include <criterion/criterion.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dump.h"
#include "exits.h"
#include "proc.h"
#include "signals.h"

TestSuite(signals, .timeout = 20);

enum { CHILD_RAN_ON = 7 }; /* the child's exit status when two stops did not end it */

/* path in a fresh directory of its own, which the test removes whole. */
static char *scratch_path(char **dir, const char *name)
{
    static char path[PATH_MAX];
    *dir = temp_dir();
    cr_assert_not_null(*dir);
    snprintf(path, sizeof path, "%s/%s", *dir, name);
    return path;
}

/* Runs body in a child with the handlers installed, then sends it two stop
 * requests; returns its wait status. */
static int after_two_stops(void (*body)(const char *path), const char *path)
{
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        if (signals_install("test_signals") < 0)
            _exit(99);
        body(path);
        raise(SIGINT);
        raise(SIGTERM);
        _exit(CHILD_RAN_ON);
    }
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    return st;
}

static void temp_file_named(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        _exit(98);
    fclose(f);
    signals_set_temp_file(path);
}

static void dump_written(const char *path)
{
    char err[256];
    struct table none = {0};
    if (dump_write(path, &none, err, sizeof err) < 0)
        _exit(97);
}

Test(signals, a_second_stop_request_exits_130_and_removes_the_temporary_file)
{
    char *dir;
    const char *path = scratch_path(&dir, "dump.csv.tmp");
    int st = after_two_stops(temp_file_named, path);
    bool left = access(path, F_OK) == 0;
    remove_dir(dir);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == EXIT_INTERRUPTED, "status %#x, want exit 130", st);
    cr_expect(!left, "the temporary file was left behind");
}

/* A second request that lands after the rename, before the exit, must not
 * turn a run whose dump is in place into "interrupted, no dump". */
Test(signals, a_second_stop_request_after_the_dump_is_in_place_is_only_counted)
{
    char *dir;
    const char *path = scratch_path(&dir, "dump.csv");
    int st = after_two_stops(dump_written, path);
    bool present = access(path, F_OK) == 0;
    remove_dir(dir);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == CHILD_RAN_ON, "status %#x: the stops ended the child", st);
    cr_expect(present, "the dump is gone");
}

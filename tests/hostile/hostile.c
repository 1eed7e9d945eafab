/* hostile.c - runs phases on hostile input and checks how they fail. */
#include "hostile.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"

int hostile_phases(struct hostile_phase out[5])
{
    int n = 0;
    for (int i = 1; i <= 5; i++) {
        struct hostile_phase *ph = &out[n];
        snprintf(ph->path, sizeof ph->path, "%s/phase%d", BIN_DIR, i);
        if (access(ph->path, X_OK) != 0)
            continue;
#ifdef MSGROUTE_SANITIZED
        /* Phase 5 forks its workers after ZeroMQ's threads exist, and a
         * worker can inherit AddressSanitizer's allocator lock held by one
         * of them and never start: make sanitize leaves phase 5 out (the
         * Makefile says more). */
        if (i == 5)
            continue;
#endif
        ph->n = i;
        ph->has_workers = i >= 3;
        n++;
    }
    return n;
}

/* "phase3 --trace x --dump y" for failure messages. */
static void describe(const struct hostile_phase *ph, const char *const *args, char *buf, size_t len)
{
    size_t used = (size_t)snprintf(buf, len, "phase%d", ph->n);
    for (size_t i = 0; args[i] && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, " %s", args[i]);
}

void hostile_run(const struct hostile_phase *ph, const char *const *args, const char *stdin_path,
                 const struct hostile_expect *exp)
{
    char *argv[HOSTILE_MAX_ARGS + 2];
    size_t n = 0;
    argv[n++] = (char *)ph->path;
    for (size_t i = 0; args[i]; i++) {
        cr_assert_lt(n, HOSTILE_MAX_ARGS + 1, "too many arguments for one hostile run");
        argv[n++] = (char *)args[i];
    }
    argv[n] = NULL;
    char what[1024];
    describe(ph, args, what, sizeof what);

    struct proc p = {0};
    struct proc_result r;
    cr_assert_eq(proc_start_in(argv, stdin_path, &p), 0, "%s: cannot start", what);
    cr_assert_eq(proc_wait(&p, HOSTILE_DEADLINE_MS, &r), 0, "%s: cannot wait", what);
    cr_expect_not(r.timed_out, "%s: still running after %d ms", what, HOSTILE_DEADLINE_MS);
    cr_expect_eq(r.status, exp->status, "%s: exit status %d, want %d; stderr: %s", what, r.status, exp->status, r.err);
    if (exp->err)
        cr_expect(strstr(r.err, exp->err) != NULL, "%s: stderr should mention '%s', got: %s", what, exp->err, r.err);
    if (exp->out)
        cr_expect(strstr(r.out, exp->out) != NULL, "%s: stdout should mention '%s', got: %s", what, exp->out, r.out);
    if (exp->one_err_line) {
        const char *nl = strchr(r.err, '\n');
        cr_expect(nl != NULL && nl[1] == '\0', "%s: stderr should be one line, got: %s", what, r.err);
    }
    if (exp->quiet_stdout)
        cr_expect_str_empty(r.out, "%s: nothing should run, yet stdout has: %s", what, r.out);
    cr_expect_eq(count_group_processes(p.pid), 0, "%s: left processes behind", what);
    proc_result_free(&r);
}

void hostile_run_all(const char *const *args, const char *stdin_path, const struct hostile_expect *exp)
{
    struct hostile_phase ph[5];
    int n = hostile_phases(ph);
    cr_assert_gt(n, 0, "no phase program in %s", BIN_DIR);
    for (int i = 0; i < n; i++)
        hostile_run(&ph[i], args, stdin_path, exp);
}

void hostile_usage_error(const char *const *args, const char *why)
{
    struct hostile_expect exp = {.status = 2, .err = why, .one_err_line = false, .quiet_stdout = true};
    hostile_run_all(args, NULL, &exp);
}

/* True when dir holds nothing but . and .. */
static bool dir_is_empty(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return false;
    struct dirent *e;
    bool empty = true;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            empty = false;
    closedir(d);
    return empty;
}

void hostile_trace_rejected(const char *path, bool from_stdin, const char *name, int line, const char *why)
{
    char *dir = temp_dir();
    cr_assert_not_null(dir);
    char dump[600], prefix[1200];
    snprintf(dump, sizeof dump, "%s/never.csv", dir);
    if (line > 0)
        snprintf(prefix, sizeof prefix, "%s:%d: ", name, line);
    else
        snprintf(prefix, sizeof prefix, "%s: ", name);
    const char *args[] = {"--trace", from_stdin ? "-" : path, "--dump", dump, NULL};

    struct hostile_phase ph[5];
    int n = hostile_phases(ph);
    cr_assert_gt(n, 0, "no phase program in %s", BIN_DIR);
    for (int i = 0; i < n; i++) {
        /* stderr must start with FILE:LINE and hold the reason. */
        struct hostile_expect exp = {.status = 2, .err = prefix, .one_err_line = true, .quiet_stdout = true};
        hostile_run(&ph[i], args, from_stdin ? path : NULL, &exp);
        exp.err = why;
        exp.one_err_line = false;
        hostile_run(&ph[i], args, from_stdin ? path : NULL, &exp);
        cr_expect(dir_is_empty(dir), "phase%d: a rejected trace left a dump (or its temporary) behind", ph[i].n);
    }
    remove_dir(dir);
}

void hostile_trace_accepted(const char *path, bool from_stdin, const char *golden_csv)
{
    char *dir = temp_dir();
    cr_assert_not_null(dir);
    char dump[600];
    snprintf(dump, sizeof dump, "%s/out.csv", dir);
    const char *args[] = {"--trace", from_stdin ? "-" : path, "--dump", dump, NULL};
    struct hostile_phase ph[5];
    int n = hostile_phases(ph);
    for (int i = 0; i < n; i++) {
        struct hostile_expect exp = {.status = 0};
        hostile_run(&ph[i], args, from_stdin ? path : NULL, &exp);
        cr_expect(files_equal(dump, golden_csv), "phase%d: the dump of %s differs from %s", ph[i].n, path, golden_csv);
        unlink(dump);
    }
    remove_dir(dir);
}

char *hostile_write(const char *dir, const char *name, const void *data, size_t len)
{
    char *path = malloc(strlen(dir) + strlen(name) + 2);
    cr_assert_not_null(path);
    sprintf(path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot create %s", path);
    cr_assert_eq(fwrite(data, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
    return path;
}

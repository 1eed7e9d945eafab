/* remote.c - coordinators and workers started the way a user on another
 * host would start them (remote.h). */
#include "remote.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformance.h"

bool wait_for_text(const char *path, const char *text, int ms, char *copy, size_t copy_len)
{
    for (long long end = proc_now_ms() + ms; proc_now_ms() < end; proc_sleep_ms(10)) {
        char *s = read_file(path, NULL);
        const char *at = s ? strstr(s, text) : NULL;
        if (at && copy)
            snprintf(copy, copy_len, "%s", at + strlen(text));
        free(s);
        if (at)
            return true;
    }
    return false;
}

void start_coordinator(char *const argv[], struct proc *p, char *endpoint, size_t len)
{
    setenv("MSGROUTE_LOG", "info", 1);
    cr_assert_eq(proc_start(argv, p), 0);
    unsetenv("MSGROUTE_LOG");
    char rest[256];
    cr_assert(wait_for_text(p->err_path, "bound ", 10000, rest, sizeof rest), "no 'bound' line");
    rest[strcspn(rest, "\n")] = '\0';
    snprintf(endpoint, len, "%s", rest);
}

void remote_coordinator(char *const argv[], int n, struct remote_run *rr)
{
    memset(rr, 0, sizeof *rr);
    rr->n = n;
    cr_assert_eq(proc_start(argv, &rr->coord), 0);
    char want[64];
    snprintf(want, sizeof want, "--index %d --of %d", n - 1, n);
    cr_assert(wait_for_text(rr->coord.err_path, want, 10000, NULL, 0), "no worker command printed");
    char *err = read_file(rr->coord.err_path, NULL);
    cr_assert(err);
    char *at = strstr(err, "workers at ");
    cr_expect(strstr(err, "waiting for") && at, "%s", err);
    if (at)
        snprintf(rr->endpoint, sizeof rr->endpoint, "%.*s", (int)strcspn(at + 11, ";\n"), at + 11);
    int k = 0;
    for (char *line = strtok(err, "\n"); line && k < n; line = strtok(NULL, "\n"))
        if (strstr(line, " --worker "))
            snprintf(rr->cmd[k++], sizeof rr->cmd[0], "%s", line + strspn(line, " "));
    free(err);
    cr_assert_eq(k, n, "%d worker commands printed, want %d", k, n);
}

void remote_worker_as(struct remote_run *rr, int k, char *const wrap[], const char *connect)
{
    /* A worker started after its coordinator has ended could only wait for
     * it: a tree whose coordinator fails fails here, not at a deadline. */
    char tail[512];
    cr_assert_not(proc_has_exited(rr->coord.pid), "the coordinator ended before worker %d could start: %s", k,
                  proc_err_tail(rr->coord.pid, tail, sizeof tail));
    char copy[REMOTE_CMD_MAX], *argv[48];
    snprintf(copy, sizeof copy, "%s", rr->cmd[k]);
    int argc = 0;
    for (int w = 0; wrap && wrap[w] && argc < 16; w++)
        argv[argc++] = wrap[w];
    for (char *t = strtok(copy, " "); t && argc < 47; t = strtok(NULL, " ")) {
        argv[argc++] = t;
        if (connect && strcmp(t, "--connect") == 0 && strtok(NULL, " ") && argc < 47)
            argv[argc++] = (char *)connect; /* in place of the printed endpoint */
    }
    argv[argc] = NULL;
    cr_assert_eq(proc_start(argv, &rr->worker[k]), 0);
    rr->exit_by = 0;
}

void remote_worker(struct remote_run *rr, int k)
{
    remote_worker_as(rr, k, NULL, NULL);
}

int remote_worker_exit(struct remote_run *rr, int k, int timeout_ms, char *err, size_t err_len)
{
    long long now = proc_now_ms();
    if (rr->exit_by == 0) /* not "<= now": a deadline that has passed stays passed */
        rr->exit_by = now + timeout_ms;
    long long left = rr->exit_by - now;
    timeout_ms = left < 500 ? 500 : left < timeout_ms ? (int)left : timeout_ms;
    struct proc_result r;
    cr_assert_eq(proc_wait(&rr->worker[k], timeout_ms, &r), 0);
    cr_expect_not(r.timed_out, "worker %d did not end within %d ms", k, timeout_ms);
    int status = r.status;
    if (err)
        snprintf(err, err_len, "%s", r.err ? r.err : "");
    proc_result_free(&r);
    return status;
}

void remote_assert_clean(struct remote_run *rr)
{
    /* The check reaps stray zombies, so it comes after every wait. */
    conf_assert_clean_exit(rr->coord.pid);
    for (int k = 0; k < rr->n; k++)
        conf_assert_clean_exit(rr->worker[k].pid);
}

void remote_start_all(char *const argv[], int n, struct remote_run *rr)
{
    remote_coordinator(argv, n, rr);
    for (int k = 0; k < n; k++)
        remote_worker(rr, k);
}

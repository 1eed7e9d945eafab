/* remote.h - phase 5 tests' way of playing "someone on another host": a
 * coordinator started with --remote (or with its log on, to read the
 * endpoint it bound), and workers started from the exact commands it
 * prints, optionally inside a network namespace or from another source
 * address. Shared by test_phase5.c and test_phase5_net.c.
 *
 * For tests only: failures are Criterion assertions in the calling test. */
#ifndef MSGROUTE_TEST_PHASE5_REMOTE_H
#define MSGROUTE_TEST_PHASE5_REMOTE_H

#include <stdbool.h>
#include <stddef.h>

#include "proc.h"

#define REMOTE_MAX 4
#define REMOTE_CMD_MAX 1024

/* A coordinator started with --remote and the workers started from the
 * commands it prints, each a process of the test's own. */
struct remote_run {
    struct proc coord;
    struct proc worker[REMOTE_MAX];
    char cmd[REMOTE_MAX][REMOTE_CMD_MAX];
    char endpoint[256]; /* where it waits, from its "waiting for N workers at" line */
    int n;
    long long exit_by; /* remote_worker_exit(): the deadline the workers' waits share */
};

/* Waits up to ms for text in the file at path; with copy, what follows
 * text is copied there. */
bool wait_for_text(const char *path, const char *text, int ms, char *copy, size_t copy_len);

/* Starts argv (phase5 without --remote) with MSGROUTE_LOG=info and returns
 * the endpoint its ROUTER bound, from its "bound ENDPOINT" line. */
void start_coordinator(char *const argv[], struct proc *p, char *endpoint, size_t len);

/* Starts the coordinator argv (with --remote) and reads the n worker
 * commands it prints. */
void remote_coordinator(char *const argv[], int n, struct remote_run *rr);

/* Starts worker k from its printed command, split at its spaces. */
void remote_worker(struct remote_run *rr, int k);

/* remote_coordinator(), then every one of its n workers from its command. */
void remote_start_all(char *const argv[], int n, struct remote_run *rr);

/* As remote_worker, the command after the words of wrap (say "ip netns exec
 * NS"; NULL: none) and, when connect is not NULL, with it as the value of
 * --connect (say "tcp://127.0.0.3:*;127.0.0.2:PORT", to connect from
 * 127.0.0.3). */
void remote_worker_as(struct remote_run *rr, int k, char *const wrap[], const char *connect);

/* Waits for worker k's exit: its status, its stderr into err. The workers
 * of a run end together, at their coordinator's end, so successive waits
 * share one deadline (timeout_ms from the first since a worker was last
 * started, at least 500 ms each): n workers that never end (a coordinator
 * that stopped before they connected) cost one timeout, not n. */
int remote_worker_exit(struct remote_run *rr, int k, int timeout_ms, char *err, size_t err_len);

/* Once every process of rr has been waited for: nothing of them is left. */
void remote_assert_clean(struct remote_run *rr);

#endif

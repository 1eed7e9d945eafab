/* conformance.h - the end-to-end checks every phase's tests share: the
 * golden dumps (SPEC §6), malformed traces (§5), the oracle's dump (phase
 * 1's answer, from the shared core alone) for generated input, the dump's
 * msgs column, and a clean exit (§8: no process of the run left behind,
 * nothing new in /dev/shm).
 *
 * Each check runs a phase's program with that phase's own flags and fails
 * the calling Criterion test with a message naming the trace and the flags.
 * Flag lists are NULL-terminated arrays; NULL stands for none.
 *
 * A suite that uses them is declared
 *     TestSuite(phaseN, .init = conf_suite_init, .fini = conf_suite_fini);
 * Criterion runs .fini after a failed assertion too, so conf_dir, the
 * test's scratch directory, never outlives the test.
 *
 * For tests only; not thread-safe (one Criterion test per process). */
#ifndef MSGROUTE_TEST_CONFORMANCE_H
#define MSGROUTE_TEST_CONFORMANCE_H

#include <sys/types.h>

#include "proc.h"

#define CONF_PATH_MAX 512
#define CONF_RUN_MS 60000 /* deadline of one program run */

/* The test's scratch directory, made by conf_suite_init. */
extern char *conf_dir;

/* .init: makes conf_dir, takes the /dev/shm snapshot conf_assert_clean_exit
 * compares with, and makes this test the reaper of orphans (a run's workers
 * whose main process died come back to it, to be counted and reaped).
 * .fini: removes conf_dir and frees the snapshot. */
void conf_suite_init(void);
void conf_suite_fini(void);

/* conf_dir/name, into buf of CONF_PATH_MAX bytes; returns buf. */
char *conf_path(char *buf, const char *name);

/* The entries of conf_dir: a test that counts them before and after a run
 * sees a file the run left behind (a spill file, a temporary dump). */
int conf_dir_entries(void);

/* Runs argv to completion (stdin from stdin_path; NULL: /dev/null) and
 * asserts that it started, did not time out and exited want. r keeps its
 * output: proc_result_free it. */
void conf_run(char *const argv[], const char *stdin_path, int want, struct proc_result *r);

/* conf_run wanting exit 0, its output dropped. */
void conf_run_ok(char *const argv[]);

/* Writes msgen's trace for the generator flags gen into path. */
void conf_msgen(const char *path, char *const gen[]);

/* Writes to dump what phase 1 must give for args (a --trace or generator
 * flags): the oracle program's answer (oracle.h), not the student's phase 1,
 * so that a phase is graded on its own code only. */
void conf_phase1_dump(char *const args[], const char *dump);

/* For every golden trace T: `bin --trace T extra... --dump D` exits 0 and
 * D is T's golden CSV byte for byte. */
void conf_golden_dumps(const char *bin, char *const extra[]);

/* For every trace T of tests/golden/bad: `bin --trace T extra... --dump D`
 * exits 2 with exactly one line on stderr, starting "T:LINE: " for the line
 * at fault, and writes no D. */
void conf_bad_traces(const char *bin, char *const extra[]);

/* `bin args... extra... --dump D` exits 0 and D equals want byte for byte. */
void conf_expect_dump(const char *bin, char *const args[], char *const extra[], const char *want);

/* The oracle of a generated trace: msgen's trace for gen, into trace, and
 * the dump phase 1 must give for it, into dump (both under conf_dir). */
struct conf_oracle {
    char trace[CONF_PATH_MAX];
    char dump[CONF_PATH_MAX];
};
void conf_oracle_msgen(struct conf_oracle *o, char *const gen[]);

/* One generated trace: `bin --trace T extra...` gives phase 1's dump of T,
 * T being msgen's trace for gen. */
void conf_matches_phase1(const char *bin, char *const extra[], char *const gen[]);

/* The built-in generator: `bin gen... extra...` gives the dump of
 * `phase1 gen...`. */
void conf_generator_matches_phase1(const char *bin, char *const gen[], char *const extra[]);

/* SPEC §8 for a phase with workers. Each runs `bin FLAGS... extra... --dump
 * D` and checks that the run ends within its deadline, writes no D and
 * leaves nothing behind (conf_assert_clean_exit). */

/* FLAGS: --rate 50000 --messages 10000000 --workers 2. Worker 0 is stopped
 * (so the drain cannot finish), then SIGINT, SIGINT 200 ms later: exit 130. */
void conf_second_sigint_exits_130(const char *bin, char *const extra[]);

/* The same, the run started with MSGROUTE_LOG=debug, and the signals sent
 * only once its stderr holds running (a line that says the run is under
 * way): a run that stops on its own before it gets there fails, whatever
 * the timing, instead of passing when the signals happen to come first. */
void conf_second_sigint_exits_130_once(const char *bin, char *const extra[], const char *running);

/* FLAGS: --rate 100000 --messages 10000000 --workers 3. Worker 1 SIGKILLed:
 * exit 3 within 1 s, "worker 1 (pid P): killed by SIGKILL" on stderr. */
void conf_killed_worker_exits_3(const char *bin, char *const extra[]);

/* FLAGS: --messages 100000000 --workers 2. Worker 0 stopped, so the source
 * blocks on its full queue; then worker 1 SIGKILLed: exit 3 within 1 s,
 * "worker 1 (pid P): killed by SIGKILL" on stderr. */
void conf_killed_worker_exits_3_while_blocked(const char *bin, char *const extra[]);

/* What a program and the workers it waited for (RUSAGE_CHILDREN) used:
 * counts the kernel keeps whatever the machine's load. */
struct conf_usage {
    long voluntary_switches; /* its sleeps */
    long page_faults;        /* minor: pages mapped on first touch */
};

/* Runs argv, asserting exit 0 within timeout_ms, into *used. */
void conf_usage(char *const argv[], int timeout_ms, struct conf_usage *used);

/* conf_usage()'s voluntary context switches alone. */
long conf_voluntary_switches(char *const argv[], int timeout_ms);

/* The sum of a dump's msgs column (the third); asserts the dump exists. */
unsigned long long conf_sum_msgs(const char *dump_path);

/* The number of the top-level key in the last JSON line of json (a
 * program's --json summary; json_top.h); asserts it is there. */
unsigned long long conf_json_u64(const char *json, const char *key);
double conf_json_num(const char *json, const char *key);

/* Worker `index` of the n children of main_pid (in fork order, that is
 * ascending pid), waiting up to 3 s for all n to exist. */
pid_t conf_worker_pid(pid_t main_pid, int index, int n);

/* After the run led by pgid has been waited for: asserts that no process of
 * its group is left (zombies included, once orphans have been reaped) and
 * that every name in /dev/shm was there when the test began. */
void conf_assert_clean_exit(pid_t pgid);

/* Waits up to timeout_ms, reaping orphans, for the group pgid to be gone:
 * for runs whose workers end on their own after the main process was killed
 * (PR_SET_PDEATHSIG). conf_assert_clean_exit then checks. */
void conf_wait_group_gone(pid_t pgid, int timeout_ms);

#endif

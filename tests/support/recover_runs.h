/* recover_runs.h - the --recover scenarios every phase with worker
 * processes is put through (SPEC §8, recover.h), shared by
 * tests/recover (phases 3 and 4) and tests/phase5: workers SIGKILLed at
 * random instants, whatever the input, during queries and during the drain,
 * the run ending 0 with phase 1's dump byte for byte; a poison message
 * ending it with exit 3, its trace line named and no dump. Each checks that
 * the run leaves no process (zombies included) and nothing in /dev/shm.
 * Criterion assertions: call them from a test of a suite whose .init is
 * conf_suite_init. */
#ifndef MSGROUTE_TESTS_RECOVER_RUNS_H
#define MSGROUTE_TESTS_RECOVER_RUNS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define RECOVER_RUN_MS 60000 /* every run ends within this, or the test fails */

/* SIGKILLs `kills` random workers of main_pid (n of them), one every
 * min_ms..max_ms, each once all n are up (a restarted one included), until
 * the run ends. Returns how many were killed. */
int recover_kill_randomly(pid_t main_pid, int n, int kills, int min_ms, int max_ms, unsigned seed);

/* Runs argv (stdin from stdin_path, or NULL), kills workers as above, and
 * checks exit 0, at least min_kills deaths, a restart on stderr, the dump
 * equal to want and a clean end. */
void recover_run_with_kills(char *const argv[], const char *stdin_path, int n, int kills, int min_kills, int min_ms,
                            int max_ms, const char *dump, const char *want);

/* 20 kills of random workers among 3, from the generator, with queries. */
void recover_twenty_kills_from_the_generator(const char *bin);

/* A trace on stdin from a FIFO (read once, never again), payloads up to
 * 2 MiB, 8 kills; extra (nextra words) added to bin's command line. */
void recover_kills_with_a_fifo_on_stdin(const char *bin, char *const extra[], size_t nextra);

/* Slow workers (--work-ns) and a source that is over at once: the queues
 * hold most of the run, so every kill lands in the drain. */
void recover_kills_during_the_drain(const char *bin);

/* Runs bin on trace with --recover and seq poisoned: exit 3, `trace:line
 * (seq SEQ, id a, DATA) is a poison message` said, the first death
 * restarted, no dump, no process left. */
void recover_expect_poison_named(const char *bin, const char *trace, int line, int seq);

/* A worker that dies on the same message after its restart: exit 3, the
 * message's trace line named, no dump. Line 6 of the trace holds seq 40. */
void recover_a_poison_message_ends_the_run(const char *bin);

#endif

/* grade_util.h - what the graded tests of every phase share: the oracle dump
 * of a generated workload, reading a field of the JSON summary, and the
 * performance ratio to the reference build.
 *
 * The oracle is the shared core (source -> shard_deliver -> dump) driven
 * directly by the test, with no phase in between: a phase is correct when
 * its dump equals it byte for byte (SPEC §1, §6).
 *
 * For tests only; single-threaded. */
#ifndef MSGROUTE_GRADE_UTIL_H
#define MSGROUTE_GRADE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "source.h"

/* Writes to path the dump that the workload cfg must give, with --work-ns 0.
 * Returns 0, or -1 (out of memory, unwritable path). */
int grade_oracle_dump(const struct gen_config *cfg, const char *path);

/* The number of the top-level key in the last JSON line of out (the
 * summary; json_top.h), or -1 when the line or the key is missing. */
double grade_json_number(const char *out, const char *key);

/* This test's temporary folder, made on first use. A suite removes it with
 * `.fini = grade_drop_dir`, which runs even when an assertion fails
 * half-way (a remove at the end of the test would not: grading a starter
 * fails most tests, and must not litter /tmp). It is made on first use
 * because a skipped test does not reach fini. Each test runs in a process
 * of its own, so one folder per process is one per test. */
const char *grade_test_dir(void);
void grade_drop_dir(void);

/* Runs program (a path) on the generated workload cfg (--dist dist) with
 * the flags of `flags` (NULL-terminated; NULL for none), dumping to out,
 * with --json; in a process group of its own under a 30 s deadline. The
 * test fails unless the run exits 0 in time, leaves no process of its group
 * behind (a worker nobody reaped) and reports corrupt = 0. The result is
 * the caller's to free. */
struct proc_result;
void grade_run_workload(const char *program, const struct gen_config *cfg, const char *dist, char *const flags[],
                        const char *out, struct proc_result *r);

/* The workload's dump must equal the oracle's, with every message routed,
 * for each value of the phase's knob (knob "--workers" with values {"1",
 * "2", "4", "8"}, or "--batch" ...), the flags of extra added to each run;
 * knob NULL (and nvalues 1): one run with extra alone. secs, unless NULL,
 * gets each run's wall time (nvalues of them). */
void grade_expect_oracle_dump(const char *program, const struct gen_config *cfg, const char *dist, const char *knob,
                              const char *const values[], size_t nvalues, char *const extra[], double secs[]);

/* Seconds of a monotonic clock. */
double grade_now(void);

/* CPU seconds (user + system) of this process's waited-for children. */
double grade_children_cpu(void);

/* What a performance test times. GRADE_CPU, the user + system time of the
 * program (and of the children it reaped), suits a phase whose work is all
 * CPU (phase 1): unlike wall time it hardly moves when other programs share
 * the machine. GRADE_WALL suits phases whose cost includes waiting (pipes,
 * wake-ups across processes). */
enum grade_clock { GRADE_CPU, GRADE_WALL };

/* The performance ratio of a phase to its reference: runs the student's
 * program (under BIN_DIR) and the reference's (under $MSGROUTE_REF_BIN), each
 * reps times, alternating so that noise hits both alike, with the same
 * arguments, and returns best(reference time) / best(student time): 1.0
 * means as fast as the reference, 0.5 twice as slow. Every
 * student run must exit 0 and report "messages":expect_messages, or the
 * test fails. Skips the test when no reference is given (a student's
 * `make check`): performance is graded only against the reference, in the
 * same run, never against an absolute time. */
double grade_perf_ratio(const char *program, char *const args[], uint64_t expect_messages, int reps,
                        enum grade_clock clock);

#endif

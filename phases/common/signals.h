/* signals.h - stop and status requests at every instant of a run (SPEC §8).
 *
 * The rule is the same in every phase: a status request (SIGUSR1) never ends
 * a run; the first stop request (SIGINT or SIGTERM) stops the source, and
 * the run drains, dumps and exits 0; a second one ends the run at once with
 * EXIT_INTERRUPTED (130) and no dump, unless the dump is already in place
 * (signals_dump_in_place()): then there is nothing left to stop.
 *
 * While a phase's loop runs, the phase keeps that rule its own way: phase 1
 * with handlers of its own (a lesson), phases 2 and 3 with libuv's signal
 * handles, phase 4 by polling this module's counts. Everywhere else — from
 * the first instruction of main() while the trace loads and the tables are
 * built, and after the loop while handles close and the dump is written —
 * this module's handlers keep it: they count, and the second stop request
 * removes the temporary file being written (if any) and ends the process
 * with _exit(130). Workers die with it (pool.h: PR_SET_PDEATHSIG).
 *
 * Hand-overs hold the signals (signals_hold) so that none arrives in a
 * window where nobody handles it: closing the last libuv signal handle of a
 * signal gives it back its default action, which for all three is to
 * terminate.
 *
 * SIGPIPE is ignored from the start: a reader that goes away is an EPIPE
 * for the writer to report, not a silent death.
 *
 * Main process only, and single-threaded: the counts are sig_atomic_t. */
#ifndef MSGROUTE_SIGNALS_H
#define MSGROUTE_SIGNALS_H

#include <signal.h>
#include <stdbool.h>

/* The signals this module handles: the stop requests (SIGINT, SIGTERM) and
 * the status request (SIGUSR1). Inline, so that a program that links
 * nothing else (phases/phase5/launch.c) names the same set. */
static inline void signals_watched(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGUSR1);
}

/* Installs the counting handlers, the stop count starting at 0, and
 * ignores SIGPIPE. program names the process in the one line written when
 * a second stop request ends it. Then unblocks the signals it handles: a
 * launcher may have blocked them across execve() (phases/phase5/launch.c),
 * and what arrived meanwhile is counted now. 0, or a negative errno. */
int signals_install(const char *program);

/* Unblocks SIGINT, SIGTERM and SIGUSR1 without installing anything: for a
 * mode of a launched program that keeps their default actions. */
void signals_unblock(void);

/* Installs the counting handlers again after a phase's own handlers, with
 * the stop requests the phase has seen so far (0, 1 or more). */
void signals_resume(unsigned seen);

/* libuv installs its signal handlers with SA_RESTART, so a stop request
 * would not interrupt a blocking read of a streamed trace that has no data
 * yet, and the loop would never see it. Clears SA_RESTART from the handlers
 * now installed for SIGINT and SIGTERM: a read they interrupt fails with
 * EINTR, which the trace reader takes as the end of its input. Status
 * requests keep SA_RESTART: they never end anything. */
void signals_stops_interrupt_reads(void);

/* Stop requests counted by this module's handlers. */
unsigned signals_stops(void);

/* True once per status request counted since the last call. */
bool signals_take_status(void);

/* While the loop runs, a phase that polls signals_stops() handles the
 * second stop request itself (it kills its workers, reaps them and exits
 * 130): on (true) a second request is only counted. Off by default. */
void signals_loop_handles_second(bool on);

/* Blocks SIGINT, SIGTERM and SIGUSR1 (they stay pending, never lost) and
 * saves the previous mask in old; signals_release() restores it. */
void signals_hold(sigset_t *old);
void signals_release(const sigset_t *old);

/* The dump is in place: renamed over its target, or written whole to a
 * stream. The run has nothing left to stop, and a second stop request
 * from now on is only counted, so that the run exits 0 beside its dump
 * rather than 130 (which says: no dump). For a file, call it with the
 * signals held, in the instant of the rename, so that no stop request
 * lands between the two. */
void signals_dump_in_place(void);

/* Names the temporary file to remove if a second stop request ends the
 * process while it exists; NULL when there is none any more. The caller
 * holds the signals (signals_hold) while the name changes. */
void signals_set_temp_file(const char *path);

#endif

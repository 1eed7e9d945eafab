/* run.h - the steps every phase's main() shares: parse the command line and
 * open the source the options name, write the dump, print the summary. Each
 * prints its own error in the form SPEC §5 and §7 ask for and returns the
 * exit status to use. */
#ifndef MSGROUTE_RUN_H
#define MSGROUTE_RUN_H

#include "cli.h"
#include "extsort.h"
#include "shard.h"
#include "source.h"
#include "summary.h"

#define RUN_GO (-1) /* run_begin: not an exit status, go on with the run */

/* The preamble of every phase's main(): parses the common flags and p's
 * extras into o, reads MSGROUTE_LOG, pins the calling (main) process for
 * --pin (a failure is a warning: the run goes on unpinned) and opens the
 * source into s. Returns RUN_GO when the run should start, s then being the
 * caller's to source_free(); otherwise the status main() returns, with
 * nothing left open: EXIT_OK after --help, EXIT_USAGE after a bad flag or a
 * bad trace, its reason already on stderr. */
int run_begin(const struct cli_program *p, int argc, char **argv, struct options *o, struct source *s);

/* The last step of every phase's main(), on every path after run_begin():
 * writes --timeline if asked (every worker must have been reaped). Returns
 * status, or EXIT_OUTPUT_FAILED when the run was fine but the timeline could
 * not be written; a failed run keeps its own status, and its timeline, the
 * record of how it failed, is still written. */
int run_end(const char *program, int status);

/* EXIT_OK, or EXIT_USAGE after printing "FILE:LINE: reason" (bad trace) or
 * the reason the generator cannot start. */
int run_open_source(const char *program, const struct options *o, struct source *s);

/* After the run, before the dump: EXIT_OK, or EXIT_USAGE after printing
 * "FILE:LINE: reason" when a streamed trace turned out malformed while it
 * was routed (the run drained, but a malformed trace gets no dump). */
int run_check_source(const struct source *s);

/* Prints the human summary to stderr (when --json is set) or stdout, and the
 * JSON line last on stdout when --json is set. EXIT_OK, or
 * EXIT_OUTPUT_FAILED when the JSON line could not be written (a human
 * summary that cannot be written is only a warning). */
int run_report(const char *program, const struct options *o, const struct run_summary *s);

/* The sorter of the records a main process collects from its workers
 * (phases 3 and 5, extsort.h): it keeps them, spilled beside the dump, only
 * when there is a dump to write, and only tallies them otherwise. 0 or
 * -errno. */
int run_sorter_init(const struct options *o, struct extsort *x);

/* Says why x cannot keep the dump's records (extsort_add() returned rc) and
 * returns the exit status: EXIT_NO_MEMORY or EXIT_OUTPUT_FAILED. */
int run_sorter_failed(const char *program, const struct extsort *x, int rc);

/* The end of a run whose machines were collected into x: adds their
 * counters to sum, writes them as the dump, and reports. EXIT_OK or
 * EXIT_OUTPUT_FAILED. */
int run_finish_sorted(const char *program, const struct options *o, struct extsort *x, struct run_summary *sum);

/* The end of a one-process run (phases 1 and 2): writes the shard's machines
 * as the dump, adds their counters and this process's peak RSS to sum and
 * self, and reports. EXIT_OK or EXIT_OUTPUT_FAILED. */
int run_finish_shard(const char *program, const struct options *o, const struct shard *shard, struct run_summary *sum,
                     struct worker_stats *self);

#endif

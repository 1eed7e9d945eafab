/* run.h - the steps every phase's main() shares: open the source the options
 * name, write the dump, print the summary. Each prints its own error in the
 * form SPEC §5 and §7 ask for and returns the exit status to use. */
#ifndef MSGROUTE_RUN_H
#define MSGROUTE_RUN_H

#include "cli.h"
#include "source.h"
#include "summary.h"

#define EXIT_OUTPUT_FAILED 1 /* the dump or summary could not be written */

/* EXIT_OK, or EXIT_USAGE after printing "FILE:LINE: reason" (bad trace) or
 * the reason the generator cannot start. */
int run_open_source(const char *program, const struct options *o, struct source *s);

/* Writes --dump if asked. EXIT_OK or EXIT_OUTPUT_FAILED. */
int run_write_dump(const char *program, const struct options *o, const struct machine *rows, size_t n);

/* Prints the human summary to stderr (when --json is set) or stdout, and the
 * JSON line last on stdout when --json is set. */
void run_report(const char *program, const struct options *o, const struct run_summary *s);

#endif

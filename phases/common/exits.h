/* exits.h - the one table of exit statuses (SPEC §7). Every program and
 * every worker process of every phase exits with one of these, and each
 * means one thing only, so a status seen in a shell, a test or a worker's
 * obituary ("exited with status 5: out of memory") needs no context.
 *
 * 0, 2, 3 and 130 are the SPEC's; the others are ours and are listed in the
 * README. Only main() (or a worker's body, for its own process) decides to
 * exit; library code returns errors. */
#ifndef MSGROUTE_EXITS_H
#define MSGROUTE_EXITS_H

enum exit_status {
    EXIT_OK = 0,
    EXIT_OUTPUT_FAILED = 1, /* the dump, the --json summary or the --timeline could not be written */
    EXIT_USAGE = 2,         /* a bad flag or malformed input (FILE:LINE: reason) */
    EXIT_WORKER_LOST = 3,   /* a worker died and was not recovered */
    EXIT_SETUP_FAILED = 4,  /* the run could not be set up: pipes, processes, shared memory, a loop, a spill file */
    EXIT_NO_MEMORY = 5,     /* out of memory */
    EXIT_NOT_WRITTEN = 6,   /* a lab function is not written yet (the starter code) */
    EXIT_PROTOCOL = 7,      /* a worker got bytes that break the protocol (a bad frame or record) */
    EXIT_PEER_GONE = 8,     /* a worker could not read from or write to the main process */
    EXIT_INTERRUPTED = 130  /* a second stop request: ended at once, no dump */
};

/* What status means, in a few words ("out of memory"); "an unknown status"
 * for one not in the table. */
const char *exit_status_meaning(int status);

#endif

/* exits.c - the words for each exit status of exits.h. */
#include "exits.h"

const char *exit_status_meaning(int status)
{
    switch (status) {
    case EXIT_OK: return "success";
    case EXIT_OUTPUT_FAILED: return "the output could not be written";
    case EXIT_USAGE: return "bad usage or malformed input";
    case EXIT_WORKER_LOST: return "a worker was lost";
    case EXIT_SETUP_FAILED: return "the run could not be set up";
    case EXIT_NO_MEMORY: return "out of memory";
    case EXIT_NOT_WRITTEN: return "a lab function is not written yet";
    case EXIT_PROTOCOL: return "a protocol violation";
    case EXIT_PEER_GONE: return "the main process could not be reached";
    case EXIT_INTERRUPTED: return "interrupted twice";
    default: return "an unknown status";
    }
}

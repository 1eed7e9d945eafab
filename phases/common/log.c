/* log.c - the stderr logger. One fprintf per line: stdio locks the stream, so
 * lines from one process never interleave mid-line. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum log_level log_threshold = LOG_WARN;
static const char *program_name = "msgroute";

void log_init(const char *program)
{
    const char *slash = strrchr(program, '/');
    program_name = slash ? slash + 1 : program;
    const char *v = getenv("MSGROUTE_LOG");
    if (!v)
        return;
    if (strcmp(v, "debug") == 0)
        log_threshold = LOG_DEBUG;
    else if (strcmp(v, "info") == 0)
        log_threshold = LOG_INFO;
    else if (strcmp(v, "warn") == 0)
        log_threshold = LOG_WARN;
    else
        fprintf(stderr, "%s: MSGROUTE_LOG=%s is not debug, info or warn; using warn\n", program_name, v);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s[%d] %s: %s\n", program_name, (int)getpid(), names[level], line);
}

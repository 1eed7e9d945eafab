/* log.h - leveled logging to stderr, chosen by MSGROUTE_LOG=debug|info|warn
 * (default warn). Every line names the program and pid, so the interleaved
 * output of a main process and its workers can be untangled. */
#ifndef MSGROUTE_LOG_H
#define MSGROUTE_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

extern enum log_level log_threshold;

/* Reads MSGROUTE_LOG and remembers the program name; call once in main. */
void log_init(const char *program);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) (log_threshold <= LOG_DEBUG ? log_msg(LOG_DEBUG, __VA_ARGS__) : (void)0)
#define log_info(...) (log_threshold <= LOG_INFO ? log_msg(LOG_INFO, __VA_ARGS__) : (void)0)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif

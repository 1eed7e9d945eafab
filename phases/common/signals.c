/* signals.c - the counting handlers of signals.h and the exit at once. */
#include "signals.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "exits.h"

static volatile sig_atomic_t stops, status_pending, loop_handles_second, dump_in_place;
static char program_name[64];
static char temp_file[PATH_MAX]; /* "" when none; changed only with the signals held */

/* Async-signal-safe: write(2), unlink(2), _exit(2), nothing else. */
static void exit_at_once(void)
{
    static const char why[] = ": stopped again: exiting at once, no dump written\n";
    if (temp_file[0])
        unlink(temp_file);
    if (write(STDERR_FILENO, program_name, strlen(program_name)) < 0 || write(STDERR_FILENO, why, sizeof why - 1) < 0) {
        /* Nothing to do: stderr is gone, and the exit status says it. */
    }
    _exit(EXIT_INTERRUPTED);
}

static void on_signal(int sig)
{
    int saved = errno;
    if (sig == SIGUSR1) {
        status_pending = 1;
    } else if (++stops >= 2 && !loop_handles_second && !dump_in_place) {
        exit_at_once();
    }
    errno = saved;
}

/* A stop request interrupts a blocking call (EINTR), so that a loop asleep
 * in one sees it at once; a status request restarts it, so that asking for
 * the status never turns into an error somewhere. */
static int set_handlers(void)
{
    static const int watched[] = {SIGINT, SIGTERM, SIGUSR1};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    /* One handler at a time: the count is not re-entered by a second signal. */
    signals_watched(&sa.sa_mask);
    for (size_t i = 0; i < sizeof watched / sizeof watched[0]; i++) {
        sa.sa_flags = watched[i] == SIGUSR1 ? SA_RESTART : 0;
        if (sigaction(watched[i], &sa, NULL) < 0)
            return -errno;
    }
    return 0;
}

int signals_install(const char *program)
{
    const char *base = strrchr(program, '/');
    base = base ? base + 1 : program;
    strncpy(program_name, base, sizeof program_name - 1);
    stops = 0;
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        return -errno;
    int err = set_handlers();
    if (err == 0)
        signals_unblock();
    return err;
}

void signals_unblock(void)
{
    sigset_t set;
    signals_watched(&set);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
}

void signals_resume(unsigned seen)
{
    sigset_t held;
    signals_hold(&held);
    stops = (sig_atomic_t)(seen > 2 ? 2 : seen);
    loop_handles_second = 0;
    /* sigaction() fails only for a bad signal number or a bad pointer. */
    (void)set_handlers();
    if (stops >= 2)
        exit_at_once();
    signals_release(&held);
}

void signals_stops_interrupt_reads(void)
{
    static const int stops_by[] = {SIGINT, SIGTERM};
    for (size_t i = 0; i < sizeof stops_by / sizeof stops_by[0]; i++) {
        struct sigaction sa;
        if (sigaction(stops_by[i], NULL, &sa) == 0) {
            sa.sa_flags &= ~SA_RESTART;
            sigaction(stops_by[i], &sa, NULL);
        }
    }
}

unsigned signals_stops(void)
{
    return (unsigned)stops;
}

bool signals_take_status(void)
{
    if (!status_pending)
        return false;
    status_pending = 0;
    return true;
}

void signals_loop_handles_second(bool on)
{
    loop_handles_second = on;
    if (!on && stops >= 2)
        exit_at_once();
}

void signals_hold(sigset_t *old)
{
    sigset_t set;
    signals_watched(&set);
    sigprocmask(SIG_BLOCK, &set, old);
}

void signals_release(const sigset_t *old)
{
    sigprocmask(SIG_SETMASK, old, NULL);
}

void signals_dump_in_place(void)
{
    dump_in_place = 1;
}

void signals_set_temp_file(const char *path)
{
    if (!path) {
        temp_file[0] = '\0';
        return;
    }
    size_t n = strlen(path);
    if (n >= sizeof temp_file)
        n = sizeof temp_file - 1; /* cannot happen for a name mkstemp() made */
    memcpy(temp_file, path, n);
    temp_file[n] = '\0';
}

/* launch.c - build/bin/phase5: holds the stop and status signals, then
 * becomes the real program, build/libexec/phase5, with the same arguments.
 *
 * Why a second program: SPEC §8 handles signals from the end of start-up
 * on, and until main() installs its handlers a status request (SIGUSR1)
 * ends a process by its default action. Before main() runs, the dynamic
 * loader maps and relocates every library the program needs: the other
 * phases need two or three, phase 5 needs nineteen (ZeroMQ and what it
 * pulls in: CURVE, Kerberos, PGM, NORM, the C++ runtime), and that start-up is
 * several times longer, long enough on a busy machine for a status request
 * sent "right after the start" to end the run.
 *
 * The cure is the one thing that survives execve(): the signal mask. A
 * blocked signal is not lost, it stays pending. This program loads libc
 * alone, blocks SIGINT, SIGTERM and SIGUSR1, and executes the real program,
 * which unblocks them once its handlers are in place (signals_install(), or
 * at once in the modes that keep the default actions); whatever arrived in
 * between is delivered then, to the handlers. The process keeps its pid
 * across execve(), so whoever started it sees one process throughout. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "exits.h"
#include "signals.h"

/* The real program's path: ../libexec/phase5 from this program's own
 * directory, wherever the build tree is. 0, or a negative errno. */
static int real_program(char *path, size_t size)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return n < 0 ? -errno : -ENOENT;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash)
        return -ENOENT;
    *slash = '\0';
    int len = snprintf(path, size, "%s/../libexec/phase5", self);
    return len > 0 && (size_t)len < size ? 0 : -ENAMETOOLONG;
}

int main(int argc, char **argv)
{
    (void)argc;
    sigset_t held;
    signals_watched(&held);
    sigprocmask(SIG_BLOCK, &held, NULL);

    char path[PATH_MAX];
    int err = real_program(path, sizeof path);
    if (err < 0) {
        fprintf(stderr, "phase5: cannot find its own directory in /proc/self/exe: %s\n", strerror(-err));
        return EXIT_SETUP_FAILED;
    }
    execv(path, argv);
    fprintf(stderr, "phase5: cannot start %s: %s\n", path, strerror(errno));
    return EXIT_SETUP_FAILED;
}

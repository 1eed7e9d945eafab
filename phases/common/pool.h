/* pool.h - a pool of long-lived worker processes and their supervision
 * (SPEC §8): start N workers, pin them, notice a death within one loop turn,
 * name it ("worker 3 (pid 4242): killed by SIGKILL"), kill and reap them all.
 *
 * The pool knows nothing of what the workers do or how messages reach them:
 * pipes (phase 3), shared-memory rings (phase 4) and sockets (phase 5) are
 * set up by the phase before pool_start() and handed to each worker's body
 * through the `arg` the phase gives. It deliberately is not a scheduler, a
 * message queue or a restart policy; it gives a phase the pieces of one
 * (pool_start_worker() restarts a single index, for --recover).
 *
 * Why fork and not posix_spawn: the body of a worker is a function of this
 * program, given the objects the phase built (tables, fds, mappings), so a
 * worker needs no command line of its own and no second copy of the
 * configuration parsing; fork copies them for free, copy-on-write. What fork
 * asks in return:
 *   - the main process forks BEFORE it creates its libuv loop (pool_start()
 *     is called first, pool_watch() after the loop exists), so a worker never
 *     inherits a live loop; its body creates a fresh one of its own;
 *   - in the child the pool closes every descriptor except stdio and the
 *     ones the phase lists for that worker (keep_fds): above all the other
 *     workers' pipe ends, without which a worker would never see EOF on its
 *     pipe because a sibling still holds the write end open. The same close
 *     makes a restart from a running main process (--recover) safe: the
 *     parent's loop descriptors vanish from the child;
 *   - the child resets the signals the main process handles: SIGINT,
 *     SIGTERM and SIGUSR1 are ignored (Ctrl-C reaches the whole process
 *     group, `pkill -USR1 phase3` every process of that name, and the main
 *     process alone decides to drain or to print the status), SIGCHLD goes
 *     back to its default, SIGPIPE is ignored (a closed peer is an EPIPE to
 *     handle, not a death), and PR_SET_PDEATHSIG kills the worker if the
 *     main process dies, so a SIGKILLed main never leaves orphans.
 *
 * Statistics: each worker owns one slot of a shared anonymous mapping made
 * before the fork, written by that worker only (relaxed atomic stores, one
 * writer) and read by the main process at any time, so a status table never
 * needs to ask a worker that may be stopped or busy.
 *
 * Ownership and invariants: a struct pool belongs to the main process and to
 * one thread; workers see only their own slot. A worker is `alive` from a
 * successful fork until the pool has reaped it (waitpid), so a zombie is
 * never left behind once the main loop has run pool_watch()'s callback or
 * pool_reap_all(). Library code: nothing here calls exit() in the main
 * process; in the child, the body's return value becomes the exit status. */
#ifndef MSGROUTE_POOL_H
#define MSGROUTE_POOL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <uv.h>

#include "cli.h"

#define POOL_KEEP_MAX 8 /* descriptors one worker keeps besides stdio */

/* One worker's counters, shared with the main process. 64-byte aligned so
 * that two workers never write the same cache line. */
struct pool_slot {
    _Atomic uint64_t handled;     /* messages applied */
    _Atomic uint64_t busy_ns;     /* time spent applying them */
    _Atomic uint64_t queue_depth; /* bytes or messages waiting, as the phase defines */
    _Atomic int64_t rss_kb;       /* resident set, refreshed by the worker */
} __attribute__((aligned(64)));

struct pool;

/* The body of worker `index`: runs in the child and returns its exit status
 * (0 for an orderly end). */
typedef int (*pool_body_fn)(struct pool *p, uint32_t index, void *arg);

/* Fills fds with the descriptors worker `index` keeps; returns how many
 * (at most POOL_KEEP_MAX). Everything else above stderr is closed. */
typedef size_t (*pool_keep_fn)(uint32_t index, int *fds, void *arg);

/* Called in the main loop once per reaped worker, with its wait status. */
typedef void (*pool_exit_fn)(struct pool *p, uint32_t index, pid_t pid, int wstatus, void *arg);

struct pool_worker {
    pid_t pid;
    bool alive;  /* forked and not yet reaped */
    int wstatus; /* valid once !alive after a start */
};

struct pool {
    uint32_t n;
    enum pin_mode pin;
    pool_body_fn body;
    pool_keep_fn keep;
    pool_exit_fn on_exit;
    void *arg;
    struct pool_worker *w;   /* n entries */
    struct pool_slot *slots; /* n entries, MAP_SHARED */
    uv_signal_t sigchld;
    bool watching;
};

/* Allocates the worker table and the shared statistics slots. No process is
 * started. 0 or a negative errno. */
int pool_init(struct pool *p, uint32_t n, enum pin_mode pin, pool_body_fn body, pool_keep_fn keep, pool_exit_fn on_exit,
              void *arg);

/* Forks worker `index` (which must not be alive). Used by pool_start() and,
 * for --recover, to restart one worker. In the parent returns 0 or a
 * negative errno; the child never returns. */
int pool_start_worker(struct pool *p, uint32_t index);

/* Forks every worker. On failure the ones already started are killed and
 * reaped, and a negative errno is returned. Call before the main loop exists. */
int pool_start(struct pool *p);

/* Supervises the workers from loop: SIGCHLD wakes the loop, every worker
 * that has ended is reaped and reported to on_exit. Also reaps anything that
 * ended before the watch began. 0 or a negative libuv error. */
int pool_watch(struct pool *p, uv_loop_t *loop);

/* Closes the SIGCHLD handle (the loop must run once more to finish it). */
void pool_unwatch(struct pool *p);

/* Sends sig to every live worker. */
void pool_signal_all(struct pool *p, int sig);

/* Waits up to timeout_ms for every live worker to end, then SIGKILLs the
 * rest and waits for them. Blocking: for the end of a run, outside the loop
 * or when the loop is about to stop. Returns the number that had to be
 * killed. on_exit is not called. */
int pool_reap_all(struct pool *p, int timeout_ms);

/* Number of workers alive (not yet reaped). */
uint32_t pool_alive(const struct pool *p);

/* Waits up to timeout_ms for worker index to end, for a phase that saw a
 * symptom (a pipe error) and wants to name the cause ("killed by
 * SIGKILL"). 0 with its wait status in *wstatus (also when it was reaped
 * already), or -1 when it is still running. It is reaped without on_exit:
 * the caller is already dealing with it. */
int pool_wait_one(struct pool *p, uint32_t index, int timeout_ms, int *wstatus);

/* "exited with status 5 (out of memory)" or "killed by SIGKILL": the words
 * of SPEC §8, with the meaning of the status from exits.h. */
void pool_describe_exit(int wstatus, char *buf, size_t len);

/* What to say of worker index when a phase saw a symptom of its loss (a
 * pipe error, a failed send): a failure is often the symptom of a death
 * whose SIGCHLD has not been handled yet, so this waits up to timeout_ms
 * for it and names the cause first, "killed by SIGKILL (symptom)"; the
 * symptom alone when the worker still runs. */
void pool_describe_loss(struct pool *p, uint32_t index, int timeout_ms, const char *symptom, char *buf, size_t len);

/* Worker side: its own slot. */
static inline struct pool_slot *pool_slot(struct pool *p, uint32_t index)
{
    return &p->slots[index];
}

/* Unmaps the slots and frees the table. Workers must have been reaped. */
void pool_free(struct pool *p);

#endif

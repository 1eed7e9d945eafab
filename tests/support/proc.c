/* proc.c - child processes for tests, with deadlines. */
#define _GNU_SOURCE
#include "proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *nb = realloc(buf, cap * 2 + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        if (len)
            *len = n;
    }
    return buf;
}

bool files_equal(const char *a, const char *b)
{
    size_t la, lb;
    char *x = read_file(a, &la), *y = read_file(b, &lb);
    bool eq = x && y && la == lb && memcmp(x, y, la) == 0;
    free(x);
    free(y);
    return eq;
}

static pid_t spawn(char *const argv[], const char *in, const char *out, const char *err)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    /* Child: its own process group, so that a test can signal it and every
     * worker it starts at once. */
    setpgid(0, 0);
    int fi = open(in ? in : "/dev/null", O_RDONLY);
    int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fi < 0 || fo < 0 || fe < 0)
        _exit(126);
    dup2(fi, 0);
    dup2(fo, 1);
    dup2(fe, 2);
    execv(argv[0], argv);
    _exit(127);
}

/* Where tests keep their temporary files: $TMPDIR when it is set, else
 * /tmp. `make grade` gives each test binary a folder of its own and removes
 * it afterwards, so that a test killed at its timeout (no cleanup runs then)
 * leaves nothing behind. */
static const char *tmp_root(void)
{
    const char *t = getenv("TMPDIR");
    return t && *t ? t : "/tmp";
}

/* The files that will hold the child's stdout and stderr. */
static int make_output_files(struct proc *p)
{
    int n = snprintf(p->out_path, sizeof p->out_path, "%s/msgroute-test-out-XXXXXX", tmp_root());
    int m = snprintf(p->err_path, sizeof p->err_path, "%s/msgroute-test-err-XXXXXX", tmp_root());
    if (n < 0 || m < 0 || (size_t)n >= sizeof p->out_path || (size_t)m >= sizeof p->err_path)
        return -1;
    int a = mkstemp(p->out_path), b = mkstemp(p->err_path);
    if (a >= 0)
        close(a);
    if (b >= 0)
        close(b);
    return a < 0 || b < 0 ? -1 : 0;
}

/* Programs started and not yet waited for. A test whose assertion fails
 * between proc_start() and proc_wait() never reaches the wait; when its
 * process exits, this list kills what is left of those programs (their whole
 * process group) and removes their output files, so a failing test leaves no
 * process and no file behind. */
#define PENDING_MAX 64
static struct proc pending[PENDING_MAX];
static int npending;

static void reap_pending(void)
{
    for (int i = 0; i < npending; i++) {
        kill(-pending[i].pid, SIGKILL);
        kill(pending[i].pid, SIGKILL);
        waitpid(pending[i].pid, NULL, 0);
        unlink(pending[i].out_path);
        unlink(pending[i].err_path);
    }
    npending = 0;
}

static void remember(const struct proc *p)
{
    static bool registered;
    if (!registered)
        registered = atexit(reap_pending) == 0;
    if (npending < PENDING_MAX)
        pending[npending++] = *p;
}

static void forget(const struct proc *p)
{
    for (int i = 0; i < npending; i++)
        if (pending[i].pid == p->pid) {
            pending[i] = pending[--npending];
            return;
        }
}

int proc_start_in(char *const argv[], const char *stdin_path, struct proc *p)
{
    if (make_output_files(p) < 0)
        return -1;
    p->pid = spawn(argv, stdin_path, p->out_path, p->err_path);
    if (p->pid < 0) {
        unlink(p->out_path);
        unlink(p->err_path);
        return -1;
    }
    remember(p);
    return 0;
}

const char *proc_tail(const char *text)
{
    if (!text)
        return "";
    size_t len = strlen(text);
    if (len <= PROC_TAIL_MAX)
        return text;
    const char *t = text + len - PROC_TAIL_MAX;
    const char *nl = strchr(t, '\n');
    return nl && nl[1] ? nl + 1 : t;
}

const char *proc_err_tail(pid_t pid, char *buf, size_t len)
{
    buf[0] = '\0';
    for (int i = 0; i < npending; i++)
        if (pending[i].pid == pid) {
            char *err = read_file(pending[i].err_path, NULL);
            snprintf(buf, len, "%s", proc_tail(err));
            free(err);
            break;
        }
    return buf;
}

int proc_start(char *const argv[], struct proc *p)
{
    return proc_start_in(argv, NULL, p);
}

int proc_wait(struct proc *p, int timeout_ms, struct proc_result *r)
{
    memset(r, 0, sizeof *r);
    long long deadline = now_ms() + timeout_ms;
    int st = 0;
    for (;;) {
        pid_t w = waitpid(p->pid, &st, WNOHANG);
        if (w == p->pid)
            break;
        if (w < 0 && errno != EINTR)
            return -1;
        if (now_ms() > deadline) {
            r->timed_out = true;
            kill(-p->pid, SIGKILL); /* the whole group: workers too */
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &st, 0);
            break;
        }
        usleep(2000);
    }
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    r->out = read_file(p->out_path, NULL);
    r->err = read_file(p->err_path, NULL);
    unlink(p->out_path);
    unlink(p->err_path);
    forget(p);
    return 0;
}

int proc_run(char *const argv[], const char *stdin_path, int timeout_ms, struct proc_result *r)
{
    struct proc p;
    if (proc_start_in(argv, stdin_path, &p) < 0)
        return -1;
    return proc_wait(&p, timeout_ms, r);
}

void proc_result_free(struct proc_result *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

char *temp_dir(void)
{
    size_t len = strlen(tmp_root()) + sizeof "/msgroute-test-XXXXXX";
    char *d = malloc(len);
    if (d)
        snprintf(d, len, "%s/msgroute-test-XXXXXX", tmp_root());
    if (d && !mkdtemp(d)) {
        free(d);
        return NULL;
    }
    return d;
}

void remove_dir(char *dir)
{
    if (!dir)
        return;
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(dir);
    free(dir);
}

/* One process as /proc/PID/stat describes it. */
struct proc_stat {
    pid_t pid, ppid, pgrp;
    char state;
};

/* Calls visit for every process in /proc, ctx passed through; -1 if /proc
 * cannot be read. A process that exits during the walk is skipped. */
static int each_process(void (*visit)(const struct proc_stat *ps, void *ctx), void *ctx)
{
    DIR *d = opendir("/proc");
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        char path[300], buf[512];
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t got = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[got] = '\0';
        /* "pid (comm) S ppid pgrp ...": comm may hold spaces and ')', so
         * the fields follow the last ')'. */
        char *rp = strrchr(buf, ')');
        struct proc_stat ps = {.pid = (pid_t)atoi(e->d_name)};
        int ppid, pgrp;
        if (rp && sscanf(rp + 1, " %c %d %d", &ps.state, &ppid, &pgrp) == 3) {
            ps.ppid = (pid_t)ppid;
            ps.pgrp = (pid_t)pgrp;
            visit(&ps, ctx);
        }
    }
    closedir(d);
    return 0;
}

struct count_ctx {
    pid_t match;
    int n;
};

static void count_zombie_child(const struct proc_stat *ps, void *ctx)
{
    struct count_ctx *c = ctx;
    if (ps->ppid == c->match && ps->state == 'Z')
        c->n++;
}

int count_zombie_children(void)
{
    struct count_ctx c = {.match = getpid()};
    return each_process(count_zombie_child, &c) < 0 ? -1 : c.n;
}

static void count_in_group(const struct proc_stat *ps, void *ctx)
{
    struct count_ctx *c = ctx;
    if (ps->pgrp == c->match)
        c->n++;
}

int count_group_processes(pid_t pgid)
{
    struct count_ctx c = {.match = pgid};
    return each_process(count_in_group, &c) < 0 ? -1 : c.n;
}

struct children_ctx {
    pid_t parent;
    pid_t *out;
    int n, max;
};

static void collect_child(const struct proc_stat *ps, void *ctx)
{
    struct children_ctx *c = ctx;
    if (ps->ppid == c->parent && c->n < c->max)
        c->out[c->n++] = ps->pid;
}

int proc_children(pid_t parent, pid_t *out, int max)
{
    struct children_ctx c = {.parent = parent, .out = out, .max = max};
    if (each_process(collect_child, &c) < 0)
        return -1;
    /* Insertion sort: a handful of workers. */
    for (int i = 1; i < c.n; i++)
        for (int j = i; j > 0 && out[j] < out[j - 1]; j--) {
            pid_t t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
        }
    return c.n;
}

long proc_rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

long proc_settled_rss_kb(pid_t pid)
{
    long last = proc_rss_kb(pid);
    for (int i = 0; i < 100 && last > 0; i++) {
        proc_sleep_ms(100);
        long now = proc_rss_kb(pid);
        if (now > 0 && labs(now - last) < 64)
            return now;
        last = now;
    }
    return 0;
}

unsigned long long proc_signal_mask(pid_t pid, const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    unsigned long long mask = 0;
    size_t len = strlen(field);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, field, len) == 0 && line[len] == ':' && sscanf(line + len + 1, "%llx", &mask) == 1)
            break;
    fclose(f);
    return mask;
}

/* True when pid has exec'd program (its /proc/PID/exe names it), or the
 * program it executes in its place: phase 5's launcher becomes
 * ../libexec/NAME beside it (phases/phase5/launch.c). */
static bool runs_program(pid_t pid, const char *program)
{
    char path[64], exe[4096], want[4096], launched[4200], real_launched[4096];
    snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
    ssize_t n = readlink(path, exe, sizeof exe - 1);
    if (n < 0 || !realpath(program, want))
        return false;
    exe[n] = '\0';
    if (strcmp(exe, want) == 0)
        return true;
    const char *slash = strrchr(want, '/');
    snprintf(launched, sizeof launched, "%.*s/../libexec%s", (int)(slash - want), want, slash);
    return realpath(launched, real_launched) && strcmp(exe, real_launched) == 0;
}

/* "pid (comm) S ...": the state follows the last ')'. */
bool proc_has_exited(pid_t pid)
{
    char path[64], buf[512], state = 0;
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return true;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *paren = strrchr(buf, ')');
    if (paren && paren[1] == ' ')
        state = paren[2];
    return state == 'Z' || state == 'X';
}

int proc_wait_started(pid_t pid, const char *program, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    unsigned long long usr1 = 1ull << (SIGUSR1 - 1);
    while (!(runs_program(pid, program) && (proc_signal_mask(pid, "SigCgt") & usr1))) {
        if (now_ms() > deadline || kill(pid, 0) < 0)
            return -1;
        proc_sleep_ms(1);
    }
    return 0;
}

long long proc_now_ms(void)
{
    return now_ms();
}

void proc_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* LeakSanitizer (the sanitizer build, make test SANITIZE=1) asks the program
 * for its suppressions. Criterion's runner itself loses a 48-byte block in
 * criterion_run_all_tests() in some test programs; that is the library's,
 * not ours, and would fail the program at exit. Only that library is
 * excused: a leak in our code, or in a test, still fails. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libcriterion.so\n";
}

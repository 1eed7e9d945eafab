/* conformance.c - the shared end-to-end checks of conformance.h. */
#define _GNU_SOURCE
#include "conformance.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "json_top.h"

char *conf_dir;

/* The oracle of every comparison "the same dump as phase 1": the shared core
 * alone (oracle.h), never the student's phase 1, so that phase N is graded
 * on phase N only. */
static char oracle_bin[] = ORACLE_BIN;
static char msgen_bin[] = BIN_DIR "/msgen";

/* ---- /dev/shm ----------------------------------------------------------- */

#define SHM_NAMES_MAX 256
struct shm_snapshot {
    int n;
    char names[SHM_NAMES_MAX][256];
};

static struct shm_snapshot *shm_before;

static void shm_list(struct shm_snapshot *s)
{
    s->n = 0;
    DIR *d = opendir("/dev/shm");
    if (!d)
        return; /* no /dev/shm at all: nothing can be left in it */
    struct dirent *e;
    while ((e = readdir(d)) && s->n < SHM_NAMES_MAX)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            snprintf(s->names[s->n++], sizeof s->names[0], "%s", e->d_name);
    closedir(d);
}

/* Every name in /dev/shm now was there when the test began. */
static void assert_shm_unchanged(void)
{
    cr_assert_not_null(shm_before, "conf_assert_clean_exit needs .init = conf_suite_init");
    struct shm_snapshot *now = malloc(sizeof *now);
    cr_assert_not_null(now);
    shm_list(now);
    for (int i = 0; i < now->n; i++) {
        /* Criterion's sandbox (BoxFort) keeps one bxfi_PID object per running
         * test process, this one's and its neighbours' under --jobs, and a
         * bxf_arena_PID while a test binary starts (another suite's, when
         * suites run side by side): not ours. */
        if (strncmp(now->names[i], "bxf", 3) == 0)
            continue;
        bool old = false;
        for (int j = 0; j < shm_before->n && !old; j++)
            old = strcmp(now->names[i], shm_before->names[j]) == 0;
        cr_expect(old, "/dev/shm/%s appeared during the run and is still there", now->names[i]);
    }
    free(now);
}

/* ---- suite set-up ------------------------------------------------------- */

void conf_suite_init(void)
{
    conf_dir = temp_dir();
    cr_assert_not_null(conf_dir, "cannot make a temporary directory");
    /* Workers of a SIGKILLed main process are reparented to us, not to
     * init, so that they can be counted and reaped. */
    cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    shm_before = malloc(sizeof *shm_before);
    cr_assert_not_null(shm_before);
    shm_list(shm_before);
}

void conf_suite_fini(void)
{
    remove_dir(conf_dir);
    conf_dir = NULL;
    free(shm_before);
    shm_before = NULL;
}

char *conf_path(char *buf, const char *name)
{
    cr_assert_not_null(conf_dir, "conf_path needs .init = conf_suite_init");
    snprintf(buf, CONF_PATH_MAX, "%s/%s", conf_dir, name);
    return buf;
}

int conf_dir_entries(void)
{
    DIR *d = opendir(conf_dir);
    cr_assert_not_null(d, "%s", conf_dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* ---- running programs --------------------------------------------------- */

#define ARGV_MAX 64

/* argv = bin, each list in turn (NULL-terminated; NULL: none), NULL. */
static void build_argv(char *argv[ARGV_MAX], const char *bin, char *const *lists[], int nlists)
{
    int n = 0;
    argv[n++] = (char *)bin;
    for (int l = 0; l < nlists; l++)
        for (char *const *a = lists[l]; a && *a; a++) {
            cr_assert_lt(n, ARGV_MAX - 1, "more than %d arguments for %s", ARGV_MAX - 2, bin);
            argv[n++] = *a;
        }
    argv[n] = NULL;
}

/* The flags as one string, for failure messages. */
static const char *flags_text(char *buf, size_t len, char *const flags[])
{
    size_t used = 0;
    buf[0] = '\0';
    for (char *const *a = flags; a && *a && used < len; a++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? " " : "", *a);
    return buf;
}

void conf_run(char *const argv[], const char *stdin_path, int want, struct proc_result *r)
{
    cr_assert_eq(proc_run(argv, stdin_path, CONF_RUN_MS, r), 0, "cannot start %s", argv[0]);
    cr_assert_not(r->timed_out, "%s timed out; its stderr ended:\n%s", argv[0], proc_tail(r->err));
    cr_assert_eq(r->status, want, "%s: exit %d, want %d; its stderr ended:\n%s", argv[0], r->status, want,
                 proc_tail(r->err));
}

void conf_run_ok(char *const argv[])
{
    struct proc_result r;
    conf_run(argv, NULL, 0, &r);
    proc_result_free(&r);
}

void conf_usage(char *const argv[], int timeout_ms, struct conf_usage *used)
{
    struct rusage before, after;
    cr_assert_eq(getrusage(RUSAGE_CHILDREN, &before), 0);
    struct proc_result r;
    cr_assert_eq(proc_run(argv, NULL, timeout_ms, &r), 0, "cannot start %s", argv[0]);
    cr_assert_not(r.timed_out, "%s timed out; its stderr ended:\n%s", argv[0], proc_tail(r.err));
    cr_assert_eq(r.status, 0, "%s: exit %d; its stderr ended:\n%s", argv[0], r.status, proc_tail(r.err));
    cr_assert_eq(getrusage(RUSAGE_CHILDREN, &after), 0);
    proc_result_free(&r);
    *used = (struct conf_usage){.voluntary_switches = after.ru_nvcsw - before.ru_nvcsw,
                                .page_faults = after.ru_minflt - before.ru_minflt};
}

long conf_voluntary_switches(char *const argv[], int timeout_ms)
{
    struct conf_usage used;
    conf_usage(argv, timeout_ms, &used);
    return used.voluntary_switches;
}

void conf_msgen(const char *path, char *const gen[])
{
    char *argv[ARGV_MAX];
    build_argv(argv, msgen_bin, (char *const *[]){gen}, 1);
    struct proc_result r;
    conf_run(argv, NULL, 0, &r);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot write %s", path);
    bool ok = fputs(r.out, f) != EOF;
    ok = fclose(f) == 0 && ok;
    cr_assert(ok, "cannot write %s", path);
    proc_result_free(&r);
}

void conf_phase1_dump(char *const args[], const char *dump)
{
    char *argv[ARGV_MAX];
    char *tail[] = {"--dump", (char *)dump, NULL};
    build_argv(argv, oracle_bin, (char *const *[]){args, tail}, 2);
    conf_run_ok(argv);
}

/* ---- golden and malformed traces ---------------------------------------- */

static const char *const golden[] = {"tiny", "edges", "empty", "lifecycle", "hotkey"};

void conf_golden_dumps(const char *bin, char *const extra[])
{
    char flags[256], out[CONF_PATH_MAX];
    flags_text(flags, sizeof flags, extra);
    conf_path(out, "golden-out.csv");
    for (size_t i = 0; i < sizeof golden / sizeof golden[0]; i++) {
        char trace[CONF_PATH_MAX], want[CONF_PATH_MAX];
        snprintf(trace, sizeof trace, "%s/%s.trace", GOLDEN_DIR, golden[i]);
        snprintf(want, sizeof want, "%s/%s.csv", GOLDEN_DIR, golden[i]);
        char *head[] = {"--trace", trace, NULL}, *tail[] = {"--dump", out, NULL}, *argv[ARGV_MAX];
        build_argv(argv, bin, (char *const *[]){head, extra, tail}, 3);
        unlink(out); /* a run that writes nothing must not pass on the last one's dump */
        conf_run_ok(argv);
        cr_expect(files_equal(out, want), "%s %s: dump differs from the golden CSV", golden[i], flags);
    }
}

/* Each bad trace, the line its error must name. */
static const struct {
    const char *name;
    int line;
} bad[] = {
    {"event", 1},       {"fields", 2},      {"fields_many", 1}, {"id_char", 1},      {"id_long", 1},
    {"payload_big", 1}, {"payload_neg", 1}, {"seq_nan", 2},     {"seq_overflow", 2}, {"seq_zero", 1},
};

void conf_bad_traces(const char *bin, char *const extra[])
{
    char flags[256], out[CONF_PATH_MAX];
    flags_text(flags, sizeof flags, extra);
    conf_path(out, "never.csv");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char trace[CONF_PATH_MAX], want[CONF_PATH_MAX + 32];
        snprintf(trace, sizeof trace, "%s/bad/%s.trace", GOLDEN_DIR, bad[i].name);
        snprintf(want, sizeof want, "%s:%d: ", trace, bad[i].line);
        char *head[] = {"--trace", trace, NULL}, *tail[] = {"--dump", out, NULL}, *argv[ARGV_MAX];
        build_argv(argv, bin, (char *const *[]){head, extra, tail}, 3);
        struct proc_result r;
        conf_run(argv, NULL, 2, &r);
        cr_expect_eq(strncmp(r.err, want, strlen(want)), 0, "%s %s: stderr '%s' should start '%s'", bad[i].name, flags,
                     r.err, want);
        cr_expect_eq(strchr(r.err, '\n'), r.err + strlen(r.err) - 1, "%s %s: one line on stderr, not '%s'", bad[i].name,
                     flags, r.err);
        cr_expect_neq(access(out, F_OK), 0, "%s %s: a dump was written", bad[i].name, flags);
        proc_result_free(&r);
    }
}

/* ---- the oracle (phase 1's answer, from the shared core) ---------------------------------------------- */

void conf_expect_dump(const char *bin, char *const args[], char *const extra[], const char *want)
{
    char out[CONF_PATH_MAX], a[256], e[256];
    conf_path(out, "conf-out.csv");
    char *tail[] = {"--dump", out, NULL}, *argv[ARGV_MAX];
    build_argv(argv, bin, (char *const *[]){args, extra, tail}, 3);
    unlink(out);
    conf_run_ok(argv);
    cr_expect(files_equal(out, want), "%s %s %s: dump differs from %s", bin, flags_text(a, sizeof a, args),
              flags_text(e, sizeof e, extra), want);
}

void conf_oracle_msgen(struct conf_oracle *o, char *const gen[])
{
    conf_path(o->trace, "oracle.trace");
    conf_path(o->dump, "oracle-phase1.csv");
    conf_msgen(o->trace, gen);
    char *args[] = {"--trace", o->trace, NULL};
    conf_phase1_dump(args, o->dump);
}

void conf_matches_phase1(const char *bin, char *const extra[], char *const gen[])
{
    struct conf_oracle o;
    char g[256], e[256], out[CONF_PATH_MAX];
    conf_oracle_msgen(&o, gen);
    conf_path(out, "conf-out.csv");
    char *head[] = {"--trace", o.trace, NULL}, *tail[] = {"--dump", out, NULL}, *argv[ARGV_MAX];
    build_argv(argv, bin, (char *const *[]){head, extra, tail}, 3);
    unlink(out);
    conf_run_ok(argv);
    cr_expect(files_equal(out, o.dump), "msgen %s | %s --trace - %s: dump differs from phase 1's",
              flags_text(g, sizeof g, gen), bin, flags_text(e, sizeof e, extra));
}

void conf_generator_matches_phase1(const char *bin, char *const gen[], char *const extra[])
{
    char ref[CONF_PATH_MAX];
    conf_phase1_dump(gen, conf_path(ref, "generator-phase1.csv"));
    conf_expect_dump(bin, gen, extra, ref);
}

/* ---- reading results ---------------------------------------------------- */

unsigned long long conf_sum_msgs(const char *dump_path)
{
    char *text = read_file(dump_path, NULL);
    cr_assert_not_null(text, "no dump at %s", dump_path);
    unsigned long long sum = 0;
    /* Every row after the header: worker_id,state,msgs,... */
    for (char *line = strchr(text, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
        const char *p = strchr(line + 1, ',');
        p = p ? strchr(p + 1, ',') : NULL;
        cr_assert_not_null(p, "%s: a row without a msgs column: %.80s", dump_path, line + 1);
        sum += strtoull(p + 1, NULL, 10);
    }
    free(text);
    return sum;
}

/* The summary's own key, never one of its per_worker objects' (json_top.h). */
static const char *json_value(const char *json, const char *key)
{
    const char *p = json ? json_top_value(json_top_last_object(json), key) : NULL;
    cr_assert_not_null(p, "JSON lacks %s: %s", key, json ? json : "(no output)");
    return p;
}

unsigned long long conf_json_u64(const char *json, const char *key)
{
    return strtoull(json_value(json, key), NULL, 10);
}

double conf_json_num(const char *json, const char *key)
{
    return strtod(json_value(json, key), NULL);
}

/* ---- processes ---------------------------------------------------------- */

pid_t conf_worker_pid(pid_t main_pid, int index, int n)
{
    pid_t pids[64];
    cr_assert(n > 0 && n <= 64 && index >= 0 && index < n);
    long long deadline = proc_now_ms() + 3000;
    int found;
    bool ended = false;
    while ((found = proc_children(main_pid, pids, n)) != n && proc_now_ms() < deadline) {
        /* A main process that has already exited (a starter whose workers
         * fail at once) starts no more workers: no need to wait 3 s for
         * them. WNOWAIT leaves it to be reaped by the test as usual. */
        siginfo_t si = {0};
        if (waitid(P_PID, (id_t)main_pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == main_pid) {
            ended = true;
            break;
        }
        proc_sleep_ms(10);
    }
    char err[PROC_TAIL_MAX + 1];
    cr_assert_eq(found, n, "the workers did not start: %d of %d%s; its stderr so far:\n%s", found, n,
                 ended ? " (the main process has already exited)" : "", proc_err_tail(main_pid, err, sizeof err));
    return pids[index];
}

static void reap_orphans(void)
{
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
}

void conf_wait_group_gone(pid_t pgid, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms; waited += 10) {
        reap_orphans();
        if (count_group_processes(pgid) == 0)
            return;
        proc_sleep_ms(10);
    }
}

void conf_assert_clean_exit(pid_t pgid)
{
    /* The main process is reaped; anything left in its group is a worker it
     * failed to reap or kill (a zombie reparented to us is reaped first: it
     * did exit). */
    reap_orphans();
    int left = count_group_processes(pgid);
    cr_assert_eq(left, 0, "%d processes of the run led by %d are still there", left, (int)pgid);
    assert_shm_unchanged();
}

/* ---- lifecycle (SPEC §8) ------------------------------------------------ */

/* Starts `bin head... extra... --dump out` in the background. */
static void start_run(struct proc *p, const char *bin, char *const head[], char *const extra[], const char *out)
{
    char *tail[] = {"--dump", (char *)out, NULL}, *argv[ARGV_MAX];
    build_argv(argv, bin, (char *const *[]){head, extra, tail}, 3);
    cr_assert_eq(proc_start(argv, p), 0, "cannot start %s", bin);
}

/* Waits for the run and checks it exited want, wrote no dump at out and
 * left nothing behind; r keeps the output (proc_result_free it). */
static void end_run(struct proc *p, int want, const char *out, struct proc_result *r)
{
    cr_assert_eq(proc_wait(p, 5000, r), 0);
    cr_assert_not(r->timed_out, "the run did not end within 5 s; its stderr ended:\n%s", proc_tail(r->err));
    cr_assert_eq(r->status, want, "exit %d, want %d; its stderr ended:\n%s", r->status, want, proc_tail(r->err));
    cr_expect_neq(access(out, F_OK), 0, "a dump was written");
}

/* Waits up to ms for text in the file at path. */
static bool file_has(const char *path, const char *text, int ms)
{
    for (long long end = proc_now_ms() + ms;; proc_sleep_ms(10)) {
        char *s = read_file(path, NULL);
        bool found = s && strstr(s, text);
        free(s);
        if (found || proc_now_ms() >= end)
            return found;
    }
}

void conf_second_sigint_exits_130(const char *bin, char *const extra[])
{
    conf_second_sigint_exits_130_once(bin, extra, NULL);
}

void conf_second_sigint_exits_130_once(const char *bin, char *const extra[], const char *running)
{
    char out[CONF_PATH_MAX];
    char *head[] = {"--rate", "50000", "--messages", "10000000", "--workers", "2", NULL};
    struct proc p;
    if (running)
        cr_assert_eq(setenv("MSGROUTE_LOG", "debug", 1), 0);
    start_run(&p, bin, head, extra, conf_path(out, "d.csv"));
    unsetenv("MSGROUTE_LOG");
    pid_t w0 = conf_worker_pid(p.pid, 0, 2);
    proc_sleep_ms(300);
    if (running && !file_has(p.err_path, running, 10000)) {
        kill(p.pid, SIGKILL);
        struct proc_result r;
        proc_wait(&p, 5000, &r);
        cr_assert(false, "the run never said '%s' (exit %d); its stderr ended:\n%s", running, r.status,
                  proc_tail(r.err));
    }
    /* A stopped worker keeps the drain from finishing, so the second SIGINT
     * certainly finds the run still draining. */
    kill(w0, SIGSTOP);
    kill(p.pid, SIGINT);
    proc_sleep_ms(200);
    kill(p.pid, SIGINT);
    struct proc_result r;
    end_run(&p, 130, out, &r);
    proc_result_free(&r);
    conf_assert_clean_exit(p.pid);
}

/* Kills worker 1 (pid w1) of the run p and checks that the run names it
 * and ends with exit 3 within 1 s. */
static void kill_worker_1(struct proc *p, pid_t w1, const char *out)
{
    long long t0 = proc_now_ms();
    kill(w1, SIGKILL);
    struct proc_result r;
    end_run(p, 3, out, &r);
    /* SPEC §8 asks for notice within 100 ms; exiting (killing and reaping
     * the others) may add a little, and this machine is shared: 1 s. */
    long long took = proc_now_ms() - t0;
    cr_expect_lt(took, 1000, "took %lld ms to exit", took);
    char want[128];
    snprintf(want, sizeof want, "worker 1 (pid %d): killed by SIGKILL", (int)w1);
    cr_expect(strstr(r.err, want), "want '%s' in: %s", want, r.err);
    proc_result_free(&r);
    conf_assert_clean_exit(p->pid);
}

void conf_killed_worker_exits_3(const char *bin, char *const extra[])
{
    char out[CONF_PATH_MAX];
    char *head[] = {"--rate", "100000", "--messages", "10000000", "--workers", "3", NULL};
    struct proc p;
    start_run(&p, bin, head, extra, conf_path(out, "d.csv"));
    pid_t w1 = conf_worker_pid(p.pid, 1, 3);
    proc_sleep_ms(300);
    kill_worker_1(&p, w1, out);
}

void conf_killed_worker_exits_3_while_blocked(const char *bin, char *const extra[])
{
    char out[CONF_PATH_MAX];
    char *head[] = {"--messages", "100000000", "--workers", "2", NULL};
    struct proc p;
    start_run(&p, bin, head, extra, conf_path(out, "d.csv"));
    pid_t w0 = conf_worker_pid(p.pid, 0, 2);
    pid_t w1 = conf_worker_pid(p.pid, 1, 2);
    proc_sleep_ms(200);
    kill(w0, SIGSTOP);
    proc_sleep_ms(300);
    kill_worker_1(&p, w1, out);
}

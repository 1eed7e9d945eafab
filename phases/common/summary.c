/* summary.c - printing what a run did. */
#include "summary.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

void tally_machine(struct machine_tally *t, const struct machine *m)
{
    t->machines++;
    t->invalid += m->invalid;
    t->corrupt += m->corrupt;
    t->ooo += m->ooo;
}

void tally_merge(struct machine_tally *into, const struct machine_tally *t)
{
    into->machines += t->machines;
    into->invalid += t->invalid;
    into->corrupt += t->corrupt;
    into->ooo += t->ooo;
}

void summary_count_machines(struct run_summary *s, const struct table *t)
{
    for (const struct machine *m = table_first(t); m; m = table_next(t, m))
        tally_machine(&s->counted, m);
}

static double rate(const struct run_summary *s)
{
    return s->seconds > 0 ? (double)s->messages / s->seconds : 0.0;
}

static double pct_us(const struct run_summary *s, double p)
{
    return s->queries ? (double)hist_percentile(s->queries, p) / 1000.0 : 0.0;
}

void summary_print_text(FILE *f, const char *program, const struct run_summary *s)
{
    fprintf(f, "%s: %llu messages in %.3f s = %.2f M msgs/s, %u worker%s, %llu machines\n", program,
            (unsigned long long)s->messages, s->seconds, rate(s) / 1e6, s->workers, s->workers == 1 ? "" : "s",
            (unsigned long long)s->counted.machines);
    fprintf(f, "%s: invalid %llu, out of order %llu, corrupt %llu, peak RSS %ld KiB\n", program,
            (unsigned long long)s->counted.invalid, (unsigned long long)s->counted.ooo,
            (unsigned long long)s->counted.corrupt, s->rss_kb_max);
    if (s->queries && s->queries->count)
        fprintf(f, "%s: %llu queries (%llu not found, %llu failed): p50 %.2f us, p99 %.2f us, p99.9 %.2f us\n", program,
                (unsigned long long)s->queries->count, (unsigned long long)s->query_not_found,
                (unsigned long long)s->query_failed, pct_us(s, 50), pct_us(s, 99), pct_us(s, 99.9));
}

void summary_print_json(FILE *f, const struct run_summary *s)
{
    fprintf(f,
            "{\"phase\":%d,\"workers\":%u,\"messages\":%llu,\"seconds\":%.6f,\"msgs_per_s\":%.1f,"
            "\"query_count\":%llu,\"query_failed\":%llu,\"query_not_found\":%llu,"
            "\"query_p50_us\":%.3f,\"query_p99_us\":%.3f,\"query_p999_us\":%.3f,\"query_mean_us\":%.3f,"
            "\"rss_kb_max\":%ld,\"rss_kb_main\":%ld,\"cpu_count\":%d,\"machines\":%llu,\"invalid\":%llu,\"corrupt\":%"
            "llu,\"ooo\":%llu,"
            "\"per_worker\":[",
            s->phase, s->workers, (unsigned long long)s->messages, s->seconds, rate(s),
            (unsigned long long)(s->queries ? s->queries->count : 0), (unsigned long long)s->query_failed,
            (unsigned long long)s->query_not_found, pct_us(s, 50), pct_us(s, 99), pct_us(s, 99.9),
            s->queries ? hist_mean(s->queries) / 1000.0 : 0.0, s->rss_kb_max, rss_peak_self_kb(), cpu_count(),
            (unsigned long long)s->counted.machines, (unsigned long long)s->counted.invalid,
            (unsigned long long)s->counted.corrupt, (unsigned long long)s->counted.ooo);
    for (uint32_t i = 0; s->per_worker && i < s->workers; i++) {
        const struct worker_stats *w = &s->per_worker[i];
        fprintf(f, "%s{\"index\":%u,\"pid\":%d,\"messages\":%llu,\"busy_s\":%.6f,\"rss_kb\":%ld}", i ? "," : "",
                w->index, w->pid, (unsigned long long)w->handled, (double)w->busy_ns / 1e9, w->rss_kb);
    }
    fprintf(f, "]}\n");
}

void status_print(FILE *f, const char *program, const struct worker_stats *w, uint32_t n)
{
    fprintf(f, "%s status:\n  %6s %8s %5s %14s %12s %10s %10s\n", program, "worker", "pid", "alive", "handled",
            "queued", "busy_s", "rss_kb");
    for (uint32_t i = 0; i < n; i++)
        fprintf(f, "  %6u %8d %5s %14llu %12llu %10.3f %10ld\n", w[i].index, w[i].pid, w[i].alive ? "yes" : "NO",
                (unsigned long long)w[i].handled, (unsigned long long)w[i].queue_depth, (double)w[i].busy_ns / 1e9,
                w[i].rss_kb);
}

long rss_now_kb(void)
{
    /* statm is "size resident shared ..." in pages. strtol, not fscanf's
     * %ld: an out-of-range number is then an error, not undefined. */
    char buf[128];
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    size_t got = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[got] = '\0';
    char *end;
    errno = 0;
    (void)strtol(buf, &end, 10);
    long resident = strtol(end, &end, 10);
    if (errno || resident < 0)
        return 0;
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* VmHWM, not getrusage's ru_maxrss: Linux keeps ru_maxrss across execve,
 * so a program started by a large parent (a Python harness, a shell holding
 * a big file) would report the parent's peak as its own. An exec starts a
 * new address space, and VmHWM is that space's peak. */
long rss_peak_self_kb(void)
{
    char line[128];
    FILE *f = fopen("/proc/self/status", "r");
    long kb = -1;
    while (f && kb < 0 && fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0) {
            char *end;
            errno = 0;
            kb = strtol(line + 6, &end, 10);
            if (errno || kb < 0)
                kb = -1;
        }
    if (f)
        fclose(f);
    if (kb >= 0)
        return kb;
    struct rusage ru; /* no /proc: the best there is */
    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : 0;
}

long rss_peak_children_kb(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_CHILDREN, &ru) == 0 ? ru.ru_maxrss : 0;
}

int cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* extsort.c - runs sorted in memory, spilled, merged through a heap. */
#include "extsort.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dump.h"
#include "spill.h"

#define MERGE_BUF_RECORDS 32u /* records read from a spilled run at a time */

struct extsort_run {
    off_t next;    /* file offset of its next unread record */
    uint64_t left; /* records not read from the file yet: none for the
                      last run, merged from x->run itself */
    struct extsort_rec *buf;
    uint32_t pos, len; /* buf[pos, len) are read and not merged */
};

int extsort_init(struct extsort *x, const char *dir, uint32_t ntags, uint32_t run_max)
{
    memset(x, 0, sizeof *x);
    x->made = true;
    x->fd = -1;
    x->keep = run_max > 0;
    x->run_max = run_max;
    x->ntags = ntags;
    x->dir = strdup(spill_dir(dir)); /* named in errors */
    x->epoch = calloc(ntags ? ntags : 1, sizeof *x->epoch);
    x->tally = calloc(ntags ? ntags : 1, sizeof *x->tally);
    x->run = run_max > 0 ? malloc((size_t)run_max * sizeof *x->run) : NULL;
    if (!x->dir || !x->epoch || !x->tally || (run_max > 0 && !x->run)) {
        extsort_free(x);
        return -ENOMEM;
    }
    return 0;
}

static int compare_rec(const void *a, const void *b)
{
    return dump_compare(&((const struct extsort_rec *)a)->m, &((const struct extsort_rec *)b)->m);
}

static struct extsort_run *new_run(struct extsort *x)
{
    if (x->nruns == x->runs_cap) {
        uint32_t cap = x->runs_cap ? 2 * x->runs_cap : 16;
        struct extsort_run *r = realloc(x->runs, (size_t)cap * sizeof *r);
        if (!r)
            return NULL;
        x->runs = r;
        x->runs_cap = cap;
    }
    struct extsort_run *r = &x->runs[x->nruns++];
    memset(r, 0, sizeof *r);
    return r;
}

/* Sorts the gathered run and appends it to the spill file. */
static int spill_run(struct extsort *x)
{
    if (x->fd < 0 && (x->fd = spill_open(x->dir)) < 0)
        return x->fd;
    qsort(x->run, x->run_len, sizeof *x->run, compare_rec);
    struct extsort_run *r = new_run(x);
    if (!r)
        return -ENOMEM;
    r->next = x->spilled;
    r->left = x->run_len;
    int rc = spill_write(x->fd, x->run, (size_t)x->run_len * sizeof *x->run);
    if (rc < 0)
        return rc;
    x->spilled += (off_t)x->run_len * (off_t)sizeof *x->run;
    x->run_len = 0;
    return 0;
}

/* m, field by field, into a record with every other byte zero: only what
 * the machine holds reaches the spill file, never stale padding or bytes
 * past the end of its id. */
_Static_assert(sizeof(struct machine) == 160, "copy_record() copies every field of struct machine: add the new one");
_Static_assert(sizeof(struct extsort_rec) == sizeof(struct machine) + 8, "a spilled record has no padding of its own");
static void copy_record(struct extsort_rec *e, const struct machine *m, uint32_t tag, uint32_t epoch)
{
    size_t id_len = m->id_len <= MSG_ID_MAX ? m->id_len : MSG_ID_MAX;
    sm_init(&e->m, m->id, id_len, m->id_hash);
    e->m.state = m->state;
    e->m.msgs = m->msgs;
    e->m.last_seq = m->last_seq;
    e->m.checksum = m->checksum;
    e->m.transitions = m->transitions;
    e->m.invalid = m->invalid;
    e->m.ooo = m->ooo;
    e->m.jobs = m->jobs;
    e->m.failures = m->failures;
    e->m.bytes = m->bytes;
    e->m.corrupt = m->corrupt;
    e->tag = tag;
    e->epoch = epoch;
}

int extsort_add(struct extsort *x, const struct machine *m, uint32_t tag)
{
    if (x->keep) {
        if (x->run_len == x->run_max) {
            int rc = spill_run(x);
            if (rc < 0)
                return rc;
        }
        copy_record(&x->run[x->run_len++], m, tag, x->epoch[tag]);
    }
    tally_machine(&x->tally[tag], m);
    return 0;
}

int extsort_add_all(struct extsort *x, const struct machine *ms, uint32_t n, uint32_t tag)
{
    int rc = 0;
    for (uint32_t k = 0; k < n && rc == 0; k++)
        rc = extsort_add(x, &ms[k], tag);
    return rc;
}

void extsort_drop(struct extsort *x, uint32_t tag)
{
    x->epoch[tag]++;
    memset(&x->tally[tag], 0, sizeof x->tally[tag]);
    uint32_t k = 0;
    for (uint32_t i = 0; i < x->run_len; i++)
        if (x->run[i].tag != tag)
            x->run[k++] = x->run[i];
    x->run_len = k;
}

struct machine_tally extsort_total(const struct extsort *x)
{
    struct machine_tally sum = {0};
    for (uint32_t i = 0; i < x->ntags; i++)
        tally_merge(&sum, &x->tally[i]);
    return sum;
}

/* Reads the next records of a spilled run into its buffer. */
static int refill(struct extsort *x, struct extsort_run *r)
{
    uint32_t want = r->left < MERGE_BUF_RECORDS ? (uint32_t)r->left : MERGE_BUF_RECORDS;
    size_t bytes = (size_t)want * sizeof *r->buf;
    int rc = spill_read_at(x->fd, r->buf, bytes, r->next);
    if (rc < 0)
        return rc;
    r->next += (off_t)bytes;
    r->left -= want;
    r->pos = 0;
    r->len = want;
    return 0;
}

/* The run's next record that no drop has forgotten, or NULL at its end
 * (*err set when it cannot be read). */
static const struct extsort_rec *head(struct extsort *x, struct extsort_run *r, int *err)
{
    for (;;) {
        if (r->pos == r->len) {
            if (r->left == 0) /* the in-memory run has nothing in the file */
                return NULL;
            if ((*err = refill(x, r)) < 0)
                return NULL;
        }
        const struct extsort_rec *e = &r->buf[r->pos];
        if (e->tag >= x->ntags) {
            *err = -EIO; /* not what was written */
            return NULL;
        }
        if (e->epoch == x->epoch[e->tag])
            return e;
        r->pos++;
    }
}

/* The record a run in the heap offers next. */
static const struct machine *offered(const struct extsort *x, uint32_t heap_pos)
{
    const struct extsort_run *r = x->runs + x->heap[heap_pos];
    return &r->buf[r->pos].m;
}

static bool heap_less(const struct extsort *x, uint32_t a, uint32_t b)
{
    return dump_compare(offered(x, a), offered(x, b)) < 0;
}

static void heap_swap(struct extsort *x, uint32_t a, uint32_t b)
{
    uint32_t t = x->heap[a];
    x->heap[a] = x->heap[b];
    x->heap[b] = t;
}

static void sift_down(struct extsort *x, uint32_t i)
{
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, least = i;
        if (l < x->heap_len && heap_less(x, l, least))
            least = l;
        if (r < x->heap_len && heap_less(x, r, least))
            least = r;
        if (least == i)
            return;
        heap_swap(x, i, least);
        i = least;
    }
}

int extsort_finish(struct extsort *x)
{
    if (!x->keep)
        return 0;
    qsort(x->run, x->run_len, sizeof *x->run, compare_rec);
    struct extsort_run *last = new_run(x);
    x->heap = malloc((size_t)x->nruns * sizeof *x->heap);
    if (!last || !x->heap)
        return -ENOMEM;
    last->buf = x->run;
    last->len = x->run_len;
    int err = 0;
    for (uint32_t i = 0; i < x->nruns; i++) {
        struct extsort_run *r = x->runs + i;
        if (r->buf == NULL && (r->buf = malloc(MERGE_BUF_RECORDS * sizeof *r->buf)) == NULL)
            return -ENOMEM;
        if (head(x, r, &err))
            x->heap[x->heap_len++] = i;
        else if (err < 0)
            return err;
    }
    for (uint32_t i = x->heap_len / 2; i-- > 0;)
        sift_down(x, i);
    return 0;
}

/* The next row, or 0 at the end, or an error (which extsort_next keeps). */
static int take_next(struct extsort *x, const struct machine **row)
{
    if (x->heap_len == 0)
        return 0;
    struct extsort_run *r = x->runs + x->heap[0];
    const struct machine *m = offered(x, 0);
    if (x->rows_out > 0 && dump_compare(&x->last, m) >= 0) {
        x->last = *m;
        return -EBADMSG; /* a second record of one machine: x->last names it */
    }
    x->last = *m;
    x->rows_out++;
    r->pos++;
    int err = 0;
    if (!head(x, r, &err)) {
        if (err < 0)
            return err;
        x->heap[0] = x->heap[--x->heap_len];
    }
    sift_down(x, 0);
    *row = &x->last;
    return 1;
}

int extsort_next(struct extsort *x, const struct machine **row)
{
    if (x->error == 0) {
        int rc = take_next(x, row);
        if (rc >= 0)
            return rc;
        x->error = rc;
    }
    return x->error;
}

void extsort_free(struct extsort *x)
{
    if (!x->made)
        return;
    for (struct extsort_run *r = x->runs; r < x->runs + x->nruns; r++)
        if (r->buf != x->run)
            free(r->buf);
    free(x->runs);
    free(x->heap);
    free(x->run);
    free(x->epoch);
    free(x->tally);
    free(x->dir);
    if (x->fd >= 0)
        close(x->fd);
    memset(x, 0, sizeof *x);
}

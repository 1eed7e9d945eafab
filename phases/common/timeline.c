/* timeline.c - the recording side of --timeline: the shared buffer, one
 * slot per process, and the append of one record. Formatting is tl_json.c's.
 * timeline.h says why the buffer is shared and how it is bounded. */
#define _GNU_SOURCE
#include "timeline.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tl_buf.h"

bool tl_on;
uint32_t tl_worker;

static struct tl_buf *buf;   /* the mapping, inherited by every fork */
static struct tl_slot *mine; /* this process's slot */
static struct tl_rec *recs;  /* its bulk records */
static struct tl_rec *rare;  /* its rare ones (tl_buf.h) */
static uint64_t mask;        /* cap - 1 */
static const char *out_path; /* main process only */

/* Records per slot: TL_SLOT_RECORDS, or less so that every slot fits in
 * TL_BUFFER_BYTES, but never under 4096 (a run of many workers then maps
 * more; the pages are only touched as records are written). */
static uint32_t slot_cap(uint32_t nslots)
{
    uint64_t fit = TL_BUFFER_BYTES / sizeof(struct tl_rec) / nslots;
    uint32_t cap = TL_SLOT_RECORDS;
    while (cap > 4096 && cap > fit)
        cap /= 2;
    return cap;
}

static void claim(uint32_t index)
{
    uint32_t s = atomic_fetch_add_explicit(&buf->next, 1, memory_order_relaxed);
    if (s >= buf->nslots) {
        atomic_fetch_add_explicit(&buf->unrecorded, 1, memory_order_relaxed);
        tl_on = false;
        return;
    }
    mine = &buf->slots[s];
    mine->pid = (int32_t)getpid();
    mine->index = index;
    tl_worker = index == TL_MAIN_INDEX ? 0 : index;
    /* Release: pid and index are set before the slot counts as used. */
    atomic_store_explicit(&mine->used, 1, memory_order_release);
    recs = tl_slot_recs(buf, s);
    rare = tl_slot_rare(buf, s);
    mask = buf->cap - 1;
}

int timeline_start(const char *path, uint32_t processes, char *err, size_t err_len)
{
    uint32_t nslots = processes + TL_SPARE_SLOTS;
    uint32_t cap = slot_cap(nslots);
    size_t bytes = sizeof *buf +
                   (size_t)nslots * (sizeof(struct tl_slot) + ((size_t)cap + TL_RARE_RECORDS) * sizeof(struct tl_rec));
    /* Shared and anonymous, made before any fork: every worker writes into
     * the pages the main process reads, and nothing is left in /dev/shm. The
     * kernel gives zero pages, and only the ones written cost memory. */
    void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) {
        snprintf(err, err_len, "cannot map %zu bytes for the timeline: %s", bytes, strerror(errno));
        return -1;
    }
    buf = m;
    buf->nslots = nslots;
    buf->cap = cap;
    buf->bytes = bytes;
    out_path = path;
    claim(TL_MAIN_INDEX);
    tl_on = true;
    return 0;
}

void timeline_enter_worker(uint32_t index)
{
    if (buf)
        claim(index);
}

void tl__put(uint8_t ph, enum tl_what what, uint64_t ts, uint64_t dur, uint64_t a, uint32_t b, uint8_t lane)
{
    bool r = tl_is_rare(what);
    _Atomic uint64_t *count = r ? &mine->rare : &mine->count;
    uint64_t n = atomic_load_explicit(count, memory_order_relaxed);
    struct tl_rec *at = r ? &rare[n & (TL_RARE_RECORDS - 1)] : &recs[n & mask];
    *at = (struct tl_rec){.ts = ts, .dur = dur, .a = a, .b = b, .what = (uint16_t)what, .ph = ph, .lane = lane};
    /* Release: the record is whole before the count covers it. The reader
     * runs after waitpid(), which orders it anyway; this keeps a live
     * process's slot readable too. */
    atomic_store_explicit(count, n + 1, memory_order_release);
}

int timeline_finish(char *err, size_t err_len)
{
    if (!buf)
        return 0;
    tl_on = false;
    int rc = tl_json_write(buf, out_path, err, err_len);
    if (munmap(buf, buf->bytes) < 0 && rc == 0) {
        snprintf(err, err_len, "munmap: %s", strerror(errno));
        rc = -1;
    }
    buf = NULL;
    mine = NULL;
    return rc;
}

/* ckpt.c - --remote --recover in the coordinator. A worker on another host
 * cannot write the checkpoint area a forked worker shares with its parent
 * (recover.h), so its checkpoints travel over its connection (wire.h) and
 * the coordinator writes them into that area itself: the log, the
 * acknowledgement and the restart policy then work as for a local worker.
 * Its replacement, whoever starts it and wherever, gets the last checkpoint
 * first, then the replay (respawn.c).
 *
 * Receiving: a checkpoint's pieces go into the spare copy as they arrive,
 * each frame checked before it is copied; nothing is published before its
 * END, so a worker lost in the middle of one leaves the last published
 * checkpoint whole (I1) and its pieces are simply overwritten by the next.
 *
 * Sending: the checkpoint's frames go through the worker's batch like its
 * messages, so a full ZeroMQ queue seals them and route_retry() sends them
 * later, in order; a batch holding them leaves as WIRE_CKPT, never mixed
 * with MSG frames. They take no credit: a worker hands credit back for the
 * MSG frames it applies, and the checkpoint is loaded before the first. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fnv.h"
#include "log.h"
#include "p5.h"
#include "table.h"

/* Whether the checkpoint w has just sent names each machine once: 1; 0
 * with why when it does not (its replacement would refuse it, and so would
 * every replacement after it, so it must not be published); -1 when there
 * is no memory to tell. */
static int distinct(struct wk *w, char *why, size_t len)
{
    int64_t k = table_first_repeat(w->ck_dst, w->ck_machines);
    if (k < 0)
        return -1;
    if (k == w->ck_machines)
        return 1;
    snprintf(why, len, "a checkpoint holding machine %s twice", w->ck_dst[k].id);
    return 0;
}

/* One frame of a checkpoint arriving from w: 0, or -1 with why. */
static int take_frame(struct coord *p, struct wk *w, const struct codec_frame *f, char *why, size_t len)
{
    struct recover_area *a = p->rec.area[w->index];
    const struct recover_log *l = &p->rec.log[w->index];
    if (f->type == CODEC_STATS) {
        if (w->ck_open || f->u.stats.index != w->index || f->u.stats.machines > a->cap ||
            f->u.stats.handled > l->head || f->u.stats.handled < l->ack) {
            snprintf(why, len, "a checkpoint of %llu machines at message %llu of its %llu (it may hold %u, from %llu)",
                     (unsigned long long)f->u.stats.machines, (unsigned long long)f->u.stats.handled,
                     (unsigned long long)l->head, a->cap, (unsigned long long)l->ack);
            return -1;
        }
        w->ck_open = true;
        w->ck_pos = f->u.stats.handled;
        w->ck_machines = (uint32_t)f->u.stats.machines;
        w->ck_got = 0;
        w->ck_dst = recover_spare(a, &w->ck_copy);
        return 0;
    }
    if (f->type == CODEC_RECORDS && w->ck_open && f->u.records.count <= w->ck_machines - w->ck_got) {
        for (uint32_t k = 0; k < f->u.records.count; k++)
            if (route_worker(f->records[k].id_hash, p->n) != w->index) {
                snprintf(why, len, "a checkpoint holding machine %s, another worker's", f->records[k].id);
                return -1;
            }
        memcpy(w->ck_dst + w->ck_got, f->records, f->u.records.count * sizeof *f->records);
        w->ck_got += f->u.records.count;
        return 0;
    }
    if (f->type == CODEC_END && w->ck_open && w->ck_got == w->ck_machines && f->u.end.records_sent == w->ck_machines) {
        w->ck_open = false;
        int rc = distinct(w, why, len);
        if (rc == 0)
            return -1;
        if (rc < 0) {
            /* The last checkpoint stays published (I1); the next may fit. */
            log_warn("worker %u: no memory to check its checkpoint at message %llu; it is not kept", w->index,
                     (unsigned long long)w->ck_pos);
            return 0;
        }
        recover_publish(a, w->ck_copy, w->ck_machines, w->ck_pos);
        log_debug("worker %u: checkpoint of %u machines at message %llu", w->index, w->ck_machines,
                  (unsigned long long)w->ck_pos);
        return 0;
    }
    snprintf(why, len, "a frame of type %u out of place in a checkpoint", f->type);
    return -1;
}

/* Every frame of one WIRE_CKPT message: 0, or -1 with why. */
static int take_all(struct coord *p, struct wk *w, const uint8_t *body, size_t len, char *why, size_t why_len)
{
    struct codec_frame f = {.records = p->scratch};
    struct wire_iter it;
    wire_iter_init(&it, body, len);
    for (;;) {
        size_t used;
        int rc = wire_next(&it, &f, &used);
        if (rc == 0)
            return 0;
        if (rc < 0) {
            snprintf(why, why_len, "a bad frame in a checkpoint: %s", codec_strerror(rc));
            return -1;
        }
        if (take_frame(p, w, &f, why, why_len) < 0)
            return -1;
    }
}

void ckpt_on_message(struct coord *p, struct wk *w, const uint8_t *body, size_t len, const struct wire_hdr *h)
{
    char why[200] = "a checkpoint, which only a remote worker of a --recover run sends";
    /* A worker hands its credit back before a checkpoint (worker.c), so
     * that the checkpoint is only machines. */
    bool ok = p->o->recover && p->c->remote;
    if (ok && (h->credit_frames || h->credit_bytes)) {
        snprintf(why, sizeof why, "%s", "credit with a checkpoint");
        ok = false;
    }
    if (ok && take_all(p, w, body, len, why, sizeof why) == 0)
        return;
    char what[260];
    snprintf(what, sizeof what, "sent %s (protocol error)", why);
    p5_worker_lost(p, w->index, what);
}

/* Room for need more bytes in w's batch, sending it first if it must:
 * false while it cannot leave (sealed), or once w is lost. */
static bool batch_room(struct coord *p, struct wk *w, size_t need)
{
    bool room = w->batch.cap - w->batch.len >= need || route_send(p, w) == 0;
    return room && !w->dead && p->exit_status == EXIT_OK;
}

void ckpt_restore_begin(struct wk *w)
{
    w->credited_base = w->credited_msgs;
    w->restoring = true;
    w->rs_next = 0;
    w->rs_opened = false;
}

bool ckpt_restore_send(struct coord *p, struct wk *w)
{
    uint32_t n;
    uint64_t pos;
    const struct machine *c = recover_published(p->rec.area[w->index], &n, &pos);
    if (!w->rs_opened) {
        if (!batch_room(p, w, 64))
            return false;
        w->ckpt_batch = true;
        codec_put_stats(&w->batch, w->index, pos, 0, n, 0);
        w->rs_opened = true;
    }
    while (w->rs_next < n) {
        uint32_t k = n - w->rs_next < CODEC_RECORDS_MAX ? n - w->rs_next : CODEC_RECORDS_MAX;
        if (!batch_room(p, w, 16 + (size_t)k * CODEC_RECORD_MAX))
            return false;
        w->ckpt_batch = true;
        if (codec_put_records(&w->batch, c + w->rs_next, k) < 0) {
            p5_worker_lost(p, w->index, "no room for its checkpoint's records (cannot happen)");
            return false;
        }
        w->rs_next += k;
    }
    if (!batch_room(p, w, 16))
        return false;
    w->ckpt_batch = true;
    codec_put_end(&w->batch, n);
    w->restoring = false;
    /* Sealed behind a full queue, it leaves first: nothing joins a sealed
     * batch, and route_retry() sends it before the replay goes on. */
    return route_send(p, w) == 0 && !w->dead;
}

/* querytab.c - pending queries by correlation id. */
#include "querytab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int qt_init(struct querytab *t, uint64_t timeout_ns)
{
    t->e = calloc(QT_SLOTS, sizeof *t->e);
    t->next_corr = t->oldest = 1;
    t->timeout_ns = timeout_ns;
    return t->e ? 0 : -ENOMEM;
}

void qt_free(struct querytab *t)
{
    free(t->e);
    t->e = NULL;
}

static inline struct qt_entry *slot(struct querytab *t, uint64_t corr)
{
    return &t->e[corr & (QT_SLOTS - 1)];
}

int qt_open(struct querytab *t, uint64_t intended_ns, uint64_t now_ns, uint32_t worker, const char *id, size_t id_len,
            struct qt_entry **e)
{
    /* LAB: Take the next correlation id and fill its slot (querytab.h): pending,
     * with its intended time, its deadline (now + the timeout), its worker
     * and its id, and set *e to it. QT_NONE when that slot still holds a
     * pending query (QT_SLOTS in flight) or the id is too long. */
    /* LAB STUB: (void)intended_ns; */
    /* LAB STUB: (void)now_ns; */
    /* LAB STUB: (void)worker; */
    /* LAB STUB: (void)id; */
    /* LAB STUB: (void)id_len; */
    /* LAB STUB: (void)e; */
    /* LAB STUB: t->not_written = "qt_open()"; */
    /* LAB STUB: return QT_NOT_WRITTEN; */
    struct qt_entry *s = slot(t, t->next_corr);
    if (s->pending || id_len > MSG_ID_MAX)
        return QT_NONE;
    *s = (struct qt_entry){
        .corr = t->next_corr++,
        .intended_ns = intended_ns,
        .deadline_ns = now_ns + t->timeout_ns,
        .worker = worker,
        .pending = true,
        .id_len = (uint8_t)id_len,
    };
    memcpy(s->id, id, id_len);
    s->id[id_len] = '\0';
    *e = s;
    return QT_OK;
    /* END LAB */
}

int qt_match(struct querytab *t, uint64_t corr, struct qt_entry **e)
{
    /* LAB: The pending entry whose correlation id is corr, in *e: one index,
     * one comparison. QT_NONE when there is none. */
    /* LAB STUB: (void)corr; */
    /* LAB STUB: (void)slot; */
    /* LAB STUB: (void)e; */
    /* LAB STUB: t->not_written = "qt_match()"; */
    /* LAB STUB: return QT_NOT_WRITTEN; */
    struct qt_entry *s = slot(t, corr);
    if (!s->pending || s->corr != corr)
        return QT_NONE;
    *e = s;
    return QT_OK;
    /* END LAB */
}

int qt_expired(struct querytab *t, uint64_t now_ns, struct qt_entry **e)
{
    /* LAB: The oldest pending entry whose deadline is past now_ns, no longer
     * pending, in *e; QT_NONE when none is. Deadlines expire in correlation id
     * order (querytab.h): move t->oldest past entries already answered and
     * stop at the first that is not yet due. */
    /* LAB STUB: (void)now_ns; */
    /* LAB STUB: (void)e; */
    /* LAB STUB: t->not_written = "qt_expired()"; */
    /* LAB STUB: return QT_NOT_WRITTEN; */
    while (t->oldest < t->next_corr) {
        struct qt_entry *s = slot(t, t->oldest);
        if (!s->pending || s->corr != t->oldest) {
            t->oldest++;
            continue;
        }
        if (s->deadline_ns > now_ns)
            return QT_NONE;
        s->pending = false;
        t->oldest++;
        *e = s;
        return QT_OK;
    }
    return QT_NONE;
    /* END LAB */
}

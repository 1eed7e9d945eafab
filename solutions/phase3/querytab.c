/* querytab.c - pending queries by correlation id. */
#include "querytab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

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

struct qt_entry *qt_open(struct querytab *t, uint64_t intended_ns, uint64_t now_ns, uint32_t worker, const char *id,
                         size_t id_len)
{
    /* LAB: Take the next correlation id and fill its slot (querytab.h): pending,
     * with its intended time, its deadline (now + the timeout), its worker
     * and its id. NULL when that slot still holds a pending query (QT_SLOTS
     * in flight) or the id is too long. */
    /* LAB STUB: (void)t; */
    /* LAB STUB: (void)intended_ns; */
    /* LAB STUB: (void)now_ns; */
    /* LAB STUB: (void)worker; */
    /* LAB STUB: (void)id; */
    /* LAB STUB: (void)id_len; */
    /* LAB STUB: log_error("qt_open() is not written yet: see labs/phase3/README.md"); */
    /* LAB STUB: return NULL; */
    struct qt_entry *e = slot(t, t->next_corr);
    if (e->pending || id_len > MSG_ID_MAX)
        return NULL;
    *e = (struct qt_entry){
        .corr = t->next_corr++,
        .intended_ns = intended_ns,
        .deadline_ns = now_ns + t->timeout_ns,
        .worker = worker,
        .pending = true,
        .id_len = (uint8_t)id_len,
    };
    memcpy(e->id, id, id_len);
    e->id[id_len] = '\0';
    return e;
    /* END LAB */
}

struct qt_entry *qt_match(struct querytab *t, uint64_t corr)
{
    /* LAB: The pending entry whose correlation id is corr, or NULL: one index,
     * one comparison. */
    /* LAB STUB: (void)t; */
    /* LAB STUB: (void)corr; */
    /* LAB STUB: (void)slot; */
    /* LAB STUB: log_error("qt_match() is not written yet: see labs/phase3/README.md"); */
    /* LAB STUB: return NULL; */
    struct qt_entry *e = slot(t, corr);
    return e->pending && e->corr == corr ? e : NULL;
    /* END LAB */
}

struct qt_entry *qt_expired(struct querytab *t, uint64_t now_ns)
{
    /* LAB: The oldest pending entry whose deadline is past now_ns, no longer
     * pending, or NULL when none is. Deadlines expire in correlation id
     * order (querytab.h): move t->oldest past entries already answered and
     * stop at the first that is not yet due. */
    /* LAB STUB: (void)t; */
    /* LAB STUB: (void)now_ns; */
    /* LAB STUB: return NULL; */
    while (t->oldest < t->next_corr) {
        struct qt_entry *e = slot(t, t->oldest);
        if (!e->pending || e->corr != t->oldest) {
            t->oldest++;
            continue;
        }
        if (e->deadline_ns > now_ns)
            return NULL;
        e->pending = false;
        t->oldest++;
        return e;
    }
    return NULL;
    /* END LAB */
}

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
    /* TODO: Take the next correlation id and fill its slot (querytab.h): pending,
     * with its intended time, its deadline (now + the timeout), its worker
     * and its id, and set *e to it. QT_NONE when that slot still holds a
     * pending query (QT_SLOTS in flight) or the id is too long. */
    (void)intended_ns;
    (void)now_ns;
    (void)worker;
    (void)id;
    (void)id_len;
    (void)e;
    t->not_written = "qt_open()";
    return QT_NOT_WRITTEN;
}

int qt_match(struct querytab *t, uint64_t corr, struct qt_entry **e)
{
    /* TODO: The pending entry whose correlation id is corr, in *e: one index,
     * one comparison. QT_NONE when there is none. */
    (void)corr;
    (void)slot;
    (void)e;
    t->not_written = "qt_match()";
    return QT_NOT_WRITTEN;
}

int qt_expired(struct querytab *t, uint64_t now_ns, struct qt_entry **e)
{
    /* TODO: The oldest pending entry whose deadline is past now_ns, no longer
     * pending, in *e; QT_NONE when none is. Deadlines expire in correlation id
     * order (querytab.h): move t->oldest past entries already answered and
     * stop at the first that is not yet due. */
    (void)now_ns;
    (void)e;
    t->not_written = "qt_expired()";
    return QT_NOT_WRITTEN;
}

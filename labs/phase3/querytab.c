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
    /* TODO: Take the next correlation id and fill its slot (querytab.h): pending,
     * with its intended time, its deadline (now + the timeout), its worker
     * and its id. NULL when that slot still holds a pending query (QT_SLOTS
     * in flight) or the id is too long. */
    (void)t;
    (void)intended_ns;
    (void)now_ns;
    (void)worker;
    (void)id;
    (void)id_len;
    log_error("qt_open() is not written yet: see labs/phase3/README.md");
    return NULL;
}

struct qt_entry *qt_match(struct querytab *t, uint64_t corr)
{
    /* TODO: The pending entry whose correlation id is corr, or NULL: one index,
     * one comparison. */
    (void)t;
    (void)corr;
    (void)slot;
    log_error("qt_match() is not written yet: see labs/phase3/README.md");
    return NULL;
}

struct qt_entry *qt_expired(struct querytab *t, uint64_t now_ns)
{
    /* TODO: The oldest pending entry whose deadline is past now_ns, no longer
     * pending, or NULL when none is. Deadlines expire in correlation id
     * order (querytab.h): move t->oldest past entries already answered and
     * stop at the first that is not yet due. */
    (void)t;
    (void)now_ns;
    return NULL;
}

/* querytab.h - the queries the main process has sent and not yet seen
 * answered: correlation ids, intended times, deadlines.
 *
 * Correlation ids count up from 1 and a query lives in slot id % QT_SLOTS,
 * so matching an answer is one index and one compare, and a late answer
 * (its slot reused or its deadline past) is recognised and dropped. Every
 * query has the same timeout, so deadlines expire in id order and the sweep
 * only ever looks at the oldest. At most QT_SLOTS queries are in flight: a
 * query beyond that fails at once (a stated limit, not a growing table).
 *
 * A lesson module (querytab.c): it knows nothing of pipes or workers; the
 * query module (query.h) is its one caller. */
#ifndef MSGROUTE_PHASE3_QUERYTAB_H
#define MSGROUTE_PHASE3_QUERYTAB_H

#include <stdbool.h>
#include <stdint.h>

#include "msg.h"

#define QT_SLOTS 4096u /* a power of two */

struct qt_entry {
    uint64_t corr;
    uint64_t intended_ns; /* latency is measured from here (pacer.h) */
    uint64_t deadline_ns;
    uint32_t worker;
    bool pending;
    bool final; /* a --query of the end of the run: its answer is printed */
    uint8_t id_len;
    char id[MSG_ID_MAX + 1];
};

struct querytab {
    struct qt_entry *e; /* QT_SLOTS entries */
    uint64_t next_corr, oldest;
    uint64_t timeout_ns;
    const char *not_written; /* with QT_NOT_WRITTEN: the function */
};

enum qt_status {
    QT_OK = 0,
    QT_NONE,       /* no entry: the table is full, corr is not pending, or nothing has expired */
    QT_NOT_WRITTEN /* the starter: `not_written` is still a stub */
};

int qt_init(struct querytab *t, uint64_t timeout_ns);
void qt_free(struct querytab *t);

/* A new pending entry with the next id in *e: QT_OK, or QT_NONE when
 * QT_SLOTS are in flight or the id is longer than MSG_ID_MAX. */
int qt_open(struct querytab *t, uint64_t intended_ns, uint64_t now_ns, uint32_t worker, const char *id, size_t id_len,
            struct qt_entry **e);

/* The pending entry of corr in *e: QT_OK, or QT_NONE (unknown, answered, or
 * expired). */
int qt_match(struct querytab *t, uint64_t corr, struct qt_entry **e);

/* The oldest entry whose deadline has passed, taken out of the pending set,
 * in *e: QT_OK, or QT_NONE when none has expired. */
int qt_expired(struct querytab *t, uint64_t now_ns, struct qt_entry **e);

#endif

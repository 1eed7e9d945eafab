/* shard.c - delivering one message to its machine. */
#include "shard.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "log.h"
#include "payload.h"
#include "recover.h"
#include "work.h"

int shard_init(struct shard *s, uint32_t expected_ids, uint64_t work_ns)
{
    s->handled = 0;
    s->rec = NULL;
    s->work_iters = work_iterations_for(work_ns);
    return table_init(&s->table, expected_ids);
}

void shard_free(struct shard *s)
{
    table_free(&s->table);
}

int shard_recover_from(struct shard *s, struct recover_area *area)
{
    if (!area)
        return 0;
    int64_t pos = recover_restore(area, &s->table);
    if (pos < 0)
        return (int)pos;
    s->handled = (uint64_t)pos;
    s->rec = area;
    s->rec_next = (uint64_t)pos + area->every;
    const char *poison = getenv(RECOVER_ENV_POISON);
    s->poison_seq = poison ? strtoull(poison, NULL, 10) : 0;
    if (pos > 0)
        log_debug("restored %u machines from the checkpoint at message %lld", table_count(&s->table), (long long)pos);
    return 0;
}

/* The test hook of recover.h: a poison message on demand, a crash of the
 * worker's own (not a SIGKILL, which the policy weighs as an outside kill),
 * without a core file. */
static void poison(void)
{
    struct rlimit none = {0, 0};
    if (setrlimit(RLIMIT_CORE, &none) < 0)
        log_warn("setrlimit(RLIMIT_CORE): %s", strerror(errno));
    raise(SIGSEGV);
    abort(); /* SIGSEGV was ignored or blocked */
}

/* After each message under --recover: publish its position, and keep a
 * checkpoint every 16 messages per machine, within the area's bounds
 * (recover.h). A checkpoint that does not fit (more machines than the
 * source said it could name) is skipped: the log then fills and the source
 * waits; say why. */
static void after_apply(struct shard *s)
{
    atomic_store_explicit(&s->rec->applied, s->handled, memory_order_relaxed);
    if (s->handled < s->rec_next)
        return;
    uint64_t every = (uint64_t)table_count(&s->table) * RECOVER_EVERY_PER_MACHINE;
    every = every < s->rec->every ? s->rec->every : every > s->rec->every_max ? s->rec->every_max : every;
    s->rec_next = s->handled + every;
    if (recover_checkpoint(s->rec, &s->table, s->handled) < 0)
        log_error("--recover: %u machines do not fit a checkpoint of %u", table_count(&s->table), s->rec->cap);
}

void shard_apply_to(struct shard *s, struct machine *mc, const struct msg *m, const uint8_t *payload)
{
    if (s->rec) {
        atomic_store_explicit(&s->rec->applying, s->handled + 1, memory_order_relaxed);
        if (m->seq == s->poison_seq)
            poison();
    }
    bool intact = m->payload_len == 0 || payload_check(payload, m->seq, m->payload_len);
    if (s->work_iters)
        work_run(s->work_iters);
    sm_apply(mc, m->seq, (enum event)m->event, m->payload_len, intact);
    s->handled++;
    if (s->rec)
        after_apply(s);
}

int shard_deliver(struct shard *s, const struct msg *m, const uint8_t *payload)
{
    struct machine *mc = shard_machine(s, m);
    if (!mc)
        return -ENOMEM;
    shard_apply_to(s, mc, m, payload);
    return 0;
}

/* source.c - the deterministic message generator.
 *
 * Ids are "id-<rank>": under Zipf, id-0 is the hottest. Events are drawn from
 * a fixed mix (mostly DATA and HEARTBEAT, as telemetry is, with enough
 * lifecycle events to walk every state), through a 256-entry table so that a
 * draw costs one byte of randomness and one load. */
#include "source.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fnv.h"
#include "mainmem.h"
#include "signals.h"
#include "trace_reader.h"

/* Generated ids are this prefix and their index in decimal. */
#define GEN_ID_PREFIX "id-"
#define GEN_ID_PREFIX_LEN (sizeof GEN_ID_PREFIX - 1)

/* Out of 256: the event mix of generated workloads. */
static const struct {
    enum event e;
    int weight;
} event_mix[] = {
    {EV_DATA, 96},   {EV_HEARTBEAT, 40}, {EV_START, 28}, {EV_COMPLETE, 24}, {EV_PAUSE, 14},
    {EV_RESUME, 14}, {EV_RESET, 18},     {EV_FAIL, 8},   {EV_STOP, 14},
};

/* The sample's draws are not the messages' (a generator's seed is the
 * source of both, mixed apart by this constant). */
#define SAMPLE_SEED_MIX 0x5a4d504c45u

static size_t seen_bytes(uint32_t bits)
{
    return ((size_t)bits + 63) / 64 * sizeof(uint64_t);
}

int source_track_ids(struct source *s)
{
    s->seen_cap = source_ids_capacity(s);
    s->seen = mainmem_alloc(seen_bytes(s->seen_cap), false);
    rng_seed(&s->sample_rng, s->gen.seed ^ SAMPLE_SEED_MIX);
    return s->seen ? 0 : -ENOMEM;
}

/* A stop request while a large id table is built (seconds for millions of
 * ids) ends the start-up: the source then emits nothing, and the run drains
 * an empty stream and dumps it (SPEC §8). Checked every 64 Ki ids, so the
 * check costs nothing. */
static bool stopped_during_start_up(struct source *s, uint64_t done)
{
    if ((done & 0xffff) != 0 || signals_stops() == 0)
        return false;
    s->total = 0;
    return true;
}

/* The hash of "id-<i>" from the hash of its prefix: the id without its
 * last digit, whose hash is prefix_hash[i / 10] ("id-" alone for i < 10,
 * which is why [0] holds it). One step of FNV-1a over one byte. */
static inline uint64_t gen_hash(const uint64_t *prefix_hash, uint32_t i)
{
    return (prefix_hash[i / 10] ^ (uint64_t)('0' + i % 10)) * FNV64_PRIME;
}

/* A generated id: its string in its slot, its hash and length from its
 * prefix's (one FNV-1a step, one byte more). */
static inline struct idkey gen_id(const struct source *s, uint32_t i)
{
    return (struct idkey){.hash = gen_hash(s->prefix_hash, i),
                          .s = s->names + (size_t)i * s->name_stride,
                          .len = (uint8_t)(s->prefix_len[i / 10] + 1)};
}

/* How many prefixes the first `ids` ids have: "id-" and "id-<j>" for 0 < j <= ids / 10. */
static size_t prefix_count(uint32_t ids)
{
    return ids / 10 + 1;
}

/* The slot of every id below ids, for as long as no stop request comes
 * (then fewer: the source emits nothing anyway), and the hashes and lengths
 * of the prefixes. A slot is the longest id and its NUL: a shorter id ends
 * in NULs. Lengths are kept per prefix, a byte for ten ids, not per id: in
 * the main process of phases 3-5, a byte an id is a byte every machine
 * costs. Kept, not counted: counting an id's digits takes a bit scan, a
 * multiply and a compare on every message, where this is one load. */
static int name_ids(struct source *s, uint32_t ids)
{
    char last[MSG_ID_MAX + 1];
    s->name_stride = (uint32_t)snprintf(last, sizeof last, "%s%u", GEN_ID_PREFIX, ids - 1) + 1;
    s->names = mainmem_alloc((size_t)ids * s->name_stride, false);
    s->prefix_hash = mainmem_alloc(prefix_count(ids) * sizeof *s->prefix_hash, false);
    s->prefix_len = mainmem_alloc(prefix_count(ids), false);
    if (!s->names || !s->prefix_hash || !s->prefix_len)
        return -ENOMEM;
    s->prefix_hash[0] = fnv1a64(GEN_ID_PREFIX, GEN_ID_PREFIX_LEN);
    s->prefix_len[0] = GEN_ID_PREFIX_LEN;
    for (uint32_t j = 1; j < prefix_count(ids); j++) { /* j / 10 < j: already there */
        s->prefix_hash[j] = gen_hash(s->prefix_hash, j);
        s->prefix_len[j] = (uint8_t)(s->prefix_len[j / 10] + 1);
    }
    for (uint32_t i = 0; i < ids && !stopped_during_start_up(s, i); i++) {
        snprintf(s->names + (size_t)i * s->name_stride, s->name_stride, "%s%u", GEN_ID_PREFIX, i);
        s->name_count = i + 1;
    }
    return 0;
}

int source_init_generator(struct source *s, const struct gen_config *cfg)
{
    memset(s, 0, sizeof *s);
    if (cfg->ids == 0 || cfg->ids > IDMAP_MAX_IDS || cfg->payload_min > cfg->payload_max ||
        cfg->payload_max > MSG_PAYLOAD_MAX)
        return -EINVAL;
    s->gen = *cfg;
    s->total = cfg->messages;
    rng_seed(&s->rng, cfg->seed);

    int rc, b = 0;
    for (size_t i = 0; i < sizeof event_mix / sizeof event_mix[0]; i++)
        for (int w = 0; w < event_mix[i].weight; w++)
            s->event_of_byte[b++] = (uint8_t)event_mix[i].e;

    if ((rc = name_ids(s, cfg->ids)) < 0)
        goto fail;
    if (cfg->dist == DIST_ZIPF && s->total > 0 && (rc = zipf_init(&s->zipf, cfg->ids, cfg->zipf_s)) < 0)
        goto fail;
    if ((rc = source_track_ids(s)) < 0)
        goto fail;
    return 0;
fail:
    source_free(s);
    return rc;
}

/* Id's first emission: it joins the reservoir if there is room, else takes
 * the place of a uniformly chosen member with probability
 * SOURCE_SAMPLE_IDS / (ids seen), which keeps the sample uniform. */
static void sample_offer(struct source *s, uint32_t id)
{
    uint32_t seen = s->seen_count++;
    if (seen < SOURCE_SAMPLE_IDS) {
        s->sample[seen] = id;
        return;
    }
    uint32_t j = rng_below(&s->sample_rng, seen + 1);
    if (j < SOURCE_SAMPLE_IDS)
        s->sample[j] = id;
}

static inline void emit(struct source *s, struct msg *out, uint64_t seq, uint32_t id, const struct idkey *k,
                        enum event e, uint32_t payload_len)
{
    out->seq = seq;
    out->id = k->s;
    out->id_len = k->len;
    out->id_hash = k->hash;
    out->id_index = id;
    out->event = (uint8_t)e;
    out->payload_len = payload_len;
    uint64_t bit = 1ull << (id & 63);
    if (!(s->seen[id / 64] & bit)) {
        s->seen[id / 64] |= bit;
        sample_offer(s, id);
    }
    s->emitted++;
}

/* The next line of a streamed trace, its id interned as it comes. */
static bool stream_next(struct source *s, struct msg *out)
{
    struct trace_line tl;
    if (!source_stream_next(s, &tl))
        return false;
    uint32_t id = idmap_intern(&s->ids, tl.id, tl.id_len, fnv1a64(tl.id, tl.id_len), NULL);
    if (id == IDMAP_NONE) {
        source_stream_fail(s, s->ids.count >= SOURCE_STREAM_IDS_MAX
                                  ? "more distinct worker_ids than a streamed trace may have (give it as a file)"
                                  : "out of memory");
        return false;
    }
    s->line = (uint32_t)s->reader->lineno;
    emit(s, out, tl.seq, id, idmap_key(&s->ids, id), (enum event)tl.event, tl.payload_len);
    return true;
}

/* The next message of a trace file, read back from its spill file a block
 * at a time. */
static bool file_next(struct source *s, struct msg *out)
{
    const struct trace_rec *r = source_file_rec(s, s->emitted);
    if (!r) {
        s->total = s->emitted; /* source_failed() says why */
        return false;
    }
    s->line = r->line;
    emit(s, out, r->seq, r->id, idmap_key(&s->ids, r->id), (enum event)r->event, r->payload_len);
    return true;
}

bool source_next(struct source *s, struct msg *out)
{
    if (s->emitted >= s->total)
        return false;
    if (s->is_stream)
        return stream_next(s, out);
    if (s->is_trace)
        return file_next(s, out);
    const struct gen_config *g = &s->gen;
    uint32_t id = g->dist == DIST_ZIPF ? zipf_sample(&s->zipf, &s->rng) : rng_below(&s->rng, g->ids);
    uint64_t x = rng_next(&s->rng);
    uint32_t span = g->payload_max - g->payload_min + 1; /* ≤ 2^24 + 1, cannot wrap */
    uint32_t len = g->payload_min + (uint32_t)(((x >> 32) * span) >> 32);
    struct idkey k = gen_id(s, id);
    emit(s, out, s->emitted + 1, id, &k, (enum event)s->event_of_byte[x & 0xff], len);
    return true;
}

uint32_t source_ids_known(const struct source *s)
{
    return s->is_trace ? s->ids.count : s->name_count;
}

struct idkey source_id(const struct source *s, uint32_t i)
{
    return s->is_trace ? *idmap_key(&s->ids, i) : gen_id(s, i);
}

uint32_t source_random_seen(const struct source *s, struct rng *r)
{
    if (s->seen_count == 0)
        return IDMAP_NONE;
    uint32_t n = s->seen_count < SOURCE_SAMPLE_IDS ? s->seen_count : SOURCE_SAMPLE_IDS;
    return s->sample[rng_below(r, n)];
}

void source_free(struct source *s)
{
    idmap_free(&s->ids);
    mainmem_free(s->names, (size_t)s->gen.ids * s->name_stride);
    mainmem_free(s->prefix_hash, prefix_count(s->gen.ids) * sizeof *s->prefix_hash);
    mainmem_free(s->prefix_len, prefix_count(s->gen.ids));
    zipf_free(&s->zipf);
    mainmem_free(s->seen, seen_bytes(s->seen_cap));
    mainmem_free(s->block, SOURCE_TRACE_BLOCK * sizeof *s->block);
    if (s->spilled)
        close(s->spill_fd);
    if (s->reader) {
        trace_reader_close(s->reader);
        free(s->reader);
        s->reader = NULL;
    }
    s->seen = NULL;
    s->seen_cap = 0;
    s->names = NULL;
    s->prefix_hash = NULL;
    s->prefix_len = NULL;
    s->name_count = 0;
    s->block = NULL;
    s->spilled = false;
}

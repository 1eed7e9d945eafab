/* serial_bench.c - what msgpack costs per message, against a raw copy of
 * the same data (SPEC §9, experiment 3).
 *
 *     serial_bench [--seconds T] [--reps R] [--array N]
 *
 * Three message types: "primitives" (phase 3's frame header: seq, id,
 * event, payload_len), "nested" (a map holding a map, an array of strings
 * and an array of numbers, as real telemetry looks) and "f64xN" (an array of
 * N doubles). For each, "pack" encodes a C struct into a buffer and "unpack"
 * decodes the buffer back into the struct, checking the fields, so that both
 * sides do the whole job; "raw" does the same with memcpy, the floor any
 * serialization is measured against (phase 4's rings copy raw bytes).
 *
 * When the suite's own frame codec exists (phases/common/codec.h, phase 3's
 * wire format: msgpack-c's packer out, a strict allocation-free reader in),
 * the primitives message is also measured as codec "frame": a MSG frame with
 * an empty payload, encoded and decoded exactly as phase 3 does per message.
 *
 * Each measurement runs for T seconds; a warm-up repetition is discarded;
 * one JSON line per repetition. The sbuffer and the unpacked zone are
 * reused across messages, as a careful phase 3 would. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "bench_util.h"
#include "clock.h"
#ifdef HAVE_MSGROUTE_CODEC
#include "codec.h"
#endif

#define PROG "serial_bench"
#define NSAMPLES 8
#define NTAGS 3

struct prim {
    uint64_t seq;
    uint32_t payload_len;
    uint8_t event;
    uint8_t id_len;
    char id[64];
};

struct nested {
    struct prim head;
    double ts;
    char host[16];
    char tags[NTAGS][8];
    int64_t samples[NSAMPLES];
};

struct arr {
    size_t n;
    double *v;
};

/* One codec for one type: pack src into sb, or unpack (buf, len) into dst. */
struct codec {
    const char *type, *name;
    void (*pack)(const void *src, msgpack_sbuffer *sb, msgpack_packer *pk);
    int (*unpack)(const char *buf, size_t len, msgpack_unpacked *u, void *dst);
};

/* ---- primitives ---- */

static void prim_append_mp(const struct prim *p, msgpack_packer *pk)
{
    msgpack_pack_array(pk, 4);
    msgpack_pack_uint64(pk, p->seq);
    msgpack_pack_str(pk, p->id_len);
    msgpack_pack_str_body(pk, p->id, p->id_len);
    msgpack_pack_uint8(pk, p->event);
    msgpack_pack_uint32(pk, p->payload_len);
}

static void prim_pack_mp(const void *src, msgpack_sbuffer *sb, msgpack_packer *pk)
{
    msgpack_sbuffer_clear(sb);
    prim_append_mp(src, pk);
}

static int prim_from_obj(const msgpack_object *o, struct prim *p)
{
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 4)
        return -1;
    const msgpack_object *f = o->via.array.ptr;
    if (f[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER || f[1].type != MSGPACK_OBJECT_STR || f[1].via.str.size > 63 ||
        f[2].type != MSGPACK_OBJECT_POSITIVE_INTEGER || f[3].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return -1;
    p->seq = f[0].via.u64;
    p->id_len = (uint8_t)f[1].via.str.size;
    memcpy(p->id, f[1].via.str.ptr, p->id_len);
    p->event = (uint8_t)f[2].via.u64;
    p->payload_len = (uint32_t)f[3].via.u64;
    return 0;
}

static int prim_unpack_mp(const char *buf, size_t len, msgpack_unpacked *u, void *dst)
{
    size_t off = 0;
    if (msgpack_unpack_next(u, buf, len, &off) != MSGPACK_UNPACK_SUCCESS)
        return -1;
    return prim_from_obj(&u->data, dst);
}

#ifdef HAVE_MSGROUTE_CODEC
/* ---- phase 3's own frame codec (codec.h); the sbuffer only carries bytes ----
 * Phase 3 encodes the struct msg its source hands out and its worker applies
 * the struct msg that decoding leaves pointing into the frame: this codec
 * does exactly that, from and into a struct msg, with no copy into or out
 * of struct prim that phase 3 would not make. */

static uint8_t frame_out[CODEC_MSG_OVERHEAD + 64];

static void msg_pack_frame(const void *src, msgpack_sbuffer *sb, msgpack_packer *pk)
{
    (void)pk;
    struct codec_buf b = {.data = frame_out, .len = 0, .cap = sizeof frame_out};
    codec_put_msg_head(&b, src);
    /* Hand the bytes to the unpack side through the sbuffer, once per call
     * as the others do: a memcpy of about 20 bytes. */
    msgpack_sbuffer_clear(sb);
    msgpack_sbuffer_write(sb, (const char *)b.data, b.len);
}

static int msg_unpack_frame(const char *buf, size_t len, msgpack_unpacked *u, void *dst)
{
    (void)u;
    struct codec_frame f = {.records = NULL};
    size_t used;
    if (codec_decode_frame((const uint8_t *)buf, len, &f, &used) != CODEC_OK || f.type != CODEC_MSG)
        return -1;
    *(struct msg *)dst = f.u.msg.m; /* its id points into buf, as phase 3's does into its read buffer */
    return 0;
}
#endif

/* ---- nested ---- */

static void pack_cstr(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

static void nested_pack_mp(const void *src, msgpack_sbuffer *sb, msgpack_packer *pk)
{
    const struct nested *x = src;
    msgpack_sbuffer_clear(sb);
    msgpack_pack_map(pk, 3);
    pack_cstr(pk, "head");
    prim_append_mp(&x->head, pk);
    pack_cstr(pk, "meta");
    msgpack_pack_map(pk, 3);
    pack_cstr(pk, "host");
    pack_cstr(pk, x->host);
    pack_cstr(pk, "ts");
    msgpack_pack_double(pk, x->ts);
    pack_cstr(pk, "tags");
    msgpack_pack_array(pk, NTAGS);
    for (int i = 0; i < NTAGS; i++)
        pack_cstr(pk, x->tags[i]);
    pack_cstr(pk, "samples");
    msgpack_pack_array(pk, NSAMPLES);
    for (int i = 0; i < NSAMPLES; i++)
        msgpack_pack_int64(pk, x->samples[i]);
}

static bool key_is(const msgpack_object *k, const char *s)
{
    size_t n = strlen(s);
    return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n && memcmp(k->via.str.ptr, s, n) == 0;
}

static int copy_str(const msgpack_object *o, char *dst, size_t cap)
{
    if (o->type != MSGPACK_OBJECT_STR || o->via.str.size >= cap)
        return -1;
    memcpy(dst, o->via.str.ptr, o->via.str.size);
    dst[o->via.str.size] = '\0';
    return 0;
}

static int nested_unpack_mp(const char *buf, size_t len, msgpack_unpacked *u, void *dst)
{
    struct nested *x = dst;
    size_t off = 0;
    if (msgpack_unpack_next(u, buf, len, &off) != MSGPACK_UNPACK_SUCCESS || u->data.type != MSGPACK_OBJECT_MAP)
        return -1;
    const msgpack_object_map *m = &u->data.via.map;
    for (uint32_t i = 0; i < m->size; i++) {
        const msgpack_object *k = &m->ptr[i].key, *v = &m->ptr[i].val;
        if (key_is(k, "head")) {
            if (prim_from_obj(v, &x->head) < 0)
                return -1;
        } else if (key_is(k, "meta") && v->type == MSGPACK_OBJECT_MAP) {
            for (uint32_t j = 0; j < v->via.map.size; j++) {
                const msgpack_object *k2 = &v->via.map.ptr[j].key, *v2 = &v->via.map.ptr[j].val;
                if (key_is(k2, "host")) {
                    if (copy_str(v2, x->host, sizeof x->host) < 0)
                        return -1;
                } else if (key_is(k2, "ts") && v2->type == MSGPACK_OBJECT_FLOAT64) {
                    x->ts = v2->via.f64;
                } else if (key_is(k2, "tags") && v2->type == MSGPACK_OBJECT_ARRAY && v2->via.array.size == NTAGS) {
                    for (int t = 0; t < NTAGS; t++)
                        if (copy_str(&v2->via.array.ptr[t], x->tags[t], sizeof x->tags[t]) < 0)
                            return -1;
                } else {
                    return -1;
                }
            }
        } else if (key_is(k, "samples") && v->type == MSGPACK_OBJECT_ARRAY && v->via.array.size == NSAMPLES) {
            for (int s = 0; s < NSAMPLES; s++)
                x->samples[s] = v->via.array.ptr[s].via.i64; /* positive ints share the union */
        } else {
            return -1;
        }
    }
    return 0;
}

/* ---- numeric array ---- */

static void arr_pack_mp(const void *src, msgpack_sbuffer *sb, msgpack_packer *pk)
{
    const struct arr *a = src;
    msgpack_sbuffer_clear(sb);
    msgpack_pack_array(pk, a->n);
    for (size_t i = 0; i < a->n; i++)
        msgpack_pack_double(pk, a->v[i]);
}

static int arr_unpack_mp(const char *buf, size_t len, msgpack_unpacked *u, void *dst)
{
    struct arr *a = dst;
    size_t off = 0;
    if (msgpack_unpack_next(u, buf, len, &off) != MSGPACK_UNPACK_SUCCESS || u->data.type != MSGPACK_OBJECT_ARRAY ||
        u->data.via.array.size != a->n)
        return -1;
    for (size_t i = 0; i < a->n; i++)
        a->v[i] = u->data.via.array.ptr[i].via.f64;
    return 0;
}

/* ---- raw copies: the same data as bytes, no encoding ---- */

static size_t raw_size_of(const char *type, const void *src)
{
    if (strcmp(type, "primitives") == 0)
        return sizeof(struct prim);
    if (strcmp(type, "nested") == 0)
        return sizeof(struct nested);
    return ((const struct arr *)src)->n * sizeof(double);
}

/* Times op until `seconds` have passed; returns ns per call, or -1 on failure. */
static double time_pack(const struct codec *c, const void *src, msgpack_sbuffer *sb, msgpack_packer *pk, double seconds,
                        uint64_t *count)
{
    uint64_t n = 0, t0 = now_ns(), end = t0 + (uint64_t)(seconds * 1e9), t;
    do {
        for (int i = 0; i < 64; i++)
            c->pack(src, sb, pk);
        n += 64;
    } while ((t = now_ns()) < end);
    *count = n;
    return (double)(t - t0) / (double)n;
}

static double time_unpack(const struct codec *c, const char *buf, size_t len, msgpack_unpacked *u, void *dst,
                          double seconds, uint64_t *count)
{
    uint64_t n = 0, t0 = now_ns(), end = t0 + (uint64_t)(seconds * 1e9), t;
    do {
        for (int i = 0; i < 64; i++)
            if (c->unpack(buf, len, u, dst) < 0)
                return -1;
        n += 64;
    } while ((t = now_ns()) < end);
    *count = n;
    return (double)(t - t0) / (double)n;
}

static void raw_measure(const char *type, const void *src, void *dst, size_t size, char *buf, double seconds, int rep,
                        int reps_total)
{
    (void)reps_total;
    const char *ops[2] = {"pack", "unpack"};
    for (int op = 0; op < 2; op++) {
        uint64_t n = 0, t0 = now_ns(), end = t0 + (uint64_t)(seconds * 1e9), t;
        const void *from = src;
        void *to = buf;
        if (op == 1) {
            from = buf;
            to = dst;
        }
        /* A struct copy of known size is what a raw ring does; the array's
         * pointer is followed, as the msgpack side does. */
        if (strcmp(type, "primitives") != 0 && strcmp(type, "nested") != 0) {
            if (op == 0)
                from = ((const struct arr *)src)->v;
            else
                to = ((struct arr *)dst)->v;
        }
        do {
            for (int i = 0; i < 64; i++) {
                memcpy(to, from, size);
                __asm__ __volatile__("" ::"r"(to) : "memory"); /* the copy must happen */
            }
            n += 64;
        } while ((t = now_ns()) < end);
        if (rep > 0)
            printf("{\"bench\":\"serial\",\"lang\":\"c\",\"codec\":\"raw\",\"type\":\"%s\",\"op\":\"%s\",\"rep\":%d,"
                   "\"bytes\":%zu,\"messages\":%llu,\"ns_per_msg\":%.2f}\n",
                   type, ops[op], rep, size, (unsigned long long)n, (double)(t - t0) / (double)n);
    }
}

int main(int argc, char **argv)
{
    double seconds = 0.2;
    int reps = 5;
    uint64_t v, array_n = 1000;
    static const struct option opts[] = {
        {"seconds", required_argument, NULL, 's'},
        {"reps", required_argument, NULL, 'r'},
        {"array", required_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's': {
            char *end;
            seconds = strtod(optarg, &end);
            if (*end || !(seconds > 0 && seconds <= 60))
                goto usage;
            break;
        }
        case 'r':
            if (bench_parse_list(optarg, 1, 1000, &v, 1) != 1)
                goto usage;
            reps = (int)v;
            break;
        case 'a':
            if (bench_parse_list(optarg, 1, 1u << 24, &array_n, 1) != 1)
                goto usage;
            break;
        case 'h': printf("usage: %s [--seconds T] [--reps R] [--array N]\n", PROG); return 0;
        default: goto usage;
        }
    }
    if (optind < argc)
        goto usage;

    struct prim p = {.seq = 123456789, .payload_len = 1024, .event = 7, .id_len = 8};
    memcpy(p.id, "id-12345", 8);
    struct nested x = {.head = p,
                       .ts = 1732550400.123,
                       .host = "node-7",
                       .tags = {"eu", "rack9", "hot"},
                       .samples = {1, -2, 300, 40000, -5000000, 6, 70000000000, 8}};
    struct arr a = {.n = array_n, .v = malloc(array_n * sizeof(double))};
    struct prim p2;
#ifdef HAVE_MSGROUTE_CODEC
    /* The same message as phase 3 has it (no payload: the header alone). */
    const struct msg pm = {.seq = p.seq, .id = p.id, .id_len = p.id_len, .event = p.event};
    struct msg pm2;
#endif
    struct nested x2;
    struct arr a2 = {.n = array_n, .v = malloc(array_n * sizeof(double))};
    char *rawbuf = malloc(sizeof(struct nested) + array_n * sizeof(double));
    if (!a.v || !a2.v || !rawbuf) {
        fprintf(stderr, "%s: out of memory\n", PROG);
        free(a.v);
        free(a2.v);
        free(rawbuf);
        return 1;
    }
    for (size_t i = 0; i < array_n; i++)
        a.v[i] = (double)i * 1.5 + 0.25;

    char arr_type[32];
    snprintf(arr_type, sizeof arr_type, "f64x%llu", (unsigned long long)array_n);
    const struct codec codecs[] = {
        {"primitives", "msgpack", prim_pack_mp, prim_unpack_mp},
        {"nested", "msgpack", nested_pack_mp, nested_unpack_mp},
        {arr_type, "msgpack", arr_pack_mp, arr_unpack_mp},
#ifdef HAVE_MSGROUTE_CODEC
        {"primitives", "frame", msg_pack_frame, msg_unpack_frame},
#endif
    };
#ifdef HAVE_MSGROUTE_CODEC
    const void *srcs[] = {&p, &x, &a, &pm};
    void *dsts[] = {&p2, &x2, &a2, &pm2};
#else
    const void *srcs[] = {&p, &x, &a};
    void *dsts[] = {&p2, &x2, &a2};
#endif
    const int ncodecs = (int)(sizeof codecs / sizeof codecs[0]);

    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_unpacked u;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_unpacked_init(&u);
    int status = 0;
    for (int t = 0; t < ncodecs && status == 0; t++) {
        const struct codec *cd = &codecs[t];
        for (int rep = 0; rep <= reps; rep++) {
            uint64_t npack, nunpack;
            double pack_ns = time_pack(cd, srcs[t], &sb, &pk, seconds, &npack);
            double unpack_ns = time_unpack(cd, sb.data, sb.size, &u, dsts[t], seconds, &nunpack);
            if (unpack_ns < 0) {
                fprintf(stderr, "%s: %s: decoding what was just encoded failed\n", PROG, cd->type);
                status = 1;
                break;
            }
            if (rep > 0) {
                printf("{\"bench\":\"serial\",\"lang\":\"c\",\"codec\":\"%s\",\"type\":\"%s\",\"op\":\"pack\","
                       "\"rep\":%d,\"bytes\":%zu,\"messages\":%llu,\"ns_per_msg\":%.2f}\n",
                       cd->name, cd->type, rep, sb.size, (unsigned long long)npack, pack_ns);
                printf("{\"bench\":\"serial\",\"lang\":\"c\",\"codec\":\"%s\",\"type\":\"%s\",\"op\":\"unpack\","
                       "\"rep\":%d,\"bytes\":%zu,\"messages\":%llu,\"ns_per_msg\":%.2f}\n",
                       cd->name, cd->type, rep, sb.size, (unsigned long long)nunpack, unpack_ns);
            }
            if (t < 3) /* one raw line per message type */
                raw_measure(cd->type, srcs[t], dsts[t], raw_size_of(cd->type, srcs[t]), rawbuf, seconds, rep, reps);
            fflush(stdout);
        }
    }
    if (status == 0 && (p2.seq != p.seq || x2.head.seq != p.seq || strcmp(x2.tags[1], "rack9") != 0 ||
                        x2.samples[6] != x.samples[6] || a2.v[array_n - 1] != a.v[array_n - 1])) {
        fprintf(stderr, "%s: a decoded message differs from the original\n", PROG);
        status = 1;
    }
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
    free(a.v);
    free(a2.v);
    free(rawbuf);
    return status;
usage:
    fprintf(stderr, "%s: bad arguments. Try '%s --help'.\n", PROG, PROG);
    return 2;
}

/* test_hash.c - FNV-1a-64 against the published test vectors, routing, and
 * the id map and machine table built on it. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "fnv.h"
#include "idmap.h"
#include "table.h"

TestSuite(hash, .timeout = 10);

Test(hash, fnv1a64_matches_the_reference_vectors)
{
    /* From the FNV reference test suite (Noll, fnv/test_fnv.c). */
    cr_assert_eq(fnv1a64("", 0), 0xcbf29ce484222325ull);
    cr_assert_eq(fnv1a64("a", 1), 0xaf63dc4c8601ec8cull);
    cr_assert_eq(fnv1a64("foobar", 6), 0x85944171f73967e8ull);
}

Test(hash, routing_is_the_hash_modulo_the_worker_count)
{
    uint64_t h = fnv1a64("pump-1", 6);
    for (uint32_t n = 1; n <= 16; n++)
        cr_assert_eq(route_worker(h, n), h % n);
}

Test(hash, idmap_hands_out_dense_stable_indexes_through_growth)
{
    struct idmap m;
    cr_assert_eq(idmap_init(&m, 1), 0);
    char id[32];
    for (uint32_t i = 0; i < 50000; i++) {
        int len = snprintf(id, sizeof id, "id-%u", i);
        int inserted = 0;
        cr_assert_eq(idmap_intern(&m, id, (size_t)len, fnv1a64(id, (size_t)len), &inserted), i);
        cr_assert(inserted);
    }
    for (uint32_t i = 0; i < 50000; i += 997) {
        int len = snprintf(id, sizeof id, "id-%u", i);
        cr_assert_eq(idmap_find(&m, id, (size_t)len, fnv1a64(id, (size_t)len)), i);
        cr_assert_str_eq(idmap_key(&m, i)->s, id);
    }
    cr_assert_eq(idmap_find(&m, "nope", 4, fnv1a64("nope", 4)), IDMAP_NONE);
    idmap_free(&m);
}

/* A message borrows its id's string from the map: growth of the key array
 * and the probe array must leave every string where it was. Ids of the
 * greatest length fill the string chunks fastest, so many chunks are made. */
Test(hash, idmap_strings_never_move_however_the_map_grows)
{
    struct idmap m;
    cr_assert_eq(idmap_init(&m, 1), 0);
    enum { N = 40000 };
    static const char *first[N];
    char id[MSG_ID_MAX + 1];
    for (uint32_t i = 0; i < N; i++) {
        int len = snprintf(id, sizeof id, "%0*u", MSG_ID_MAX, i);
        uint32_t k = idmap_intern(&m, id, (size_t)len, fnv1a64(id, (size_t)len), NULL);
        cr_assert_eq(k, i);
        first[i] = idmap_key(&m, i)->s;
    }
    for (uint32_t i = 0; i < N; i++) {
        snprintf(id, sizeof id, "%0*u", MSG_ID_MAX, i);
        cr_assert_eq(idmap_key(&m, i)->s, first[i], "the string of id %u moved", i);
        cr_assert_str_eq(first[i], id);
        cr_assert_eq(idmap_key(&m, i)->len, MSG_ID_MAX);
    }
    cr_assert_eq(idmap_intern(&m, id, MSG_ID_MAX + 1, 1, NULL), IDMAP_NONE, "an id past MSG_ID_MAX was taken");
    cr_assert_eq(idmap_intern(&m, "", 0, 1, NULL), IDMAP_NONE, "an empty id was taken");
    idmap_free(&m);
}

Test(hash, a_fixed_idmap_refuses_ids_past_its_capacity)
{
    struct idmap m;
    cr_assert_eq(idmap_init_fixed(&m, 3), 0);
    const struct idkey *keys = m.keys;
    cr_assert_eq(idmap_intern(&m, "a", 1, fnv1a64("a", 1), NULL), 0);
    cr_assert_eq(idmap_intern(&m, "b", 1, fnv1a64("b", 1), NULL), 1);
    cr_assert_eq(idmap_intern(&m, "c", 1, fnv1a64("c", 1), NULL), 2);
    cr_assert_eq(idmap_intern(&m, "d", 1, fnv1a64("d", 1), NULL), IDMAP_NONE);
    cr_assert_eq(idmap_intern(&m, "b", 1, fnv1a64("b", 1), NULL), 1, "a known id is still found when full");
    cr_assert_eq(m.keys, keys, "the keys of a fixed map moved");
    idmap_free(&m);
}

Test(hash, ids_with_the_same_hash_stay_distinct)
{
    /* Force a collision by lying about the hash: the key bytes must decide. */
    struct idmap m;
    cr_assert_eq(idmap_init(&m, 4), 0);
    cr_assert_eq(idmap_intern(&m, "a", 1, 42, NULL), 0);
    cr_assert_eq(idmap_intern(&m, "b", 1, 42, NULL), 1);
    cr_assert_eq(idmap_intern(&m, "ab", 2, 42, NULL), 2);
    cr_assert_eq(idmap_find(&m, "b", 1, 42), 1);
    cr_assert_eq(idmap_find(&m, "ab", 2, 42), 2);
    cr_assert_eq(idmap_find(&m, "c", 1, 42), IDMAP_NONE);
    idmap_free(&m);
}

Test(hash, table_creates_machines_once_and_keeps_their_state_through_growth)
{
    struct table t;
    cr_assert_eq(table_init(&t, 2), 0);
    struct machine *m = table_upsert(&t, "x", 1, fnv1a64("x", 1));
    cr_assert_not_null(m);
    sm_apply(m, 1, EV_START, 0, true);
    char id[32];
    for (int i = 0; i < 1000; i++) {
        int len = snprintf(id, sizeof id, "m%d", i);
        cr_assert_not_null(table_upsert(&t, id, (size_t)len, fnv1a64(id, (size_t)len)));
    }
    m = table_find(&t, "x", 1, fnv1a64("x", 1));
    cr_assert_not_null(m);
    cr_assert_eq(m->state, ST_RUNNING);
    cr_assert_eq(table_count(&t), 1001);
    cr_assert_null(table_find(&t, "y", 1, fnv1a64("y", 1)));
    table_free(&t);
}

/* Ids of every length from 5 (room for the number that keeps them
 * distinct, below 10 000) to MSG_ID_MAX, so records of every size sit side
 * by side: the walk, the handles and the copies must each step by the
 * record's own size. */
static size_t id_of(uint32_t i, char *id)
{
    size_t len = 5 + i % (MSG_ID_MAX - 4);
    for (size_t k = 0; k < len; k++)
        id[k] = (char)('a' + (i + k) % 26);
    int n = snprintf(id, len + 1, "%u", i); /* distinct, whatever the length */
    if ((size_t)n < len)
        id[n] = '_';
    return len;
}

Test(hash, machines_of_every_id_length_keep_their_handles_and_creation_order_through_growth)
{
    enum { N = 5000 };
    struct table t;
    cr_assert_eq(table_init(&t, 1), 0);
    static uint32_t handle[N];
    char id[MSG_ID_MAX + 1];
    for (uint32_t i = 0; i < N; i++) {
        size_t len = id_of(i, id);
        struct machine *m = table_upsert(&t, id, len, fnv1a64(id, len));
        cr_assert_not_null(m);
        sm_apply(m, i + 1, EV_START, 0, true);
        handle[i] = table_handle(&t, m);
    }
    cr_assert_geq(t.cap - t.used, sizeof(struct machine), "a whole struct fits after the last machine");
    uint32_t i = 0;
    for (const struct machine *m = table_first(&t); m; m = table_next(&t, m), i++) {
        size_t len = id_of(i, id);
        cr_assert_eq(m->id_len, len);
        cr_assert_eq(memcmp(m->id, id, len), 0, "machine %u in creation order", i);
        cr_assert_eq(m->id[len], '\0');
        cr_assert_eq(m->last_seq, i + 1);
        cr_assert_eq(table_at(&t, handle[i]), m, "handle of machine %u", i);
        cr_assert_eq(table_find(&t, id, len, fnv1a64(id, len)), m);
    }
    cr_assert_eq(i, N);
    table_free(&t);
}

Test(hash, machines_copied_out_are_whole_structs_with_nothing_of_their_neighbours)
{
    struct table t;
    cr_assert_eq(table_init(&t, 4), 0);
    char id[MSG_ID_MAX + 1];
    for (uint32_t i = 0; i < 100; i++) {
        size_t len = id_of(i, id);
        cr_assert_not_null(table_upsert(&t, id, len, fnv1a64(id, len)));
    }
    struct machine out[30];
    const struct machine *from = table_first(&t);
    uint32_t got = 0, n;
    while ((n = table_copy_out(&t, &from, out, 30)) > 0) {
        cr_assert_leq(n, 30);
        for (uint32_t k = 0; k < n; k++) {
            size_t len = id_of(got + k, id);
            cr_assert_eq(out[k].id_len, len);
            cr_assert_eq(memcmp(out[k].id, id, len), 0);
            for (size_t b = len; b <= MSG_ID_MAX; b++)
                cr_assert_eq(out[k].id[b], '\0', "byte %zu past machine %u's id", b, got + k);
            cr_assert_eq(out[k].checksum, FNV64_OFFSET);
        }
        got += n;
        cr_assert(n == 30 || from == NULL, "a short copy only at the end");
    }
    cr_assert_eq(got, 100);
    cr_assert_null(from);
    table_free(&t);
}

Test(hash, the_first_repeat_of_a_list_of_machines_is_found_by_id_not_by_hash)
{
    struct machine ms[5];
    sm_init(&ms[0], "a", 1, 42); /* equal hashes: the ids must decide */
    sm_init(&ms[1], "b", 1, 42);
    sm_init(&ms[2], "ab", 2, 42);
    sm_init(&ms[3], "c", 1, fnv1a64("c", 1));
    cr_assert_eq(table_first_repeat(ms, 4), 4, "four distinct ids");
    cr_assert_eq(table_first_repeat(ms, 0), 0, "an empty list");
    ms[4] = ms[1];
    cr_assert_eq(table_first_repeat(ms, 5), 4, "b again, at index 4");
    ms[1] = ms[3];
    cr_assert_eq(table_first_repeat(ms, 5), 3, "c again, at index 3");
}

/* test_history.c — bounded user histories: repeated items merge (ratings
 * replace, other interactions add up), max_items replaces the oldest entry,
 * max_users evicts the least recently updated user, max_catalog refuses new
 * item ids, pending users are listed once in first-touch order, and the hash
 * tables survive growth and backward-shift deletion (every survivor is still
 * found after thousands of evictions). */
#include "../testhelp.h"
#include <stdio.h>
#include "../../../stages/recommender/history.h"
#include "fbrec.h"

#define ADD(h, u, i, w, ts, t) hist_add(h, u, strlen(u), i, strlen(i), w, ts, t)

static const hist_item *find_item(hist_store *h, int64_t slot, const char *item)
{
    uint32_t n;
    const hist_item *it = hist_items(h, (uint32_t)slot, &n);
    int64_t gid = hist_gid_find(h, item, strlen(item));
    for (uint32_t i = 0; i < n; i++) if ((int64_t)it[i].gid == gid) return &it[i];
    return NULL;
}

static void test_merge(void)
{
    hist_limits lim = { 10, 10, 100 };
    hist_store *h = hist_new(&lim);
    int64_t s = ADD(h, "u1", "a", 1, 100, EventType_view);
    CHECK(s >= 0);
    CHECK_EQ_INT(ADD(h, "u1", "a", 2, 50, EventType_click), s);
    const hist_item *a = find_item(h, s, "a");
    CHECK(a != NULL);
    if (a) {
        CHECK_NEAR(a->weight, 3.0, 1e-6);
        CHECK_EQ_INT(a->ts, 100);                 /* the latest time stays */
        CHECK_EQ_INT(a->types, (1 << EventType_view) | (1 << EventType_click));
    }
    ADD(h, "u1", "r", 4, 200, EventType_rating);
    ADD(h, "u1", "r", 2.5f, 300, EventType_rating);
    const hist_item *r = find_item(h, s, "r");
    CHECK(r && fabs(r->weight - 2.5) < 1e-6);     /* a new rating replaces the old one */
    uint32_t n;
    hist_items(h, (uint32_t)s, &n);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(hist_n_gids(h), 2);
    size_t len;
    CHECK_EQ_STR(hist_gid_str(h, (uint32_t)hist_gid_find(h, "r", 1), &len), "r");
    CHECK_EQ_INT(len, 1);
    CHECK_EQ_INT(hist_gid_find(h, "zz", 2), -1);
    hist_free(h);
}

static void test_max_items(void)
{
    hist_limits lim = { 10, 3, 100 };
    hist_store *h = hist_new(&lim);
    /* timestamps out of insertion order: the oldest by ts goes, not the first added */
    ADD(h, "u", "a", 1, 30, EventType_view);
    ADD(h, "u", "b", 1, 10, EventType_view);
    int64_t s = ADD(h, "u", "c", 1, 20, EventType_view);
    ADD(h, "u", "d", 1, 40, EventType_view);
    uint32_t n;
    hist_items(h, (uint32_t)s, &n);
    CHECK_EQ_INT(n, 3);
    CHECK(find_item(h, s, "b") == NULL);
    CHECK(find_item(h, s, "a") && find_item(h, s, "c") && find_item(h, s, "d"));
    CHECK_EQ_INT(hist_get_stats(h)->entries_dropped, 1);
    ADD(h, "u", "e", 1, 50, EventType_view);
    CHECK(find_item(h, s, "c") == NULL);
    CHECK_EQ_INT(hist_get_stats(h)->entries_dropped, 2);
    hist_free(h);
}

static void test_lru(void)
{
    hist_limits lim = { 3, 4, 100 };
    hist_store *h = hist_new(&lim);
    ADD(h, "u1", "a", 1, 1, EventType_view);
    ADD(h, "u2", "a", 1, 2, EventType_view);
    ADD(h, "u3", "a", 1, 3, EventType_view);
    hist_pending_clear(h);
    ADD(h, "u1", "b", 1, 4, EventType_view);    /* u1 becomes the most recent: u2 is the tail */
    CHECK_EQ_INT(hist_lru_tail(h), hist_find(h, "u2", 2));
    ADD(h, "u4", "a", 1, 5, EventType_view);
    CHECK_EQ_INT(hist_find(h, "u2", 2), -1);
    CHECK(hist_find(h, "u1", 2) >= 0 && hist_find(h, "u3", 2) >= 0 && hist_find(h, "u4", 2) >= 0);
    CHECK_EQ_INT(hist_n_users(h), 3);
    CHECK_EQ_INT(hist_get_stats(h)->evictions, 1);
    CHECK_EQ_INT(hist_get_stats(h)->evicted_pending, 0);
    /* the newcomer starts with an empty history, not u2's */
    uint32_t n;
    hist_items(h, (uint32_t)hist_find(h, "u4", 2), &n);
    CHECK_EQ_INT(n, 1);
    size_t np;
    const uint32_t *p = hist_pending(h, &np);
    CHECK_EQ_INT(np, 2);
    if (np == 2) {
        CHECK_EQ_STR(hist_user_id(h, p[0], NULL), "u1");
        CHECK_EQ_STR(hist_user_id(h, p[1], NULL), "u4");
    }
    hist_free(h);
}

static void test_pending_once(void)
{
    hist_limits lim = { 100, 4, 100 };
    hist_store *h = hist_new(&lim);
    for (int i = 0; i < 10; i++) ADD(h, "x", "a", 1, i, EventType_click);
    ADD(h, "y", "a", 1, 1, EventType_click);
    ADD(h, "x", "b", 1, 1, EventType_click);
    size_t np;
    hist_pending(h, &np);
    CHECK_EQ_INT(np, 2);
    hist_pending_clear(h);
    hist_pending(h, &np);
    CHECK_EQ_INT(np, 0);
    CHECK(hist_user(h, "z", 1) >= 0);            /* batch users are not pending */
    hist_pending(h, &np);
    CHECK_EQ_INT(np, 0);
    ADD(h, "x", "c", 1, 1, EventType_click);
    hist_pending(h, &np);
    CHECK_EQ_INT(np, 1);
    hist_free(h);
}

static void test_catalog_full(void)
{
    hist_limits lim = { 10, 10, 2 };
    hist_store *h = hist_new(&lim);
    CHECK(ADD(h, "u", "a", 1, 1, EventType_view) >= 0);
    CHECK(ADD(h, "u", "b", 1, 1, EventType_view) >= 0);
    CHECK_EQ_INT(ADD(h, "u", "c", 1, 1, EventType_view), -1);
    CHECK_EQ_INT(hist_get_stats(h)->catalog_full, 1);
    CHECK(ADD(h, "v", "a", 1, 1, EventType_view) >= 0);   /* known ids still work */
    uint32_t n;
    hist_items(h, (uint32_t)hist_find(h, "u", 1), &n);
    CHECK_EQ_INT(n, 2);
    hist_free(h);
}

/* Many users through a small store: the tables grow, thousands of
 * evictions exercise backward-shift deletion; every held user must be found
 * with its own items, and exactly the last max_users users are held. */
static void test_churn(void)
{
    hist_limits lim = { 500, 2, 100000 };
    hist_store *h = hist_new(&lim);
    char u[32], it[32];
    int total = 20000;
    for (int i = 0; i < total; i++) {
        snprintf(u, sizeof u, "user-%d", i);
        snprintf(it, sizeof it, "item-%d", i % 1000);
        ADD(h, u, it, 1, i, EventType_view);
        if (i % 97 == 0) hist_pending_clear(h);
    }
    CHECK_EQ_INT(hist_n_users(h), 500);
    CHECK_EQ_INT(hist_get_stats(h)->evictions, total - 500);
    int found = 0, right = 0;
    for (int i = 0; i < total; i++) {
        snprintf(u, sizeof u, "user-%d", i);
        int64_t s = hist_find(h, u, strlen(u));
        if (s < 0) continue;
        found++;
        if (i >= total - 500) {
            snprintf(it, sizeof it, "item-%d", i % 1000);
            uint32_t n;
            const hist_item *e = hist_items(h, (uint32_t)s, &n);
            size_t l;
            const char *name = n == 1 ? hist_gid_str(h, e[0].gid, &l) : NULL;
            if (name && !strcmp(name, it) && !strcmp(hist_user_id(h, (uint32_t)s, NULL), u)) right++;
        }
    }
    CHECK_EQ_INT(found, 500);
    CHECK_EQ_INT(right, 500);
    CHECK_EQ_INT(hist_n_gids(h), 1000);
    hist_free(h);
}

/* encode -> decode into another store gives the same entries; a truncated
 * or foreign blob is refused and changes nothing */
static void test_encode(void)
{
    hist_limits lim = { 10, 10, 100 };
    hist_store *a = hist_new(&lim), *b = hist_new(&lim);
    ADD(a, "u", "x", 1, 100, EventType_view);
    ADD(a, "u", "x", 4, 200, EventType_purchase);
    int64_t s = ADD(a, "u", "r", 3.5f, 150, EventType_rating);
    ADD(b, "other", "zz", 1, 1, EventType_view);
    ADD(b, "u", "old", 1, 1, EventType_view);           /* replaced by the decode */
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    CHECK_EQ_INT(hist_encode(a, (uint32_t)s, &buf, &len, &cap), 0);
    CHECK_EQ_INT(hist_decode(b, "u", 1, buf, len - 1), -1);   /* truncated */
    uint8_t bad = 7;
    CHECK_EQ_INT(hist_decode(b, "u", 1, &bad, 1), -1);        /* unknown version */
    uint32_t n;
    hist_items(b, (uint32_t)hist_find(b, "u", 1), &n);
    CHECK_EQ_INT(n, 1);                                       /* unchanged */
    int64_t t = hist_decode(b, "u", 1, buf, len);
    CHECK(t >= 0);
    const hist_item *x = find_item(b, t, "x"), *r = find_item(b, t, "r");
    hist_items(b, (uint32_t)t, &n);
    CHECK_EQ_INT(n, 2);
    CHECK(find_item(b, t, "old") == NULL);
    CHECK(x && x->weight == 5 && x->ts == 200 && x->types == ((1 << EventType_view) | (1 << EventType_purchase)));
    CHECK(r && r->weight == 3.5f && r->ts == 150 && r->types == (1 << EventType_rating));
    size_t np;
    hist_pending(b, &np);
    CHECK_EQ_INT(np, 2);                     /* "other" and the first "u" only: decode does not add one */
    free(buf);
    hist_free(a);
    hist_free(b);
}

/* An item id longer than 65,535 bytes (ingest takes up to 16 MiB) comes
 * back whole from a saved history: version 2 stored its length in 16 bits
 * and cut it. A version 2 blob still loads. */
static void test_encode_long_id(void)
{
    hist_limits lim = { 10, 10, 100 };
    hist_store *a = hist_new(&lim), *b = hist_new(&lim);
    size_t big = 70000;
    char *id = malloc(big);
    memset(id, 'q', big);
    int64_t s = hist_add(a, "u", 1, id, big, 2, 100, EventType_purchase);
    CHECK(s >= 0);
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    CHECK_EQ_INT(hist_encode(a, (uint32_t)s, &buf, &len, &cap), 0);
    int64_t t = hist_decode(b, "u", 1, buf, len);
    CHECK(t >= 0);
    CHECK(hist_gid_find(b, id, big) >= 0);
    CHECK(hist_gid_find(b, id, big - 65536) < 0);   /* what the 16-bit length made of it */
    uint32_t n;
    const hist_item *it = hist_items(b, (uint32_t)t, &n);
    CHECK_EQ_INT(n, 1);
    size_t glen = 0;
    hist_gid_str(b, it[0].gid, &glen);
    CHECK_EQ_INT(glen, big);
    CHECK_EQ_INT(hist_seen(b, (uint32_t)t)->n, 1);
    CHECK_EQ_INT(hist_bought(b, (uint32_t)t)->n, 1);
    /* version 2, written by hand: one entry "ab", seen "ab" bought */
    uint8_t v2[64];
    size_t o = 0;
    uint32_t one = 1;
    uint16_t l2 = 2, types = 1u << EventType_purchase;
    float w = 1.5f;
    int64_t ts = 7;
    v2[o++] = 2;
    memcpy(v2 + o, &one, 4); o += 4;
    memcpy(v2 + o, &l2, 2); o += 2;
    memcpy(v2 + o, "ab", 2); o += 2;
    memcpy(v2 + o, &w, 4); o += 4;
    memcpy(v2 + o, &ts, 8); o += 8;
    memcpy(v2 + o, &types, 2); o += 2;
    memcpy(v2 + o, &one, 4); o += 4;
    memcpy(v2 + o, &l2, 2); o += 2;
    memcpy(v2 + o, "ab", 2); o += 2;
    v2[o++] = 1;
    int64_t v = hist_decode(b, "old", 3, v2, o);
    CHECK(v >= 0);
    it = hist_items(b, (uint32_t)v, &n);
    CHECK_EQ_INT(n, 1);
    CHECK(n == 1 && it[0].weight == 1.5f && it[0].ts == 7);
    CHECK(hist_gid_find(b, "ab", 2) >= 0);
    CHECK_EQ_INT(hist_bought(b, (uint32_t)v)->n, 1);
    free(id);
    free(buf);
    hist_free(a);
    hist_free(b);
}

/* A saved blob cut anywhere but between entries is refused; random bytes
 * never crash (run under ASan) nor overfill a history. */
static void test_decode_garbage(void)
{
    hist_limits lim = { 50, 20, 1000 };
    hist_store *a = hist_new(&lim), *b = hist_new(&lim);
    char it[16];
    int64_t s = -1;
    for (int i = 0; i < 12; i++) {
        snprintf(it, sizeof it, "item-%d", i * 7);
        s = ADD(a, "u", it, (float)i, i, i % 6);
    }
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    CHECK_EQ_INT(hist_encode(a, (uint32_t)s, &buf, &len, &cap), 0);
    /* version 3 carries its counts: no cut of it is accepted */
    int accepted = 0;
    for (size_t cut = 0; cut < len; cut++) accepted += hist_decode(b, "v", 1, buf, cut) >= 0;
    CHECK_EQ_INT(accepted, 0);
    /* version 1 (entries to the end, written before the seen set existed):
     * a cut between two entries is a valid shorter history, so exactly the
     * 12 boundaries (0..11 entries kept) are accepted, with that many
     * entries, and those entries are the seen set */
    uint8_t v1[1024];
    size_t v1len = 1;
    v1[0] = 1;
    CHECK(len < sizeof v1);
    size_t off = 5;                      /* the entries of the v3 blob, with 16-bit lengths */
    for (int e = 0; e < 12; e++) {
        uint32_t l;
        memcpy(&l, buf + off, 4);
        uint16_t l16 = (uint16_t)l;
        memcpy(v1 + v1len, &l16, 2);
        memcpy(v1 + v1len + 2, buf + off + 4, l + 14);
        v1len += 2 + (size_t)l + 14;
        off += 4 + (size_t)l + 14;
    }
    int right = 0;
    for (size_t cut = 0; cut < v1len; cut++) {
        int64_t t = hist_decode(b, "v", 1, v1, cut);
        if (t < 0) continue;
        uint32_t k;
        hist_items(b, (uint32_t)t, &k);
        right += (int)k == accepted && hist_seen(b, (uint32_t)t)->n == k;
        accepted++;
    }
    CHECK_EQ_INT(accepted, 12);
    CHECK_EQ_INT(right, 12);
    uint32_t seed = 7;
    uint8_t junk[64];
    for (int round = 0; round < 2000; round++) {
        size_t n = (size_t)(round % 64);
        for (size_t i = 0; i < n; i++) { seed = seed * 1103515245u + 12345u; junk[i] = (uint8_t)(seed >> 24); }
        if (n && round % 2) junk[0] = (uint8_t)(1 + round / 2 % 3);   /* a right version byte half the time */
        int64_t t = hist_decode(b, "w", 1, junk, n);
        if (t >= 0) {
            uint32_t k;
            hist_items(b, (uint32_t)t, &k);
            CHECK(k <= lim.max_items);
        }
    }
    free(buf);
    hist_free(a);
    hist_free(b);
}

/* The id set against a plain reference, through both forms: ids spread
 * over a small range turn it into a bitmap, a far id back into an array;
 * the allocated size stays within the bound of idset.h. */
static void test_idset(void)
{
    enum { RANGE = 5000 };
    static uint8_t ref[1u << 20];
    memset(ref, 0, sizeof ref);
    idset s = { 0 };
    uint32_t seed = 14, n = 0, maxid = 0, forms_seen = 0;
    static uint32_t out[1u << 20];
    for (int round = 0; round < 6000; round++) {
        seed = seed * 1103515245u + 12345u;
        uint32_t id = (seed >> 8) % RANGE;
        if (round == 3000) id = (1u << 20) - 1;        /* far: the array is smaller again */
        int added = idset_add(&s, id);
        CHECK_EQ_INT(added, !ref[id]);
        if (added == 1) { ref[id] = 1; n++; if (id > maxid) maxid = id; }
        forms_seen |= 1u << s.bitmap;
        size_t words = maxid / 32 + 1, bound = 4 * (words < (size_t)n * 3 / 2 + 4 ? words : (size_t)n * 3 / 2 + 4);
        if (idset_bytes(&s) > bound) { CHECK(idset_bytes(&s) <= bound); break; }
    }
    CHECK_EQ_INT(s.n, n);
    CHECK_EQ_INT(forms_seen, 3);                      /* both forms were used */
    size_t k = idset_list(&s, out);
    CHECK_EQ_INT(k, n);
    int sorted = 1, members = 1;
    for (size_t i = 0; i < k; i++) {
        if (i && out[i] <= out[i - 1]) sorted = 0;
        if (!ref[out[i]] || !idset_has(&s, out[i])) members = 0;
    }
    CHECK(sorted && members);
    CHECK(!idset_has(&s, RANGE + 1));
    idset_clear(&s);
    CHECK_EQ_INT(idset_bytes(&s), 0);
}

/* A user with 1,500 interactions and a history of 5: the seen set still has
 * all 1,500 (and the bought set the purchases), within the stated bytes, and
 * --state's blob carries both across a decode. */
static void test_seen_complete(void)
{
    hist_limits lim = { 10, 5, 100000 };
    hist_store *a = hist_new(&lim), *b = hist_new(&lim);
    char it[16];
    int64_t s = -1;
    for (int i = 0; i < 1500; i++) {
        snprintf(it, sizeof it, "m%d", i);
        s = ADD(a, "heavy", it, 1, i, i % 10 == 0 ? EventType_purchase : EventType_view);
    }
    uint32_t n;
    hist_items(a, (uint32_t)s, &n);
    CHECK_EQ_INT(n, 5);
    const idset *seen = hist_seen(a, (uint32_t)s), *bought = hist_bought(a, (uint32_t)s);
    CHECK_EQ_INT(seen->n, 1500);
    CHECK_EQ_INT(bought->n, 150);
    /* 1,500 of 1,500 interned ids: the bitmap, 47 words */
    CHECK_EQ_INT(idset_bytes(seen), 4 * (1500 / 32 + 1));
    CHECK_EQ_INT(hist_set_bytes(a), idset_bytes(seen) + idset_bytes(bought));
    int all = 1;
    for (int i = 0; i < 1500; i++) {
        snprintf(it, sizeof it, "m%d", i);
        all &= idset_has(seen, (uint32_t)hist_gid_find(a, it, strlen(it)));
    }
    CHECK(all);
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    CHECK_EQ_INT(hist_encode(a, (uint32_t)s, &buf, &len, &cap), 0);
    ADD(b, "x", "m1499", 1, 1, EventType_view);          /* other gids than in a */
    int64_t t = hist_decode(b, "heavy", 5, buf, len);
    CHECK(t >= 0);
    seen = hist_seen(b, (uint32_t)t);
    bought = hist_bought(b, (uint32_t)t);
    CHECK_EQ_INT(seen->n, 1500);
    CHECK_EQ_INT(bought->n, 150);
    all = 1;
    for (int i = 0; i < 1500; i++) {
        snprintf(it, sizeof it, "m%d", i);
        uint32_t g = (uint32_t)hist_gid_find(b, it, strlen(it));
        all &= idset_has(seen, g) && idset_has(bought, g) == (i % 10 == 0);
    }
    CHECK(all);
    /* an evicted user's sets are freed with them */
    size_t before = hist_set_bytes(b);
    for (int u = 0; u < 10; u++) { snprintf(it, sizeof it, "n%d", u); ADD(b, it, "m1", 1, 1, EventType_view); }
    CHECK(hist_find(b, "heavy", 5) < 0);
    CHECK(hist_set_bytes(b) < before);
    CHECK_EQ_INT(hist_set_bytes(b), 10 * 4);           /* ten users of one seen item (id 2 < 32): one word each */
    free(buf);
    hist_free(a);
    hist_free(b);
}

/* Users of a partition that moved away are removed: not found, not
 * pending, not counted, their slots reused before anyone is evicted. */
static void test_drop_part(void)
{
    hist_limits lim = { 4, 10, 100 };
    hist_store *h = hist_new(&lim);
    const char *u[4] = { "p0a", "p1a", "p0b", "p1b" };
    for (int i = 0; i < 4; i++) {
        int64_t s = ADD(h, u[i], "x", 1, 1, EventType_click);
        CHECK(s >= 0);
        hist_set_part(h, (uint32_t)s, i % 2);
    }
    CHECK_EQ_INT(hist_part(h, (uint32_t)hist_find(h, "p1a", 3)), 1);
    CHECK_EQ_INT(hist_drop_part(h, 1), 2);
    CHECK_EQ_INT(hist_n_users(h), 2);
    CHECK(hist_find(h, "p1a", 3) < 0 && hist_find(h, "p1b", 3) < 0);
    CHECK(hist_find(h, "p0a", 3) >= 0 && hist_find(h, "p0b", 3) >= 0);
    size_t np;
    hist_pending(h, &np);
    CHECK_EQ_INT(np, 2);                               /* the two of partition 0 */
    /* two newcomers take the freed slots: nobody is evicted */
    CHECK(ADD(h, "n1", "y", 1, 2, EventType_click) >= 0);
    CHECK(ADD(h, "n2", "y", 1, 2, EventType_click) >= 0);
    CHECK_EQ_INT(hist_get_stats(h)->evictions, 0);
    CHECK_EQ_INT(hist_part(h, (uint32_t)hist_find(h, "n1", 2)), -1);
    uint32_t n;
    hist_items(h, (uint32_t)hist_find(h, "n2", 2), &n);
    CHECK_EQ_INT(n, 1);                                /* not the dropped user's entries */
    CHECK_EQ_INT(hist_seen(h, (uint32_t)hist_find(h, "n2", 2))->n, 1);
    /* the next one evicts the least recently updated */
    CHECK(ADD(h, "n3", "y", 1, 3, EventType_click) >= 0);
    CHECK_EQ_INT(hist_get_stats(h)->evictions, 1);
    CHECK(hist_find(h, "p0a", 3) < 0);
    CHECK_EQ_INT(hist_drop_part(h, 0), 1);
    CHECK_EQ_INT(hist_n_users(h), 3);
    hist_free(h);
}

/* The last HIST_RECENT_IDS event ids of a user are remembered, the older
 * ones leave; they travel in the saved history (version 4), so a copy is
 * still recognised by whoever restores the user; a version 3 blob loads
 * with none; a count past the bound is refused. */
static void test_recent_ids(void)
{
    hist_limits lim = { 10, 10, 100 };
    hist_store *a = hist_new(&lim), *b = hist_new(&lim);
    int64_t s = ADD(a, "u", "x", 1, 100, EventType_view);
    CHECK(s >= 0);
    int n = HIST_RECENT_IDS + 8;
    for (int i = 1; i <= n; i++) CHECK_EQ_INT(hist_event_note(a, (uint32_t)s, (uint64_t)i * 7919), 0);
    for (int i = 1; i <= n; i++)
        CHECK_MSG(hist_event_seen(a, (uint32_t)s, (uint64_t)i * 7919) == (i > 8), "id %d", i);
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    CHECK_EQ_INT(hist_encode(a, (uint32_t)s, &buf, &len, &cap), 0);
    CHECK_EQ_INT(buf[0], 4);
    int64_t t = hist_decode(b, "u", 1, buf, len);
    CHECK(t >= 0);
    for (int i = 1; i <= n; i++)
        CHECK_MSG(hist_event_seen(b, (uint32_t)t, (uint64_t)i * 7919) == (i > 8), "restored id %d", i);
    /* the ring goes on in order after a restore: the oldest restored leaves first */
    CHECK_EQ_INT(hist_event_note(b, (uint32_t)t, 1), 0);
    CHECK(hist_event_seen(b, (uint32_t)t, 1) && !hist_event_seen(b, (uint32_t)t, 9 * 7919));
    CHECK(hist_event_seen(b, (uint32_t)t, 10 * 7919));
    /* one past the bound: refused, nothing changed */
    uint32_t nr;
    size_t at = len - 4 - (size_t)HIST_RECENT_IDS * 8;
    memcpy(&nr, buf + at, 4);
    CHECK_EQ_INT(nr, HIST_RECENT_IDS);
    nr++;
    memcpy(buf + at, &nr, 4);
    CHECK_EQ_INT(hist_decode(b, "u", 1, buf, len), -1);
    CHECK(hist_event_seen(b, (uint32_t)t, 1));
    /* version 3: the same without the ids */
    buf[0] = 3;
    CHECK_EQ_INT(hist_decode(b, "u", 1, buf, at), (int64_t)t);
    CHECK(!hist_event_seen(b, (uint32_t)t, 40 * 7919));
    uint32_t ni;
    hist_items(b, (uint32_t)t, &ni);
    CHECK_EQ_INT(ni, 1);
    /* a user evicted and replaced starts with no ids */
    free(buf);
    hist_free(a);
    hist_free(b);
}

TEST_MAIN(test_drop_part, test_recent_ids, test_idset, test_seen_complete, test_encode, test_encode_long_id, test_decode_garbage, test_merge, test_max_items, test_lru, test_pending_once, test_catalog_full, test_churn)

/* test_menc.c — Metrics encoded by template (menc.h) are byte for byte what
 * fbrec_encode writes: random Metrics of many shapes (string lengths 0-40, 0-5
 * labels, 0-9 quantiles, each scalar zero or not, with and without size
 * prefix, labels/quantiles absent or empty), each shape met again with other
 * content, so most come from a template; more shapes than the cache holds,
 * so slots are replaced too. Shapes it does not take must come back NULL. */
#include "../testhelp.h"
#include "../../../stages/aggregate/menc.h"
#include "fb.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t rng = 88172645463325252ull;
static uint64_t next(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }
static unsigned pick(unsigned n) { return (unsigned)(next() % n); }

static char pool[64 * 1024];
static size_t pool_used;
static fb_str rand_str(unsigned len)
{
    if (pool_used + len + 1 > sizeof pool) pool_used = 0;
    char *p = pool + pool_used;
    for (unsigned i = 0; i < len; i++) p[i] = (char)('a' + pick(26));
    pool_used += len + 1;
    return FB_STRN(p, len);
}

static double rand_scalar_f(void)
{
    switch (pick(4)) {
    case 0: return 0;
    case 1: return -0.0;          /* not the default bit for bit: written */
    default: return (double)(int64_t)next() / 1e6;
    }
}

/* a present scalar: never 0 bit for bit (its shape says present) */
static double rand_present_f(void)
{
    double v = rand_scalar_f();
    return v == 0 && !signbit(v) ? 1.5 : v;
}

static void test_same_bytes(void)
{
    agg_menc *c = agg_menc_new();
    fb_builder b;
    fb_builder_init(&b);
    KeyValue kv[5];
    Quantile q[9];
    int served = 0, refused = 0;
    /* shapes are drawn from a small set of lengths so that each recurs */
    for (int it = 0; it < 40000; it++) {
        Metric m;
        Metric_init(&m);
        unsigned seed = pick(1200);   /* a shape family: lengths fixed by it */
        uint64_t save = rng;
        rng = 0x9E3779B97F4A7C15ull * (seed + 1);
        unsigned nl = pick(6), nq = pick(10), name_len = pick(41);
        unsigned kl[5], vl[5];
        for (int i = 0; i < 5; i++) { kl[i] = pick(12); vl[i] = pick(41); }
        int labels_absent = pick(8) == 0, quant_absent = pick(2) == 0, name_absent = pick(50) == 0;
        unsigned present = (unsigned)next();
        int prefixed = (int)pick(2);
        rng = save;
        if (!name_absent) m.name = rand_str(name_len);
        for (unsigned i = 0; i < nl; i++) { KeyValue_init(&kv[i]); kv[i].key = rand_str(kl[i]); kv[i].value = rand_str(vl[i]); }
        if (!labels_absent) { m.labels = kv; m.labels_count = nl; }
        for (unsigned i = 0; i < nq; i++) { q[i].q = rand_scalar_f(); q[i].value = rand_scalar_f(); }
        if (!quant_absent) { m.quantiles = q; m.quantiles_count = nq; }
        /* each scalar present or 0, by the family; the value itself random */
        if (present & 1) m.window_start = (int64_t)next() | 1;
        if (present & 2) m.window_end = (int64_t)next() | 1;
        if (present & 4) m.count = next() | 1;
        if (present & 8) m.sum = rand_present_f();
        if (present & 16) m.min = rand_present_f();
        if (present & 32) m.max = rand_present_f();
        if (present & 64) m.mean = rand_present_f();
        if (present & 128) m.stddev = rand_present_f();
        if (present & 256) m.value = rand_present_f();
        size_t len = 0;
        const uint8_t *p = agg_menc_encode(c, &m, prefixed, &len);
        fbrec_encode(&b, &Metric_desc, &m, prefixed);
        size_t want_len;
        const uint8_t *want = fb_data(&b, &want_len);
        if (!p) { refused++; continue; }
        served++;
        CHECK_MSG(len == want_len && memcmp(p, want, len) == 0,
                  "iteration %d: %zu bytes vs fbrec_encode's %zu (labels %u, quantiles %u, name %u)",
                  it, len, want_len, nl, nq, name_len);
        if (th_failed > 10) break;
    }
    CHECK(served > 20000);
    CHECK(refused > 0);   /* 5 labels, an absent name: not taken */
    CHECK_MSG(agg_menc_hits(c) > agg_menc_built(c), "hits %llu built %llu served %d refused %d", (unsigned long long)agg_menc_hits(c), (unsigned long long)agg_menc_built(c), served, refused);
    CHECK(agg_menc_built(c) > 1024);   /* more shapes than slots: slots were replaced */
    fb_builder_free(&b);
    agg_menc_free(c);
}

TEST_MAIN(test_same_bytes)

/* fuzz_engine.c — libFuzzer target for aggregate's engine and checkpoints.
 *
 * Input: one configuration byte (window specs, features, --by), then 17-byte
 * records (an op byte: event or sample, type, extreme-timestamp mode; a time
 * offset; user, item, session and label choices; the raw bits of a double
 * value, so NaN, infinities and huge values come up). Two engines eat the
 * same records; the second is checkpointed, thrown away and restored at a
 * cut the input chooses. Properties checked (abort on violation):
 *   - the restored run emits exactly what the uninterrupted one emits;
 *   - every emitted Metric, encoded by template (menc.h), is byte for byte
 *     what fbrec_encode writes, with and without size prefix;
 *   - series never exceed max_series; every emitted Metric is sane (window
 *     end after start, quantiles within [min, max], ctr = sum/count);
 *   - a checkpoint blob damaged at an input-chosen byte, or cut short, is
 *     refused (checksum);
 *   - the raw input behind a valid checkpoint header (and with a valid
 *     checksum) is refused or loaded and flushed safely: no crash, no leak,
 *     no undefined behaviour. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../../stages/aggregate/engine.h"
#include "hash.h"
#include "../../../stages/aggregate/menc.h"
#include "fb.h"
#include "log.h"

#define SEC 1000000LL
#define REC 17

/* One ordered input: it is complete up to the time of each record taken. */
static int event_now(agg_engine *e, const Event *ev)
{
    int rc = agg_engine_event(e, ev);
    return rc == AGG_OK ? agg_engine_advance(e, ev->ts) : rc;
}

static int sample_now(agg_engine *e, const Sample *s)
{
    int rc = agg_engine_sample(e, s);
    return rc == AGG_OK ? agg_engine_advance(e, s->ts) : rc;
}

typedef struct { char *p; size_t len, cap; } fz_buf;

static void fz_add(fz_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p) abort();
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

/* kept across inputs, as in a long run: templates built by earlier inputs serve later ones */
static void fz_menc_check(const Metric *m)
{
    static agg_menc *mc;
    static fb_builder fb;
    static int prefixed;
    if (!mc) { mc = agg_menc_new(); fb_builder_init(&fb); }
    prefixed ^= 1;
    size_t len, want_len;
    const uint8_t *p = agg_menc_encode(mc, m, prefixed, &len);
    if (!p) return;
    fbrec_encode(&fb, &Metric_desc, m, prefixed);
    const uint8_t *want = fb_data(&fb, &want_len);
    if (len != want_len || memcmp(p, want, len) != 0) abort();
}

static int fz_emit(void *ctx, const Metric *m)
{
    fz_buf *b = ctx;
    fz_menc_check(m);
    if (!b) return 0;                     /* a checkpoint built from raw input: anything goes */
    if (m->window_end <= m->window_start) abort();
    if (m->labels_count && !m->labels) abort();
    if (m->quantiles_count) {
        if (!m->count || !(m->min <= m->max)) abort();
        for (uint32_t i = 0; i < m->quantiles_count; i++) {
            double v = m->quantiles[i].value;
            if (isfinite(m->min) && isfinite(m->max) && (v < m->min || v > m->max)) abort();
        }
    }
    if (fb_str_eq(m->name, "item.ctr") && (!m->count || m->value != m->sum / (double)m->count)) abort();
    char line[1024];
    int n = snprintf(line, sizeof line, "%.*s{", (int)m->name.len, m->name.ptr);
    for (uint32_t i = 0; i < m->labels_count && n < 900; i++)
        n += snprintf(line + n, sizeof line - (size_t)n, "%.*s=%.*s,", (int)m->labels[i].key.len,
                      m->labels[i].key.ptr, (int)m->labels[i].value.len, m->labels[i].value.ptr);
    if (n < 900)
        n += snprintf(line + n, sizeof line - (size_t)n, "} %lld %lld %llu %a %a %a %a %a %a",
                      (long long)m->window_start, (long long)m->window_end, (unsigned long long)m->count,
                      m->sum, m->min, m->max, m->mean, m->stddev, m->value);
    for (uint32_t i = 0; i < m->quantiles_count && n < 1000; i++)
        n += snprintf(line + n, sizeof line - (size_t)n, " %a", m->quantiles[i].value);
    if (n > (int)sizeof line - 2) n = (int)sizeof line - 2;
    line[n++] = '\n';
    fz_add(b, line, (size_t)n);
    return 0;
}

static agg_config fz_config(uint8_t c)
{
    static const char *by[] = { "endpoint", "source" };
    agg_config cfg;
    memset(&cfg, 0, sizeof cfg);
    switch (c & 3) {
    case 0: cfg.specs[0] = (agg_wspec){ 10 * SEC, 10 * SEC }; cfg.nspecs = 1; break;
    case 1: cfg.specs[0] = (agg_wspec){ 20 * SEC, 5 * SEC }; cfg.nspecs = 1; break;
    case 2: cfg.specs[0] = (agg_wspec){ 5 * SEC, 5 * SEC };
            cfg.specs[1] = (agg_wspec){ 30 * SEC, 10 * SEC }; cfg.nspecs = 2; break;
    default: cfg.specs[0] = (agg_wspec){ 1, 1 }; cfg.nspecs = 1; break;   /* 1 µs windows */
    }
    cfg.lateness = (c & 4) ? 0 : 3 * SEC;
    cfg.max_series = (c & 8) ? 5 : 200;
    cfg.features = (c & 16) ? AGG_FEAT_USER | AGG_FEAT_ITEM : 0;
    if (c & 32) { cfg.by[0] = by[0]; cfg.by[1] = by[1]; cfg.nby = 2; }
    cfg.topk = (c & 64) ? 0 : 3;
    cfg.alpha = (c & 128) ? 0.05 : 0.01;
    static const double q[] = { 0, 0.5, 0.99, 0.999, 1 };
    memcpy(cfg.quantiles, q, sizeof q);
    cfg.nq = 5;
    return cfg;
}

static int fz_feed(agg_engine *e, const uint8_t *r)
{
    static const char *const users[] = { "u1", "u2", "u3", "", "u\xc3\xa9", "u6", "u7", "u8" };
    static const char *const labels[] = { "/a", "/b", "", "/c" };
    uint8_t op = r[0];
    int64_t ts;
    if (op & 0x80) {
        memcpy(&ts, r + 1, 8);                      /* anything, up to the int64 limits */
    } else {
        int32_t d;
        memcpy(&d, r + 1, 4);
        ts = 1795428000 * SEC + (int64_t)d * 1000;  /* +- 24 days around a base, in ms */
    }
    double v;
    memcpy(&v, r + 9, 8);
    char item[8];
    snprintf(item, sizeof item, "b%u", r[6] % 12);
    if (op & 1) {
        KeyValue kv[2];
        KeyValue_init(&kv[0]);
        KeyValue_init(&kv[1]);
        kv[0].key = FB_STR("endpoint"); kv[0].value = FB_STR(labels[r[5] & 3]);
        kv[1].key = FB_STR("host"); kv[1].value = FB_STR(users[(r[5] >> 2) & 7]);
        Sample s;
        Sample_init(&s);
        s.ts = ts;
        s.name = FB_STR((op & 2) ? "request.duration_ms" : "cpu_usage");
        s.value = (op & 4) ? v : (double)(int8_t)r[10] * 1.5;
        s.labels = kv;
        s.labels_count = (op & 8) ? 2 : (uint32_t)(r[7] & 1);
        return sample_now(e, &s);
    }
    Event ev;
    Event_init(&ev);
    ev.ts = ts;
    ev.type = (EventType)((op >> 1) & 7);
    if ((op & 0x70) == 0x70) ev.type = (EventType)(int8_t)r[8];   /* out-of-range types too */
    ev.name = FB_STR((r[7] & 1) ? "wishlist" : "");
    ev.value = (op & 0x10) ? v : (double)(r[10] % 5 + 1);
    ev.user_id = FB_STR(users[r[5] & 7]);
    ev.item_id = (r[6] & 0x80) ? FB_STR("") : FB_STR(item);
    ev.session_id = FB_STR(users[(r[7] >> 1) & 7]);
    if (r[8] & 1) { ev.experiment = FB_STR("exp"); ev.variant = FB_STR((r[8] & 2) ? "control" : "b"); }
    ev.source = FB_STR((r[8] & 4) ? "email" : "");
    return event_now(e, &ev);
}

static void fz_load_damaged(const agg_config *cfg, const agg_buf *blob, const uint8_t *data, size_t size)
{
    if (!blob->len) return;
    uint8_t *copy = malloc(blob->len);
    if (!copy) abort();
    memcpy(copy, blob->p, blob->len);
    size_t at = size >= 4 ? ((size_t)data[size - 1] << 16 | (size_t)data[size - 2] << 8 | data[size - 3]) % blob->len : 0;
    copy[at] ^= (uint8_t)(size ? data[size / 2] | 1 : 1);
    size_t len = (size & 1) ? blob->len : at + 1;
    agg_engine *e = agg_engine_new(cfg, NULL, fz_emit, NULL);
    char err[256] = "";
    if (agg_engine_load(e, copy, len, err, sizeof err) == 0 || !err[0]) abort();   /* the checksum catches it */
    agg_engine_free(e);
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    if (!init) { log_init("aggregate", "error"); init = 1; }   /* the series-limit warnings are expected */
    if (size < 1) return 0;
    agg_config cfg = fz_config(data[0]);
    agg_fcfg fc = { 7 * 86400 * SEC, 86400 * SEC, 86400 * SEC, 16 };
    agg_features *fs1 = cfg.features ? agg_features_new(NULL, &fc) : NULL;
    agg_features *fs2 = cfg.features ? agg_features_new(NULL, &fc) : NULL;
    fz_buf o1 = {0}, o2 = {0};
    agg_engine *e1 = agg_engine_new(&cfg, fs1, fz_emit, &o1);
    agg_engine *e2 = agg_engine_new(&cfg, fs2, fz_emit, &o2);
    size_t n = (size - 1) / REC;
    size_t cut = n ? data[size - 1] % (n + 1) : 0;
    agg_buf blob = {0};
    for (size_t i = 0; i <= n; i++) {
        if (i == cut) {
            /* checkpoint e2, throw it away, restore (the feature store lives on, as in SQLite) */
            agg_buf_free(&blob);
            agg_engine_save(e2, &blob);
            agg_engine_free(e2);
            e2 = agg_engine_new(&cfg, fs2, fz_emit, &o2);
            char err[256];
            if (agg_engine_load(e2, blob.p, blob.len, err, sizeof err) != 0) abort();
        }
        if (i == n) break;
        const uint8_t *r = data + 1 + i * REC;
        int a = fz_feed(e1, r), b = fz_feed(e2, r);
        if (a != b || a == AGG_ERR) abort();
        if (agg_engine_series(e1) > (uint64_t)cfg.max_series) abort();
    }
    if (agg_engine_flush(e1) != AGG_OK || agg_engine_flush(e2) != AGG_OK) abort();
    if (agg_engine_series(e1) != 0 || agg_engine_series(e2) != 0) abort();
    if (o1.len != o2.len || (o1.len && memcmp(o1.p, o2.p, o1.len) != 0)) abort();
    agg_engine_free(e1);
    agg_engine_free(e2);
    agg_features_free(fs1);
    agg_features_free(fs2);
    free(o1.p);
    free(o2.p);

    fz_load_damaged(&cfg, &blob, data, size);
    agg_buf_free(&blob);

    /* the raw input as the body of a checkpoint with this configuration's header */
    agg_engine *e = agg_engine_new(&cfg, NULL, fz_emit, NULL);
    agg_buf hdr = {0};
    agg_engine_save(e, &hdr);            /* empty engine: header + zero windows */
    agg_engine_free(e);
    if (hdr.len >= 4) {
        hdr.len -= 4;                    /* drop the window count: the input supplies it */
        agg_buf_put(&hdr, data + 1, size - 1);
        agg_buf_u64(&hdr, hash_seeded64(hdr.p, hdr.len, AGG_CKPT_SEED));
        e = agg_engine_new(&cfg, NULL, fz_emit, NULL);
        char err[256];
        if (agg_engine_load(e, hdr.p, hdr.len, err, sizeof err) == 0) agg_engine_flush(e);
        agg_engine_free(e);
    }
    agg_buf_free(&hdr);
    return 0;
}

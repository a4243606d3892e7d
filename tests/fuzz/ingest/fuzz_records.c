/* fuzz_records.c — ingest on well-formed lines built from records
 * (fzrec.h): an Event or a Sample with every field chosen among the
 * values that break code (strings empty to 1 MiB with NUL and invalid
 * UTF-8, thousands of attrs/labels, NaN/inf/denormals, times at +-2^62),
 * written as the JSON line a producer would send, at the ceilings of
 * ingest's flags (4,096 attrs, 1 MiB strings) and a small --max-record.
 *
 * Properties (abort on violation, the sanitizers catch the rest): every
 * line is a record, a duplicate or a refusal with a documented reason and
 * a detail; every record ingest writes verifies and fits the record limit
 * (schemas/SIZES.md: what ingest writes, every stage reads). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../../../stages/ingest/ingest.h"
#include "../fzrec.h"

#define FZ_MAX_RECORD (2u << 20)

static fb_builder out;

static int fz_emit(void *ctx, const fbrec_desc *d, const void *rec, const void *key, size_t keylen)
{
    (void)ctx; (void)key; (void)keylen;
    fbrec_encode(&out, d, rec, 0);
    size_t len;
    const uint8_t *p = fb_data(&out, &len);
    char err[200];
    if (fbrec_verify(d, p, len, 0, err, sizeof err) != 0) {
        fprintf(stderr, "ingest wrote a %s the verifier refuses: %s\n", d->name, err);
        abort();
    }
    if (len > FZ_MAX_RECORD) {
        fprintf(stderr, "ingest wrote a %s of %zu bytes, over its limit %u\n", d->name, len, FZ_MAX_RECORD);
        abort();
    }
    return 0;
}

static void fz_kv_obj(json_writer *w, const char *key, const KeyValue *kv, uint32_t n)
{
    if (!n) return;
    jw_key(w, key);
    jw_obj_begin(w);
    for (uint32_t i = 0; i < n; i++) {
        /* keys are NUL-terminated for jw_key: the bytes up to a NUL */
        jw_key(w, kv[i].key.ptr ? kv[i].key.ptr : "");
        jw_str(w, kv[i].value.ptr ? kv[i].value.ptr : "", kv[i].value.len);
    }
    jw_obj_end(w);
}

static void fz_str(json_writer *w, const char *key, fb_str s)
{
    if (!s.ptr) return;
    jw_key(w, key);
    jw_str(w, s.ptr, s.len);
}

static int fz_known(const char *reason)
{
    for (int i = 0; ingest_reasons[i]; i++)
        if (!strcmp(reason, ingest_reasons[i])) return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ingest g;
    static int init;
    if (!init) {
        fb_builder_init(&out);
        ingest_conf c;
        memset(&c, 0, sizeof c);
        c.max_line = 16u << 20;
        c.max_string = 1u << 20;
        c.max_attrs = 4096;
        c.max_skew_us = 86400000000LL;
        c.dedup_window = 64;
        c.max_record = FZ_MAX_RECORD - (64u << 10);
        c.emit = fz_emit;
        char err[200];
        if (ingest_init(&g, &c, err, sizeof err)) abort();
        init = 1;
    }
    fz_in in = fz_in_make(data, size);
    arena a;
    arena_init(&a, 0);
    fb_builder b;
    fb_builder_init(&b);
    json_writer w;
    jw_init(&w);
    for (int i = 0; i < 8 && in.n; i++) {
        jw_reset(&w);
        jw_obj_begin(&w);
        if (fz_u8(&in) & 1) {
            const Sample *s = fzrec_make(&in, &a, &b, &Sample_desc);
            fz_str(&w, "metric_name", s->name);
            jw_key(&w, "value"); jw_double(&w, s->value);
            jw_key(&w, "ts"); jw_int(&w, s->ts);
            fz_kv_obj(&w, "labels", s->labels, s->labels_count);
        } else {
            const Event *e = fzrec_make(&in, &a, &b, &Event_desc);
            fz_str(&w, "event_id", e->event_id);
            fz_str(&w, "user_id", e->user_id);
            fz_str(&w, "event_type", e->name);
            fz_str(&w, "item_id", e->item_id);
            fz_str(&w, "session_id", e->session_id);
            fz_str(&w, "source", e->source);
            fz_str(&w, "experiment", e->experiment);
            fz_str(&w, "variant", e->variant);
            jw_key(&w, "value"); jw_double(&w, e->value);
            jw_key(&w, "position"); jw_int(&w, e->position);
            jw_key(&w, "ts"); jw_int(&w, e->ts);
            fz_kv_obj(&w, "metadata", e->attrs, e->attrs_count);
        }
        jw_obj_end(&w);
        g.reason = NULL;
        g.detail[0] = 0;
        int rc = ingest_line(&g, w.buf, w.len, 1795428000000000LL);
        if (rc == ING_BAD && (!g.reason || !fz_known(g.reason) || !g.detail[0])) abort();
        if (rc != ING_OUT && rc != ING_BAD && rc != ING_DUP) abort();
    }
    jw_free(&w);
    fb_builder_free(&b);
    arena_free(&a);
    return 0;
}

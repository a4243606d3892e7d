/* jsonl.c — one JSON line to its fields: parse, classify (interaction,
 * sample, model metrics, request metrics), metadata and unknown members to
 * attrs/labels; the records are built in record.c. */
#include "ingest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "record.h"

/* ---- attrs from JSON values ------------------------------------------------------ */

/* n as compact JSON; its member name too when with_key. */
static void ing_json_write(const json_doc *d, const json_node *n, json_writer *w, int with_key)
{
    if (with_key && n->keystr) jw_key_n(w, n->keystr, n->keylen);
    switch (n->type) {
    case JSON_NULL: jw_null(w); break;
    case JSON_TRUE: jw_bool(w, 1); break;
    case JSON_FALSE: jw_bool(w, 0); break;
    case JSON_NUMBER: jw_raw(w, n->str, n->len); break;
    case JSON_STRING: jw_str(w, n->str, n->len); break;
    case JSON_ARRAY:
    case JSON_OBJECT:
        if (n->type == JSON_ARRAY) jw_arr_begin(w); else jw_obj_begin(w);
        for (const json_node *c = json_child(d, n); c; c = json_next(d, c)) ing_json_write(d, c, w, 1);
        if (n->type == JSON_ARRAY) jw_arr_end(w); else jw_obj_end(w);
        break;
    }
}

/* One member (key already known) as attrs: objects flatten to dotted keys,
 * arrays are kept as compact JSON text, null is dropped. */
static int ing_flatten(ingest *g, const char *key, uint32_t keylen, const json_node *n, const char *what)
{
    switch (n->type) {
    case JSON_NULL:
        return 0;
    case JSON_TRUE: return ingest_kv_add(g, key, keylen, "true", 4, what);
    case JSON_FALSE: return ingest_kv_add(g, key, keylen, "false", 5, what);
    case JSON_NUMBER:
    case JSON_STRING:
        return ingest_kv_add(g, key, keylen, n->str, n->len, what);
    case JSON_ARRAY: {
        jw_reset(&g->jw);
        ing_json_write(&g->doc, n, &g->jw, 0);
        if (g->jw.len > g->c.max_string)
            return ing_bad(g, "too_long", "%s %.60s is %zu bytes of JSON, over the %zu-byte limit (--max-string)",
                           what, key, g->jw.len, g->c.max_string);
        char *v = arena_strndup(&g->ar, g->jw.buf, g->jw.len);
        return ingest_kv_add(g, key, keylen, v, (uint32_t)g->jw.len, what);
    }
    case JSON_OBJECT:
        for (const json_node *c = json_child(&g->doc, n); c; c = json_next(&g->doc, c)) {
            size_t kl = (size_t)keylen + 1 + c->keylen;
            if (kl > g->c.max_string)
                return ing_bad(g, "too_long", "%s key %.60s... is over the %zu-byte limit (--max-string)",
                               what, key, g->c.max_string);
            char *k = arena_alloc(&g->ar, kl + 1, 1);
            memcpy(k, key, keylen);
            k[keylen] = '.';
            memcpy(k + keylen + 1, c->keystr, c->keylen);
            k[kl] = 0;
            int rc = ing_flatten(g, k, (uint32_t)kl, c, what);
            if (rc) return rc;
        }
        return 0;
    }
    return 0;
}

/* ---- JSON lines ------------------------------------------------------------------ */

/* Metadata members the records have fields for; the rest goes to attrs. */
static int ing_meta(ingest *g, ing_val *f, const json_node *meta, int kind)
{
    int as_event = kind == 0;
    if (!meta) return 0;
    if (meta->type != JSON_OBJECT)
        return ing_bad(g, "wrong_type", "%s is %s, expected an object",
                       meta->keystr, ing_jkind(meta->type));
    for (const json_node *c = json_child(&g->doc, meta); c; c = json_next(&g->doc, c)) {
        int fi = ing_field_index(c->keystr, c->keylen);
        if (as_event && (fi == F_SOURCE || fi == F_POSITION || fi == F_EXPERIMENT || fi == F_VARIANT)) {
            if (!ing_present(&f[fi])) { g->jf_renamed |= 1u << fi; f[fi].n = c; f[fi].name = fi == F_SOURCE ? "metadata.source"
                : fi == F_POSITION ? "metadata.position" : fi == F_EXPERIMENT ? "metadata.experiment"
                : "metadata.variant"; }
            continue;
        }
        if (kind == 2 && fi == F_MODEL_VERSION) {
            if (!ing_present(&f[fi])) { g->jf_renamed |= 1u << fi; f[fi].n = c; f[fi].name = "metadata.model_version"; }
            continue;
        }
        int rc = ing_flatten(g, c->keystr, c->keylen, c, as_event ? "attrs" : "labels");
        if (rc) return rc;
    }
    return 0;
}

static int ing_model(ingest *g, ing_val *f, int64_t now)
{
    fb_str model_id, version;
    int64_t ts;
    int rc;
    if ((rc = ing_get_str(g, &f[F_MODEL_ID], &model_id, 1))) return rc;
    if ((rc = ing_sample_start(g, f))) return rc;
    if ((rc = ing_get_str(g, &f[F_MODEL_VERSION], &version, 0))) return rc;
    if ((rc = ing_get_ts(g, &f[F_TS], &f[F_TIMESTAMP], now, &ts))) return rc;
    const json_node *m = f[F_METRICS].n;
    if (!m) return ing_bad(g, "missing_field", "metrics is missing (model metrics need model_id and metrics)");
    if (m->type != JSON_ARRAY)
        return ing_bad(g, "wrong_type", "metrics is %s, expected an array of {type, value}", ing_jkind(m->type));
    if (m->len == 0) return ing_bad(g, "missing_field", "metrics is empty");
    if (m->len > 1024) return ing_bad(g, "too_long", "metrics has %u entries, more than 1024", m->len);
    if ((rc = ing_label_set(g, "model_id", 8, model_id.ptr, model_id.len))) return rc;
    if (version.ptr && (rc = ing_label_set(g, "model_version", 13, version.ptr, version.len))) return rc;
    ing_sort_kv(g);
    if (g->samples_cap < m->len) {
        Sample *ns = realloc(g->samples, m->len * sizeof *ns);
        if (!ns) return ING_FAIL;
        g->samples = ns;
        g->samples_cap = m->len;
    }
    uint32_t k = 0;
    char nm[40];
    for (const json_node *e = json_child(&g->doc, m); e; e = json_next(&g->doc, e), k++) {
        snprintf(nm, sizeof nm, "metrics[%u]", k);
        if (e->type != JSON_OBJECT)
            return ing_bad(g, "wrong_type", "%s is %s, expected an object {type, value}", nm, ing_jkind(e->type));
        char tn[48], vn[48];
        snprintf(tn, sizeof tn, "%s.type", nm);
        snprintf(vn, sizeof vn, "%s.value", nm);
        ing_val tv = { json_get(&g->doc, e, "type"), NULL, 0, tn };
        ing_val vv = { json_get(&g->doc, e, "value"), NULL, 0, vn };
        fb_str type;
        Sample *s = &g->samples[k];
        Sample_init(s);
        if ((rc = ing_get_str(g, &tv, &type, 1))) return rc;
        if ((rc = ing_get_num(g, &vv, &s->value, 1))) return rc;
        if (type.len + 6 > g->c.max_string)
            return ing_bad(g, "too_long", "%s is over the %zu-byte limit (--max-string)", tn, g->c.max_string);
        char *name = arena_alloc(&g->ar, type.len + 7, 1);
        memcpy(name, "model.", 6);
        memcpy(name + 6, type.ptr, type.len);
        s->name = FB_STRN(name, type.len + 6);
        s->ts = ts;
        s->labels = g->kv;
        s->labels_count = g->nkv;
    }
    for (uint32_t i = 0; i < k; i++) {   /* all or none of the line's samples (+17: a generated id) */
        const fb_str strs[] = { g->samples[i].name, g->sample_id.ptr ? g->sample_id : FB_STRN("", 17) };
        if ((rc = ing_too_big(g, ing_record_bound(strs, 2, g->kv, g->nkv)))) return rc;
    }
    for (uint32_t i = 0; i < k; i++)
        if ((rc = ing_emit_sample(g, &g->samples[i])) != ING_OUT) return rc;
    return ING_OUT;
}

static const char *ing_status_class(int64_t st)
{
    static const char *const c[] = { "1xx", "2xx", "3xx", "4xx", "5xx" };
    return c[st / 100 - 1];
}

static int ing_request(ingest *g, ing_val *f, int64_t now)
{
    fb_str endpoint;
    double dur = 0;
    int64_t status = 0, ts;
    int rc;
    if ((rc = ing_get_str(g, &f[F_ENDPOINT], &endpoint, 1))) return rc;
    if ((rc = ing_sample_start(g, f))) return rc;
    if ((rc = ing_get_num(g, &f[F_DURATION_MS], &dur, 1))) return rc;
    if ((rc = ing_get_int(g, &f[F_STATUS], &status, 100, 599, 1))) return rc;
    if ((rc = ing_get_ts(g, &f[F_TS], &f[F_TIMESTAMP], now, &ts))) return rc;
    if (dur < 0) return ing_bad(g, "wrong_type", "duration_ms is %g, expected >= 0", dur);
    /* labels: extras, endpoint; duration also gets status_class */
    if ((rc = ing_label_set(g, "endpoint", 8, endpoint.ptr, endpoint.len))) return rc;
    if ((rc = ing_label_set(g, "status_class", 12, ing_status_class(status), 3))) return rc;
    uint32_t base = g->nkv - 1;   /* all but status_class */
    ing_sort_kv(g);
    Sample d, e;
    Sample_init(&d);
    d.ts = ts;
    d.name = FB_STR("request.duration_ms");
    d.value = dur;
    d.labels = g->kv;
    d.labels_count = g->nkv;
    /* the error sample has the same labels but status_class: copy them */
    KeyValue *el = arena_alloc(&g->ar, sizeof *el * (base ? base : 1), _Alignof(KeyValue));
    uint32_t ne = 0;
    for (uint32_t i = 0; i < g->nkv; i++)
        if (!fb_str_eq(g->kv[i].key, "status_class")) el[ne++] = g->kv[i];
    Sample_init(&e);
    e.ts = ts;
    e.name = FB_STR("request.error");
    e.value = status >= 500 ? 1 : 0;
    e.labels = el;
    e.labels_count = ne;
    /* all or none: the larger of the two first (same id, same labels but one) */
    const fb_str strs[] = { d.name, g->sample_id.ptr ? g->sample_id : FB_STRN("", 17) };
    if ((rc = ing_too_big(g, ing_record_bound(strs, 2, d.labels, d.labels_count)))) return rc;
    if ((rc = ing_emit_sample(g, &d)) != ING_OUT) return rc;
    return ing_emit_sample(g, &e);
}

/* Offset of the first byte that breaks UTF-8, len if none. */
static size_t ing_utf8_bad_at(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        if (p[i] < 0x80) { i++; continue; }
        size_t n = p[i] >= 0xF0 ? 4 : p[i] >= 0xE0 ? 3 : 2;
        if (i + n > len || !json_utf8_valid(s + i, n)) return i;
        i += n;
    }
    return len;
}

int ing_json_line(ingest *g, const char *line, size_t len, int64_t now)
{
    if (len == 0) return ing_bad(g, "bad_json", "empty line (expected one JSON object)");
    /* the fields, as ingest_fields_init leaves them: every value unset,
     * the names metadata gave the last line back (cheaper than copying all
     * 23 fields, 736 bytes) */
    ing_val *f = g->jf;
#pragma GCC unroll 32
    for (int i = 0; i < ING_NFIELDS; i++) f[i].n = NULL;   /* 23 stores: fewer than a loop over the bits set */
    for (uint32_t m = g->jf_renamed; m; m &= m - 1) f[__builtin_ctz(m)].name = ingest_field_names[__builtin_ctz(m)];
    g->jf_renamed = 0;
    ing_members mb = { g->extra, 0, 0, 0 };
    if (!g->c.json_general && ing_flat_read(g, line, len, f, &mb)) {
        g->no_nul = 1;
    } else {
        if (!g->c.json_general) {   /* what the flat reader left half done (it sets f[i].n, bit i of present) */
            for (uint32_t m = mb.present; m; m &= m - 1) f[__builtin_ctz(m)].n = NULL;
            mb = (ing_members){ g->extra, 0, 0, 0 };
        }
        if (json_parse(&g->doc, line, len)) {
            size_t bad = ing_utf8_bad_at(line, len);
            if (bad < len)
                return ing_bad(g, "bad_utf8", "invalid UTF-8 byte 0x%02x at byte %zu",
                               (unsigned char)line[bad], bad);
            return ing_bad(g, "bad_json", "%s", g->doc.err);
        }
        /* a decoded string holds NUL only from the escape \u0000 (raw control
         * bytes are not JSON), which the parser notes: without one the NUL
         * checks can be skipped */
        g->no_nul = !g->doc.has_nul;
        const json_node *root = json_root(&g->doc);
        if (root->type != JSON_OBJECT)
            return ing_bad(g, "not_an_object", "the line is %s, expected a JSON object", ing_jkind(root->type));
        for (const json_node *c = json_child(&g->doc, root); c; c = json_next(&g->doc, c)) {
            int fi = ing_field_index(c->keystr, c->keylen);
            if (fi >= 0) { if (!f[fi].n) { f[fi].n = c; mb.present |= 1u << fi; } continue; }
            if (mb.nextra < g->c.max_attrs) mb.extra[mb.nextra++] = c;
            mb.nextra_all++;
        }
    }
    const json_node **extra = mb.extra;
    uint32_t nextra = mb.nextra, nextra_all = mb.nextra_all, present = mb.present;
    if (nextra_all > g->c.max_attrs)
        return ing_bad(g, "too_long", "%u unknown members, more than --max-attrs %u", nextra_all, g->c.max_attrs);
    int rc;
    if (f[F_EVENT_ID].n && f[F_EVENT_ID].n->type == JSON_STRING) {   /* the probe overlaps the work below */
        g->id_hash = hash_table(f[F_EVENT_ID].n->str, f[F_EVENT_ID].n->len);
        g->id_hash_ok = 1;
        dedup_prefetch(&g->dd, g->id_hash);
    }
    /* value is a number wherever it appears */
    if (f[F_VALUE].n && f[F_VALUE].n->type != JSON_NUMBER)
        return ing_bad(g, "wrong_type", "value is %s, expected a number", ing_kind(&f[F_VALUE]));

    int kind = (f[F_USER_ID].n || f[F_EVENT_TYPE].n) ? 0
             : (f[F_METRIC_NAME].n || f[F_METRIC].n) ? 1
             : f[F_MODEL_ID].n ? 2 : f[F_ENDPOINT].n ? 3 : -1;
    if (kind < 0)
        return ing_bad(g, "missing_field", "no user_id/event_type (interaction), metric_name (sample), "
                       "model_id (model metrics) or endpoint (request metrics)");
    const char *what = kind == 0 ? "attrs" : "labels";
    /* members this kind has no field for are kept too, as attrs/labels */
    static const uint32_t used[4] = {
        1u << F_EVENT_ID | 1u << F_TS | 1u << F_TIMESTAMP | 1u << F_USER_ID | 1u << F_ITEM_ID |
        1u << F_SESSION_ID | 1u << F_EVENT_TYPE | 1u << F_VALUE | 1u << F_SOURCE | 1u << F_POSITION |
        1u << F_EXPERIMENT | 1u << F_VARIANT | 1u << F_METADATA | 1u << F_LABELS,
        1u << F_METRIC_NAME | 1u << F_METRIC | 1u << F_VALUE | 1u << F_TS | 1u << F_TIMESTAMP |
        1u << F_METADATA | 1u << F_LABELS | 1u << F_SAMPLE_ID,
        1u << F_MODEL_ID | 1u << F_MODEL_VERSION | 1u << F_METRICS | 1u << F_VALUE | 1u << F_TS |
        1u << F_TIMESTAMP | 1u << F_METADATA | 1u << F_LABELS | 1u << F_SAMPLE_ID,
        1u << F_ENDPOINT | 1u << F_DURATION_MS | 1u << F_STATUS | 1u << F_VALUE | 1u << F_TS |
        1u << F_TIMESTAMP | 1u << F_METADATA | 1u << F_LABELS | 1u << F_SAMPLE_ID,
    };
    for (uint32_t rest = present & ~used[kind]; rest; rest &= rest - 1) {
        int i = __builtin_ctz(rest);
        if ((rc = ing_flatten(g, f[i].n->keystr, f[i].n->keylen, f[i].n, what))) return rc;
    }
    if ((rc = ing_meta(g, f, f[F_METADATA].n, kind))) return rc;
    if (kind != 0 && (rc = ing_meta(g, f, f[F_LABELS].n, kind))) return rc;
    if (kind == 0 && f[F_LABELS].n && (rc = ing_flatten(g, "labels", 6, f[F_LABELS].n, what))) return rc;
    for (uint32_t i = 0; i < nextra; i++)
        if ((rc = ing_flatten(g, extra[i]->keystr, extra[i]->keylen, extra[i], what))) return rc;
    g->raw = line;
    g->raw_len = len;
    switch (kind) {
    case 0: return ingest_build_event(g, f, now, line, len);
    case 1: return ingest_build_sample(g, f, now);
    case 2: return ing_model(g, f, now);
    default: return ing_request(g, f, now);
    }
}

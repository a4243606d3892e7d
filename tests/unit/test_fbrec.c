/* test_fbrec.c — the record codec on thousands of random records of every
 * root type (seeded PRNG, every field filled or left absent at random):
 *   encode -> verify+decode -> equal field by field (floats bit for bit);
 *   encode(decoded) gives the same bytes;
 *   to_json -> parse -> from_json -> equal (finite floats);
 * plus the hand-picked cases: defaults omitted, out-of-range enums printed
 * as numbers, absent vs empty strings and vectors, from_json errors;
 * and the verifier against the one it replaced (fbverify_ref.h) on
 * mutated buffers of every root type: the same verdict, reason and record. */
#include <math.h>
#include <stdint.h>
#include "fbjson.h"
#include "fbrec.h"
#include "fbsgen/fbdesc.h"
#include "fbverify_ref.h"
#include "testhelp.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{   /* splitmix64 */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static uint32_t rnd_below(uint32_t n) { return (uint32_t)(rnd() % n); }

static int allow_nonfinite;

static double rnd_double(void)
{
    switch (rnd_below(8)) {
    case 0: return 0.0;
    case 1: return -0.0;
    case 2: return (double)(int64_t)rnd_below(2000000) - 1000000;
    case 3: return allow_nonfinite ? NAN : 0.5;
    case 4: return allow_nonfinite ? -INFINITY : 1e-310;   /* subnormal */
    default: {
        double d;
        do {
            uint64_t u = rnd();
            memcpy(&d, &u, 8);
        } while (!isfinite(d));
        return d;
    }
    }
}

static fb_str rnd_string(arena *a)
{
    if (rnd_below(5) == 0)
        return (fb_str){ NULL, 0 };            /* absent */
    uint32_t n = rnd_below(4) == 0 ? 0 : rnd_below(40);
    char *s = arena_alloc(a, n + 1, 1);
    static const char *pieces[] = { "a", "Z", "\"", "\\", "\n", "\t", "\x01", "é", "€", "𝄞", " ", "/" };
    uint32_t k = 0;
    while (k < n) {
        const char *p = pieces[rnd_below(12)];
        size_t pl = strlen(p);
        if (k + pl > n)
            break;
        memcpy(s + k, p, pl);
        k += (uint32_t)pl;
    }
    if (k > 0 && k < n && rnd_below(10) == 0)
        s[k++] = 0;   /* an embedded NUL (at a character boundary: stays valid UTF-8) */
    return (fb_str){ s, k };
}

static void rnd_scalar(const fbrec_field_desc *f, void *p)
{
    uint64_t u = rnd();
    switch (f->base) {
    case FB_BOOL: *(uint8_t *)p = (uint8_t)(u & 1); break;
    case FB_I8: case FB_U8:
        if (f->enm && rnd_below(4))   /* mostly named values, sometimes out of range */
            *(uint8_t *)p = (uint8_t)f->enm->vals[rnd_below(f->enm->nvals)].value;
        else
            *(uint8_t *)p = (uint8_t)u;
        break;
    case FB_I16: case FB_U16: memcpy(p, &u, 2); break;
    case FB_I32: case FB_U32: memcpy(p, &u, 4); break;
    case FB_I64: case FB_U64:
        if (rnd_below(3) == 0)
            u = rnd_below(1000);
        memcpy(p, &u, 8);
        break;
    case FB_F32: { float x = (float)rnd_double(); memcpy(p, &x, 4); break; }
    case FB_F64: { double x = rnd_double(); memcpy(p, &x, 8); break; }
    default: break;
    }
    if (rnd_below(6) == 0) {   /* sometimes exactly the default */
        if (f->base == FB_F64) memcpy(p, &f->def_f, 8);
        else if (f->base == FB_F32) { float x = (float)f->def_f; memcpy(p, &x, 4); }
        else if (f->base == FB_U64) memcpy(p, &f->def_u, 8);
        else if (f->base == FB_I64) memcpy(p, &f->def_i, 8);
        else if (f->base == FB_I32) { int32_t x = (int32_t)f->def_i; memcpy(p, &x, 4); }
        else if (f->base == FB_I8 || f->base == FB_BOOL) *(int8_t *)p = (int8_t)f->def_i;
    }
}

static void rnd_struct(const fbrec_desc *s, void *p)
{
    memset(p, 0, s->size);
    for (int i = 0; i < s->nfields; i++) {
        const fbrec_field_desc *f = &s->fields[i];
        if (f->base == FB_STRUCT)
            rnd_struct(f->sub, (char *)p + f->offset);
        else
            rnd_scalar(f, (char *)p + f->offset);
    }
}

static void rnd_table(const fbrec_desc *t, void *out, arena *a, int depth)
{
    fbrec_init(t, out);
    char *rec = out;
    for (int i = 0; i < t->nfields; i++) {
        const fbrec_field_desc *f = &t->fields[i];
        void *p = rec + f->offset;
        if (f->is_vector) {
            if (rnd_below(4) == 0)
                continue;   /* absent */
            uint32_t n = rnd_below(6);
            size_t esize = f->base == FB_STRING ? sizeof(fb_str) : f->base == FB_TABLE ? f->sub->size
                         : f->base == FB_STRUCT ? f->sub->size : 0;
            if (!esize) {
                fbrec_field_desc tmp = *f;
                esize = (f->base == FB_BOOL || f->base == FB_I8 || f->base == FB_U8) ? 1
                      : (f->base == FB_I16 || f->base == FB_U16) ? 2
                      : (f->base == FB_I32 || f->base == FB_U32 || f->base == FB_F32) ? 4 : 8;
                (void)tmp;
            }
            char *arr = arena_alloc(a, n * esize + 1, 16);
            for (uint32_t k = 0; k < n; k++) {
                char *e = arr + k * esize;
                if (f->base == FB_STRING) {
                    fb_str s = rnd_string(a);
                    *(fb_str *)e = s.ptr ? s : (fb_str){ "", 0 };   /* vector elements are always strings */
                } else if (f->base == FB_TABLE) {
                    rnd_table(f->sub, e, a, depth + 1);
                } else if (f->base == FB_STRUCT) {
                    rnd_struct(f->sub, e);
                } else {
                    rnd_scalar(f, e);
                }
            }
            memcpy(p, &arr, sizeof arr);
            memcpy(rec + f->count_offset, &n, 4);
        } else if (f->base == FB_STRING) {
            *(fb_str *)p = rnd_string(a);
        } else if (f->base == FB_TABLE) {
            if (depth < 3 && rnd_below(2)) {
                void *sub = arena_alloc(a, f->sub->size, 16);
                rnd_table(f->sub, sub, a, depth + 1);
                memcpy(p, &sub, sizeof sub);
            }
        } else if (f->base == FB_STRUCT) {
            rnd_struct(f->sub, p);
        } else if (rnd_below(5)) {
            rnd_scalar(f, p);
        }
    }
}

/* Field-by-field equality; on mismatch, reports the path. Floats compare
 * bit for bit except NaN (any NaN equals any NaN: JSON has no payloads). */
static int eq_bool_bytes;   /* bools compare byte for byte (a decode writes 0 or 1) */
static int eq_scalar(const fbrec_field_desc *f, const void *a, const void *b, int json)
{
    if (f->base == FB_F64 || f->base == FB_F32) {
        double x, y;
        if (f->base == FB_F64) { memcpy(&x, a, 8); memcpy(&y, b, 8); }
        else { float fx, fy; memcpy(&fx, a, 4); memcpy(&fy, b, 4); x = fx; y = fy; }
        if (isnan(x) && isnan(y))
            return 1;
        if (json && !isfinite(x))   /* printed as null: comes back as NaN */
            return isnan(y);
        return memcmp(&x, &y, 8) == 0;
    }
    if (f->base == FB_BOOL && !eq_bool_bytes)
        return (*(const uint8_t *)a != 0) == (*(const uint8_t *)b != 0);
    size_t n = (f->base == FB_I8 || f->base == FB_U8) ? 1 : (f->base == FB_I16 || f->base == FB_U16) ? 2
             : (f->base == FB_I32 || f->base == FB_U32) ? 4 : 8;
    return memcmp(a, b, n) == 0;
}

static int eq_struct(const fbrec_desc *s, const char *a, const char *b, int json)
{
    for (int i = 0; i < s->nfields; i++) {
        const fbrec_field_desc *f = &s->fields[i];
        int ok = f->base == FB_STRUCT ? eq_struct(f->sub, a + f->offset, b + f->offset, json)
                                      : eq_scalar(f, a + f->offset, b + f->offset, json);
        if (!ok)
            return 0;
    }
    return 1;
}

static int eq_str(fb_str a, fb_str b)
{
    if (!a.ptr || !b.ptr)
        return !a.ptr && !b.ptr;
    return a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0;
}

static char eq_where[200];

static int eq_table(const fbrec_desc *t, const char *a, const char *b, int json)
{
    for (int i = 0; i < t->nfields; i++) {
        const fbrec_field_desc *f = &t->fields[i];
        const char *pa = a + f->offset, *pb = b + f->offset;
        int ok = 1;
        if (f->is_vector) {
            const char *va, *vb;
            uint32_t na, nb;
            memcpy(&va, pa, sizeof va);
            memcpy(&vb, pb, sizeof vb);
            memcpy(&na, a + f->count_offset, 4);
            memcpy(&nb, b + f->count_offset, 4);
            if (!va || !vb) {
                ok = !va && !vb;
            } else if (na != nb) {
                ok = 0;
            } else {
                size_t esize = f->base == FB_STRING ? sizeof(fb_str) : f->sub ? f->sub->size
                             : (f->base == FB_BOOL || f->base == FB_I8 || f->base == FB_U8) ? 1
                             : (f->base == FB_I16 || f->base == FB_U16) ? 2
                             : (f->base == FB_I32 || f->base == FB_U32 || f->base == FB_F32) ? 4 : 8;
                for (uint32_t k = 0; ok && k < na; k++) {
                    const char *ea = va + k * esize, *eb = vb + k * esize;
                    if (f->base == FB_STRING) ok = eq_str(*(const fb_str *)ea, *(const fb_str *)eb);
                    else if (f->base == FB_TABLE) ok = eq_table(f->sub, ea, eb, json);
                    else if (f->base == FB_STRUCT) ok = eq_struct(f->sub, ea, eb, json);
                    else ok = eq_scalar(f, ea, eb, json);
                }
            }
        } else if (f->base == FB_STRING) {
            ok = eq_str(*(const fb_str *)pa, *(const fb_str *)pb);
        } else if (f->base == FB_TABLE) {
            const char *sa, *sb;
            memcpy(&sa, pa, sizeof sa);
            memcpy(&sb, pb, sizeof sb);
            ok = (!sa || !sb) ? !sa && !sb : eq_table(f->sub, sa, sb, json);
        } else if (f->base == FB_STRUCT) {
            ok = eq_struct(f->sub, pa, pb, json);
        } else {
            ok = eq_scalar(f, pa, pb, json);
        }
        if (!ok) {
            snprintf(eq_where, sizeof eq_where, "%s.%s", t->name, f->name);
            return 0;
        }
    }
    return 1;
}

#define ROUNDS 1500

static void test_random_roundtrip(void)
{
    int n;
    const fbrec_desc *const *roots = fbrec_root_descs(&n);
    CHECK_EQ_INT(n, FB_NUM_ROOTS);
    fb_builder b, b2;
    fb_builder_init(&b);
    fb_builder_init(&b2);
    arena a, da, ja;
    arena_init(&a, 0);
    arena_init(&da, 0);
    arena_init(&ja, 0);
    json_writer w;
    jw_init(&w);
    json_doc doc;
    json_doc_init(&doc);
    AnyRecord orig, dec, fromj;
    json_writer w2;
    jw_init(&w2);
    int bad_decode = 0, bad_eq = 0, bad_clone = 0, bad_bytes = 0, bad_json = 0, bad_jeq = 0, bad_jq = 0;
    for (int round = 0; round < ROUNDS; round++) {
        for (int r = 0; r < n; r++) {
            const fbrec_desc *d = roots[r];
            CHECK(fbrec_size(d) <= sizeof(AnyRecord));
            arena_reset(&a);
            arena_reset(&da);
            arena_reset(&ja);
            allow_nonfinite = round % 2;
            rnd_table(d, &orig, &a, 0);
            int prefixed = round % 3 == 0;
            fbrec_encode(&b, d, &orig, prefixed);
            size_t len;
            const uint8_t *p = fb_data(&b, &len);
            /* decode from a copy of exactly the buffer's size: ASan sees any overread */
            size_t off = prefixed ? 4 : 0;
            uint8_t *copy = malloc(len - off);
            memcpy(copy, p + off, len - off);
            char err[256] = "";
            if (prefixed && fb_read_u32(p) != len - 4)
                bad_decode++;
            if (fbrec_decode(d, copy, len - off, prefixed, &dec, &da, err, sizeof err)) {
                if (bad_decode++ < 5)
                    fprintf(stderr, "decode %s: %s\n", fbrec_desc_name(d), err);
                free(copy);
                continue;
            }
            if (!eq_table(d, (const char *)&orig, (const char *)&dec, 0) && bad_eq++ < 5)
                fprintf(stderr, "round %d: decoded differs at %s\n", round, eq_where);
            /* a clone outlives the buffer: compare after scribbling over it */
            AnyRecord cl;
            fbrec_clone(d, &dec, &cl, &ja);
            memset(copy, 0xa5, len - off);
            if (!eq_table(d, (const char *)&orig, (const char *)&cl, 0) && bad_clone++ < 5)
                fprintf(stderr, "round %d: clone differs at %s\n", round, eq_where);
            memcpy(copy, p + off, len - off);
            fbrec_encode(&b2, d, &dec, prefixed);
            size_t len2;
            const uint8_t *p2 = fb_data(&b2, &len2);
            if ((len2 != len || memcmp(p, p2, len)) && bad_bytes++ < 5)
                fprintf(stderr, "round %d: %s re-encoding differs\n", round, fbrec_desc_name(d));
            /* fbrec_encode's paths (the plan, Event's direct one) against the plain walk */
            fbrec_encode_generic(&b2, d, &orig, prefixed);
            p2 = fb_data(&b2, &len2);
            if ((len2 != len || memcmp(p, p2, len)) && bad_bytes++ < 5)
                fprintf(stderr, "round %d: %s differs from fbrec_encode_generic's\n", round, fbrec_desc_name(d));
            /* JSON round trip */
            jw_reset(&w);
            fb_to_json(d, &dec, &w);
            if (json_parse(&doc, w.buf, w.len)) {
                if (bad_json++ < 5)
                    fprintf(stderr, "round %d: our JSON does not parse: %s: %.*s\n", round, doc.err, (int)w.len, w.buf);
            } else if (fb_from_json(d, &doc, json_root(&doc), &fromj, &ja, err, sizeof err)) {
                if (bad_json++ < 5)
                    fprintf(stderr, "round %d: from_json: %s: %.*s\n", round, err, (int)w.len, w.buf);
            } else if (!eq_table(d, (const char *)&dec, (const char *)&fromj, 1) && bad_jeq++ < 5) {
                fprintf(stderr, "round %d: JSON round trip differs at %s: %.*s\n", round, eq_where, (int)w.len, w.buf);
            }
            /* the jq form: json -> record -> json gives the same text */
            jw_reset(&w);
            fb_to_json_style(d, &dec, &w, FB_JSON_JQ);
            jw_reset(&w2);
            if (json_parse(&doc, w.buf, w.len) || fb_from_json(d, &doc, json_root(&doc), &fromj, &ja, err, sizeof err)) {
                if (bad_jq++ < 5)
                    fprintf(stderr, "round %d: jq form does not read back: %s %s: %.*s\n", round, doc.err, err,
                            (int)w.len, w.buf);
            } else {
                fb_to_json_style(d, &fromj, &w2, FB_JSON_JQ);
                if ((w2.len != w.len || memcmp(w.buf, w2.buf, w.len)) && bad_jq++ < 5)
                    fprintf(stderr, "round %d: jq form round trip differs:\n  %.*s\n  %.*s\n", round,
                            (int)w.len, w.buf, (int)w2.len, w2.buf);
            }
            free(copy);
        }
    }
    CHECK_EQ_INT(bad_decode, 0);
    CHECK_EQ_INT(bad_eq, 0);
    CHECK_EQ_INT(bad_clone, 0);
    CHECK_EQ_INT(bad_bytes, 0);
    CHECK_EQ_INT(bad_json, 0);
    CHECK_EQ_INT(bad_jeq, 0);
    CHECK_EQ_INT(bad_jq, 0);
    json_doc_free(&doc);
    jw_free(&w);
    jw_free(&w2);
    arena_free(&a);
    arena_free(&da);
    arena_free(&ja);
    fb_builder_free(&b);
    fb_builder_free(&b2);
}

static void json_of(const fbrec_desc *d, const void *rec, char *out, size_t n)
{
    json_writer w;
    jw_init(&w);
    fb_to_json(d, rec, &w);
    snprintf(out, n, "%.*s", (int)w.len, w.buf);
    jw_free(&w);
}

static void test_defaults_and_enums(void)
{
    char js[512];
    Event e;
    Event_init(&e);
    CHECK_EQ_INT(e.position, -1);       /* schema default */
    CHECK(e.event_id.ptr == NULL);
    json_of(&Event_desc, &e, js, sizeof js);
    CHECK_EQ_STR(js, "{}");             /* defaults are omitted */
    e.position = 0;
    e.type = EventType_purchase;
    e.user_id = FB_STR("");
    json_of(&Event_desc, &e, js, sizeof js);
    CHECK_EQ_STR(js, "{\"user_id\":\"\",\"type\":\"purchase\",\"position\":0}");
    e.type = 42;                        /* out of range: printed as a number */
    json_of(&Event_desc, &e, js, sizeof js);
    CHECK(strstr(js, "\"type\":42") != NULL);
    CHECK_EQ_STR(EventType_name(EventType_click), "click");
    CHECK_EQ_STR(EventType_name(42), "");
    CHECK_EQ_INT(EventType_parse("add_to_cart", 11), EventType_add_to_cart);
    CHECK_EQ_INT(EventType_parse("clic", 4), -1);

    Drift dr;
    Drift_init(&dr);
    CHECK(dr.p_value == -1.0);
    json_of(&Drift_desc, &dr, js, sizeof js);
    CHECK_EQ_STR(js, "{}");
    dr.p_value = 0;   /* 0 differs from the default -1: written */
    json_of(&Drift_desc, &dr, js, sizeof js);
    CHECK_EQ_STR(js, "{\"p_value\":0}");

    /* empty vector is present, NULL vector absent */
    Sample s;
    Sample_init(&s);
    KeyValue none[1];
    s.labels = none;
    s.labels_count = 0;
    json_of(&Sample_desc, &s, js, sizeof js);
    CHECK_EQ_STR(js, "{\"labels\":[]}");

    CHECK(fbrec_desc_by_ident("EVNT") == &Event_desc);
    CHECK(fbrec_desc_by_ident("XXXX") == NULL);
    CHECK(fbrec_desc_by_name("Metric") == &Metric_desc);
    CHECK(fbrec_desc_by_name("streamrec.Metric") == &Metric_desc);
    CHECK(fbrec_desc_by_name("metric") == NULL);
    CHECK_EQ_STR(fbrec_desc_ident(&Recommendation_desc), "RECS");
    CHECK(fbrec_desc_ident(&KeyValue_desc) == NULL);
    CHECK_EQ_STR(fbrec_desc_name(&ExperimentResult_desc), "ExperimentResult");
    CHECK_EQ_INT(fbrec_size(&Event_desc), sizeof(Event));
}

/* Which scalars the encoder writes: a field at its schema default is left
 * out (fb_field finds no slot), any other value is written, bit for bit
 * (-0.0 is not the default 0.0) and bools as 0/1. */
static void test_encoded_defaults(void)
{
    fb_builder b;
    fb_builder_init(&b);
    arena a;
    arena_init(&a, 0);
    char err[256];
    size_t len;
    const uint8_t *p;
    Event e, de;
    Event_init(&e);
    e.user_id = FB_STR("u1");
    fbrec_encode(&b, &Event_desc, &e, 0);
    p = fb_data(&b, &len);
    CHECK_EQ_INT(fb_field(p, fb_root(p), 9), 0);    /* position -1: the default */
    CHECK_EQ_INT(fb_field(p, fb_root(p), 7), 0);    /* value 0.0 */
    CHECK_EQ_INT(fb_field(p, fb_root(p), 5), 0);    /* type impression (0) */
    CHECK(fb_field(p, fb_root(p), 2) != 0);         /* user_id */
    e.position = 0;
    e.value = -0.0;
    e.type = EventType_custom;
    e.ts = -5;
    fbrec_encode(&b, &Event_desc, &e, 0);
    p = fb_data(&b, &len);
    CHECK(fb_field(p, fb_root(p), 9) != 0);
    CHECK(fb_field(p, fb_root(p), 7) != 0);
    CHECK(fb_field(p, fb_root(p), 5) != 0);
    CHECK(fbrec_decode(&Event_desc, p, len, 0, &de, &a, err, sizeof err) == 0);
    CHECK_EQ_INT(de.position, 0);
    CHECK(de.value == 0 && signbit(de.value));
    CHECK_EQ_INT(de.type, EventType_custom);
    CHECK_EQ_INT(de.ts, -5);

    ExperimentResult r, dr;
    ExperimentResult_init(&r);
    r.significant = 2;          /* any non-zero byte is true: written as 1 */
    r.primary = 0;
    fbrec_encode(&b, &ExperimentResult_desc, &r, 0);
    p = fb_data(&b, &len);
    uint32_t at = fb_field(p, fb_root(p), 17);
    CHECK(at != 0 && p[at] == 1);
    CHECK_EQ_INT(fb_field(p, fb_root(p), 28), 0);   /* primary false: the default */
    CHECK(fbrec_decode(&ExperimentResult_desc, p, len, 0, &dr, &a, err, sizeof err) == 0);
    CHECK_EQ_INT(dr.significant, 1);
    CHECK_EQ_INT(dr.primary, 0);
    arena_free(&a);
    fb_builder_free(&b);
}

static int from_json_err(const fbrec_desc *d, const char *text, char *err, size_t n)
{
    json_doc doc;
    json_doc_init(&doc);
    arena a;
    arena_init(&a, 0);
    AnyRecord r;
    int rc = json_parse(&doc, text, strlen(text));
    if (rc == 0)
        rc = fb_from_json(d, &doc, json_root(&doc), &r, &a, err, n);
    else
        snprintf(err, n, "json: %s", doc.err);
    json_doc_free(&doc);
    arena_free(&a);
    return rc;
}

static void test_from_json(void)
{
    char err[256];
    json_doc doc;
    json_doc_init(&doc);
    arena a;
    arena_init(&a, 0);
    const char *ok = "{\"name\":\"m\",\"count\":18446744073709551615,\"window_start\":-9223372036854775808,"
                     "\"quantiles\":[{\"q\":0.5,\"value\":2}],\"labels\":[{\"key\":\"k\",\"value\":null}],\"min\":\"-inf\"}";
    Metric m;
    CHECK(json_parse(&doc, ok, strlen(ok)) == 0);
    CHECK_MSG(fb_from_json(&Metric_desc, &doc, json_root(&doc), &m, &a, err, sizeof err) == 0, "%s", err);
    CHECK(m.count == UINT64_MAX);
    CHECK(m.window_start == INT64_MIN);
    CHECK_EQ_INT(m.quantiles_count, 1);
    CHECK(m.quantiles[0].q == 0.5 && m.quantiles[0].value == 2);
    CHECK(fb_str_eq(m.labels[0].key, "k") && m.labels[0].value.ptr == NULL);
    CHECK(isinf(m.min) && m.min < 0);
    const char *en = "{\"type\":\"rating\",\"position\":3,\"value\":4.5}";
    Event e;
    CHECK(json_parse(&doc, en, strlen(en)) == 0);
    CHECK(fb_from_json(&Event_desc, &doc, json_root(&doc), &e, &a, err, sizeof err) == 0);
    CHECK_EQ_INT(e.type, EventType_rating);
    CHECK_EQ_INT(e.position, 3);
    json_doc_free(&doc);
    arena_free(&a);

    struct { const fbrec_desc *d; const char *json, *needle; } bad[] = {
        { &Event_desc, "{\"nope\":1}", "unknown field \"nope\"" },
        { &Event_desc, "{\"ts\":\"now\"}", "field ts: expected an integer" },
        { &Event_desc, "{\"ts\":1.5}", "field ts" },
        { &Event_desc, "{\"position\":3000000000}", "out of range" },
        { &Event_desc, "{\"type\":\"clik\"}", "not a EventType" },
        { &Event_desc, "{\"type\":300}", "out of range" },
        { &Event_desc, "{\"user_id\":5}", "field user_id: expected a string" },
        { &Event_desc, "{\"attrs\":7}", "expected an array" },
        { &Event_desc, "{\"attrs\":{\"a\":1}}", "field attrs.a: expected a string or null" },
        { &Metric_desc, "{\"p5\":1}", "\"p5\" is not a quantile name" },
        { &Metric_desc, "{\"p95x\":1}", "unknown field \"p95x\"" },
        { &Sample_desc, "{\"p95\":1}", "unknown field \"p95\"" },
        { &Sample_desc, "{\"ts\":1,\"ts_iso\":\"1970-01-01T00:00:00.000002Z\"}", "field ts_iso: " },
        { &Sample_desc, "{\"ts_iso\":\"yesterday\"}", "is not an ISO 8601 time" },
        { &Sample_desc, "{\"ts_iso\":5}", "expected an ISO 8601 time or null" },
        { &Sample_desc, "{\"name_iso\":\"x\"}", "unknown field \"name_iso\"" },
        { &Event_desc, "{\"attrs\":[{\"key\":\"a\"},{\"key\":1}]}", "field attrs[1].key" },
        { &Event_desc, "{\"ts\":1,\"ts\":2}", "twice" },
        { &Event_desc, "[1]", "expected an object" },
        { &Metric_desc, "{\"quantiles\":[{\"q\":1,\"x\":2}]}", "unknown field \"x\"" },
        { &Metric_desc, "{\"count\":-1}", "out of range" },
        { &ExperimentResult_desc, "{\"significant\":\"yes\"}", "expected a bool" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        int rc = from_json_err(bad[i].d, bad[i].json, err, sizeof err);
        CHECK_MSG(rc == -1 && strstr(err, bad[i].needle), "%s: rc %d err \"%s\", wanted \"%s\"",
                  bad[i].json, rc, err, bad[i].needle);
    }
}

/* The jq form: names of quantiles, every field, labels as an object. */
static void test_json_jq(void)
{
    struct { double q; const char *name; } names[] = {
        { 0.5, "p50" }, { 0.9, "p90" }, { 0.95, "p95" }, { 0.99, "p99" }, { 0.999, "p999" },
        { 0.05, "p05" }, { 0.1, "p10" }, { 0.001, "p001" }, { 0.25, "p25" }, { 0, "p0" }, { 1, "p100" },
        { 0.3333333333333333, "p3333333333333333" },
    };
    char name[32], err[256];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        CHECK_MSG(fb_quantile_name(names[i].q, name) && !strcmp(name, names[i].name), "%.17g: %s", names[i].q, name);
    }
    CHECK(!fb_quantile_name(-0.0, name));
    CHECK(!fb_quantile_name(1.5, name));
    CHECK(!fb_quantile_name(-0.5, name));
    CHECK(!fb_quantile_name(__builtin_nan(""), name));
    CHECK(!fb_quantile_name(1e-30, name));   /* 30 digits: more than a name holds */

    /* every name reads back to its q, exactly */
    json_doc doc;
    json_doc_init(&doc);
    arena a;
    arena_init(&a, 0);
    const char *js = "{\"name\":\"m\",\"p999\":4,\"p05\":1,\"p3333333333333333\":2,\"p100\":5,\"p0\":0}";
    Metric m;
    CHECK(json_parse(&doc, js, strlen(js)) == 0);
    CHECK_MSG(fb_from_json(&Metric_desc, &doc, json_root(&doc), &m, &a, err, sizeof err) == 0, "%s", err);
    CHECK_EQ_INT(m.quantiles_count, 5);   /* sorted by q */
    double want_q[] = { 0, 0.05, 0.3333333333333333, 0.999, 1 }, want_v[] = { 0, 1, 2, 4, 5 };
    for (uint32_t i = 0; i < m.quantiles_count && i < 5; i++)
        CHECK_MSG(m.quantiles[i].q == want_q[i] && m.quantiles[i].value == want_v[i], "%u: %g %g", i,
                  m.quantiles[i].q, m.quantiles[i].value);

    /* a default Drift: every field, enums by name, null for absent strings, ts_iso null for 0 */
    Drift dr;
    Drift_init(&dr);
    json_writer w;
    jw_init(&w);
    fb_to_json_style(&Drift_desc, &dr, &w, FB_JSON_JQ);
    const char *want = "{\"ts\":0,\"ts_iso\":null,\"series\":null,\"labels\":{},\"detector\":\"page_hinkley\","
                       "\"kind\":\"drift\",\"statistic\":0,\"threshold\":0,\"p_value\":-1,\"reference\":0,"
                       "\"current\":0,\"severity\":\"info\"}";
    CHECK_MSG(w.len == strlen(want) && !memcmp(w.buf, want, w.len), "%.*s", (int)w.len, w.buf);
    jw_reset(&w);
    fb_to_json_style(&Drift_desc, &dr, &w, FB_JSON_FLATC);
    CHECK_MSG(w.len == 2 && !memcmp(w.buf, "{}", 2), "%.*s", (int)w.len, w.buf);

    /* labels as an object, a repeated key kept twice; times with _iso */
    KeyValue kv[2] = { { FB_STR("endpoint"), FB_STR("/a") }, { FB_STR("endpoint"), FB_STR("/b") } };
    Sample s;
    Sample_init(&s);
    s.ts = 1795428000123000;
    s.labels = kv;
    s.labels_count = 2;
    jw_reset(&w);
    fb_to_json_style(&Sample_desc, &s, &w, FB_JSON_JQ);
    want = "{\"ts\":1795428000123000,\"ts_iso\":\"2026-11-23T10:00:00.123Z\",\"name\":null,\"value\":0,"
           "\"labels\":{\"endpoint\":\"/a\",\"endpoint\":\"/b\"},\"sample_id\":null}";
    CHECK_MSG(w.len == strlen(want) && !memcmp(w.buf, want, w.len), "%.*s", (int)w.len, w.buf);
    Sample back;
    CHECK(json_parse(&doc, w.buf, w.len) == 0);
    CHECK_MSG(fb_from_json(&Sample_desc, &doc, json_root(&doc), &back, &a, err, sizeof err) == 0, "%s", err);
    CHECK(back.ts == s.ts && back.labels_count == 2 && fb_str_eq(back.labels[1].value, "/b"));
    CHECK(back.name.ptr == NULL);

    /* fb_json_style_parse */
    fb_json_style st;
    CHECK(fb_json_style_parse("jq", &st) == 0 && st == FB_JSON_JQ);
    CHECK(fb_json_style_parse("flatc", &st) == 0 && st == FB_JSON_FLATC);
    CHECK(fb_json_style_parse("yaml", &st) == -1);
    jw_free(&w);
    json_doc_free(&doc);
    arena_free(&a);
}

/* fbrec_encode's Event fast path against the plain schema walk: the same
 * bytes for every mix of present and absent fields, defaults and values
 * next to them (-0.0, NaN, position 0 and -1, every type), strings of every
 * length class fb_copy_short handles, attrs or none, prefixed or not. */
static void test_event_fast_path(void)
{
    fb_builder fast, slow;
    fb_builder_init(&fast);
    fb_builder_init(&slow);
    static const char text[] = "0123456789abcdefghijklmnopqrstuvwxyz\"\\\x01\xc3\xa9\xf0\x9f\x98\x80 end of a longer string";
    static const size_t lens[] = { 0, 1, 2, 3, 4, 7, 8, 15, 16, 17, 31, 32, 33, sizeof text - 1 };
    static const double values[] = { 0.0, -0.0, 1.5, -3e300, 5e-324, NAN, INFINITY };
    static const int32_t positions[] = { -1, 0, 1, INT32_MAX, INT32_MIN };
    static const int64_t tss[] = { 0, 1, -5, INT64_MAX, INT64_MIN, 1795000000000000 };
    KeyValue kv[3] = { { FB_STR("a"), FB_STR("1") }, { FB_STR("page.kind"), FB_STR("home") },
                       { FB_STR(""), FB_STR("") } };
    uint64_t x = 88172645463325252ull;
    int same = 0, n = 4000;
    for (int i = 0; i < n; i++) {
        Event e;
        Event_init(&e);
        fb_str *strs[] = { &e.event_id, &e.user_id, &e.item_id, &e.session_id, &e.name, &e.source,
                           &e.experiment, &e.variant };
        for (size_t k = 0; k < sizeof strs / sizeof strs[0]; k++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            size_t len = lens[(x >> 8) % (sizeof lens / sizeof lens[0])], off = (x >> 20) % 4;
            if (off + len > sizeof text - 1) off = 0;
            if (x % 3)   /* a third absent */
                *strs[k] = FB_STRN(text + off, len);
        }
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        e.ts = tss[x % 6];
        e.value = values[(x >> 4) % 7];
        e.position = positions[(x >> 8) % 5];
        e.type = (EventType)((x >> 12) % 8);
        if ((x >> 16) % 3 == 1) { e.attrs = kv; e.attrs_count = (uint32_t)((x >> 20) % 4); }
        else if ((x >> 16) % 3 == 2) { e.attrs = kv; e.attrs_count = 0; }   /* an empty vector, written */
        int prefixed = (x >> 24) & 1;
        fbrec_encode(&fast, &Event_desc, &e, prefixed);
        fbrec_encode_generic(&slow, &Event_desc, &e, prefixed);
        size_t fl, sl;
        const uint8_t *fp = fb_data(&fast, &fl), *sp = fb_data(&slow, &sl);
        if (fl == sl && memcmp(fp, sp, fl) == 0) same++;
        else if (n - same < 4) fprintf(stderr, "event %d: %zu bytes fast, %zu generic\n", i, fl, sl);
    }
    CHECK_EQ_INT(same, n);
    fb_builder_free(&fast);
    fb_builder_free(&slow);
}

/* ---- the verifier against the one it replaced ---------------------------- */

static uint32_t rd_u32(const uint8_t *p) { return fb_read_u32(p); }
static void wr_u32(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24); }

/* 1 to 3 edits of the kinds that reach the verifier's checks: offsets
 * and lengths set to edge values (0, the end, past it, over 2 GiB),
 * vtable entries to small values (misaligned, past the table), a bit or a
 * byte flipped, the buffer cut short. */
static void mutate(uint8_t *buf, size_t *len)
{
    int edits = 1 + (int)rnd_below(3);
    for (int e = 0; e < edits && *len >= 8; e++) {
        size_t n = *len;
        switch (rnd_below(7)) {
        case 0: buf[rnd_below((uint32_t)n)] ^= (uint8_t)(1u << rnd_below(8)); break;
        case 1: buf[rnd_below((uint32_t)n)] = (uint8_t)rnd(); break;
        case 2: case 3: {   /* a 4-byte word: an offset, a length, a soffset */
            static const int64_t edge[] = { 0, 1, 2, 3, 4, 8, -4, -1, 0x7fffffff, 0x80000000ll, 0xffffffffll };
            size_t at = rnd_below((uint32_t)(n / 4)) * 4;
            int k = (int)rnd_below(14);
            uint32_t v = k < 11 ? (uint32_t)edge[k] : k == 11 ? (uint32_t)n - (uint32_t)at + rnd_below(9) - 4
                       : k == 12 ? rnd_below((uint32_t)n + 8) : rd_u32(buf + at) + rnd_below(9) - 4;
            wr_u32(buf + at, v);
            break;
        }
        case 4: {   /* a 2-byte word: a vtable entry or size */
            size_t at = rnd_below((uint32_t)(n / 2)) * 2;
            static const uint16_t small[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 0xffff };
            uint16_t v = rnd_below(3) ? small[rnd_below(12)] : (uint16_t)rnd_below(64);
            buf[at] = (uint8_t)v;
            buf[at + 1] = (uint8_t)(v >> 8);
            break;
        }
        case 5: *len = 8 + rnd_below((uint32_t)(n - 7)); break;
        default: {   /* an unaligned word */
            size_t at = rnd_below((uint32_t)(n - 3));
            wr_u32(buf + at, rnd_below((uint32_t)n));
            break;
        }
        }
    }
}

static int diff_reported;

/* One buffer both ways: fbrec_verify and fbrec_decode against the reference.
 * Returns 1 if accepted. Refusal messages with the numbers taken out are
 * collected in reasons (for the coverage check). */
static int verify_both(const fbrec_desc *d, const uint8_t *data, size_t len, int prefixed, arena *a1, arena *a2,
                       char (*reasons)[96], int *nreasons, int *bad)
{
    /* an exact-size copy: ASan sees any overread */
    uint8_t *buf = malloc(len ? len : 1);
    memcpy(buf, data, len);
    char e_ref[256] = "", e_new[256] = "", d_ref[256] = "", d_new[256] = "";
    AnyRecord r_ref, r_new;
    arena_reset(a1);
    arena_reset(a2);
    int v_ref = ref_verify(d, buf, len, prefixed, e_ref, sizeof e_ref);
    int v_new = fbrec_verify(d, buf, len, prefixed, e_new, sizeof e_new);
    int c_ref = ref_decode(d, buf, len, prefixed, &r_ref, a1, d_ref, sizeof d_ref);
    int c_new = fbrec_decode(d, buf, len, prefixed, &r_new, a2, d_new, sizeof d_new);
    eq_bool_bytes = 1;
    int same = v_ref == v_new && c_ref == c_new && !strcmp(e_ref, e_new) && !strcmp(d_ref, d_new)
               && (c_ref != 0 || eq_table(d, (const char *)&r_ref, (const char *)&r_new, 0));
    eq_bool_bytes = 0;
    if (!same) {
        (*bad)++;
        if (diff_reported++ < 5)
            fprintf(stderr, "%s (%zu bytes%s): verify %d \"%s\" vs reference %d \"%s\"; decode %d \"%s\" vs %d \"%s\" %s\n",
                    fbrec_desc_name(d), len, prefixed ? ", prefixed" : "", v_new, e_new, v_ref, e_ref, c_new, d_new,
                    c_ref, d_ref, c_ref == 0 ? eq_where : "");
    }
    if (v_ref != 0 && *nreasons < 512 && !strstr(e_ref, "identifier")) {
        char shape[96];
        size_t k = 0;
        for (const char *p = e_ref; *p && k + 1 < sizeof shape; p++)
            if ((*p < '0' || *p > '9') && *p != '"')
                shape[k++] = *p;
        shape[k] = 0;
        int seen = 0;
        for (int i = 0; i < *nreasons && !seen; i++)
            seen = !strcmp(reasons[i], shape);
        if (!seen)
            strcpy(reasons[(*nreasons)++], shape);
    }
    free(buf);
    return v_ref == 0;
}

#define MUTANTS 6000
static void test_verify_vs_reference(void)
{
    int n;
    const fbrec_desc *const *roots = fbrec_root_descs(&n);
    fb_builder b;
    fb_builder_init(&b);
    arena a, a1, a2;
    arena_init(&a, 0);
    arena_init(&a1, 0);
    arena_init(&a2, 0);
    static char reasons[512][96];
    int nreasons = 0, bad = 0, accepted = 0, refused = 0;
    uint8_t *work = malloc(1 << 16);
    for (int r = 0; r < n; r++) {
        const fbrec_desc *d = roots[r];
        for (int i = 0; i < MUTANTS; i++) {
            AnyRecord orig;
            arena_reset(&a);
            rnd_table(d, &orig, &a, 0);
            int prefixed = i % 2;
            fbrec_encode(&b, d, &orig, prefixed);
            size_t len;
            const uint8_t *p = fb_data(&b, &len);
            if (prefixed) {
                p += 4;
                len -= 4;
            }
            if (len > (1 << 16))
                continue;
            memcpy(work, p, len);
            if (i % 10 == 9) {   /* random bytes behind a valid header */
                for (size_t k = 8; k < len; k++)
                    work[k] = (uint8_t)rnd();
                wr_u32(work, 8 + rnd_below((uint32_t)(len - 8 + 1)));
            } else if (i % 10) {
                mutate(work, &len);
            }
            if (verify_both(d, work, len, prefixed, &a1, &a2, reasons, &nreasons, &bad))
                accepted++;
            else
                refused++;
        }
    }
    CHECK_EQ_INT(bad, 0);
    /* the mutants reach the verifier's checks, not only the first one */
    CHECK_MSG(accepted > n * MUTANTS / 5 && refused > n * MUTANTS / 5, "%d accepted, %d refused", accepted, refused);
    CHECK_MSG(nreasons >= 100, "only %d kinds of refusal", nreasons);
    if (getenv("FBREC_SHOW_REASONS"))
        for (int i = 0; i < nreasons; i++)
            fprintf(stderr, "reason: %s\n", reasons[i]);
    free(work);
    arena_free(&a);
    arena_free(&a1);
    arena_free(&a2);
    fb_builder_free(&b);
}

/* Hand-made buffers for the checks mutants seldom reach alone: a table
 * whose vtable, position or field is wrong in exactly one way and
 * otherwise good. craft() writes the root offset, the identifier, a vtable
 * at vt (entries given) and the table's soffset at pos. */
static void craft(uint8_t *b, size_t len, const char *ident, uint32_t vt, const uint16_t *entries, int n,
                  uint32_t pos)
{
    memset(b, 0, len);
    wr_u32(b, pos);
    memcpy(b + 4, ident, 4);
    for (int i = 0; i < n; i++) {
        b[vt + 2 * i] = (uint8_t)entries[i];
        b[vt + 2 * i + 1] = (uint8_t)(entries[i] >> 8);
    }
    wr_u32(b + pos, (uint32_t)((int32_t)pos - (int32_t)vt));
}

static int slot_of(const fbrec_desc *d, const char *name)
{
    for (int i = 0; i < d->nfields; i++)
        if (!strcmp(d->fields[i].name, name))
            return d->fields[i].slot;
    return -1;
}

static void test_verify_crafted(void)
{
    arena a1, a2;
    arena_init(&a1, 0);
    arena_init(&a2, 0);
    static char reasons[512][96];
    int nreasons = 0, bad = 0;
    char err[256];
    uint8_t b[128];
    uint16_t e[32];
    const fbrec_desc *M = &Metric_desc;
    int s_name = slot_of(M, "name"), s_ws = slot_of(M, "window_start"), s_q = slot_of(M, "quantiles");
#define EXPECT(d, len, prefixed, accept, reason) do { \
        CHECK(verify_both(d, b, len, prefixed, &a1, &a2, reasons, &nreasons, &bad) == (accept)); \
        err[0] = 0; fbrec_verify(d, b, len, prefixed, err, sizeof err); \
        CHECK_MSG((accept) || strstr(err, reason), "%s", err); } while (0)

    /* an empty table: good; then its vtable at an odd position */
    e[0] = 4; e[1] = 4;
    craft(b, 20, "METR", 8, e, 2, 16);
    EXPECT(M, 20, 0, 1, "");
    craft(b, 24, "METR", 9, e, 2, 16);
    EXPECT(M, 24, 0, 0, "vtable is misaligned");
    /* the table at 2 mod 4 */
    craft(b, 20, "METR", 8, e, 2, 14);
    EXPECT(M, 20, 0, 0, "Metric is misaligned");
    /* alignment counts from the size prefix, 4 bytes before buf */
    craft(b, 24, "METR", 8, e, 2, 18);
    EXPECT(M, 24, 1, 0, "Metric is misaligned");
    craft(b, 24, "METR", 8, e, 2, 20);
    EXPECT(M, 24, 1, 1, "");

    /* name: a good string, then its offset at 2 mod 4, then straddling the end */
    memset(e, 0, sizeof e);
    e[0] = 8; e[1] = 8; e[2 + s_name] = 4;
    craft(b, 32, "METR", 8, e, 3 + s_name, 16 + 2 * s_name);
    uint32_t pos = 16 + 2 * s_name;
    pos = (pos + 3) & ~3u;
    craft(b, pos + 16, "METR", 8, e, 3 + s_name, pos);
    wr_u32(b + pos + 4, 4);
    wr_u32(b + pos + 8, 1);
    b[pos + 12] = 'a';
    EXPECT(M, pos + 16, 0, 1, "");
    b[pos + 13] = 'b';   /* no NUL */
    EXPECT(M, pos + 16, 0, 0, "not NUL-terminated");
    e[1] = 12; e[2 + s_name] = 6;   /* the offset at pos + 6, inside the table */
    craft(b, pos + 20, "METR", 8, e, 3 + s_name, pos);
    wr_u32(b + pos + 6, 6);
    wr_u32(b + pos + 12, 1);
    b[pos + 16] = 'a';
    EXPECT(M, pos + 20, 0, 0, "name is misaligned");
    e[1] = 4; e[2 + s_name] = 4;   /* a 4-byte table, its field past the buffer's end */
    craft(b, pos + 6, "METR", 8, e, 3 + s_name, pos);
    EXPECT(M, pos + 6, 0, 0, "name (4 bytes) extends past the end");

    /* window_start: 8 bytes at 4 past a table at 4 mod 8 that ends with the buffer */
    memset(e, 0, sizeof e);
    e[0] = (uint16_t)(6 + 2 * s_ws); e[1] = 8; e[2 + s_ws] = 4;
    pos = (8 + e[0] + 3) & ~3u;
    if (pos % 8 == 0)
        pos += 4;
    craft(b, pos + 8, "METR", 8, e, 3 + s_ws, pos);
    EXPECT(M, pos + 8, 0, 0, "window_start (8 bytes) extends past the end");
    e[1] = 12;   /* within a longer table: good */
    craft(b, pos + 12, "METR", 8, e, 3 + s_ws, pos);
    EXPECT(M, pos + 12, 0, 1, "");

    /* quantiles: one Quantile (16 bytes, 8-aligned) */
    memset(e, 0, sizeof e);
    e[0] = (uint16_t)(6 + 2 * s_q); e[1] = 8; e[2 + s_q] = 4;
    pos = (8 + e[0] + 7) & ~7u;
    uint32_t vec = pos + 12;   /* data at pos + 16: 8-aligned */
    craft(b, vec + 20, "METR", 8, e, 3 + s_q, pos);
    wr_u32(b + pos + 4, vec - (pos + 4));
    wr_u32(b + vec, 1);
    EXPECT(M, vec + 20, 0, 1, "");
    EXPECT(M, vec + 19, 0, 0, "vector of 1 elements extends past the end");
    craft(b, vec + 24, "METR", 8, e, 3 + s_q, pos);   /* the vector 4 later: data at 4 mod 8 */
    wr_u32(b + pos + 4, vec + 4 - (pos + 4));
    wr_u32(b + vec + 4, 1);
    EXPECT(M, vec + 24, 0, 0, "vector data is misaligned");

    /* a bool: past the end of a table that ends with the buffer; then 2, decoded as 1 */
    const fbrec_desc *X = &ExperimentPartial_desc;
    int s_final = slot_of(X, "final");
    memset(e, 0, sizeof e);
    e[0] = (uint16_t)(6 + 2 * s_final); e[1] = 4; e[2 + s_final] = 4;
    pos = (8 + e[0] + 3) & ~3u;
    craft(b, pos + 4, "EXPP", 8, e, 3 + s_final, pos);
    EXPECT(X, pos + 4, 0, 0, "final (1 bytes) extends past the end");
    e[1] = 8;
    craft(b, pos + 8, "EXPP", 8, e, 3 + s_final, pos);
    b[pos + 4] = 2;
    EXPECT(X, pos + 8, 0, 1, "");
    ExperimentPartial x;
    CHECK(fbrec_decode(X, b, pos + 8, 0, &x, &a1, err, sizeof err) == 0 && *(const uint8_t *)&x.final == 1);
#undef EXPECT
    CHECK_EQ_INT(bad, 0);
    arena_free(&a1);
    arena_free(&a2);
}

/* The two running limits, which random buffers do not reach: more than
 * FB_MAX_TABLES tables (a Metric with 1,000,001 labels), and the decode
 * budget (ExperimentPartial arms all pointing at one arm with long vectors:
 * each reference costs the vectors again). */
static void test_verify_limits(void)
{
    fb_builder b;
    fb_builder_init(&b);
    arena a1, a2;
    arena_init(&a1, 0);
    arena_init(&a2, 0);
    static char reasons[512][96];
    int nreasons = 0, bad = 0;
    char err[256];

    Metric m;
    Metric_init(&m);
    m.name = FB_STR("m");
    uint32_t nl = FB_MAX_TABLES + 1;
    KeyValue *kv = calloc(nl, sizeof *kv);
    for (uint32_t i = 0; i < nl; i++)
        kv[i].key = FB_STR("k");
    m.labels = kv;
    m.labels_count = nl;
    fbrec_encode(&b, &Metric_desc, &m, 0);
    size_t len;
    const uint8_t *p = fb_data(&b, &len);
    CHECK(verify_both(&Metric_desc, p, len, 0, &a1, &a2, reasons, &nreasons, &bad) == 0);
    CHECK(fbrec_verify(&Metric_desc, p, len, 0, err, sizeof err) != 0 && strstr(err, "more than"));
    m.labels_count = FB_MAX_TABLES - 1;   /* the root makes FB_MAX_TABLES: accepted */
    fbrec_encode(&b, &Metric_desc, &m, 0);
    p = fb_data(&b, &len);
    CHECK(verify_both(&Metric_desc, p, len, 0, &a1, &a2, reasons, &nreasons, &bad) == 1);
    free(kv);

    enum { ARMS = 256, LIMBS = 2000 };
    ExperimentPartial e;
    ExperimentPartial_init(&e);
    static ArmPartial arms[ARMS];
    static int64_t limbs[LIMBS];
    for (int i = 0; i < ARMS; i++)
        ArmPartial_init(&arms[i]);
    arms[0].sum = limbs;
    arms[0].sum_count = LIMBS;
    e.arms = arms;
    e.arms_count = ARMS;
    for (int shared = 1; shared <= ARMS; shared *= 4) {
        fbrec_encode(&b, &ExperimentPartial_desc, &e, 0);
        p = fb_data(&b, &len);
        uint8_t *buf = malloc(len);
        memcpy(buf, p, len);
        /* the arms vector; its first `shared` elements made to point at arm 0 */
        int slot = -1;
        for (int i = 0; i < ExperimentPartial_desc.nfields; i++)
            if (!strcmp(ExperimentPartial_desc.fields[i].name, "arms"))
                slot = ExperimentPartial_desc.fields[i].slot;
        uint32_t at = fb_field(buf, fb_root(buf), slot);
        uint32_t vec = at + rd_u32(buf + at), arm0 = vec + 4 + rd_u32(buf + vec + 4);
        for (int i = 1; i < shared; i++)
            wr_u32(buf + vec + 4 + 4 * i, arm0 - (vec + 4 + 4 * (uint32_t)i));
        int ok = verify_both(&ExperimentPartial_desc, buf, len, 0, &a1, &a2, reasons, &nreasons, &bad);
        /* 256 copies of 16,000 bytes of limbs exceed 64 x the buffer's size, 64 do not */
        CHECK_MSG(ok == (shared == ARMS ? 0 : 1), "%d arms sharing, %zu bytes: %s", shared, len, ok ? "accepted" : "refused");
        if (shared == ARMS)
            CHECK(fbrec_verify(&ExperimentPartial_desc, buf, len, 0, err, sizeof err) != 0 && strstr(err, "decoded size exceeds"));
        free(buf);
    }
    CHECK_EQ_INT(bad, 0);
    arena_free(&a1);
    arena_free(&a2);
    fb_builder_free(&b);
}

TEST_MAIN(test_verify_vs_reference, test_verify_crafted, test_verify_limits, test_event_fast_path, test_random_roundtrip, test_defaults_and_enums, test_encoded_defaults, test_from_json, test_json_jq)

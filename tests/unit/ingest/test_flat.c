/* test_flat.c — flat.c's one-pass reader against json_parse. Over random
 * JSON lines (members of every field, unknown names, strings with escapes,
 * UTF-8 good and bad, numbers of every shape, literals, objects one and two
 * deep, arrays, whitespace, then bytes deleted, replaced, inserted, cut):
 *   - wherever the flat reader takes a line, json_parse takes it too and
 *     builds the same nodes (types, links, counts, texts, values to the
 *     bit), and the fields and unknown members found are the same;
 *   - ingest with the reader and ingest without it (json_general) return
 *     the same for every line: records byte for byte, or the same refusal
 *     reason and sentence;
 *   - the usual lines are taken by the reader (else the above is vacuous);
 *   - the same with the scan 16 bytes a step (SSE2) as with 32 (AVX2);
 *   - every Event either ingest emits, evenc.c's encoder (the parser
 *     threads') writes as fbrec_encode does (fzingest.h fz_encode). */
#include <stdint.h>
#include <stdlib.h>
#include "../../fuzz/ingest/fzingest.h"
#include "../testhelp.h"
#include "../testrng.h"

#define NOW 1795428000000000LL   /* 2026-11-23T10:00:00Z */

typedef struct sink { uint8_t *buf; size_t len, cap; fb_builder b; int n, enc_differ; uint8_t enc[4096]; } sink;

/* records as the parser threads encode them (evenc.c for an Event), each
 * Event's bytes checked against fbrec_encode's (enc_differ) */
static int sink_emit(void *ctx, const fbrec_desc *d, const void *rec, const void *key, size_t keylen)
{
    (void)key; (void)keylen;
    sink *s = ctx;
    const uint8_t *p;
    size_t n;
    s->enc_differ += fz_encode(&s->b, d, rec, s->enc, sizeof s->enc, &p, &n);
    if (s->len + n > s->cap) {
        s->cap = (s->len + n) * 2;
        s->buf = realloc(s->buf, s->cap);
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
    s->n++;
    return 0;
}

/* the first 24 are ingest's fields and one unknown */
static const char *const keys[] = {
    "user_id", "event_type", "ts", "timestamp", "item_id", "session_id", "event_id", "value", "source",
    "position", "experiment", "variant", "metadata", "labels", "metric_name", "metric", "model_id",
    "model_version", "metrics", "endpoint", "duration_ms", "status", "sample_id", "extra", "k\\u00e9y",
    "caf\xc3\xa9", "", "a.b", "user_i", "user_idx", "bad\xff", "tab\tkey",
};
/* the first 14 sound and common */
static const char *const vals[] = {
    "\"u1\"", "\"view\"", "\"click\"", "3.25", "12", "-1", "true", "null", "\"caf\xc3\xa9\"",
    "{\"source\":\"web\",\"position\":3}", "{\"experiment\":\"x\",\"variant\":\"B\",\"k\":1.5,\"t\":true,\"n\":null}",
    "\"2026-11-23T10:00:00Z\"", "0.1", "\"\"",
    "\"2026-11-23T10:00:00.123Z\"",
    "\"2026-11-23\"", "\"2026-11-23T10:00:00\"", "\"last tuesday\"", "1795428000", "1795428000123",
    "1795428000.5", "\"1795428000\"", "-0.0", "-0", "0", "1", "-1", "01", "1.", ".5", "-", "2147483647",
    "2147483648", "12345678901234567890", "9223372036854775807", "-9223372036854775808",
    "9223372036854775808", "1234567890123456789", "1.5e-3", "1E5", "1e300", "1e400", "0.1", "3.25",
    "123.456789012345", "123.4567890123456", "1234567890.1234567", "0.0000000000000000000000001",
    "0.00000000000000000000001", "500", "200", "99.5", "true", "false", "null", "tru", "nul",
    "\"a\\\"b\"", "\"\\u00e9\"", "\"\\u0000\"", "\"\\ud83d\\ude00\"", "\"\\ud800\"", "\"caf\xc3\xa9\"",
    "\"\xff\"", "\"\xed\xa0\x80\"", "\"\xf0\x9f\x98\x80\"", "\"\xc0\xaf\"", "\"tab\there\"",
    "\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789\"", "{}",
    "{\"source\":\"web\",\"position\":3}", "{\"experiment\":\"x\",\"variant\":\"B\",\"k\":1.5,\"t\":true,\"n\":null}",
    "{\"a\":{\"b\":1}}", "{\"model_version\":\"v2\",\"host\":\"h1\"}", "[]", "[1,\"a\",null]",
    "[{\"type\":\"auc\",\"value\":0.9}]", "{ \"source\" : \"s\" , \"position\" : 1 }", "{\"k\":\"v\",}",
    "{\"k\" \"v\"}",
};
static const char *const spaces[] = { "", "", "", "", "", "", " ", "  ", "\t", "\n", "\r" };
static const char special[] = { '"', '\\', '{', '}', '[', ']', ',', ':', ' ', '\t', '0', '-', '.', 'e',
                                 '\0', '\x01', '\x7f', '\xc3', '\xff', 'a' };

#define PICK(rng, a) (a[trng_next(rng) % (sizeof a / sizeof a[0])])

/* A random number text: sign, 1-21 digits, a point somewhere, at times an
 * exponent (the reader's limits are 19 digits, 15 significant in a decimal). */
static const char *gen_number(uint64_t *rng, char *out)
{
    char *o = out;
    if (trng_next(rng) % 3 == 0) *o++ = '-';
    int nd = 1 + (int)(trng_next(rng) % 21), point = (int)(trng_next(rng) % (size_t)(nd + 2));
    for (int i = 0; i < nd; i++) {
        if (i == point && i > 0) *o++ = '.';
        *o++ = (char)('0' + (i == 0 && nd > 1 && point != 1 ? 1 + trng_next(rng) % 9 : trng_next(rng) % 10));
    }
    if (trng_next(rng) % 10 == 0) o += sprintf(o, "e%d", (int)(trng_next(rng) % 40) - 20);
    *o = 0;
    return out;
}

/* A random line into buf (not NUL-terminated), its length. */
static size_t gen_line(uint64_t *rng, char *buf, size_t cap)
{
    size_t n = 0;
#define PUT(s) do { const char *s_ = (s); size_t l_ = strlen(s_); \
                         if (n + l_ < cap) { memcpy(buf + n, s_, l_); n += l_; } } while (0)
    if (trng_next(rng) % 50 == 0) {   /* not an object */
        PUT(PICK(rng, vals));
    } else {
        /* mostly sound lines: an interaction, a sample or a request at times,
         * members from the lists, now and then a bad value or some whitespace */
        static const char *const base[][3] = {
            { "\"user_id\":\"u7\"", "\"event_type\":\"click\"", "\"ts\":\"2026-11-23T09:00:00.5Z\"" },
            { "\"metric_name\":\"cpu\"", "\"value\":0.25", "\"ts\":1795427000" },
            { "\"endpoint\":\"/a\"", "\"duration_ms\":12.5", "\"status\":503" },
        };
        int kind = (int)(trng_next(rng) % 4);
        int ws = trng_next(rng) % 8 == 0, extra = (int)(trng_next(rng) % 7);
        int members = (kind < 3 ? 3 : 0) + extra, done_base = 0;
        if (ws) PUT(PICK(rng, spaces));
        PUT("{");
        for (int i = 0; i < members; i++) {
            if (i) { if (ws) PUT(PICK(rng, spaces)); PUT(","); }
            if (ws) PUT(PICK(rng, spaces));
            if (kind < 3 && done_base < 3 && (trng_next(rng) % 2 || members - i <= 3 - done_base)) {
                PUT(base[kind][done_base++]);
                continue;
            }
            PUT("\""); PUT(trng_next(rng) % 6 ? keys[trng_next(rng) % 24] : PICK(rng, keys)); PUT("\"");
            if (ws) PUT(PICK(rng, spaces));
            PUT(":");
            if (ws) PUT(PICK(rng, spaces));
            if (trng_next(rng) % 8 == 0) { char num[48]; PUT(gen_number(rng, num)); }
            else PUT(trng_next(rng) % 6 ? vals[trng_next(rng) % 14] : PICK(rng, vals));
        }
        if (ws) PUT(PICK(rng, spaces));
        PUT("}");
        if (ws) PUT(PICK(rng, spaces));
    }
    int muts = trng_next(rng) % 4 == 0 ? 1 + (int)(trng_next(rng) % 2) : 0;
    for (int m = 0; m < muts && n > 0; m++) {
        size_t at = trng_next(rng) % n;
        switch (trng_next(rng) % 4) {
        case 0: memmove(buf + at, buf + at + 1, n - at - 1); n--; break;                 /* delete */
        case 1: buf[at] = PICK(rng, special); break;                                        /* replace */
        case 2: if (n + 1 < cap) { memmove(buf + at + 1, buf + at, n - at); buf[at] = PICK(rng, special); n++; }
                break;                                                                      /* insert */
        default: n = at; break;                                                             /* cut */
        }
    }
#undef PUT
    return n;
}

static void conf(ingest_conf *c, int general, sink *s)
{
    memset(c, 0, sizeof *c);
    c->max_line = 1 << 20;
    c->max_string = 48;
    c->max_attrs = 6;
    c->max_skew_us = 86400000000LL;
    c->dedup_window = 64;
    c->json_general = general;
    c->emit = sink_emit;
    c->emit_ctx = s;
}

/* The reader's doc, fields and unknown members equal json_parse's. */
static void test_same_nodes(void)
{
    ingest g;
    sink s = { 0 };
    fb_builder_init(&s.b);
    ingest_conf c;
    conf(&c, 0, &s);
    char err[200];
    CHECK(ingest_init(&g, &c, err, sizeof err) == 0);
    json_doc ref;
    json_doc_init(&ref);
    uint64_t rng = 17;
    char line[2048];
    int taken = 0, lines = 200000, bad = 0;
    for (int k = 0; k < lines; k++) {
        size_t n = gen_line(&rng, line, sizeof line);
        ing_val f[ING_NFIELDS];
        ingest_fields_init(f);
        ing_members mb = { g.extra, 0, 0, 0 };
        if (!ing_flat_read(&g, line, n, f, &mb)) continue;
        taken++;
        int ok = json_parse(&ref, line, n) == 0 && fz_same_nodes(&g.doc, &ref);
        /* the fields the general loop in jsonl.c finds */
        uint32_t present = 0, nextra = 0, nextra_all = 0;
        const json_node *fields[ING_NFIELDS] = { 0 };
        if (ok)
            for (const json_node *m = json_child(&ref, json_root(&ref)); m; m = json_next(&ref, m)) {
                int fi = ingest_field_index(m->keystr, m->keylen);
                if (fi >= 0) { if (!fields[fi]) { fields[fi] = m; present |= 1u << fi; } continue; }
                if (nextra < c.max_attrs) {
                    ok &= mb.extra[nextra] - g.doc.nodes == m - ref.nodes;
                    nextra++;
                }
                nextra_all++;
            }
        ok &= present == mb.present && nextra == mb.nextra && nextra_all == mb.nextra_all;
        for (int i = 0; ok && i < ING_NFIELDS; i++)
            ok &= (fields[i] ? fields[i] - ref.nodes : -1) == (f[i].n ? f[i].n - g.doc.nodes : -1);
        if (!ok && bad++ < 5) CHECK_MSG(0, "line %d differs: %.*s", k, (int)n, line);
    }
    CHECK_EQ_INT(bad, 0);
    /* about a third of the random lines are flat and whole */
    CHECK_MSG(taken > lines / 10, "the reader took %d of %d lines", taken, lines);
    json_doc_free(&ref);
    ingest_free(&g);
    fb_builder_free(&s.b);
    free(s.buf);
}

/* The usual lines go through the reader. */
static void test_usual_lines_taken(void)
{
    static const char *const usual[] = {
        ("{\"event_id\":\"e5fe3a8b1799a7e8a\",\"ts\":\"2026-11-23T10:00:00.002Z\",\"user_id\":\"u31735\","
         "\"event_type\":\"impression\",\"session_id\":\"se8c0619a4e\",\"item_id\":\"b175\","
         "\"metadata\":{\"source\":\"email\",\"position\":1}}"),
        ("{\"metric_name\":\"active_users\",\"value\":1422.003,\"ts\":1795428028.290,"
         "\"metadata\":{\"source\":\"system_monitor\",\"host\":\"web-1\"}}"),
        "{\"endpoint\":\"/api/v1/search\",\"duration_ms\":311.520,\"status\":200,\"ts\":1795428006.223}",
        "{ \"user_id\" : \"caf\xc3\xa9\", \"event_type\": \"view\", \"value\": -0.0, \"flag\": true, \"x\": null }",
        "{}",
    };
    ingest g;
    sink s = { 0 };
    ingest_conf c;
    conf(&c, 0, &s);
    char err[200];
    CHECK(ingest_init(&g, &c, err, sizeof err) == 0);
    for (size_t i = 0; i < sizeof usual / sizeof usual[0]; i++) {
        ing_val f[ING_NFIELDS];
        ingest_fields_init(f);
        ing_members mb = { g.extra, 0, 0, 0 };
        CHECK_MSG(ing_flat_read(&g, usual[i], strlen(usual[i]), f, &mb) == 1, "not taken: %s", usual[i]);
    }
    static const char *const not_ours[] = {
        "{\"user_id\":\"a\\\"b\",\"event_type\":\"view\"}", "{\"tags\":[1]}", "{\"a\":{\"b\":{}}}",
        "{\"value\":1e3}", "{\"value\":12345678901234567890}", "{\"a\":1,}", "{\"a\":\t1}", "[1]",
        "{\"a\":\"\xff\"}", "{\"a\":1} x", "", " ",
    };
    for (size_t i = 0; i < sizeof not_ours / sizeof not_ours[0]; i++) {
        ing_val f[ING_NFIELDS];
        ingest_fields_init(f);
        ing_members mb = { g.extra, 0, 0, 0 };
        CHECK_MSG(ing_flat_read(&g, not_ours[i], strlen(not_ours[i]), f, &mb) == 0, "taken: %s", not_ours[i]);
    }
    ingest_free(&g);
}

/* ingest with and without the reader: the same records, the same refusals. */
static void test_same_outcome(void)
{
    ingest a, b;
    sink sa = { 0 }, sb = { 0 };
    fb_builder_init(&sa.b);
    fb_builder_init(&sb.b);
    ingest_conf ca, cb;
    conf(&ca, 0, &sa);
    conf(&cb, 1, &sb);
    char err[200];
    CHECK(ingest_init(&a, &ca, err, sizeof err) == 0);
    CHECK(ingest_init(&b, &cb, err, sizeof err) == 0);
    uint64_t rng = 99;
    char line[2048];
    int lines = 200000, bad = 0, out = 0;
    for (int k = 0; k < lines; k++) {
        size_t n = gen_line(&rng, line, sizeof line);
        sa.len = sb.len = 0;
        int ra = ingest_line(&a, line, n, NOW), rb = ingest_line(&b, line, n, NOW);
        int ok = ra == rb && sa.len == sb.len && (!sa.len || !memcmp(sa.buf, sb.buf, sa.len));
        if (ra == ING_BAD && ok) ok = !strcmp(a.reason, b.reason) && !strcmp(a.detail, b.detail);
        out += ra == ING_OUT;
        if (!ok && bad++ < 5)
            CHECK_MSG(0, "line %d: %d %s '%s' vs %d %s '%s': %.*s", k, ra, ra == ING_BAD ? a.reason : "",
                      ra == ING_BAD ? a.detail : "", rb, rb == ING_BAD ? b.reason : "",
                      rb == ING_BAD ? b.detail : "", (int)n, line);
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(a.n_events, b.n_events);
    CHECK_EQ_INT(a.n_samples, b.n_samples);
    CHECK_EQ_INT(a.n_bad, b.n_bad);
    CHECK_EQ_INT(a.n_dups, b.n_dups);
    CHECK_EQ_INT(sa.enc_differ + sb.enc_differ, 0);   /* evenc.c's Events equal fbrec_encode's */
    CHECK_MSG(out > lines / 50, "only %d lines gave records", out);
    ingest_free(&a);
    ingest_free(&b);
    fb_builder_free(&sa.b);
    fb_builder_free(&sb.b);
    free(sa.buf);
    free(sb.buf);
}

/* The same with the scan 16 bytes a step (SSE2), where the default is 32 (AVX2). */
static void test_same_nodes_narrow(void)
{
    int wide = ing_flat_set_wide(0);
    test_usual_lines_taken();
    test_same_nodes();
    ing_flat_set_wide(wide);
}

TEST_MAIN(test_usual_lines_taken, test_same_nodes, test_same_outcome, test_same_nodes_narrow)

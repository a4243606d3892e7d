/* test_json.c — the JSON reader against hand-written accept (y_) and reject
 * (n_) cases in the spirit of JSONTestSuite, exact values, error offsets and
 * caps; the writer's escaping and shortest round-trip doubles. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "json.h"
#include "testhelp.h"

static json_doc doc;

static int parse(const char *s) { return json_parse(&doc, s, strlen(s)); }
static int parse_n(const char *s, size_t n) { return json_parse(&doc, s, n); }

static void test_accept(void)
{
    static const char *y[] = {
        "{}", "[]", "0", "-0", "1", "-1", "1.5", "1e3", "1E+3", "1e-3", "-0.0e-0",
        "\"\"", "\"a\"", "true", "false", "null", " \t\r\n[ ] \n",
        "[1,2,3]", "{\"a\":1,\"b\":[true,false,null]}", "[[[[[]]]]]",
        "\"\\u0000\"", "\"\\ud83d\\ude00\"", "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"",
        "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"",        /* é € 😀 */
        "\"\xef\xbf\xbf\"", "\"\xf4\x8f\xbf\xbf\"",        /* U+FFFF, U+10FFFF */
        "{\"\":\"\"}", "{\"a\":{\"b\":{\"c\":[{}]}}}", "[\"\x7f\"]",
        "123456789012345678901234567890", "1e308", "4.9e-324", "1e-400",
        "{\"a\":1,\"a\":2}",     /* duplicate keys are JSON; json_get takes the first */
    };
    for (size_t i = 0; i < sizeof y / sizeof y[0]; i++)
        CHECK_MSG(parse(y[i]) == 0, "y_%zu %s: %s", i, y[i], doc.err);
}

static void test_reject(void)
{
    static const char *n[] = {
        "", " ", "[1,]", "{\"a\":1,}", "[,1]", "[1,,2]", "{,}", "01", "-01", "00",
        "1.", ".1", "-", "+1", "1e", "1e+", "0x10", "NaN", "Infinity", "-Infinity",
        "[1 2]", "{\"a\" 1}", "{\"a\":}", "{a:1}", "{'a':1}", "['a']", "[1]]",
        "[1", "{\"a\":1", "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\u12G4\"", "\"\\ud800\"",
        "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"\\ud800x\"", "\"a\tb\"", "\"a\nb\"",
        "\"\x01\"", "\"\xff\"", "\"\xc0\xaf\"", "\"\xe0\x80\xaf\"", "\"\xed\xa0\x80\"",
        "\"\xf4\x90\x80\x80\"", "\"\xc3\"", "\"\xe2\x82\"", "\"\x80\"", "tru", "nul",
        "True", "null x", "[] []", "// c\n1", "/* */1", "1e999", "-1e999",
        "[\"a\",]", "{\"a\":1 \"b\":2}", "\xef\xbb\xbf{}", "[\f]", "\"\\'\"",
    };
    for (size_t i = 0; i < sizeof n / sizeof n[0]; i++) {
        int rc = parse(n[i]);
        CHECK_MSG(rc == -1, "n_%zu should be rejected: %s", i, n[i]);
        if (rc == -1) CHECK_MSG(doc.err[0] != 0, "n_%zu has no error text", i);
    }
    /* embedded NUL outside strings */
    CHECK(parse_n("[1,\0 2]", 7) == -1);
    /* raw NUL inside a string is a control character */
    CHECK(parse_n("\"a\0b\"", 5) == -1);
}

static void test_errors(void)
{
    CHECK(parse("[1,2,]") == -1);
    CHECK_EQ_INT(doc.err_offset, 4);
    CHECK_MSG(strstr(doc.err, "trailing comma") != NULL, "%s", doc.err);
    CHECK(parse("{\"a\":1,\n }") == -1);
    CHECK_EQ_INT(doc.err_offset, 6);
    CHECK_MSG(strstr(doc.err, "trailing comma") != NULL, "%s", doc.err);
    CHECK(parse("{\"a\": 012}") == -1);
    CHECK_EQ_INT(doc.err_offset, 6);
    CHECK_MSG(strstr(doc.err, "leading zero") != NULL, "%s", doc.err);
    CHECK(parse("[\"ok\", \"\\ud800\"]") == -1);
    CHECK_EQ_INT(doc.err_offset, 8);
    CHECK_MSG(strstr(doc.err, "surrogate") != NULL, "%s", doc.err);
    CHECK(parse("{\"k\":\"a\xffz\"}") == -1);
    CHECK_EQ_INT(doc.err_offset, 7);
    CHECK_MSG(strstr(doc.err, "UTF-8") != NULL, "%s", doc.err);
    CHECK(parse("{\"k\":\"a\x02\"}") == -1);
    CHECK_EQ_INT(doc.err_offset, 7);
    CHECK_MSG(strstr(doc.err, "control character") != NULL, "%s", doc.err);
    CHECK(parse("{\"user_id\":\"u1\"") == -1);
    CHECK_EQ_INT(doc.err_offset, 15);
    CHECK(parse("{\"a\":1} x") == -1);
    CHECK_EQ_INT(doc.err_offset, 8);
    CHECK_MSG(strstr(doc.err, "at byte 8") != NULL, "%s", doc.err);
}

static void test_values(void)
{
    CHECK(parse("{\"s\":\"a\\u00e9\\ud83d\\ude00\\n\",\"i\":-9223372036854775808,"
                "\"j\":9223372036854775807,\"big\":9223372036854775808,\"f\":0.1,"
                "\"e\":1.5e2,\"arr\":[1,[2,3],{\"x\":null}],\"t\":true,\"z\":\"\\u0000x\"}") == 0);
    const json_node *r = json_root(&doc);
    CHECK(r && r->type == JSON_OBJECT);
    CHECK_EQ_INT(r->len, 9);
    const json_node *s = json_get(&doc, r, "s");
    CHECK(s && s->type == JSON_STRING);
    CHECK_EQ_STR(s->str, "a\xc3\xa9\xf0\x9f\x98\x80\n");
    CHECK_EQ_INT(s->len, 8);
    const json_node *i = json_get(&doc, r, "i");
    CHECK(i && i->is_int && i->i == INT64_MIN);
    const json_node *j = json_get(&doc, r, "j");
    CHECK(j && j->is_int && j->i == INT64_MAX);
    const json_node *big = json_get(&doc, r, "big");
    CHECK(big && !big->is_int && big->num == 9223372036854775808.0);
    const json_node *f = json_get(&doc, r, "f");
    CHECK(f && !f->is_int && f->num == strtod("0.1", NULL));
    CHECK_EQ_STR(f->str, "0.1");
    const json_node *e = json_get(&doc, r, "e");
    CHECK(e && e->is_int && e->i == 150 && e->num == 150.0);
    const json_node *arr = json_get(&doc, r, "arr");
    CHECK(arr && arr->type == JSON_ARRAY && arr->len == 3);
    const json_node *a0 = json_child(&doc, arr);
    CHECK(a0 && a0->is_int && a0->i == 1 && a0->keystr == NULL);
    const json_node *a1 = json_next(&doc, a0);
    CHECK(a1 && a1->type == JSON_ARRAY && a1->len == 2);
    CHECK(json_child(&doc, a1)->i == 2 && json_next(&doc, json_child(&doc, a1))->i == 3);
    const json_node *a2 = json_next(&doc, a1);
    CHECK(a2 && a2->type == JSON_OBJECT && json_next(&doc, a2) == NULL);
    CHECK(json_get(&doc, a2, "x")->type == JSON_NULL);
    CHECK(json_get(&doc, r, "t")->type == JSON_TRUE);
    const json_node *z = json_get(&doc, r, "z");
    CHECK(z && z->len == 2 && z->str[0] == 0 && z->str[1] == 'x');
    CHECK(json_get(&doc, r, "missing") == NULL);
    CHECK(json_get(&doc, r, "ar") == NULL);

    /* duplicate keys: first wins */
    CHECK(parse("{\"a\":1,\"a\":2}") == 0);
    CHECK(json_get(&doc, json_root(&doc), "a")->i == 1);

    /* a top-level number needs its NUL in scratch too */
    CHECK(parse("7") == 0 && json_root(&doc)->i == 7 && strcmp(json_root(&doc)->str, "7") == 0);
    CHECK(parse("-0") == 0 && json_root(&doc)->is_int && json_root(&doc)->i == 0);
}

/* Numbers agree with strtod (correct rounding) on tricky and random inputs. */
static void test_numbers(void)
{
    static const char *t[] = {
        "0.1", "0.2", "0.3", "1.7976931348623157e308", "2.2250738585072014e-308",
        "4.9406564584124654e-324", "9007199254740993", "9007199254740993.0",
        "123456789012345.6", "1234567890123456.7", "0.000000000000000000001",
        "3.141592653589793238462643383279", "1e22", "1e23", "8.98846567431158e307",
        "-2.5e-5", "100000000000000000000000", "0.30000000000000004", "7e-10",
        "1.00000000000000011102230246251565404236316680908203125",
    };
    for (size_t k = 0; k < sizeof t / sizeof t[0]; k++) {
        CHECK_MSG(parse(t[k]) == 0, "%s: %s", t[k], doc.err);
        CHECK_MSG(json_root(&doc)->num == strtod(t[k], NULL), "%s -> %.17g", t[k], json_root(&doc)->num);
    }
    srand(7);
    char b[64];
    for (int k = 0; k < 20000; k++) {
        long long m = ((long long)rand() << 20) ^ rand();
        int digits = rand() % 19, ex = rand() % 60 - 30;
        snprintf(b, sizeof b, "%s%lld.%0*de%d", rand() % 2 ? "-" : "", m % 1000000,
                 digits % 8 + 1, rand() % 1000, ex);
        if (parse(b) != 0) { CHECK_MSG(0, "%s: %s", b, doc.err); continue; }
        CHECK_MSG(json_root(&doc)->num == strtod(b, NULL), "%s", b);
    }
}

static void test_caps(void)
{
    char deep[200];
    int k;
    for (k = 0; k < JSON_MAX_DEPTH; k++) deep[k] = '[';
    for (int m = 0; m < JSON_MAX_DEPTH; m++) deep[k++] = ']';
    CHECK(parse_n(deep, (size_t)k) == 0);
    for (k = 0; k < JSON_MAX_DEPTH + 1; k++) deep[k] = '[';
    for (int m = 0; m < JSON_MAX_DEPTH + 1; m++) deep[k++] = ']';
    CHECK(parse_n(deep, (size_t)k) == -1);
    CHECK_MSG(strstr(doc.err, "deeper") != NULL, "%s", doc.err);
    CHECK_EQ_INT(doc.err_offset, JSON_MAX_DEPTH);

    /* node cap: JSON_MAX_NODES values fit (the array itself is one) */
    size_t n = JSON_MAX_NODES;
    char *big = malloc(2 * n + 2);
    size_t l = 0;
    big[l++] = '[';
    for (size_t m = 0; m < n - 1; m++) { big[l++] = '0'; big[l++] = ','; }
    big[l - 1] = ']';
    CHECK(parse_n(big, l) == 0);
    CHECK_EQ_INT(doc.nnodes, JSON_MAX_NODES);
    big[l - 1] = ',';
    big[l++] = '0';
    big[l++] = ']';
    CHECK(parse_n(big, l) == -1);
    CHECK_MSG(strstr(doc.err, "values") != NULL, "%s", doc.err);
    free(big);
}

static void test_writer(void)
{
    json_writer w;
    jw_init(&w);
    jw_obj_begin(&w);
    jw_key(&w, "s");
    jw_str(&w, "q\"b\\s\n\t\r\b\f\x01\x1f/\xc3\xa9", 15);
    jw_key(&w, "bad");
    jw_str(&w, "a\xff" "b", 3);
    jw_key(&w, "n");
    jw_str(&w, NULL, 0);
    jw_key(&w, "a");
    jw_arr_begin(&w);
    jw_int(&w, INT64_MIN);
    jw_uint(&w, UINT64_MAX);
    jw_double(&w, 0.1);
    jw_double(&w, NAN);
    jw_bool(&w, 1);
    jw_null(&w);
    jw_arr_begin(&w);
    jw_arr_end(&w);
    jw_obj_begin(&w);
    jw_obj_end(&w);
    jw_raw(&w, "42", 2);
    jw_arr_end(&w);
    jw_key(&w, "k\"ey");
    jw_cstr(&w, "");
    jw_obj_end(&w);
    jw_newline(&w);
    const char *want = "{\"s\":\"q\\\"b\\\\s\\n\\t\\r\\b\\f\\u0001\\u001f/\xc3\xa9\","
                       "\"bad\":\"a\\ufffdb\",\"n\":null,"
                       "\"a\":[-9223372036854775808,18446744073709551615,0.1,null,true,null,[],{},42],"
                       "\"k\\\"ey\":\"\"}\n";
    CHECK_EQ_INT(w.len, strlen(want));
    CHECK_MSG(w.len == strlen(want) && memcmp(w.buf, want, w.len) == 0, "%.*s", (int)w.len, w.buf);
    /* what we write, we read back */
    CHECK(json_parse(&doc, w.buf, w.len) == 0);
    CHECK_EQ_STR(json_get(&doc, json_root(&doc), "s")->str, "q\"b\\s\n\t\r\b\f\x01\x1f/\xc3\xa9");

    /* every control character and every valid byte string survives */
    char all[128];
    for (int c = 0; c < 128; c++) all[c] = (char)c;
    jw_reset(&w);
    jw_str(&w, all, 128);
    CHECK(json_parse(&doc, w.buf, w.len) == 0);
    CHECK(json_root(&doc)->len == 128 && memcmp(json_root(&doc)->str, all, 128) == 0);
    /* a member name with a NUL byte (from "\u0000") */
    jw_reset(&w);
    jw_obj_begin(&w);
    jw_key_n(&w, "a\0b", 3);
    jw_int(&w, 1);
    jw_obj_end(&w);
    CHECK(w.len == 14 && memcmp(w.buf, "{\"a\\u0000b\":1}", 14) == 0);
    jw_reset(&w);
    CHECK_EQ_INT(w.len, 0);
    jw_free(&w);
}

/* The shortest precision that round-trips, found the slow way. */
static int shortest_len(double v)
{
    char b[40];
    for (int p = 1; p <= 17; p++) {
        snprintf(b, sizeof b, "%.*g", p, v);
        if (strtod(b, NULL) == v) {
            /* count significant digits */
            int d = 0, seen = 0;
            for (char *q = b; *q && *q != 'e'; q++)
                if (*q >= '0' && *q <= '9') { if (*q != '0') seen = 1; if (seen) d++; }
            return d;
        }
    }
    return 17;
}

static int sig_digits(const char *b)
{
    int d = 0, seen = 0, trailing = 0;
    for (const char *q = b; *q && *q != 'e'; q++) {
        if (*q < '0' || *q > '9') continue;
        if (*q != '0') seen = 1;
        if (seen) { d++; trailing = *q == '0' ? trailing + 1 : 0; }
    }
    return d - trailing;   /* integers printed in full: zeros before '.' don't count */
}

static void test_doubles(void)
{
    char b[32];
    static const double t[] = { 0.1, 0.3, 1.0 / 3, 2.0 / 3, 1e21, 1e22, 1e23, 5e-324,
                                1.7976931348623157e308, 2.2250738585072014e-308, 100, -42.5,
                                123456789012345678.0, 0.30000000000000004, 1e15, 1e-7, 4.35 };
    for (size_t k = 0; k < sizeof t / sizeof t[0]; k++) {
        json_format_double(b, t[k]);
        CHECK_MSG(strtod(b, NULL) == t[k], "%.17g -> %s", t[k], b);
        CHECK_MSG(parse(b) == 0 && json_root(&doc)->num == t[k], "%s", b);
    }
    CHECK(json_format_double(b, 0.0) == 1 && strcmp(b, "0") == 0);
    CHECK(json_format_double(b, -0.0) == 2 && strcmp(b, "-0") == 0);
    CHECK(json_format_double(b, 120) == 3 && strcmp(b, "120") == 0);
    CHECK(json_format_double(b, INFINITY) == 4 && strcmp(b, "null") == 0);
    json_format_double(b, 0.1);
    CHECK_EQ_STR(b, "0.1");
    json_format_double(b, 75.5);
    CHECK_EQ_STR(b, "75.5");
    srand(11);
    for (int k = 0; k < 20000; k++) {
        uint64_t bits = 0;
        for (int m = 0; m < 4; m++) bits = bits << 16 ^ (uint64_t)(rand() & 0xffff);
        double v;
        memcpy(&v, &bits, sizeof v);
        if (!isfinite(v)) continue;
        if (k % 2) v = (double)(rand() % 100000) / 100.0;   /* short decimals */
        int n = json_format_double(b, v);
        CHECK(n > 0 && n < 32);
        CHECK_MSG(strtod(b, NULL) == v || (v == 0 && strtod(b, NULL) == 0), "%.17g -> %s", v, b);
        CHECK_MSG(parse(b) == 0, "%s not JSON: %s", b, doc.err);
        if (v != floor(v) || fabs(v) >= 1e15)
            CHECK_MSG(sig_digits(b) <= shortest_len(v), "%.17g -> %s (shortest %d)", v, b, shortest_len(v));
    }
}

/* The reference: the shortest of %.15g, %.16g, %.17g that reads back
 * (what json_format_double printed before its fast path), for integers %.0f. */
static void ref_format(char *b, double v)
{
    if (v == floor(v) && fabs(v) < 1e15) { snprintf(b, 32, "%.0f", v); return; }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(b, 32, "%.*g", prec, v);
        if (strtod(b, NULL) == v) return;
    }
}

/* The fast path (decimals found by integer arithmetic) prints exactly the
 * text printf would: short decimals at every magnitude, their neighbours
 * one ulp away (which need 16-17 digits), and random doubles. */
static void test_doubles_as_printf(void)
{
    char b[32], r[32];
    uint64_t s = 0x243f6a8885a308d3ull;
    int bad = 0;
    for (int k = 0; k < 300000 && bad < 10; k++) {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17;
        double v;
        switch (k % 4) {
        case 0: v = (double)(int64_t)(s % 1000000000000000ull) / pow(10, (double)((s >> 50) % 20)); break;
        case 1: v = (double)(s % 100000) / pow(10, (double)((s >> 40) % 9)); break;
        case 2: v = nextafter((double)(s % 10000) / 100.0, (s >> 63) ? 1e300 : -1e300); break;
        default: { uint64_t bits = s; memcpy(&v, &bits, 8); if (!isfinite(v) || v == 0) continue; }
        }
        if (s >> 62 & 1) v = -v;
        if (v == 0) continue;
        json_format_double(b, v);
        ref_format(r, v);
        if (strcmp(b, r)) { bad++; CHECK_MSG(0, "%.17g: \"%s\", printf \"%s\"", v, b, r); }
        else th_checks++;
    }
    json_format_double(b, 0.0001);
    CHECK_EQ_STR(b, "0.0001");
    json_format_double(b, -12.345);
    CHECK_EQ_STR(b, "-12.345");
    json_format_double(b, 99999999999999.9);
    CHECK_EQ_STR(b, "99999999999999.9");
    json_format_double(b, 0.000123456789012345);
    CHECK_EQ_STR(b, "0.000123456789012345");
}

/* The one UTF-8 validator (ingest's reader, the dead letter's raw field,
 * fbcat's key): hand-picked cases, then every sequence of up to three bytes
 * and structured and random longer ones against an oracle built the other
 * way round, from the code points: a sequence is valid exactly when it
 * splits into the shortest encodings of scalar values (not surrogates, at
 * most U+10FFFF). */
static size_t utf8_encode(uint32_t cp, unsigned char *o)
{
    if (cp < 0x80) { o[0] = (unsigned char)cp; return 1; }
    if (cp < 0x800) { o[0] = (unsigned char)(0xC0 | cp >> 6); o[1] = (unsigned char)(0x80 | (cp & 63)); return 2; }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | cp >> 12); o[1] = (unsigned char)(0x80 | (cp >> 6 & 63));
        o[2] = (unsigned char)(0x80 | (cp & 63)); return 3;
    }
    o[0] = (unsigned char)(0xF0 | cp >> 18); o[1] = (unsigned char)(0x80 | (cp >> 12 & 63));
    o[2] = (unsigned char)(0x80 | (cp >> 6 & 63)); o[3] = (unsigned char)(0x80 | (cp & 63));
    return 4;
}

/* Is p[0..k) the encoding of one scalar value? Read the payload bits the
 * lead byte announces, then encode that value back: only the one shortest
 * form comes back the same. */
static int utf8_one(const unsigned char *p, size_t k)
{
    static const unsigned char lead_mask[5] = { 0, 0x7F, 0x1F, 0x0F, 0x07 };
    uint32_t cp = p[0] & lead_mask[k];
    for (size_t i = 1; i < k; i++) cp = cp << 6 | (p[i] & 63);
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    unsigned char e[4];
    return utf8_encode(cp, e) == k && memcmp(e, p, k) == 0;
}

static int utf8_oracle(const unsigned char *p, size_t n)
{
    if (n == 0) return 1;
    for (size_t k = 1; k <= 4 && k <= n; k++)
        if (utf8_one(p, k) && utf8_oracle(p + k, n - k)) return 1;
    return 0;
}

static void test_utf8_valid(void)
{
    CHECK(json_utf8_valid("", 0));
    CHECK(json_utf8_valid("plain ascii", 11));
    CHECK(json_utf8_valid("abc\xc3\xa9", 5));
    CHECK(json_utf8_valid("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14));
    CHECK(!json_utf8_valid("\xc3", 1));                 /* truncated */
    CHECK(!json_utf8_valid("\xc0\xaf", 2));             /* overlong */
    CHECK(!json_utf8_valid("\xc1\xbf", 2));
    CHECK(!json_utf8_valid("\xed\xa0\x80", 3));         /* surrogate */
    CHECK(!json_utf8_valid("\xf4\x90\x80\x80", 4));     /* > U+10FFFF */
    CHECK(json_utf8_valid("\xf0\x9f\x98\x80", 4));
    CHECK(!json_utf8_valid("\xf8\x88\x80\x80\x80", 5));
    CHECK(!json_utf8_valid("\xff", 1));
    CHECK(!json_utf8_valid("a\x80z", 3));

    unsigned char b[8];
    long wrong = 0, valid = 0;
    for (size_t n = 1; n <= 3; n++)                    /* every 1-, 2- and 3-byte sequence */
        for (uint32_t v = 0; v < (1u << (8 * n)); v++) {
            for (size_t i = 0; i < n; i++) b[i] = (unsigned char)(v >> (8 * (n - 1 - i)));
            int ok = utf8_oracle(b, n);
            valid += ok;
            if (json_utf8_valid((const char *)b, n) != ok && wrong++ < 5)
                CHECK_MSG(0, "%zu bytes %06x: validator %d, oracle %d", n, (unsigned)v, !ok, ok);
        }
    /* four bytes: every lead and second byte, the edges of the rest */
    static const unsigned char edge[] = { 0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xF4, 0xFF };
    for (unsigned l = 0; l < 256; l++)
        for (unsigned s2 = 0; s2 < 256; s2++)
            for (size_t i = 0; i < sizeof edge; i++)
                for (size_t j = 0; j < sizeof edge; j++) {
                    b[0] = (unsigned char)l; b[1] = (unsigned char)s2; b[2] = edge[i]; b[3] = edge[j];
                    int ok = utf8_oracle(b, 4);
                    if (json_utf8_valid((const char *)b, 4) != ok && wrong++ < 10)
                        CHECK_MSG(0, "4 bytes %02x%02x%02x%02x: oracle %d", b[0], b[1], b[2], b[3], ok);
                }
    uint64_t r = 88172645463325252ULL;
    for (int t = 0; t < 300000; t++) {                 /* random 1-8 bytes, mostly high */
        r ^= r << 13; r ^= r >> 7; r ^= r << 17;
        size_t n = 1 + r % 8;
        for (size_t i = 0; i < n; i++) { r ^= r << 13; r ^= r >> 7; r ^= r << 17; b[i] = (unsigned char)(r >> 24 | (r & 1 ? 0x80 : 0)); }
        int ok = utf8_oracle(b, n);
        if (json_utf8_valid((const char *)b, n) != ok && wrong++ < 15)
            CHECK_MSG(0, "%zu random bytes from %02x: oracle %d", n, b[0], ok);
    }
    CHECK_EQ_INT(wrong, 0);
    /* the oracle accepts what it should: ASCII (128), two-byte characters
     * (U+0080..U+07FF: 1,920), three-byte ones without the 2,048
     * surrogates (61,440), and their concatenations */
    CHECK_EQ_INT(valid, 128 + (128 * 128 + 1920) + (128 * 128 * 128 + 2 * 128 * 1920 + 61440));
}

/* Strings are scanned 16 and 8 bytes at a time: a special byte (escape,
 * non-ASCII, control, the closing quote) at every position of strings of
 * every length up to 40, at every distance from the end of the input, is
 * decoded (or refused) exactly as byte by byte. */
static void test_string_positions(void)
{
    char in[128], want[64];
    int bad = 0;
    for (int len = 0; len <= 40; len++)
        for (int at = -1; at < len; at++)
            for (int kind = 0; kind < 4; kind++)
                for (int tail = 0; tail <= 17; tail += 1) {
                    /* [ "xxx?xxx" , 1 ...tail spaces ] with ? the special byte(s) */
                    size_t n = 0, w = 0, bad_at = 0;
                    in[n++] = '[';
                    in[n++] = '"';
                    for (int i = 0; i < len; i++) {
                        char c = (char)('a' + i % 26);
                        if (i != at) { in[n++] = c; want[w++] = c; continue; }
                        switch (kind) {
                        case 0: in[n++] = '\\'; in[n++] = 'n'; want[w++] = '\n'; break;
                        case 1: in[n++] = '\xc3'; in[n++] = '\xa9'; want[w++] = '\xc3'; want[w++] = '\xa9'; break;
                        case 2: bad_at = n; in[n++] = '\x01'; break;
                        default: in[n++] = '\\'; in[n++] = '"'; want[w++] = '"'; break;
                        }
                    }
                    in[n++] = '"';
                    in[n++] = ',';
                    in[n++] = '1';
                    for (int t = 0; t < tail; t++) in[n++] = ' ';
                    in[n++] = ']';
                    int rc = parse_n(in, n);
                    if (kind == 2 && at >= 0) {
                        if ((rc != -1 || doc.err_offset != bad_at) && bad++ < 5)
                            fprintf(stderr, "len %d at %d tail %d: control byte not refused at %zu (%s)\n",
                                    len, at, tail, bad_at, doc.err);
                        continue;
                    }
                    const json_node *s = rc ? NULL : json_child(&doc, json_root(&doc));
                    if ((!s || s->type != JSON_STRING || s->len != w || memcmp(s->str, want, w) || s->str[w]
                         || doc.nodes[0].len != 2) && bad++ < 5)
                        fprintf(stderr, "len %d at %d kind %d tail %d: %.*s decoded wrong (%s)\n",
                                len, at, kind, tail, (int)n, in, doc.err);
                }
    CHECK_EQ_INT(bad, 0);
}

/* has_nul: a decoded string (value or key) holds NUL, which only the
 * escape \u0000 can put there; reset by every parse */
static void test_has_nul(void)
{
    CHECK(parse("[\"a\\u0000b\"]") == 0 && doc.has_nul);
    CHECK(parse("[1]") == 0 && !doc.has_nul);
    CHECK(parse("{\"k\\u0000\":1}") == 0 && doc.has_nul);
    CHECK(parse("[\"a\\u0041\", \"\\n\\\\\", \"\\u00e9\"]") == 0 && !doc.has_nul);
    CHECK(parse("\"\\u0000\"") == 0 && doc.has_nul && doc.nodes[0].len == 1 && doc.nodes[0].str[0] == 0);
    CHECK(parse("[\"\\u0000") == -1);
    CHECK(parse("[2]") == 0 && !doc.has_nul);
}

static void setup(void) { json_doc_init(&doc); }
static void teardown(void) { json_doc_free(&doc); }

TEST_MAIN(setup, test_accept, test_reject, test_errors, test_values, test_numbers, test_caps,
          test_writer, test_doubles, test_doubles_as_printf, test_utf8_valid, test_string_positions, test_has_nul, teardown)

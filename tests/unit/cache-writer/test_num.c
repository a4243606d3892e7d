/* test_num.c — num_f64 / num_i64: every output reads back (strtod) as
 * exactly the value given, short values stay short, and the fast path agrees
 * with json_format_double wherever that one is shortest. */
#include <stdint.h>
#include <stdlib.h>
#include "../testhelp.h"
#include "json.h"
#include "../../../stages/cache-writer/num.h"

static void check_roundtrip(double v)
{
    char b[NUM_BUF];
    int n = num_f64(b, v);
    CHECK_EQ_INT(n, (long long)strlen(b));
    double back = strtod(b, NULL);
    CHECK_MSG(back == v && signbit(back) == signbit(v), "%.17g printed as %s", v, b);
}

static void test_known(void)
{
    char b[NUM_BUF];
    struct { double v; const char *want; } cases[] = {
        { 0.5, "0.5" }, { 187, "187" }, { -3, "-3" }, { 0.1, "0.1" }, { 0.3363309352517986, NULL },
        { 1234.5678, "1234.5678" }, { 0.0001, "0.0001" }, { -0.25, "-0.25" },
        { 99.9, "99.9" }, { 0.000123456789, "0.000123456789" /* via fallback: %.15g */ },
        { 123456789.123, "123456789.123" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        num_f64(b, cases[i].v);
        if (cases[i].want) CHECK_EQ_STR(b, cases[i].want);
        check_roundtrip(cases[i].v);
    }
    num_f64(b, 0.0); CHECK_EQ_STR(b, "0");
    num_f64(b, -0.0); CHECK_EQ_STR(b, "-0");
    num_f64(b, NAN); CHECK_EQ_STR(b, "null");
    num_f64(b, INFINITY); CHECK_EQ_STR(b, "null");
    num_f64(b, 1e300); check_roundtrip(1e300);
    num_f64(b, 5e-324); check_roundtrip(5e-324);
    check_roundtrip(9007199254740993.0);
    check_roundtrip(0.1 + 0.2);                   /* needs 17 digits */
}

/* Random doubles of every kind: the bit patterns, short decimals, scores. */
static void test_random(void)
{
    uint64_t s = 88172645463325252ULL;
    char a[NUM_BUF], b[64];
    int shorter_or_equal = 1;
    for (int i = 0; i < 300000; i++) {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17;
        double v;
        switch (i % 4) {
        case 0: { uint64_t bits = s; memcpy(&v, &bits, sizeof v); if (!isfinite(v)) continue; break; }
        case 1: v = (double)(s % 100000000) / 1e4; break;          /* 4 places */
        case 2: v = (double)(s >> 11) / 9007199254740992.0; break;  /* [0,1) full precision */
        default: v = -(double)(s % 1000000) / 1e6 * 37.0; break;
        }
        check_roundtrip(v);
        int n = num_f64(a, v);
        int m = json_format_double(b, v);
        if (n > m + 1 && !strchr(b, 'e')) { shorter_or_equal = 0; CHECK_MSG(0, "%s longer than %s", a, b); }
    }
    CHECK(shorter_or_equal);
}

static void test_ints(void)
{
    char b[NUM_BUF];
    num_i64(b, 0); CHECK_EQ_STR(b, "0");
    num_i64(b, -1); CHECK_EQ_STR(b, "-1");
    num_i64(b, 1795000000000000LL); CHECK_EQ_STR(b, "1795000000000000");
    num_i64(b, INT64_MIN); CHECK_EQ_STR(b, "-9223372036854775808");
    num_i64(b, INT64_MAX); CHECK_EQ_STR(b, "9223372036854775807");
    num_u64(b, UINT64_MAX); CHECK_EQ_STR(b, "18446744073709551615");
}

TEST_MAIN(test_known, test_random, test_ints)

/* test_ingest.c — ingest's line logic without a transport: records are
 * captured as JSON (fb_to_json) and compared with values worked out by hand
 * (timestamps with python's datetime, FNV-1a from its published vectors). */
#include <stdint.h>
#include <stdlib.h>
#include "../../../stages/ingest/ingest.h"
#include "../testhelp.h"
#include "fbjson.h"
#include "hash.h"
#include "reckey.h"
#include "timefmt.h"

#define NOW 1795428000000000LL   /* 2026-11-23T10:00:00Z */

static char outbuf[1 << 16];
static size_t outlen;
static int nrec;

/* Records as "Type KEY JSON" lines; KEY is the Kafka key the record goes
 * out with: ingest gives none, so stream_write takes record_key's. */
static int capture(void *ctx, const fbrec_desc *d, const void *rec, const void *key, size_t keylen)
{
    char kbuf[512];
    if (!key) { keylen = record_key(d, rec, kbuf, sizeof kbuf); key = kbuf; }
    json_writer w;
    jw_init(&w);
    fb_to_json(d, rec, &w);
    int n = snprintf(outbuf + outlen, sizeof outbuf - outlen, "%s %.*s %.*s\n", fbrec_desc_name(d),
                     (int)keylen, (const char *)key, (int)w.len, w.buf);
    if (n > 0) outlen += (size_t)n;
    jw_free(&w);
    nrec++;
    return 0;
}

static ingest g;

static void setup_conf(ingest_conf *c)
{
    memset(c, 0, sizeof *c);
    c->max_line = 1 << 20;
    c->max_string = 64;
    c->max_attrs = 8;
    c->max_skew_us = 86400000000LL;
    c->dedup_window = 4;
    c->emit = capture;
}

static void start(ingest_conf *c)
{
    char err[200];
    ingest_free(&g);
    CHECK_MSG(ingest_init(&g, c, err, sizeof err) == 0, "%s", err);
}

static int line(const char *s)
{
    outlen = 0;
    outbuf[0] = 0;
    nrec = 0;
    return ingest_line(&g, s, strlen(s), NOW);
}

#define EXPECT_OUT(in, want) do { int r_ = line(in); CHECK_EQ_INT(r_, ING_OUT); \
    if (r_ != ING_OUT) { fprintf(stderr, "  %s: %s\n", g.reason, g.detail); } CHECK_EQ_STR(outbuf, want); } while (0)
#define EXPECT_BAD(in, why, words) do { int r_ = line(in); CHECK_EQ_INT(r_, ING_BAD); \
    CHECK_EQ_STR(g.reason, why); CHECK_MSG(strstr(g.detail, words) != NULL, "detail '%s' lacks '%s'", g.detail, words); \
    CHECK_EQ_INT(nrec, 0); } while (0)

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void test_pieces(void)
{
    CHECK(ingest_event_type("impression", 10) == EventType_impression);
    CHECK(ingest_event_type("book_view", 9) == EventType_view);
    CHECK(ingest_event_type("view", 4) == EventType_view);
    CHECK(ingest_event_type("book_click", 10) == EventType_click);
    CHECK(ingest_event_type("click", 5) == EventType_click);
    CHECK(ingest_event_type("add_to_cart", 11) == EventType_add_to_cart);
    CHECK(ingest_event_type("purchase", 8) == EventType_purchase);
    CHECK(ingest_event_type("rating", 6) == EventType_rating);
    CHECK(ingest_event_type("exposure", 8) == EventType_exposure);
    CHECK(ingest_event_type("share", 5) == EventType_custom);
    CHECK(ingest_event_type("views", 5) == EventType_custom);

    /* every field name finds itself, and nothing else does */
    for (int i = 0; i < ING_NFIELDS; i++)
        CHECK_EQ_INT(ingest_field_index(ingest_field_names[i], strlen(ingest_field_names[i])), i);
    CHECK_EQ_INT(ingest_field_index("user_ix", 7), -1);
    CHECK_EQ_INT(ingest_field_index("ts", 1), -1);
    CHECK_EQ_INT(ingest_field_index("", 0), -1);
    CHECK_EQ_INT(ingest_field_index("metricsX", 8), -1);

    /* FNV-1a 64 published test vectors */
    CHECK(hash_fnv1a64("", 0) == 0xcbf29ce484222325ULL);
    CHECK(hash_fnv1a64("a", 1) == 0xaf63dc4c8601ec8cULL);
    CHECK(hash_fnv1a64("foobar", 6) == 0x85944171f73967e8ULL);

    /* the dedup / rate-limit key: the same bytes give the same key wherever
     * they lie; different ids, and an id and its zero-padded self, do not */
    {
        char buf[64] = "xxxxxxxe35bf992dc9e9c616yyyy";
        char al[32] = "e35bf992dc9e9c616";
        CHECK(hash_table(buf + 7, 17) == hash_table(al, 17));
        CHECK(hash_table("a", 1) != hash_table("a\0", 2));
        CHECK(hash_table("", 0) != hash_table("\0", 1));
        enum { NK = 100000 };
        uint64_t *k = malloc(NK * sizeof *k);
        char id[32];
        for (int i = 0; i < NK; i++) {
            int n = snprintf(id, sizeof id, "e%x", (unsigned)i * 2654435761u);
            k[i] = hash_table(id, (size_t)(n - i % 3));   /* lengths vary too */
        }
        qsort(k, NK, sizeof *k, cmp_u64);
        int dups = 0, lowdups = 0;
        for (int i = 1; i < NK; i++) dups += k[i] == k[i - 1];
        /* the dedup table uses the low bits: they must spread too */
        for (int i = 0; i < NK; i++) k[i] &= (1u << 20) - 1;
        qsort(k, NK, sizeof *k, cmp_u64);
        for (int i = 1; i < NK; i++) lowdups += k[i] == k[i - 1];
        CHECK_EQ_INT(dups, 0);
        CHECK_MSG(lowdups < 6000, "%d of 100,000 keys share their low 20 bits (~4,700 expected)", lowdups);
        free(k);
    }

    int64_t us = 0;
    CHECK(ingest_ts_text("1700000000", 10, &us) == 0 && us == 1700000000000000LL);
    CHECK(ingest_ts_text("1700000000123", 13, &us) == 0 && us == 1700000000123000LL);
    CHECK(ingest_ts_text("1700000000123456", 16, &us) == 0 && us == 1700000000123456LL);
    CHECK(ingest_ts_text("1795428000.123", 14, &us) == 0 && us == 1795428000123000LL);
    CHECK(ingest_ts_text("1795428000.0000015", 18, &us) == 0 && us == 1795428000000002LL);
    CHECK(ingest_ts_text("1.7e9", 5, &us) == 0 && us == 1700000000000000LL);
    CHECK(ingest_ts_text("964982703", 9, &us) == 0 && us == 964982703000000LL);
    CHECK(ingest_ts_text("2026-11-23T10:00:00.123Z", 24, &us) == 0 && us == 1795428000123000LL);
    CHECK(ingest_ts_text("2026-11-23T12:30:00+02:30", 25, &us) == 0 && us == 1795428000000000LL);
    CHECK(ingest_ts_text("1996-03-29T18:36:55Z", 20, &us) == 0 && us == 828124615000000LL);
    /* a date-time needs its zone; a bare date is a UTC day */
    CHECK(ingest_ts_text("2026-11-23T10:00:00", 19, &us) == -3);
    CHECK(ingest_ts_text("2026-11-23 10:00:00.5", 21, &us) == -3);
    CHECK(ingest_ts_text("2026-11-23T10:00:00-05:00", 25, &us) == 0 && us == 1795446000000000LL);
    CHECK(ingest_ts_text("2026-11-23T10:00:00z", 20, &us) == 0 && us == 1795428000000000LL);
    CHECK(ingest_ts_text("2026-11-23", 10, &us) == 0 && us == 1795392000000000LL);
    CHECK(ingest_ts_text("last tuesday", 12, &us) == -1);
    CHECK(ingest_ts_text("", 0, &us) == -1);
    CHECK(ingest_ts_text("12abc", 5, &us) == -1);
    CHECK(ingest_ts_text("100000000000000000", 18, &us) == -2);
    CHECK(ingest_epoch_us(1e20, &us) == -1);
}

/* ingest_ts_text parses YYYY-MM-DDTHH:MM:SS[.f]Z on a fast path of its own:
 * on that shape, valid or not (fields out of range, Feb 29 of non-leap
 * years, 0..10 fraction digits, stray characters), it must agree with the
 * general parser (time_parse_iso) exactly. */
static void test_ts_fast_path(void)
{
    static const char digits[] = "0123456789";
    uint64_t x = 12345;
    int mismatches = 0, parsed = 0;
    for (int iter = 0; iter < 200000; iter++) {
        char s[40];
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        uint64_t r = x >> 11;
        int y = (int)(r % 10000), mo = (int)(r / 10000 % 14), d = (int)(r / 140000 % 33);
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        r = x >> 11;
        int hh = (int)(r % 25), mi = (int)(r / 25 % 61), ss = (int)(r / 1525 % 61), nf = (int)(r / 93025 % 11);
        if (r / 1023275 % 4 == 0) { y = 1896 + (int)(r / 4093100 % 210); mo = 2; d = 28 + (int)(r / 862 % 2); }
        int n = snprintf(s, sizeof s, "%04d-%02d-%02dT%02d:%02d:%02d", y, mo, d, hh, mi, ss);
        if (nf) {
            s[n++] = '.';
            for (int i = 0; i < nf - 1; i++) s[n++] = digits[(r >> (i * 3)) % 10];
        }
        s[n++] = 'Z';
        if (r % 97 == 0) s[(r / 97) % (size_t)n] = (char)('/' + (r >> 20) % 12);   /* a stray byte */
        s[n] = 0;
        int64_t a = 0, b = 0;
        int ra = ingest_ts_text(s, (size_t)n, &a);
        int rb = time_parse_iso(s, (size_t)n, &b);
        if (ra == 0) parsed++;
        /* ingest also wants a zone: time_parse_iso takes a date-time without one */
        int zone = s[n - 1] == 'Z' || s[n - 1] == 'z' || memchr(s + 11, '+', (size_t)n - 11) || memchr(s + 11, '-', (size_t)n - 11);
        int want = rb != 0 ? -1 : zone ? 0 : -3;
        if ((want == 0 ? ra != 0 || a != b : want == -3 ? ra != -3 : ra == 0)) {
            if (mismatches++ < 5) fprintf(stderr, "ts fast path: '%s': %d %lld, time_parse_iso %d %lld\n",
                                          s, ra, (long long)a, rb, (long long)b);
        }
    }
    CHECK(mismatches == 0);
    CHECK(parsed > 50000);   /* the valid ones are a good part of them */
    /* consecutive times, as a stream has them (the fast path remembers the
     * last minute): steps of 0 to ~3 minutes across minutes, days, months,
     * leap days and years, with now and then a bad second or fraction in
     * a minute it has seen */
    int64_t t = 946684000LL * 1000000, seq_bad = 0;   /* 1999-12-31T23:46:40Z */
    for (int iter = 0; iter < 200000; iter++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        uint64_t r = x >> 11;
        t += (int64_t)(r % 180000000);
        if (iter == 100000) t = 4107542400LL * 1000000 - 3600LL * 1000000;   /* 2100-03-01T00:00Z less an hour */
        char s[40];
        int n = time_format_iso(t, s);   /* ...Z, with .ffffff */
        if (n < 20 || s[n - 1] != 'Z') { seq_bad++; continue; }
        if (r % 53 == 0) s[17 + (r >> 8) % (size_t)(n - 18)] = (char)(':' + (r >> 12) % 3);   /* not a digit */
        int64_t a = 0, b = 0;
        int ra = ingest_ts_text(s, (size_t)n, &a), rb = time_parse_iso(s, (size_t)n, &b);
        if ((rb == 0 ? ra != 0 || a != b : ra == 0) && seq_bad++ < 5)
            fprintf(stderr, "ts fast path, in sequence: '%s': %d %lld, time_parse_iso %d %lld\n",
                    s, ra, (long long)a, rb, (long long)b);
    }
    CHECK(seq_bad == 0);
    int64_t us = 0;
    CHECK(ingest_ts_text("2000-02-29T23:59:59.999999999Z", 30, &us) == 0 && us == 951868799999999LL);
    CHECK(ingest_ts_text("1900-02-29T00:00:00Z", 20, &us) == -1);
    CHECK(ingest_ts_text("0000-03-01T00:00:00Z", 20, &us) == 0 && us == -62162035200000000LL);
}

/* now = 0: the clock is read only when a line needs it; the answers are
 * those of the clock at that moment. */
static void test_lazy_now(void)
{
    ingest_conf c;
    setup_conf(&c);
    c.dedup_window = 0;
    start(&c);
    char buf[200];
    int64_t t0 = now_us();
    /* no ts: the arrival time, read while the line was parsed */
    const char *l1 = "{\"user_id\":\"u1\",\"event_type\":\"view\"}";
    outlen = 0; nrec = 0;
    CHECK_EQ_INT(ingest_line(&g, l1, strlen(l1), 0), ING_OUT);
    int64_t t1 = now_us();
    const char *p = strstr(outbuf, "\"ts\":");
    long long ts = p ? atoll(p + 5) : 0;
    CHECK_MSG(ts >= t0 && ts <= t1, "ts %lld not within %lld..%lld", ts, (long long)t0, (long long)t1);
    /* an hour ahead is within --max-skew (24 h) */
    snprintf(buf, sizeof buf, "{\"user_id\":\"u1\",\"event_type\":\"view\",\"ts\":%lld}",
             (long long)(t1 + 3600000000LL));
    outlen = 0; nrec = 0;
    CHECK_EQ_INT(ingest_line(&g, buf, strlen(buf), 0), ING_OUT);
    /* the last clock reading is two hours old (a quiet input): 23 h ahead is
     * beyond the skew from that reading but not from the clock, which must
     * then be read: accepted */
    g.now_seen = now_us() - 7200000000LL;
    snprintf(buf, sizeof buf, "{\"user_id\":\"u1\",\"event_type\":\"view\",\"ts\":%lld}",
             (long long)(now_us() + 23 * 3600000000LL));
    outlen = 0; nrec = 0;
    CHECK_EQ_INT(ingest_line(&g, buf, strlen(buf), 0), ING_OUT);
    /* a day and an hour ahead is beyond it from any reading */
    snprintf(buf, sizeof buf, "{\"user_id\":\"u1\",\"event_type\":\"view\",\"ts\":%lld}",
             (long long)(now_us() + 90000000000LL));
    outlen = 0; nrec = 0;
    CHECK_EQ_INT(ingest_line(&g, buf, strlen(buf), 0), ING_BAD);
    CHECK_EQ_STR(g.reason, "implausible_timestamp");
    /* --rate-clock arrival: buckets refill with the clock, one token here */
    setup_conf(&c);
    c.dedup_window = 0;
    c.rate_per_s = 0.001;
    c.rate_burst = 1;
    c.rate_users = 16;
    c.rate_arrival = 1;
    start(&c);
    snprintf(buf, sizeof buf, "{\"user_id\":\"u9\",\"event_type\":\"view\",\"ts\":%lld}", (long long)t0);
    outlen = 0; nrec = 0;
    CHECK_EQ_INT(ingest_line(&g, buf, strlen(buf), 0), ING_OUT);
    outlen = 0; nrec = 0;
    CHECK_EQ_INT(ingest_line(&g, buf, strlen(buf), 0), ING_BAD);
    CHECK_EQ_STR(g.reason, "rate_limited");
}

static void test_csv_split(void)
{
    char out[256];
    const char *fv[16];
    uint32_t fl[16];
    size_t at = 0;
    const char *s = "a,\"b,c\",\"d\"\"e\",,\"\"";
    int n = ingest_csv_split(s, strlen(s), out, fv, fl, 16, &at);
    CHECK_EQ_INT(n, 5);
    CHECK_EQ_STR(fv[0], "a");
    CHECK_EQ_STR(fv[1], "b,c");
    CHECK_EQ_STR(fv[2], "d\"e");
    CHECK(fl[3] == 0 && fl[4] == 0);
    CHECK_EQ_INT(ingest_csv_split("x,\"open", 7, out, fv, fl, 16, &at), -1);
    CHECK_EQ_INT(ingest_csv_split("x,ab\"c", 6, out, fv, fl, 16, &at), -2);
    CHECK_EQ_INT(at, 4);
    CHECK_EQ_INT(ingest_csv_split("\"a\"b", 4, out, fv, fl, 16, &at), -2);
    CHECK_EQ_INT(at, 3);
    CHECK_EQ_INT(ingest_csv_split("", 0, out, fv, fl, 16, &at), 1);
    CHECK_EQ_INT(ingest_csv_split("a,b,c", 5, out, fv, fl, 2, &at), -3);
}

static void test_dedup(void)
{
    dedup d;
    CHECK(dedup_init(&d, 100) == 0);
    /* against a brute-force window over random ids from a small space */
    uint64_t win[100];
    int nwin = 0, head = 0;
    srand(3);
    for (int i = 0; i < 50000; i++) {
        uint64_t h = (uint64_t)(rand() % 300) * 0x9e3779b97f4a7c15ULL;
        if (i % 97 == 0) h = 0;    /* the zero hash works too */
        int want = 0;
        for (int k = 0; k < nwin; k++) want |= win[k] == h;
        int got = dedup_seen(&d, h);
        CHECK_EQ_INT(got, want);
        if (!got) {
            dedup_add(&d, h);
            if (nwin < 100) win[nwin++] = h;
            else { win[head] = h; head = (head + 1) % 100; }
        }
    }
    CHECK(dedup_bytes(&d) == (100 + 256) * 8);
    dedup_free(&d);
    CHECK(dedup_init(&d, 0) == 0 && !dedup_seen(&d, 5));
    dedup_add(&d, 5);
    CHECK(!dedup_seen(&d, 5));
    dedup_free(&d);

    /* a window of event time (span 100), against brute force: an id is a
     * duplicate if kept with a time >= newest - 100; times mostly rise, some
     * events come late; at most 64 ids, past that the oldest leave early */
    CHECK(dedup_init(&d, 64) == 0 && dedup_set_span(&d, 100) == 0);
    struct { uint64_t h; int64_t ts; } kept[64];
    int nk = 0;
    int64_t t = 1000, newest = INT64_MIN;
    uint64_t early = 0;
    for (int i = 0; i < 50000; i++) {
        t += rand() % 3;
        int64_t ts = rand() % 10 == 0 ? t - rand() % 80 : t;   /* late */
        uint64_t h = (uint64_t)(rand() % 120 + 1) * 0x9e3779b97f4a7c15ULL;
        if (ts > newest) {
            newest = ts;
            while (nk && kept[0].ts < newest - 100) { memmove(kept, kept + 1, --nk * sizeof kept[0]); }
        }
        int want = 0;
        for (int k = 0; k < nk; k++) want |= kept[k].h == h;
        dedup_at(&d, ts);
        int got = dedup_seen(&d, h);
        CHECK_EQ_INT(got, want);
        if (!got) {
            dedup_add(&d, h);
            if (nk == 64) { memmove(kept, kept + 1, --nk * sizeof kept[0]); early++; }
            kept[nk].h = h; kept[nk].ts = ts; nk++;
        }
    }
    CHECK_MSG(early > 0 && d.early == early, "early %llu, dedup says %llu", (unsigned long long)early, (unsigned long long)d.early);
    CHECK(dedup_bytes(&d) == (64 + 128 + 64) * 8);
    dedup_free(&d);
}

static void test_ratelimit(void)
{
    ratelimit r;
    CHECK(ratelimit_init(&r, 2, 3, 16) == 0);    /* 2/s, burst 3 */
    int64_t t = 1000000000;
    CHECK(ratelimit_allow(&r, 7, t) && ratelimit_allow(&r, 7, t) && ratelimit_allow(&r, 7, t));
    CHECK(!ratelimit_allow(&r, 7, t));
    CHECK(ratelimit_allow(&r, 8, t));             /* another user has its own bucket */
    CHECK(!ratelimit_allow(&r, 7, t + 400000));   /* 0.8 tokens */
    CHECK(ratelimit_allow(&r, 7, t + 500000));    /* 1.0 */
    CHECK(!ratelimit_allow(&r, 7, t + 500000));
    CHECK(!ratelimit_allow(&r, 7, t));            /* time going back refills nothing */
    CHECK(ratelimit_allow(&r, 7, t + 10000000) && ratelimit_allow(&r, 7, t + 10000000)
          && ratelimit_allow(&r, 7, t + 10000000) && !ratelimit_allow(&r, 7, t + 10000000));
    /* the table is bounded: 16 users; idle (full) buckets are dropped for new ones */
    for (uint64_t u = 100; u < 200; u++) CHECK(ratelimit_allow(&r, u, t + 20000000 + (int64_t)u * 2000000));
    CHECK(r.n <= 16);
    /* all active at one instant: new users pass untracked */
    ratelimit_free(&r);
    CHECK(ratelimit_init(&r, 1, 1, 16) == 0);
    for (uint64_t u = 1; u <= 40; u++) CHECK(ratelimit_allow(&r, u, t));
    CHECK(r.n == 16 && r.untracked == 24);
    CHECK(!ratelimit_allow(&r, 1, t));
    ratelimit_free(&r);
}

static void test_events(void)
{
    ingest_conf c;
    setup_conf(&c);
    start(&c);
    EXPECT_OUT("{\"user_id\":\"user123\",\"event_type\":\"book_view\",\"item_id\":\"book456\",\"session_id\":\"session789\","
               "\"event_id\":\"e1\",\"ts\":\"2026-11-23T10:00:00.123Z\",\"value\":4,"
               "\"metadata\":{\"source\":\"recommendation\",\"position\":1,\"experiment\":\"x\",\"variant\":\"b\","
               "\"page\":{\"kind\":\"home\",\"n\":2},\"tags\":[1,\"a\"],\"flag\":true,\"none\":null}}",
               "Event user123 {\"event_id\":\"e1\",\"ts\":1795428000123000,\"user_id\":\"user123\",\"item_id\":\"book456\","
               "\"session_id\":\"session789\",\"type\":\"view\",\"name\":\"book_view\",\"value\":4,\"source\":\"recommendation\","
               "\"position\":1,\"experiment\":\"x\",\"variant\":\"b\",\"attrs\":[{\"key\":\"page.kind\",\"value\":\"home\"},"
               "{\"key\":\"page.n\",\"value\":\"2\"},{\"key\":\"tags\",\"value\":\"[1,\\\"a\\\"]\"},"
               "{\"key\":\"flag\",\"value\":\"true\"}]}\n");
    /* custom type keeps its name; epoch ms; no event_id: FNV-1a of the line */
    const char *l2 = "{\"user_id\":\"u1\",\"event_type\":\"share\",\"timestamp\":1795428000500}";
    char want[512];
    snprintf(want, sizeof want, "Event u1 {\"event_id\":\"h%016llx\",\"ts\":1795428000500000,\"user_id\":\"u1\","
             "\"type\":\"custom\",\"name\":\"share\"}\n", (unsigned long long)hash_fnv1a64(l2, strlen(l2)));
    EXPECT_OUT(l2, want);
    /* no ts: arrival time */
    EXPECT_OUT("{\"user_id\":\"u2\",\"event_type\":\"click\",\"event_id\":\"e2\"}",
               "Event u2 {\"event_id\":\"e2\",\"ts\":1795428000000000,\"user_id\":\"u2\",\"type\":\"click\",\"name\":\"click\"}\n");
    /* duplicates: same event_id; same content without event_id */
    CHECK_EQ_INT(line("{\"user_id\":\"u9\",\"event_type\":\"click\",\"event_id\":\"e1\"}"), ING_DUP);
    CHECK_EQ_INT(line(l2), ING_DUP);
    CHECK_EQ_INT(g.n_dups, 2);
    /* window of 4: after 4 more ids, e1 is forgotten */
    for (int i = 0; i < 4; i++) {
        char b[128];
        snprintf(b, sizeof b, "{\"user_id\":\"u\",\"event_type\":\"click\",\"event_id\":\"w%d\"}", i);
        CHECK_EQ_INT(line(b), ING_OUT);
    }
    CHECK_EQ_INT(line("{\"user_id\":\"u9\",\"event_type\":\"click\",\"event_id\":\"e1\"}"), ING_OUT);
}

static void test_samples(void)
{
    ingest_conf c;
    setup_conf(&c);
    start(&c);
    EXPECT_OUT("{\"metric_name\":\"cpu_usage\",\"value\":75.5,\"ts\":1795428000.25,\"metadata\":{\"source\":\"system_monitor\","
               "\"host\":\"a\"},\"labels\":{\"dc\":\"eu\"},\"sample_id\":\"c1\"}",
               "Sample cpu_usage{dc=eu,host=a,source=system_monitor} {\"ts\":1795428000250000,\"name\":\"cpu_usage\","
               "\"value\":75.5,\"labels\":[{\"key\":\"dc\",\"value\":\"eu\"},{\"key\":\"host\",\"value\":\"a\"},"
               "{\"key\":\"source\",\"value\":\"system_monitor\"}],\"sample_id\":\"c1\"}\n");
    EXPECT_OUT("{\"metric\":\"mem\",\"value\":-1e3,\"sample_id\":\"m\"}",   /* no labels: the name alone (reckey.h) */
               "Sample mem {\"ts\":1795428000000000,\"name\":\"mem\",\"value\":-1000,\"sample_id\":\"m\"}\n");
    EXPECT_OUT("{\"model_id\":\"m1\",\"model_version\":\"v2\",\"ts\":\"2026-11-23T10:00:00Z\",\"metrics\":["
               "{\"type\":\"accuracy\",\"value\":0.85},{\"type\":\"latency_ms\",\"value\":120}],\"sample_id\":\"r\"}",
               "Sample model.accuracy{model_id=m1,model_version=v2} {\"ts\":1795428000000000,\"name\":\"model.accuracy\","
               "\"value\":0.85,\"labels\":[{\"key\":\"model_id\",\"value\":\"m1\"},{\"key\":\"model_version\",\"value\":\"v2\"}],\"sample_id\":\"r\"}\n"
               "Sample model.latency_ms{model_id=m1,model_version=v2} {\"ts\":1795428000000000,\"name\":\"model.latency_ms\","
               "\"value\":120,\"labels\":[{\"key\":\"model_id\",\"value\":\"m1\"},{\"key\":\"model_version\",\"value\":\"v2\"}],\"sample_id\":\"r\"}\n");
    EXPECT_OUT("{\"endpoint\":\"/api/r\",\"duration_ms\":42,\"status\":503,\"ts\":1795428000,\"sample_id\":\"q\"}",
               "Sample request.duration_ms{endpoint=/api/r,status_class=5xx} {\"ts\":1795428000000000,"
               "\"name\":\"request.duration_ms\",\"value\":42,\"labels\":[{\"key\":\"endpoint\",\"value\":\"/api/r\"},"
               "{\"key\":\"status_class\",\"value\":\"5xx\"}],\"sample_id\":\"q\"}\n"
               "Sample request.error{endpoint=/api/r} {\"ts\":1795428000000000,\"name\":\"request.error\",\"value\":1,"
               "\"labels\":[{\"key\":\"endpoint\",\"value\":\"/api/r\"}],\"sample_id\":\"q\"}\n");
    /* labels ingest derives win over user labels of the same key, and do not
     * count against --max-attrs (8 here: 8 user labels pass, 9 do not) */
    EXPECT_OUT("{\"endpoint\":\"/a\",\"duration_ms\":1,\"status\":404,\"ts\":1795428000,"
               "\"metadata\":{\"endpoint\":\"/evil\",\"status_class\":\"9xx\",\"a\":1},\"sample_id\":\"q\"}",
               "Sample request.duration_ms{a=1,endpoint=/a,status_class=4xx} {\"ts\":1795428000000000,"
               "\"name\":\"request.duration_ms\",\"value\":1,\"labels\":[{\"key\":\"a\",\"value\":\"1\"},"
               "{\"key\":\"endpoint\",\"value\":\"/a\"},{\"key\":\"status_class\",\"value\":\"4xx\"}],\"sample_id\":\"q\"}\n"
               "Sample request.error{a=1,endpoint=/a} {\"ts\":1795428000000000,\"name\":\"request.error\","
               "\"labels\":[{\"key\":\"a\",\"value\":\"1\"},{\"key\":\"endpoint\",\"value\":\"/a\"}],\"sample_id\":\"q\"}\n");
    CHECK_EQ_INT(line("{\"model_id\":\"m\",\"model_version\":\"v\",\"metrics\":[{\"type\":\"a\",\"value\":1}],"
                      "\"labels\":{\"model_id\":\"other\",\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7}}"), ING_OUT);
    CHECK_MSG(strstr(outbuf, "{model_id=m,model_version=v}") == NULL && strstr(outbuf, "g=7,model_id=m,model_version=v}"),
              "%s", outbuf);
    CHECK_EQ_INT(line("{\"endpoint\":\"/a\",\"duration_ms\":1,\"status\":200,"
                      "\"labels\":{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7,\"h\":8}}"), ING_OUT);
    EXPECT_BAD("{\"endpoint\":\"/a\",\"duration_ms\":1,\"status\":200,"
               "\"labels\":{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7,\"h\":8,\"i\":9}}",
               "too_long", "more than 8 labels");
    EXPECT_BAD("{\"user_id\":\"u\",\"event_type\":\"v\",\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7,"
               "\"h\":8,\"i\":9}", "too_long", "9 unknown members");
    EXPECT_OUT("{\"endpoint\":\"/x\",\"duration_ms\":1.5,\"status\":200,\"sample_id\":\"x\"}",
               "Sample request.duration_ms{endpoint=/x,status_class=2xx} {\"ts\":1795428000000000,"
               "\"name\":\"request.duration_ms\",\"value\":1.5,\"labels\":[{\"key\":\"endpoint\",\"value\":\"/x\"},"
               "{\"key\":\"status_class\",\"value\":\"2xx\"}],\"sample_id\":\"x\"}\n"
               "Sample request.error{endpoint=/x} {\"ts\":1795428000000000,\"name\":\"request.error\","
               "\"labels\":[{\"key\":\"endpoint\",\"value\":\"/x\"}],\"sample_id\":\"x\"}\n");
}

/* A Sample's id: the line's own, else made from where the line was read
 * and its bytes, so the same line read again at the same place (a replay)
 * has the same id and two identical lines at two places have two. */
static const char *sample_ids(const char *in, char *out, size_t n)
{
    CHECK_EQ_INT(line(in), ING_OUT);
    out[0] = 0;
    for (const char *p = outbuf; (p = strstr(p, "\"sample_id\":\"")); p++) {
        p += 13;
        size_t l = strcspn(p, "\"");
        snprintf(out + strlen(out), n - strlen(out), "%.*s;", (int)l, p);
    }
    return out;
}

static void test_sample_ids(void)
{
    ingest_conf c;
    setup_conf(&c);
    start(&c);
    const char *cpu = "{\"metric_name\":\"cpu\",\"value\":1,\"ts\":1795428000}";
    const char *req = "{\"endpoint\":\"/a\",\"duration_ms\":1,\"status\":200,\"ts\":1795428000}";
    char a[128], b[128], k[128], r[128];
    ingest_set_pos(&g, NULL, 0, 5);
    sample_ids(cpu, a, sizeof a);
    CHECK_MSG(strlen(a) == 18 && a[0] == 's', "generated id '%s'", a);
    ingest_set_pos(&g, NULL, 0, 6);
    CHECK_MSG(strcmp(sample_ids(cpu, b, sizeof b), a) != 0, "identical lines 5 and 6: one id %s", a);
    ingest_set_pos(&g, NULL, 0, 5);
    CHECK_EQ_STR(sample_ids(cpu, b, sizeof b), a);   /* read again: the same id */
    ingest_set_pos(&g, "raw", 0, 5);
    CHECK_MSG(strcmp(sample_ids(cpu, k, sizeof k), a) != 0, "Kafka offset 5 and line 5: one id %s", a);
    ingest_set_pos(&g, "raw", 1, 5);
    CHECK_MSG(strcmp(sample_ids(cpu, b, sizeof b), k) != 0, "partitions 0 and 1: one id %s", k);
    ingest_set_pos(&g, "raw", 0, 5);
    CHECK_EQ_STR(sample_ids(cpu, b, sizeof b), k);
    /* the README's definition, byte for byte: FNV-1a of the topic and a
     * NUL, the partition (4 bytes) and the offset (8), little-endian, the
     * line, the sample's index (4): ids stay the same across versions */
    {
        unsigned char def[160];
        size_t n = 0, cl = strlen(cpu);
        memcpy(def, "raw", 4); n = 4;
        const unsigned char part_off_le[12] = { 1, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0 };
        memcpy(def + n, part_off_le, 12); n += 12;
        memcpy(def + n, cpu, cl); n += cl;
        memset(def + n, 0, 4); n += 4;
        char want[40];
        snprintf(want, sizeof want, "s%016llx;", (unsigned long long)hash_fnv1a64(def, n));
        ingest_set_pos(&g, "raw", 1, 5);
        CHECK_EQ_STR(sample_ids(cpu, b, sizeof b), want);
    }
    /* a line's two samples: two ids */
    ingest_set_pos(&g, NULL, 0, 7);
    sample_ids(req, r, sizeof r);
    CHECK_MSG(strlen(r) == 36 && strncmp(r, r + 18, 17) != 0, "request ids '%s'", r);
    /* no position given: the records are numbered, identical lines still differ */
    start(&c);
    sample_ids(cpu, a, sizeof a);
    CHECK_MSG(strcmp(sample_ids(cpu, b, sizeof b), a) != 0, "unnumbered identical lines: one id %s", a);
    /* the line's own wins; on an event it is an attr as before */
    CHECK_EQ_STR(sample_ids("{\"metric_name\":\"cpu\",\"value\":1,\"sample_id\":\"own-1\"}", a, sizeof a), "own-1;");
    CHECK_EQ_STR(sample_ids("{\"endpoint\":\"/a\",\"duration_ms\":1,\"status\":200,\"sample_id\":\"q\"}", a, sizeof a),
                 "q;q;");
    CHECK_EQ_INT(line("{\"user_id\":\"u\",\"event_type\":\"click\",\"sample_id\":\"z\"}"), ING_OUT);
    CHECK_MSG(strstr(outbuf, "{\"key\":\"sample_id\",\"value\":\"z\"}") != NULL, "%s", outbuf);
    EXPECT_BAD("{\"metric_name\":\"cpu\",\"value\":1,\"sample_id\":5}", "wrong_type", "sample_id");
    /* CSV: a sample_id column is the id; without one, the record's line and text */
    c.csv = 1;
    start(&c);
    CHECK_EQ_INT(line("metric_name,value,ts,sample_id"), ING_HEADER);
    CHECK_EQ_STR(sample_ids("cpu,1,1795428000,c-9", a, sizeof a), "c-9;");
    start(&c);
    CHECK_EQ_INT(line("metric_name,value,ts"), ING_HEADER);
    ingest_set_pos(&g, NULL, 0, 2);
    sample_ids("cpu,1,1795428000", a, sizeof a);
    ingest_set_pos(&g, NULL, 0, 3);
    CHECK_MSG(strcmp(sample_ids("cpu,1,1795428000", b, sizeof b), a) != 0, "identical CSV rows: one id %s", a);
}

static void test_refusals(void)
{
    ingest_conf c;
    setup_conf(&c);
    c.rate_per_s = 1;
    c.rate_burst = 2;
    c.rate_users = 100;
    start(&c);
    EXPECT_BAD("", "bad_json", "empty line");
    EXPECT_BAD("{\"user_id\":\"u1\",\"event_type\":\"cl", "bad_json", "byte");
    EXPECT_BAD("{\"user_id\":\"u1\",\"event_type\":\"click\",}", "bad_json", "trailing comma");
    EXPECT_BAD("[{\"user_id\":\"u1\",\"event_type\":\"click\"}]", "not_an_object", "array");
    EXPECT_BAD("{\"\xff\xfeuser_id\":\"u1\",\"event_type\":\"click\"}", "bad_utf8", "byte 2");
    EXPECT_BAD("{\"user_id\":17,\"event_type\":\"click\"}", "wrong_type", "user_id is a number");
    EXPECT_BAD("{\"user_id\":null,\"event_type\":\"click\"}", "wrong_type", "user_id is null");
    EXPECT_BAD("{\"user_id\":\"u1\",\"event_type\":\"click\",\"value\":\"seventy\"}", "wrong_type", "value is a string");
    EXPECT_BAD("{\"user_id\":\"u1\",\"event_type\":\"click\",\"metadata\":{\"position\":1.5}}", "wrong_type",
               "metadata.position");
    EXPECT_BAD("{\"user_id\":\"u1\",\"event_type\":\"click\",\"metadata\":[1]}", "wrong_type", "metadata is an array");
    EXPECT_BAD("{\"event_type\":\"click\",\"item_id\":\"b1\"}", "missing_field", "user_id is missing");
    EXPECT_BAD("{\"user_id\":\"\",\"event_type\":\"click\"}", "missing_field", "user_id is empty");
    EXPECT_BAD("{\"value\":3,\"ts\":1}", "missing_field", "metric_name");
    EXPECT_BAD("{\"metric_name\":\"cpu\"}", "missing_field", "value is missing");
    EXPECT_BAD("{\"model_id\":\"m\",\"metrics\":[{\"type\":\"a\",\"value\":\"x\"}]}", "wrong_type", "metrics[0].value");
    EXPECT_BAD("{\"model_id\":\"m\",\"metrics\":[{\"value\":1}]}", "missing_field", "metrics[0].type is missing");
    EXPECT_BAD("{\"model_id\":\"m\",\"metrics\":[]}", "missing_field", "metrics is empty");
    EXPECT_BAD("{\"endpoint\":\"/a\",\"duration_ms\":3,\"status\":900}", "wrong_type", "status");
    EXPECT_BAD("{\"endpoint\":\"/a\",\"status\":200}", "missing_field", "duration_ms");
    EXPECT_BAD("{\"user_id\":\"u1\",\"event_type\":\"click\",\"session_id\":"
               "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}",
               "too_long", "session_id is 77 bytes");
    EXPECT_BAD("{\"user_id\":\"u1\",\"event_type\":\"click\",\"metadata\":{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,"
               "\"f\":6,\"g\":7,\"h\":8,\"i\":9,\"j\":10,\"k\":11,\"l\":12,\"m\":13}}", "too_long", "--max-attrs");
    EXPECT_BAD("{\"user_id\":\"u1\",\"event_type\":\"click\",\"ts\":\"last tuesday\"}", "bad_timestamp", "last tuesday");
    EXPECT_BAD("{\"user_id\":\"u1\",\"event_type\":\"click\",\"ts\":true}", "bad_timestamp", "ts is a boolean");
    EXPECT_BAD("{\"user_id\":\"u1\",\"event_type\":\"click\",\"ts\":\"2026-11-25T10:00:00Z\"}", "implausible_timestamp",
               "--max-skew");
    EXPECT_BAD("{\"user_id\":\"u1\",\"event_type\":\"click\",\"ts\":-5}", "implausible_timestamp", "ts '-5'");
    EXPECT_BAD("{\"user_id\":\"u1\",\"event_type\":\"click\",\"ts\":0}", "implausible_timestamp", "ts '0'");
    EXPECT_BAD("{\"user_id\":\"u1\",\"event_type\":\"click\",\"ts\":\"1970-01-01T00:00:00Z\"}", "implausible_timestamp",
               "not after 1970");
    EXPECT_BAD("{\"user_id\":\"u1\",\"event_type\":\"click\",\"ts\":\"2026-11-23T09:00:00\"}", "bad_timestamp",
               "has no zone");
    EXPECT_BAD("{\"user_id\":\"u1\",\"event_type\":\"click\",\"metadata\":{\"k\\u0000\":\"v\"}}", "wrong_type",
               "NUL character");
    EXPECT_BAD("{\"user_id\":\"u1\",\"event_type\":\"click\",\"note\":\"a\\u0000b\"}", "wrong_type",
               "attrs note contains a NUL");
    /* future within the skew is fine; old history is fine */
    CHECK_EQ_INT(line("{\"user_id\":\"u1\",\"event_type\":\"click\",\"ts\":\"2026-11-24T09:00:00Z\"}"), ING_OUT);
    CHECK_EQ_INT(line("{\"user_id\":\"u2\",\"event_type\":\"rating\",\"ts\":828124615}"), ING_OUT);
    /* rate limit: burst 2 at one instant, then refused; another user is unaffected */
    CHECK_EQ_INT(line("{\"user_id\":\"r\",\"event_type\":\"click\",\"ts\":1795427000}"), ING_OUT);
    CHECK_EQ_INT(line("{\"user_id\":\"r\",\"event_type\":\"click\",\"ts\":1795427000,\"event_id\":\"2\"}"), ING_OUT);
    EXPECT_BAD("{\"user_id\":\"r\",\"event_type\":\"click\",\"ts\":1795427000,\"event_id\":\"3\"}", "rate_limited",
               "user_id r");
    CHECK_EQ_INT(line("{\"user_id\":\"r2\",\"event_type\":\"click\",\"ts\":1795427000}"), ING_OUT);
    /* a refused event is not remembered as seen: it may come again later */
    CHECK_EQ_INT(line("{\"user_id\":\"r\",\"event_type\":\"click\",\"ts\":1795427001,\"event_id\":\"3\"}"), ING_OUT);
}

static void test_csv(void)
{
    ingest_conf c;
    setup_conf(&c);
    c.csv = 1;
    c.event_type = "rating";
    char err[200];
    CHECK(ingest_map_add(&c, "user_id=userId", err, sizeof err) == 0);
    CHECK(ingest_map_add(&c, "item_id=movieId", err, sizeof err) == 0);
    CHECK(ingest_map_add(&c, "value=rating", err, sizeof err) == 0);
    CHECK(ingest_map_add(&c, "ts=timestamp", err, sizeof err) == 0);
    CHECK(ingest_map_add(&c, "nonsense", err, sizeof err) == -1);
    start(&c);
    CHECK_EQ_INT(line("\xef\xbb\xbfuserId,movieId,rating,timestamp,note"), ING_HEADER);
    const char *r1 = "1,31,2.5,1260759144,";
    char want[512];
    snprintf(want, sizeof want, "Event 1 {\"event_id\":\"h%016llx\",\"ts\":1260759144000000,\"user_id\":\"1\","
             "\"item_id\":\"31\",\"type\":\"rating\",\"name\":\"rating\",\"value\":2.5}\n",
             (unsigned long long)hash_fnv1a64(r1, strlen(r1)));
    EXPECT_OUT(r1, want);
    /* a quoted field with a comma, a doubled quote and a newline */
    CHECK_EQ_INT(line("2,\"7\",4,964982703,\"a, \"\"b\"\""), ING_MORE);
    CHECK_EQ_INT(line("c\""), ING_OUT);
    CHECK_MSG(strstr(outbuf, "{\"key\":\"note\",\"value\":\"a, \\\"b\\\"\\nc\"}") != NULL, "%s", outbuf);
    size_t rl;
    const char *raw = ingest_csv_raw(&g, &rl);
    CHECK(rl == 30 && memcmp(raw, "2,\"7\",4,964982703,\"a, \"\"b\"\"\nc\"", 30) == 0);
    EXPECT_BAD("3,1,x,964982703,", "wrong_type", "value (column rating) 'x' is not a number");
    EXPECT_BAD("3,1,4,964982703", "bad_csv", "4 fields, the header has 5");
    EXPECT_BAD("3,1\"x,4,964982703,", "bad_csv", "stray quote");
    EXPECT_BAD(",1,4,964982703,", "missing_field", "user_id (column userId) is missing");
    EXPECT_BAD("3,1,4,yesterday,", "bad_timestamp", "ts (column timestamp)");
    EXPECT_BAD("", "bad_csv", "empty line");
    CHECK_EQ_INT(line("4,1,4,964982703,\"open"), ING_MORE);
    CHECK_EQ_INT(ingest_finish(&g), ING_BAD);
    CHECK_EQ_STR(g.reason, "bad_csv");

    /* a --map column missing from the header is a usage error */
    setup_conf(&c);
    c.csv = 1;
    CHECK(ingest_map_add(&c, "user_id=uid", err, sizeof err) == 0);
    start(&c);
    CHECK_EQ_INT(line("user,event_type"), ING_FAIL);
    CHECK_MSG(strstr(g.detail, "no column 'uid'") != NULL, "%s", g.detail);
    /* columns named like fields map themselves; unknown ones become attrs */
    setup_conf(&c);
    c.csv = 1;
    start(&c);
    CHECK_EQ_INT(line("user_id,event_type,event_id,color"), ING_HEADER);
    EXPECT_OUT("u5,purchase,p1,red", "Event u5 {\"event_id\":\"p1\",\"ts\":1795428000000000,\"user_id\":\"u5\","
               "\"type\":\"purchase\",\"name\":\"purchase\",\"attrs\":[{\"key\":\"color\",\"value\":\"red\"}]}\n");
    /* unknown field in --map is refused at init */
    setup_conf(&c);
    c.csv = 1;
    CHECK(ingest_map_add(&c, "colour=x", err, sizeof err) == 0);
    ingest_free(&g);
    CHECK(ingest_init(&g, &c, err, sizeof err) == -1 && strstr(err, "colour") != NULL);
}

/* A record spanning many lines costs work linear in its bytes: each
 * continuation line is looked at on its own, the record split once at its
 * end (the reader once rescanned the whole record at every line: quadratic,
 * 28 s for 160 KB). Counted in bytes scanned, not seconds. */
static void test_csv_linear(void)
{
    ingest_conf c;
    setup_conf(&c);
    c.csv = 1;
    c.event_type = "view";
    c.max_string = 1 << 20;
    start(&c);
    CHECK_EQ_INT(line("user_id,note,more"), ING_HEADER);
    /* quoted fields that close and reopen on continuation lines, a doubled
     * quote at a line's end, a stray quote after a closed field */
    CHECK_EQ_INT(line("u2,\"a"), ING_MORE);
    CHECK_EQ_INT(line("b\",\"c"), ING_MORE);
    CHECK_EQ_INT(line("d\""), ING_OUT);
    CHECK_MSG(strstr(outbuf, "{\"key\":\"note\",\"value\":\"a\\nb\"},{\"key\":\"more\",\"value\":\"c\\nd\"}") != NULL,
              "%s", outbuf);
    CHECK_EQ_INT(line("u4,\"a\"\""), ING_MORE);
    CHECK_EQ_INT(line("b\",z"), ING_OUT);
    CHECK_MSG(strstr(outbuf, "\"value\":\"a\\\"\\nb\"},{\"key\":\"more\",\"value\":\"z\"}") != NULL, "%s", outbuf);
    CHECK_EQ_INT(line("u3,\"a"), ING_MORE);
    EXPECT_BAD("b\"x,y", "bad_csv", "stray quote");
    CHECK_EQ_INT(line("u5,,\"\"\"\""), ING_OUT);   /* a closed field: one quote, nothing open */
    CHECK_MSG(strstr(outbuf, "{\"key\":\"more\",\"value\":\"\\\"\"}") != NULL, "%s", outbuf);

    /* 3000 continuation lines, with commas and doubled quotes inside */
    uint64_t before = g.csv_scanned;
    size_t in_bytes = 0, lines = 3000;
    const char *first = "u1,\"start", *cont = "x, \"\"y\"\"", *last = "end\",m";
    CHECK_EQ_INT(line(first), ING_MORE);
    in_bytes += strlen(first) + 1;
    for (size_t i = 0; i < lines; i++) {
        if (line(cont) != ING_MORE) { CHECK_MSG(0, "continuation line %zu closed the record", i); break; }
        in_bytes += strlen(cont) + 1;
    }
    CHECK_EQ_INT(line(last), ING_OUT);
    in_bytes += strlen(last) + 1;
    size_t rl;
    ingest_csv_raw(&g, &rl);
    CHECK_EQ_INT((long long)rl, (long long)in_bytes - 1);
    CHECK_EQ_INT(nrec, 1);
    uint64_t scanned = g.csv_scanned - before;
    CHECK_MSG(scanned <= 4 * (uint64_t)in_bytes, "scanned %llu bytes for %zu bytes of input",
              (unsigned long long)scanned, in_bytes);
}

/* A record ingest writes fits what the next reader takes (--max-record,
 * less room for what later stages add: c.max_record here): the bound of
 * record.c, 512 + per string len + 8 + per label 32 + key + value + 16,
 * decides at the byte; the line is refused whole, nothing emitted. */
static void test_record_limit(void)
{
    ingest_conf c;
    setup_conf(&c);
    c.max_string = 4096;
    c.max_record = 2048;
    start(&c);
    /* Sample cpu_usage with its generated 17-byte sample_id, labels host=h and
     * v=<n bytes>: 512 + 17 + 25 + (32+4+1+16) + (32+1+16+n) */
    size_t fixed = 512 + 9 + 8 + 17 + 8 + 32 + 4 + 1 + 16 + 32 + 1 + 16;
    char text[4096], val[3000];
    for (int over = 0; over <= 1; over++) {
        size_t n = 2048 - fixed + (size_t)over;
        memset(val, 'x', n);
        val[n] = 0;
        snprintf(text, sizeof text, "{\"metric_name\":\"cpu_usage\",\"value\":1,\"ts\":1795428000,"
                 "\"labels\":{\"host\":\"h\",\"v\":\"%s\"}}", val);
        if (!over) {
            CHECK_EQ_INT(line(text), ING_OUT);
            CHECK_EQ_INT(nrec, 1);
        } else {
            EXPECT_BAD(text, "too_long", "over the 2048-byte limit (--max-record");
        }
    }
    /* the samples of one line: all or none (the second one is over) */
    setup_conf(&c);
    c.max_string = 4096;
    c.max_record = 1024;
    start(&c);
    memset(val, 'b', 600);
    val[600] = 0;
    snprintf(text, sizeof text, "{\"model_id\":\"m\",\"ts\":1795428000,\"metrics\":[{\"type\":\"a\",\"value\":1},"
             "{\"type\":\"%s\",\"value\":2}]}", val);
    EXPECT_BAD(text, "too_long", "--max-record");
}

static void teardown(void) { ingest_free(&g); }

TEST_MAIN(test_pieces, test_ts_fast_path, test_lazy_now, test_csv_split, test_dedup, test_ratelimit, test_events, test_samples, test_sample_ids,
          test_refusals, test_csv, test_csv_linear, test_record_limit, teardown)

/* test_fb.c — the FlatBuffers builder's byte layout, read back by hand
 * (not through our verifier), and the verifier's refusals: truncated
 * buffers, bad offsets, misalignment, bad identifier, missing NUL, huge
 * vector lengths, vtables outside the buffer. */
#include <stdint.h>
#include "fb.h"
#include "fbrec.h"
#include "testhelp.h"

static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static void wr32(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24); }

/* Field position of slot in the table at tab, by the format's definition. */
static uint32_t field_pos(const uint8_t *buf, uint32_t tab, int slot)
{
    int32_t soff = (int32_t)rd32(buf + tab);
    uint32_t vt = (uint32_t)((int64_t)tab - soff);
    uint16_t vtsize = rd16(buf + vt);
    if (4 + 2 * (uint32_t)slot >= vtsize)
        return 0;
    uint16_t fo = rd16(buf + vt + 4 + 2 * slot);
    return fo ? tab + fo : 0;
}

static void test_builder_layout(void)
{
    fb_builder b;
    fb_builder_init(&b);
    for (int prefixed = 0; prefixed <= 1; prefixed++) {
        fb_builder_reset(&b);
        fb_ref s = fb_create_string(&b, "hello", 5);
        double dv[3] = { 1.5, -2.0, 1e300 };
        fb_ref v = fb_create_vector(&b, dv, 3, 8, 8);
        fb_table_start(&b, 5);
        fb_add_i64(&b, 0, 1234567890123LL, 0);
        fb_add_ref(&b, 1, s);
        fb_add_u8(&b, 2, 7, 0);
        fb_add_i32(&b, 3, 5, 5);          /* default: not written */
        fb_add_ref(&b, 4, v);
        fb_ref t = fb_table_end(&b);
        fb_finish(&b, t, "TEST", prefixed);
        size_t len;
        const uint8_t *p = fb_data(&b, &len);
        CHECK_EQ_INT(len % 8, 0);             /* padded to the largest alignment (the doubles) */
        const uint8_t *buf = p;
        if (prefixed) {
            CHECK_EQ_INT(rd32(p), len - 4);
            buf = p + 4;
        }
        CHECK(memcmp(buf + 4, "TEST", 4) == 0);
        uint32_t root = rd32(buf);
        CHECK_EQ_INT(root % 4, 0);
        uint32_t f0 = field_pos(buf, root, 0);
        CHECK(f0 != 0);
        CHECK_EQ_INT((f0 + (prefixed ? 4 : 0)) % 8, 0);   /* aligned from the logical start */
        int64_t i64;
        memcpy(&i64, buf + f0, 8);
        CHECK_EQ_INT(i64, 1234567890123LL);
        uint32_t f1 = field_pos(buf, root, 1);
        uint32_t str = f1 + rd32(buf + f1);
        CHECK_EQ_INT(rd32(buf + str), 5);
        CHECK(memcmp(buf + str + 4, "hello", 6) == 0);   /* with its NUL */
        CHECK_EQ_INT(buf[field_pos(buf, root, 2)], 7);
        CHECK_EQ_INT(field_pos(buf, root, 3), 0);
        uint32_t f4 = field_pos(buf, root, 4);
        uint32_t vec = f4 + rd32(buf + f4);
        CHECK_EQ_INT(rd32(buf + vec), 3);
        CHECK_EQ_INT((vec + 4 + (prefixed ? 4 : 0)) % 8, 0);
        double got[3];
        memcpy(got, buf + vec + 4, 24);
        CHECK(got[0] == 1.5 && got[1] == -2.0 && got[2] == 1e300);
        /* fb_field agrees with the hand-written reader */
        for (int slot = 0; slot < 6; slot++)
            CHECK_EQ_INT(fb_field(buf, root, slot), field_pos(buf, root, slot));
    }
    fb_builder_free(&b);
}

/* Identical vtables are written once: N identical tables cost one vtable. */
static void test_vtable_dedup(void)
{
    fb_builder b;
    fb_builder_init(&b);
    fb_ref refs[50];
    for (int i = 0; i < 50; i++) {
        fb_table_start(&b, 2);
        fb_add_i32(&b, 0, i + 1, 0);
        fb_add_i32(&b, 1, 2 * i + 1, 0);
        refs[i] = fb_table_end(&b);
    }
    CHECK_EQ_INT(b.nvtables, 1);
    /* a table with a different field set gets its own vtable */
    fb_table_start(&b, 2);
    fb_add_i32(&b, 1, 9, 0);
    fb_ref other = fb_table_end(&b);
    CHECK_EQ_INT(b.nvtables, 2);
    fb_ref vec = fb_create_offset_vector(&b, refs, 50);
    fb_table_start(&b, 2);
    fb_add_ref(&b, 0, vec);
    fb_add_ref(&b, 1, other);
    fb_ref root = fb_table_end(&b);
    fb_finish(&b, root, "DDUP", 0);
    size_t len;
    const uint8_t *buf = fb_data(&b, &len);
    uint32_t r = rd32(buf);
    uint32_t vf = field_pos(buf, r, 0);
    uint32_t v = vf + rd32(buf + vf);
    CHECK_EQ_INT(rd32(buf + v), 50);
    uint32_t first_vt = 0;
    int same = 1, values = 1;
    for (uint32_t i = 0; i < 50; i++) {
        uint32_t e = v + 4 + 4 * i, t = e + rd32(buf + e);
        uint32_t vt = (uint32_t)((int64_t)t - (int32_t)rd32(buf + t));
        if (i == 0)
            first_vt = vt;
        same &= vt == first_vt;
        int32_t a, c;
        memcpy(&a, buf + field_pos(buf, t, 0), 4);
        memcpy(&c, buf + field_pos(buf, t, 1), 4);
        values &= a == (int32_t)i + 1 && c == 2 * (int32_t)i + 1;
    }
    CHECK(same);
    CHECK(values);
    fb_builder_free(&b);
}

/* A real record for the verifier tests. */
static size_t make_metric(fb_builder *b, int prefixed, const uint8_t **out)
{
    Metric m;
    Metric_init(&m);
    m.name = FB_STR("request.duration_ms");
    KeyValue kv[2] = { { FB_STR("endpoint"), FB_STR("/api") }, { FB_STR("status_class"), FB_STR("2xx") } };
    m.labels = kv;
    m.labels_count = 2;
    Quantile q[2] = { { 0.5, 12.5 }, { 0.99, 80 } };
    m.quantiles = q;
    m.quantiles_count = 2;
    m.count = 1000;
    m.mean = 15.25;
    fbrec_encode(b, &Metric_desc, &m, prefixed);
    size_t len;
    *out = fb_data(b, &len);
    return len;
}

static int decode_metric(const uint8_t *buf, size_t len, int prefixed, char *err, size_t n)
{
    Metric m;
    arena a;
    arena_init(&a, 0);
    int rc = fbrec_decode(&Metric_desc, buf, len, prefixed, &m, &a, err, n);
    if (rc == 0 && (m.labels_count != 2 || m.quantiles_count != 2))
        rc = 2;
    arena_free(&a);
    return rc;
}

static void test_verifier_accepts(void)
{
    fb_builder b;
    fb_builder_init(&b);
    const uint8_t *p;
    size_t len = make_metric(&b, 1, &p);
    char err[200] = "";
    CHECK_MSG(decode_metric(p + 4, len - 4, 1, err, sizeof err) == 0, "%s", err);
    CHECK_MSG(fbrec_verify(&Metric_desc, p + 4, len - 4, 1, err, sizeof err) == 0, "%s", err);
    len = make_metric(&b, 0, &p);
    CHECK_MSG(fbrec_verify(&Metric_desc, p, len, 0, err, sizeof err) == 0, "%s", err);
    CHECK_MSG(decode_metric(p, len, 0, err, sizeof err) == 0, "%s", err);
    fb_builder_free(&b);
}

/* Every truncation of a valid buffer is refused (or, never, read past the
 * end: the copy is exactly len bytes so ASan would catch it). */
static void test_truncated(void)
{
    fb_builder b;
    fb_builder_init(&b);
    const uint8_t *p;
    size_t len = make_metric(&b, 0, &p);
    int refused = 0;
    for (size_t n = 0; n < len; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, p, n);
        char err[200] = "";
        int rc = decode_metric(copy, n, 0, err, sizeof err);
        refused += rc == -1;
        CHECK(fbrec_verify(&Metric_desc, copy, n, 0, err, sizeof err) == rc);
        if (rc == -1)
            CHECK_MSG(strncmp(err, "offset ", 7) == 0, "%s", err);
        free(copy);
    }
    /* the builder packs the objects at the end, so any cut loses something */
    CHECK_EQ_INT(refused, (long long)len);
    fb_builder_free(&b);
}

/* Flip every byte to every interesting value: no crash, no out-of-bounds read. */
static void test_corrupt_bytes(void)
{
    fb_builder b;
    fb_builder_init(&b);
    const uint8_t *p;
    size_t len = make_metric(&b, 0, &p);
    static const uint8_t vals[] = { 0x00, 0x01, 0x03, 0x7f, 0x80, 0xfe, 0xff };
    uint8_t *copy = malloc(len);
    int refused = 0;
    for (size_t i = 0; i < len; i++)
        for (size_t k = 0; k < sizeof vals; k++) {
            memcpy(copy, p, len);
            copy[i] = vals[k];
            char err[200] = "", verr[200] = "";
            int rc = decode_metric(copy, len, 0, err, sizeof err);
            int vrc = fbrec_verify(&Metric_desc, copy, len, 0, verr, sizeof verr);
            /* verify-only accepts exactly what decode accepts, same reason */
            if (rc == 2) rc = 0;   /* decoded, fewer labels: still accepted */
            CHECK_MSG(vrc == rc && strcmp(err, verr) == 0, "byte %zu = %#x: decode %d \"%s\", verify %d \"%s\"",
                      i, vals[k], rc, err, vrc, verr);
            refused += rc != 0;
        }
    free(copy);
    fb_builder_free(&b);
    CHECK(refused > 0);
}

static void expect_refusal(const uint8_t *buf, size_t len, int prefixed, const char *needle)
{
    char err[200] = "", verr[200] = "";
    int rc = decode_metric(buf, len, prefixed, err, sizeof err);
    CHECK_MSG(rc == -1 && strstr(err, needle) && strncmp(err, "offset ", 7) == 0,
              "rc %d, err \"%s\", wanted \"%s\"", rc, err, needle);
    CHECK_MSG(fbrec_verify(&Metric_desc, buf, len, prefixed, verr, sizeof verr) == -1 && !strcmp(err, verr),
              "verify: \"%s\", decode: \"%s\"", verr, err);
}

static void test_refusals(void)
{
    fb_builder b;
    fb_builder_init(&b);
    const uint8_t *p;
    size_t len = make_metric(&b, 0, &p);
    uint8_t *c = malloc(len + 8);
    uint32_t root = rd32(p);

    /* bad identifier */
    memcpy(c, p, len);
    memcpy(c + 4, "EVNT", 4);
    expect_refusal(c, len, 0, "identifier");

    /* root offset past the end */
    memcpy(c, p, len);
    wr32(c, (uint32_t)len + 100);
    expect_refusal(c, len, 0, "past the end");

    /* root offset misaligned */
    memcpy(c, p, len);
    wr32(c, root + 2);
    expect_refusal(c, len, 0, "misaligned");

    /* vtable outside the buffer */
    memcpy(c, p, len);
    wr32(c + root, (uint32_t)(int32_t)-100000);
    expect_refusal(c, len, 0, "vtable");
    memcpy(c, p, len);
    wr32(c + root, (uint32_t)root + 1000);   /* vtable before the start */
    expect_refusal(c, len, 0, "vtable");

    /* the name string: missing NUL, huge length */
    uint32_t nf = fb_field(p, root, 0);
    uint32_t s = nf + rd32(p + nf);
    uint32_t slen = rd32(p + s);
    memcpy(c, p, len);
    c[s + 4 + slen] = 'x';
    expect_refusal(c, len, 0, "NUL");
    memcpy(c, p, len);
    wr32(c + s, 0xfffffff0u);
    expect_refusal(c, len, 0, "string");

    /* offsets the reference verifier refuses: 0 (the field points at
     * itself, which would read the offset as a string length) and over
     * 2 GiB; the root offset 0 too */
    memcpy(c, p, len);
    wr32(c + nf, 0);
    expect_refusal(c, len, 0, "points at itself");
    memcpy(c, p, len);
    wr32(c + nf, 0x80000004u);
    expect_refusal(c, len, 0, "over 2 GiB");
    memcpy(c, p, len);
    wr32(c, 0);
    expect_refusal(c, len, 0, "root offset is 0");

    /* the labels vector: huge count */
    uint32_t lf = fb_field(p, root, 1);
    uint32_t v = lf + rd32(p + lf);
    memcpy(c, p, len);
    wr32(c + v, 0xffffffffu);
    expect_refusal(c, len, 0, "vector");
    memcpy(c, p, len);
    wr32(c + v, 0x40000000u);   /* count * 4 overflows 32 bits */
    expect_refusal(c, len, 0, "vector");

    /* the quantiles vector (doubles) moved to a misaligned place: shift
     * the whole buffer by 4 bytes and call it unprefixed/prefixed wrongly */
    fb_builder_reset(&b);
    len = make_metric(&b, 1, &p);   /* laid out for a 4-byte prefix */
    expect_refusal(p + 4, len - 4, 0, "misaligned");
    char err[200];
    CHECK(decode_metric(p + 4, len - 4, 1, err, sizeof err) == 0);

    /* too short for root offset + identifier */
    expect_refusal(p + 4, 7, 1, "too short");
    expect_refusal(p, 0, 0, "too short");
    free(c);
    fb_builder_free(&b);
}

/* A buffer whose vector elements all point at one table is bounded by the
 * decode budget / table limit, and a table pointing at itself terminates. */
static void test_shared_and_cyclic(void)
{
    fb_builder b;
    fb_builder_init(&b);
    fb_ref kvs = 0;
    fb_ref k = fb_create_string(&b, "k", 1);
    fb_table_start(&b, 2);
    fb_add_ref(&b, 0, k);
    kvs = fb_table_end(&b);
    static fb_ref many[20000];
    for (int i = 0; i < 20000; i++)
        many[i] = kvs;
    fb_ref vec = fb_create_offset_vector(&b, many, 20000);
    fb_table_start(&b, 2);
    fb_add_ref(&b, 1, vec);
    fb_ref root = fb_table_end(&b);
    fb_finish(&b, root, "METR", 0);
    size_t len;
    const uint8_t *p = fb_data(&b, &len);
    Metric m;
    arena a;
    arena_init(&a, 0);
    char err[200] = "";
    int rc = fbrec_decode(&Metric_desc, p, len, 0, &m, &a, err, sizeof err);
    CHECK_MSG(rc == 0, "%s", err);   /* legal: 20,000 references to one table */
    CHECK_MSG(fbrec_verify(&Metric_desc, p, len, 0, err, sizeof err) == 0, "%s", err);
    CHECK_EQ_INT(m.labels_count, 20000);
    CHECK(fb_str_eq(m.labels[19999].key, "k"));
    arena_free(&a);
    fb_builder_free(&b);
}

/* Strings of every length up to 40 (the short ones are copied in
 * overlapping moves) after 0 to 7 bytes already in the buffer: the length,
 * the bytes, the NUL, zero padding to 4, and the bytes before untouched. */
static void test_string_lengths(void)
{
    fb_builder b;
    fb_builder_init(&b);
    char src[48];
    uint8_t before[8] = { 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8 };
    int bad = 0;
    for (size_t len = 0; len <= 40; len++)
        for (size_t pre = 0; pre < 8; pre++) {
            for (size_t i = 0; i < sizeof src; i++) src[i] = (char)('A' + (i * 7 + len) % 26);
            fb_builder_reset(&b);
            fb_ref v = pre ? fb_create_vector(&b, before, pre, 1, 1) : 0;
            size_t size_before = b.size;
            fb_ref r = fb_create_string(&b, src, len);
            size_t n;
            const uint8_t *d = fb_data(&b, &n);
            const uint8_t *str = d + n - r;
            size_t used = r - size_before;   /* length, bytes, NUL, padding */
            int ok = rd32(str) == len && memcmp(str + 4, src, len) == 0 && used >= 4 + len + 1
                  && used <= 4 + len + 4 && r % 4 == 0;
            for (size_t i = 4 + len; ok && i < used; i++) ok = str[i] == 0;
            if (pre) ok = ok && rd32(d + n - v) == pre && memcmp(d + n - v + 4, before, pre) == 0;
            if (!ok && bad++ < 5) fprintf(stderr, "string of %zu bytes after %zu: wrong bytes\n", len, pre);
        }
    CHECK_EQ_INT(bad, 0);
    fb_builder_free(&b);
}

TEST_MAIN(test_builder_layout, test_vtable_dedup, test_verifier_accepts, test_truncated,
          test_corrupt_bytes, test_refusals, test_shared_and_cyclic, test_string_lengths)

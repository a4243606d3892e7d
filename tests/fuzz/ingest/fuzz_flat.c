/* fuzz_flat.c — libFuzzer target for ingest's fast paths against the
 * general ones: flat.c's one-pass reader of the usual JSON line against
 * json_parse, and evenc.c's Event encoder against fbrec_encode. The first
 * byte picks limits; the rest is split at newlines. Each line goes through
 * the reader alone, and through ingest twice: with the reader and without
 * it (json_general). Aborts when the reader takes a line json_parse refuses
 * or builds other nodes than json_parse does, when the two ingests differ
 * in result, refusal (reason and sentence) or record bytes, or when an
 * Event's bytes from evenc.c differ from fbrec_encode's (fzingest.h). */
#include "fzingest.h"

typedef struct fz_sink { uint8_t buf[1 << 16]; size_t len; int over; fb_builder b; uint8_t enc[1 << 12]; } fz_sink;
static fz_sink fz_a, fz_b;

static int fz_emit(void *ctx, const fbrec_desc *d, const void *rec, const void *key, size_t keylen)
{
    (void)key; (void)keylen;
    fz_sink *s = ctx;
    const uint8_t *p;
    size_t n;
    if (fz_encode(&s->b, d, rec, s->enc, sizeof s->enc, &p, &n)) abort();
    if (s->len + n > sizeof s->buf) { s->over = 1; return 0; }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
    return 0;
}

typedef struct fz_run { ingest *a, *b; json_doc *ref; } fz_run;

static void fz_line(void *ctx, const char *line, size_t len)
{
    fz_run *r = ctx;
    ingest *a = r->a, *b = r->b;
    ing_val f[ING_NFIELDS];
    ingest_fields_init(f);
    ing_members mb = { a->extra, 0, 0, 0 };
    if (ing_flat_read(a, line, len, f, &mb) && (json_parse(r->ref, line, len) || !fz_same_nodes(&a->doc, r->ref)))
        abort();
    fz_a.len = fz_b.len = 0;
    fz_a.over = fz_b.over = 0;
    int64_t now = 1795428000000000LL;   /* fixed: the two ingests must not read the clock apart */
    int ra = ingest_line(a, line, len, now), rb = ingest_line(b, line, len, now);
    if (ra != rb || fz_a.over != fz_b.over || fz_a.len != fz_b.len || memcmp(fz_a.buf, fz_b.buf, fz_a.len))
        abort();
    if (ra == ING_BAD && (strcmp(a->reason, b->reason) || strcmp(a->detail, b->detail))) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    static json_doc ref;
    if (!init) {
        fb_builder_init(&fz_a.b);
        fb_builder_init(&fz_b.b);
        json_doc_init(&ref);
        init = 1;
    }
    if (size < 1) return 0;
    ingest_conf c;
    memset(&c, 0, sizeof c);
    c.max_line = 1 << 16;
    c.max_string = (data[0] & 1) ? 16 : 256;
    c.max_attrs = (data[0] & 2) ? 2 : 16;
    c.max_skew_us = 86400000000LL;
    c.dedup_window = 8;
    c.emit = fz_emit;
    static ingest a, b;
    char err[200];
    c.emit_ctx = &fz_a;
    if (ingest_init(&a, &c, err, sizeof err)) abort();
    c.json_general = 1;
    c.emit_ctx = &fz_b;
    if (ingest_init(&b, &c, err, sizeof err)) abort();
    fz_run r = { &a, &b, &ref };
    fz_lines(data + 1, size - 1, fz_line, &r);
    ingest_free(&a);
    ingest_free(&b);
    return 0;
}

/* fuzz_flat.c — libFuzzer target for flat.c, ingest's one-pass reader of
 * the usual JSON line, against json_parse. The first byte picks limits and
 * an arrival time; the rest is split at newlines. Each line goes through
 * the reader alone, and through ingest twice: with the reader and without
 * it (json_general). Aborts when the reader takes a line json_parse refuses
 * or builds other nodes than json_parse does, or when the two ingests
 * differ in result, refusal (reason and sentence) or record bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../../../stages/ingest/ingest.h"
#include "../../../stages/ingest/record.h"

typedef struct fz_sink { uint8_t buf[1 << 16]; size_t len; int over; fb_builder b; } fz_sink;
static fz_sink fz_a, fz_b;

static int fz_emit(void *ctx, const fb_desc *d, const void *rec, const void *key, size_t keylen)
{
    (void)key; (void)keylen;
    fz_sink *s = ctx;
    fb_encode(&s->b, d, rec, 1);
    size_t n;
    const uint8_t *p = fb_data(&s->b, &n);
    if (s->len + n > sizeof s->buf) { s->over = 1; return 0; }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
    return 0;
}

static int fz_same_nodes(const json_doc *a, const json_doc *b)
{
    if (a->nnodes != b->nnodes || a->has_nul != b->has_nul) return 0;
    for (uint32_t i = 0; i < a->nnodes; i++) {
        const json_node *x = &a->nodes[i], *y = &b->nodes[i];
        if (x->type != y->type || x->len != y->len || x->next != y->next || x->keylen != y->keylen
            || x->is_int != y->is_int || x->i != y->i || memcmp(&x->num, &y->num, sizeof x->num))
            return 0;
        if (!x->keystr != !y->keystr || (x->keystr && memcmp(x->keystr, y->keystr, x->keylen + 1))) return 0;
        if (x->type == JSON_STRING && memcmp(x->str, y->str, (size_t)x->len + 1)) return 0;
        if (x->type == JSON_NUMBER && (strlen(x->str) != x->len || memcmp(x->str, y->str, (size_t)x->len + 1)))
            return 0;
    }
    return 1;
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
    int64_t now = 1795428000000000LL;   /* fixed: the two ingests must not read the clock apart */
    const uint8_t *p = data + 1, *end = data + size;
    while (p <= end) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char *line = malloc(len + 1);   /* own copy: overreads are caught */
        memcpy(line, p, len);
        line[len] = 0;
        ing_val f[ING_NFIELDS];
        ingest_fields_init(f);
        ing_members mb = { a.extra, 0, 0, 0 };
        if (ing_flat_read(&a, line, len, f, &mb) && (json_parse(&ref, line, len) || !fz_same_nodes(&a.doc, &ref)))
            abort();
        fz_a.len = fz_b.len = 0;
        fz_a.over = fz_b.over = 0;
        int ra = ingest_line(&a, line, len, now), rb = ingest_line(&b, line, len, now);
        if (ra != rb || fz_a.over != fz_b.over || fz_a.len != fz_b.len || memcmp(fz_a.buf, fz_b.buf, fz_a.len))
            abort();
        if (ra == ING_BAD && (strcmp(a.reason, b.reason) || strcmp(a.detail, b.detail))) abort();
        free(line);
        if (!nl) break;
        p = nl + 1;
    }
    ingest_free(&a);
    ingest_free(&b);
    return 0;
}

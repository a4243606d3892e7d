/* fuzz_records_json.c — fbcat's conversions on well-formed records of
 * every root type (fzrec.h): a record printed as JSON (fbcat's output, the
 * --format json of every stage) must parse as JSON and come back through
 * fbcat --encode (fb_from_json) as a record that prints the same JSON
 * again, in either form (--json-style jq or flatc, chosen by the input).
 * One exception, lossy by design: bytes that are not UTF-8 print as
 * \ufffd; then the second round must be a fixed point. (A double that is
 * not finite prints as null and reads back as NaN, which prints as null
 * again.) Strings with NUL and invalid UTF-8, 1 MiB strings, thousands of
 * labels, int64 limits. The sanitizers catch the rest. */
#define _GNU_SOURCE 1   /* memmem */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../fzrec.h"
#include "fbjson.h"
#include "json.h"

/* JSON text -> record -> JSON text (into out). 0, or -1 if refused. */
static int fz_round(const fbrec_desc *d, const json_writer *in, json_writer *out, arena *a, fb_json_style style)
{
    json_doc doc;
    json_doc_init(&doc);
    if (json_parse(&doc, in->buf, in->len) != 0) {
        fprintf(stderr, "%s printed as JSON that does not parse: %s\n", d->name, doc.err);
        abort();
    }
    void *rec = arena_alloc(a, d->size, d->align);
    fbrec_init(d, rec);
    char err[300];
    int rc = fb_from_json(d, &doc, json_root(&doc), rec, a, err, sizeof err);
    if (rc == 0) fb_to_json_style(d, rec, out, style);
    json_doc_free(&doc);
    return rc;
}

static int fz_same(const json_writer *x, const json_writer *y) { return x->len == y->len && !memcmp(x->buf, y->buf, x->len); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int nroots;
    const fbrec_desc *const *roots = fbrec_root_descs(&nroots);
    const fbrec_desc *d = roots[data[0] % nroots];
    fb_json_style style = (data[0] / nroots) & 1 ? FB_JSON_FLATC : FB_JSON_JQ;
    fz_in in = fz_in_make(data + 1, size - 1);
    arena a;
    arena_init(&a, 0);
    fb_builder b;
    fb_builder_init(&b);
    void *rec = fzrec_make(&in, &a, &b, d);
    json_writer w1, w2, w3;
    jw_init(&w1);
    jw_init(&w2);
    jw_init(&w3);
    fb_to_json_style(d, rec, &w1, style);
    int lossy = memmem(w1.buf, w1.len, "\\ufffd", 6) != NULL;
    if (fz_round(d, &w1, &w2, &a, style) == 0) {
        if (!lossy && !fz_same(&w1, &w2)) {
            fprintf(stderr, "%s: JSON -> record -> JSON differs\n%.*s\n%.*s\n", d->name, (int)(w1.len > 600 ? 600 : w1.len),
                    w1.buf, (int)(w2.len > 600 ? 600 : w2.len), w2.buf);
            abort();
        }
        if (lossy && (fz_round(d, &w2, &w3, &a, style) != 0 || !fz_same(&w2, &w3))) {
            fprintf(stderr, "%s: the second JSON round is not a fixed point\n", d->name);
            abort();
        }
    } else if (!lossy) {
        fprintf(stderr, "%s: its own JSON is refused\n", d->name);
        abort();
    }
    jw_free(&w1);
    jw_free(&w2);
    jw_free(&w3);
    fb_builder_free(&b);
    arena_free(&a);
    return 0;
}

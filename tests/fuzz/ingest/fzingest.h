/* fzingest.h — what ingest's fuzz targets and tests/unit/ingest/test_flat.c
 * share: the input cut into lines, the node comparison of flat.c's reader
 * with json_parse, and the check of evenc.c's Event encoder against
 * fbrec_encode. Header-only: the Makefile builds a fuzzer from one .c file
 * (plus the stage's objects). */
#ifndef FZINGEST_H
#define FZINGEST_H
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../../../stages/ingest/ingest.h"
#include "../../../stages/ingest/record.h"

/* fn on each line of data[0..size) (split at '\n', the last one without
 * it too), each in a malloc'd copy of its own, NUL-terminated, so that
 * reading past a line's end is caught by the sanitizers. */
static inline void fz_lines(const uint8_t *data, size_t size, void (*fn)(void *ctx, const char *line, size_t len),
                            void *ctx)
{
    const uint8_t *p = data, *end = data + size;
    for (;;) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char *line = malloc(len + 1);
        if (!line) abort();
        memcpy(line, p, len);
        line[len] = 0;
        fn(ctx, line, len);
        free(line);
        if (!nl) break;
        p = nl + 1;
    }
}

/* The nodes of a and b are the same: types, links, counts, keys, texts
 * (and the NUL after them), values to the bit. */
static inline int fz_same_nodes(const json_doc *a, const json_doc *b)
{
    if (a->nnodes != b->nnodes || a->has_nul != b->has_nul) return 0;
    for (uint32_t i = 0; i < a->nnodes; i++) {
        const json_node *x = &a->nodes[i], *y = &b->nodes[i];
        if (x->type != y->type || x->len != y->len || x->next != y->next || x->keylen != y->keylen
            || x->is_int != y->is_int || x->i != y->i || memcmp(&x->num, &y->num, sizeof x->num))
            return 0;
        if (!x->keystr != !y->keystr || (x->keystr && memcmp(x->keystr, y->keystr, (size_t)x->keylen + 1)))
            return 0;
        if (x->type == JSON_STRING && memcmp(x->str, y->str, (size_t)x->len + 1)) return 0;
        else if (x->type == JSON_NUMBER && (strlen(x->str) != x->len || memcmp(x->str, y->str, (size_t)x->len + 1)))
            return 0;
        else if (x->type != JSON_STRING && x->type != JSON_NUMBER && (x->str || y->str))
            return 0;
    }
    return 1;
}

/* A record as ingest's parser threads encode it: an Event by evenc.c (when
 * it takes it), anything else by fbrec_encode, size-prefixed. Returns the
 * bytes (b's or out's), after checking an Event's against fbrec_encode's
 * (both prefixings): 0, or 1 when they differ. */
static inline int fz_encode(fb_builder *b, const fbrec_desc *d, const void *rec, uint8_t *out, size_t cap,
                            const uint8_t **data, size_t *len)
{
    int differ = 0;
    if (d == &Event_desc) {
        for (int prefixed = 0; prefixed < 2; prefixed++) {
            fbrec_encode(b, d, rec, prefixed);
            size_t n, m = ing_event_encode(rec, out, cap, prefixed);
            const uint8_t *p = fb_data(b, &n);
            /* taken unless it has attrs or does not fit */
            if (m ? m != n || memcmp(out, p, n) : !((const Event *)rec)->attrs && n <= cap) differ = 1;
        }
        size_t m = ing_event_encode(rec, out, cap, 1);
        if (m) { *data = out; *len = m; return differ; }
    }
    fbrec_encode(b, d, rec, 1);
    *data = fb_data(b, len);
    return differ;
}
#endif

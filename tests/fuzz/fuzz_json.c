/* fuzz_json.c — libFuzzer target for the JSON reader and writer.
 * Any input: json_parse must not crash or read out of bounds. Accepted input:
 * the tree is written back with the writer, must parse again, and give the
 * same tree (types, keys, strings, numbers). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "json.h"

static void fuzz_write(const json_doc *d, const json_node *n, json_writer *w)
{
    if (n->keystr) jw_key_n(w, n->keystr, n->keylen);
    switch (n->type) {
    case JSON_NULL: jw_null(w); break;
    case JSON_TRUE: jw_bool(w, 1); break;
    case JSON_FALSE: jw_bool(w, 0); break;
    case JSON_NUMBER: jw_double(w, n->num); break;
    case JSON_STRING: jw_str(w, n->str, n->len); break;
    case JSON_ARRAY:
    case JSON_OBJECT:
        if (n->type == JSON_ARRAY) jw_arr_begin(w); else jw_obj_begin(w);
        for (const json_node *c = json_child(d, n); c; c = json_next(d, c)) fuzz_write(d, c, w);
        if (n->type == JSON_ARRAY) jw_arr_end(w); else jw_obj_end(w);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static json_doc a, b;
    static json_writer w;
    static int init;
    if (!init) { json_doc_init(&a); json_doc_init(&b); jw_init(&w); init = 1; }
    /* copy so reads past the end are caught by ASan */
    char *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    if (json_parse(&a, buf, size) == 0) {
        jw_reset(&w);
        fuzz_write(&a, json_root(&a), &w);
        if (json_parse(&b, w.buf, w.len) != 0) abort();
        if (a.nnodes != b.nnodes) abort();
        for (uint32_t i = 0; i < a.nnodes; i++) {
            const json_node *x = &a.nodes[i], *y = &b.nodes[i];
            int xt = x->type, yt = y->type;
            if (xt != yt || x->next != y->next) abort();
            if ((x->keystr == NULL) != (y->keystr == NULL)) abort();
            if (x->keystr && (x->keylen != y->keylen || memcmp(x->keystr, y->keystr, x->keylen))) abort();
            if (xt == JSON_STRING && (x->len != y->len || memcmp(x->str, y->str, x->len))) abort();
            if ((xt == JSON_ARRAY || xt == JSON_OBJECT) && x->len != y->len) abort();
            if (xt == JSON_NUMBER && x->num != y->num) abort();
        }
    } else if (a.err[0] == 0 || a.err_offset > size) {
        abort();
    }
    free(buf);
    return 0;
}

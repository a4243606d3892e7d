/* fuzz_decode.c — libFuzzer target for the FlatBuffers verifier/decoder.
 * The input is decoded as every root type, as a bare buffer and as one that
 * came size-prefixed. Decoding must never crash or read out of bounds (the
 * input is copied to an exact-size heap block so ASan sees any overread).
 * When it succeeds: the record re-encodes, the re-encoding decodes to the
 * same JSON, and that JSON reads back (fb_from_json) to the same JSON again.
 * fbrec_verify (the verify-only walk) must accept and refuse exactly the same
 * inputs, with the same message; and both must agree with the verifier as
 * it was before the per-type plans (tests/unit/fbverify_ref.h): the same
 * verdict, message and decoded record (as JSON). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "fbjson.h"
#include "fbrec.h"
#include "../unit/fbverify_ref.h"

static void fuzz_json(const fbrec_desc *d, const void *rec, json_writer *w)
{
    jw_reset(w);
    fb_to_json(d, rec, w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    static arena a1, a2, a3;
    static fb_builder b;
    static arena a4;
    static json_writer w1, w2, w3;
    static json_doc doc;
    if (!init) {
        arena_init(&a1, 0); arena_init(&a2, 0); arena_init(&a3, 0);
        fb_builder_init(&b);
        arena_init(&a4, 0);
        jw_init(&w1); jw_init(&w2); jw_init(&w3);
        json_doc_init(&doc);
        init = 1;
    }
    uint8_t *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    int n;
    const fbrec_desc *const *roots = fbrec_root_descs(&n);
    for (int r = 0; r < n; r++) {
        for (int prefixed = 0; prefixed <= 1; prefixed++) {
            const fbrec_desc *d = roots[r];
            AnyRecord rec, again, fromj, old;
            char err[256];
            char verr[256] = "", oerr[256] = "", overr[256] = "";
            arena_reset(&a1);
            arena_reset(&a4);
            int vrc = fbrec_verify(d, buf, size, prefixed, verr, sizeof verr);
            int orc = ref_decode(d, buf, size, prefixed, &old, &a4, oerr, sizeof oerr);
            int ovrc = ref_verify(d, buf, size, prefixed, overr, sizeof overr);
            if (vrc != ovrc || orc != ovrc || strcmp(verr, overr) != 0 || strcmp(oerr, overr) != 0)
                abort();   /* the verdict and reason of the old verifier */
            if (fbrec_decode(d, buf, size, prefixed, &rec, &a1, err, sizeof err) != 0) {
                if (strncmp(err, "offset ", 7) != 0)
                    abort();   /* every refusal says where */
                if (vrc == 0 || strcmp(err, verr) != 0)
                    abort();   /* verify-only refuses the same, for the same reason */
                continue;
            }
            if (vrc != 0)
                abort();
            fuzz_json(d, &rec, &w1);
            fuzz_json(d, &old, &w3);
            if (w1.len != w3.len || memcmp(w1.buf, w3.buf, w1.len) != 0)
                abort();   /* the record the old decoder gave */
            fbrec_encode(&b, d, &rec, prefixed);
            size_t len;
            const uint8_t *p = fb_data(&b, &len);
            arena_reset(&a2);
            if (fbrec_decode(d, p + (prefixed ? 4 : 0), len - (prefixed ? 4 : 0), prefixed,
                          &again, &a2, err, sizeof err) != 0)
                abort();   /* what we write we must read */
            fuzz_json(d, &again, &w2);
            if (w1.len != w2.len || memcmp(w1.buf, w2.buf, w1.len) != 0)
                abort();
            /* decoded strings may hold invalid UTF-8 (the writer replaces
             * it), so the JSON need not equal; it must still be readable */
            if (json_parse(&doc, w1.buf, w1.len) != 0)
                abort();
            arena_reset(&a3);
            if (fb_from_json(d, &doc, json_root(&doc), &fromj, &a3, err, sizeof err) != 0)
                abort();
        }
    }
    free(buf);
    return 0;
}

/* fzrec.h — structure-aware record generation for the stage fuzzers.
 *
 * The byte fuzzers (fuzz_decode, fuzz_frame) mostly make buffers the
 * verifier refuses, so a stage's record logic never sees them. Here the
 * fuzzer's bytes are choices instead: the schema descriptor of a record type
 * (fbdesc.h) is walked field by field, and each field takes a value the
 * bytes pick among the ones that break code:
 *   strings  absent, empty, a few words stages react to (fzrec_words),
 *            raw bytes (NUL, invalid UTF-8), or long: around 1 KiB, 4, 16,
 *            64, 256 KiB, 1 MiB (a block, a pool, a key buffer over)
 *   floats   0, -0, NaN, +-inf, the smallest denormal, DBL_MIN, +-DBL_MAX,
 *            2^53, 2^63, or raw bits
 *   integers 0, +-1, +-2^62 (times), INT64_MIN/MAX, a plausible time, raw
 *   enums    every value and out of range
 *   vectors  0 to a few elements, 63, 64, 65, 1000, 4096 or 10000 (labels)
 * The record is then encoded and decoded with libstream's codec, exactly
 * as a stage receives it from a frame. Header-only: the Makefile builds a
 * fuzzer from one .c file (plus the stage's objects). */
#ifndef FZREC_H
#define FZREC_H
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "arena.h"
#include "fb.h"
#include "fbrec.h"
#include "fbsgen/fbdesc.h"

/* budget: string bytes one input may still generate (long strings and
 * vectors of thousands share it), so that one run stays within seconds. */
typedef struct fz_in { const uint8_t *p; size_t n; size_t budget; } fz_in;
#define FZREC_BUDGET ((size_t)4 << 20)
static inline fz_in fz_in_make(const uint8_t *p, size_t n) { return (fz_in){ p, n, FZREC_BUDGET }; }

/* Next input byte; 0 once the input is used up (the record gets simple). */
static inline uint8_t fz_u8(fz_in *in)
{
    if (!in->n) return 0;
    in->n--;
    return *in->p++;
}

static inline uint64_t fz_bits(fz_in *in, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) v |= (uint64_t)fz_u8(in) << (8 * i);
    return v;
}

/* Words stages look for: rule and metric names, label keys, variants... A
 * target may point fzrec_words at its own list before generating. */
static const char *const fzrec_default_words[] = {
    "control", "treatment", "b", "exp", "cpu_usage", "request.duration_ms", "request.error",
    "item.ctr", "item.views", "endpoint", "status_class", "host", "model_id", "u1", "u2", "i1",
    "i2", "5xx", "experiment", "variant", "view", "click", "purchase", "__name__", "severity",
};
static const char *const *fzrec_words = fzrec_default_words;
static int fzrec_nwords = (int)(sizeof fzrec_default_words / sizeof *fzrec_default_words);
/* Longest string generated (a producer's limit: --max-string is at most 16M). */
static size_t fzrec_max_string = 1 << 20;

static inline fb_str fz_string(fz_in *in, arena *a)
{
    static const uint32_t longs[] = { 1023, 1024, 1025, 4095, 4097, 16383, 16385, 20000, 65535,
                                      65537, 262145, 1 << 20 };
    uint8_t m = fz_u8(in);
    switch (m & 7) {
    case 0: return (fb_str){ NULL, 0 };
    case 1: return (fb_str){ arena_strndup(a, "", 0), 0 };
    case 2: case 3: {                               /* raw bytes: NUL, invalid UTF-8, anything */
        size_t len = (size_t)(m >> 3);
        char *s = arena_alloc(a, len + 1, 1);
        for (size_t i = 0; i < len; i++) s[i] = (char)fz_u8(in);
        return (fb_str){ s, (uint32_t)len };
    }
    case 4: {                                       /* long, one byte repeated, maybe a word first */
        size_t len = longs[(m >> 3) % (sizeof longs / sizeof *longs)];
        if (len > fzrec_max_string) len = fzrec_max_string;
        if (len > in->budget) len = in->budget;
        in->budget -= len;
        char *s = arena_alloc(a, len + 1, 1);
        memset(s, (m & 0x80) ? 0xff : 'a' + (m >> 3) % 26, len);
        return (fb_str){ s, (uint32_t)len };
    }
    default: {
        const char *w = fzrec_words[(m >> 3) % fzrec_nwords];
        return (fb_str){ arena_strndup(a, w, strlen(w)), (uint32_t)strlen(w) };
    }
    }
}

static inline double fz_double(fz_in *in)
{
    static const double special[] = { 0.0, -0.0, 1.0, -1.0, 0.5, 100.0, NAN, -NAN, INFINITY, -INFINITY,
                                      4.9406564584124654e-324, DBL_MIN, DBL_MAX, -DBL_MAX, 9007199254740993.0,
                                      9223372036854775808.0, -9223372036854775808.0, 1e-300, 1e300, 0.999 };
    uint8_t m = fz_u8(in);
    if (m < 160) return special[m % (sizeof special / sizeof *special)];
    if (m < 224) return (double)(int8_t)fz_u8(in) * 0.25;
    uint64_t b = fz_bits(in, 8);
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

static inline int64_t fz_i64(fz_in *in)
{
    static const int64_t special[] = { 0, 1, -1, (int64_t)1 << 62, -((int64_t)1 << 62), INT64_MAX, INT64_MIN,
                                       INT64_MAX - 1, INT64_MIN + 1, 1795428000000000LL, 1795428060000000LL,
                                       1795431600000000LL, 86400000000LL };
    uint8_t m = fz_u8(in);
    if (m < 104) return special[m % (sizeof special / sizeof *special)];
    if (m < 224) return 1795428000000000LL + (int64_t)(int16_t)fz_bits(in, 2) * 1000000;   /* +-9 h around a base */
    return (int64_t)fz_bits(in, 8);
}

static inline uint32_t fz_count(fz_in *in)
{
    static const uint32_t big[] = { 63, 64, 65, 127, 128, 1000, 1024, 4096, 4097, 10000 };
    uint8_t m = fz_u8(in);
    if (m < 200) return m & 3;
    if (m < 232) return 4 + (m & 15);
    return big[m % (sizeof big / sizeof *big)];
}

static void fz_table(fz_in *in, arena *a, const fbrec_desc *d, char *out, int depth);

/* Bytes a generated value encodes to, its whole subtree: a copied vector
 * element shares its vectors with the original, so 10,000 copies of a
 * table holding 10,000 doubles encode 800 MB though they cost nothing here. */
static size_t fz_enc_bytes(const fbrec_desc *d, const char *rec)
{
    size_t n = 16;
    for (int j = 0; j < d->nfields; j++) {
        const fbrec_field_desc *f = &d->fields[j];
        const char *p = rec + f->offset;
        if (f->is_vector) {
            const char *v;
            uint32_t cnt;
            memcpy(&v, p, sizeof v);
            memcpy(&cnt, rec + f->count_offset, sizeof cnt);
            size_t esize = f->base == FB_STRING ? sizeof(fb_str) : f->base == FB_TABLE || f->base == FB_STRUCT
                         ? f->sub->size : 8;
            for (uint32_t i = 0; v && i < cnt; i++) {
                const char *e = v + (size_t)i * esize;
                n += f->base == FB_STRING ? 8 + ((const fb_str *)e)->len
                   : f->base == FB_TABLE || f->base == FB_STRUCT ? fz_enc_bytes(f->sub, e) : 8;
            }
        } else if (f->base == FB_STRING) n += ((const fb_str *)p)->len;
        else if (f->base == FB_TABLE) {
            const char *sub;
            memcpy(&sub, p, sizeof sub);
            if (sub) n += fz_enc_bytes(f->sub, sub);
        } else if (f->base == FB_STRUCT) n += fz_enc_bytes(f->sub, p);
    }
    return n;
}

/* Vector elements past the first few are cheap variations of those, so
 * 10,000 labels cost 10,000 small strings, not 10,000 input bytes each. */
static void fz_vector(fz_in *in, arena *a, const fbrec_field_desc *f, char *out, int depth)
{
    uint32_t n = depth > 2 ? 0 : fz_count(in);
    size_t esize = f->base == FB_STRING ? sizeof(fb_str) : f->base == FB_TABLE ? f->sub->size
                 : f->base == FB_STRUCT ? f->sub->size : 8;
    size_t ealign = f->base == FB_STRING ? _Alignof(fb_str) : f->base == FB_TABLE || f->base == FB_STRUCT
                  ? f->sub->align : 8;
    char *v = n ? arena_alloc(a, esize * n, ealign) : NULL;
    uint8_t mode = n > 4 ? fz_u8(in) : 0;
    size_t each = 0;   /* encoded bytes of the largest of the first elements */
    for (uint32_t i = 0; i < n; i++) {
        char *e = v + (size_t)i * esize;
        if (i < 4) {
            if (f->base == FB_STRING) *(fb_str *)e = fz_string(in, a);
            else if (f->base == FB_TABLE || f->base == FB_STRUCT) fz_table(in, a, f->sub, e, depth + 1);
            size_t bytes = f->base == FB_STRING ? 16 + ((const fb_str *)e)->len
                         : f->base == FB_TABLE || f->base == FB_STRUCT ? fz_enc_bytes(f->sub, e) : 16;
            if (bytes > each) each = bytes;
            continue;
        }
        if (each > in->budget) { n = i; break; }   /* the copies would go over the budget */
        in->budget -= each;
        memcpy(e, v + (size_t)(i % 4) * esize, esize);
        if (f->base == FB_TABLE && !(mode & 1)) {
            /* distinct first string (a label key): k<i>, or all equal when mode says so */
            for (int j = 0; j < f->sub->nfields; j++) {
                const fbrec_field_desc *sf = &f->sub->fields[j];
                if (sf->base != FB_STRING || sf->is_vector) continue;
                char buf[24];
                int len = snprintf(buf, sizeof buf, "k%05u", (mode & 2) ? n - i : i);
                *(fb_str *)(e + sf->offset) = (fb_str){ arena_strndup(a, buf, (size_t)len), (uint32_t)len };
                break;
            }
        }
    }
    memcpy(out + f->offset, &v, sizeof v);
    memcpy(out + f->count_offset, &n, sizeof n);
}

static void fz_scalar(fz_in *in, const fbrec_field_desc *f, char *dst)
{
    if (f->enm) {
        uint8_t m = fz_u8(in);
        int64_t v = m < 224 ? f->enm->vals[m % f->enm->nvals].value : (int64_t)(int8_t)fz_u8(in);
        if (f->base == FB_I8) { int8_t x = (int8_t)v; memcpy(dst, &x, 1); }
        else { uint8_t x = (uint8_t)v; memcpy(dst, &x, 1); }
        return;
    }
    switch (f->base) {
    case FB_BOOL: { uint8_t m = fz_u8(in); uint8_t x = m < 250 ? (m & 1) : m; memcpy(dst, &x, 1); break; }
    case FB_I8: case FB_U8: { uint8_t x = fz_u8(in); memcpy(dst, &x, 1); break; }
    case FB_I16: case FB_U16: { uint16_t x = (uint16_t)fz_bits(in, 2); memcpy(dst, &x, 2); break; }
    case FB_I32: {
        static const int32_t sp[] = { -1, 0, 1, 2, 10, INT32_MAX, INT32_MIN, 1000000 };
        uint8_t m = fz_u8(in);
        int32_t x = m < 200 ? sp[m % 8] : (int32_t)fz_bits(in, 4);
        memcpy(dst, &x, 4);
        break;
    }
    case FB_U32: { uint32_t x = (uint32_t)fz_bits(in, 4); memcpy(dst, &x, 4); break; }
    case FB_I64: { int64_t x = fz_i64(in); memcpy(dst, &x, 8); break; }
    case FB_U64: {
        static const uint64_t sp[] = { 0, 1, 2, 100, UINT64_MAX, (uint64_t)1 << 63, (uint64_t)1 << 53 };
        uint8_t m = fz_u8(in);
        uint64_t x = m < 200 ? sp[m % 7] : fz_bits(in, 8);
        memcpy(dst, &x, 8);
        break;
    }
    case FB_F32: { float x = (float)fz_double(in); memcpy(dst, &x, 4); break; }
    case FB_F64: { double x = fz_double(in); memcpy(dst, &x, 8); break; }
    }
}

static void fz_table(fz_in *in, arena *a, const fbrec_desc *d, char *out, int depth)
{
    for (int i = 0; i < d->nfields; i++) {
        const fbrec_field_desc *f = &d->fields[i];
        if (f->is_vector) fz_vector(in, a, f, out, depth);
        else if (f->base == FB_STRING) *(fb_str *)(out + f->offset) = fz_string(in, a);
        else if (f->base == FB_TABLE) {
            char *sub = NULL;
            if (depth < 3 && (fz_u8(in) & 1)) {
                sub = arena_alloc(a, f->sub->size, f->sub->align);
                fbrec_init(f->sub, sub);
                fz_table(in, a, f->sub, sub, depth + 1);
            }
            memcpy(out + f->offset, &sub, sizeof sub);
        } else if (f->base == FB_STRUCT) fz_table(in, a, f->sub, out + f->offset, depth + 1);
        else fz_scalar(in, f, out + f->offset);
    }
}

/* A record of type d from the input, as a stage sees it: encoded by a
 * producer, verified and decoded by libstream (arena a owns it; b holds the
 * bytes). NULL if the codec refuses it, which would be a bug of the
 * codec or of this generator: the caller aborts. */
static inline void *fzrec_make(fz_in *in, arena *a, fb_builder *b, const fbrec_desc *d)
{
    char *raw = arena_alloc(a, d->size, d->align);
    fbrec_init(d, raw);
    fz_table(in, a, d, raw, 0);
    fbrec_encode(b, d, raw, 0);
    size_t len;
    const uint8_t *buf = fb_data(b, &len);
    void *rec = arena_alloc(a, d->size, d->align);
    char err[200];
    if (fbrec_decode(d, buf, len, 0, rec, a, err, sizeof err) != 0) {
        fprintf(stderr, "fzrec: %s does not decode what it encoded: %s\n", d->name, err);
        abort();
    }
    return rec;
}

#endif

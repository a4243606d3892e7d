/* fbfield.h — a record field's value in C memory, read through its
 * descriptor (libstream/fbsgen/fbdesc.h): the bytes it takes inline, scalar
 * loads and stores widened to 64 bits, and whether it holds the schema's
 * default. Internal to libstream: shared by the binary codec (fbrec.c,
 * fbdecode.c, fbencode.c) and the JSON forms (fbjson.c); static inline so
 * the codec's hot loops keep them inlined. */
#ifndef STREAMREC_FBFIELD_H
#define STREAMREC_FBFIELD_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "fbsgen/fbdesc.h"

/* Bytes a value of this type takes inline (in a table field or a vector). */
static inline size_t fb_inline_size(const fbrec_field_desc *f)
{
    switch (f->base) {
    case FB_BOOL: case FB_I8: case FB_U8: return 1;
    case FB_I16: case FB_U16: return 2;
    case FB_I32: case FB_U32: case FB_F32: return 4;
    case FB_I64: case FB_U64: case FB_F64: return 8;
    case FB_STRUCT: return f->sub->size;
    default: return 4;   /* strings, tables: a uoffset */
    }
}

static inline size_t fb_inline_align(const fbrec_field_desc *f)
{
    return f->base == FB_STRUCT ? f->sub->align : fb_inline_size(f);
}

static inline int fb_is_scalar(int base) { return base >= FB_BOOL && base <= FB_F64; }
static inline int fb_is_float(int base) { return base == FB_F32 || base == FB_F64; }
/* Scalars in C memory, widened. */
static inline int64_t fb_load_i(int base, const void *p)
{
    switch (base) {
    case FB_BOOL: case FB_U8: return *(const uint8_t *)p;
    case FB_I8: return *(const int8_t *)p;
    case FB_I16: { int16_t v; memcpy(&v, p, 2); return v; }
    case FB_U16: { uint16_t v; memcpy(&v, p, 2); return v; }
    case FB_I32: { int32_t v; memcpy(&v, p, 4); return v; }
    case FB_U32: { uint32_t v; memcpy(&v, p, 4); return v; }
    case FB_I64: case FB_U64: { int64_t v; memcpy(&v, p, 8); return v; }
    default: return 0;
    }
}

static inline double fb_load_f(int base, const void *p)
{
    if (base == FB_F32) { float v; memcpy(&v, p, 4); return v; }
    double v; memcpy(&v, p, 8); return v;
}

static inline void fb_store_i(int base, void *p, int64_t v)
{
    switch (base) {
    case FB_BOOL: case FB_U8: case FB_I8: { uint8_t x = (uint8_t)v; memcpy(p, &x, 1); break; }
    case FB_I16: case FB_U16: { uint16_t x = (uint16_t)v; memcpy(p, &x, 2); break; }
    case FB_I32: case FB_U32: { uint32_t x = (uint32_t)v; memcpy(p, &x, 4); break; }
    case FB_I64: case FB_U64: memcpy(p, &v, 8); break;
    case FB_F32: { float x = (float)v; memcpy(p, &x, 4); break; }
    case FB_F64: { double x = (double)v; memcpy(p, &x, 8); break; }
    default: break;
    }
}

static inline void fb_store_f(int base, void *p, double v)
{
    if (base == FB_F32) { float x = (float)v; memcpy(p, &x, 4); }
    else memcpy(p, &v, 8);
}

/* Is the scalar at p bit-for-bit the field's default? */
static inline int fb_is_default(const fbrec_field_desc *f, const void *p)
{
    switch (f->base) {
    case FB_F32: { float d = (float)f->def_f; return memcmp(p, &d, 4) == 0; }
    case FB_F64: return memcmp(p, &f->def_f, 8) == 0;
    case FB_U64: { uint64_t v; memcpy(&v, p, 8); return v == f->def_u; }
    case FB_U8: case FB_U16: case FB_U32: return (uint64_t)fb_load_i(f->base, p) == f->def_u;
    case FB_BOOL: return (fb_load_i(f->base, p) != 0) == (f->def_i != 0);
    default: return fb_load_i(f->base, p) == f->def_i;
    }
}

#endif

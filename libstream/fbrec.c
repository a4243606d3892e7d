/* fbrec.c — the record codec's descriptors (see fbrec.h): lookup by name
 * and by identifier, a record at its schema defaults (fbrec_init), a deep
 * copy into an arena (fbrec_clone). The codec's two directions have a file
 * each, both walking the descriptors that fbsgen generates
 * (libstream/fbsgen/fbdesc.h): fbdecode.c verifies and decodes,
 * fbencode.c encodes. The JSON forms walk the same descriptors in
 * fbjson.c. */
#include <stdlib.h>
#include <string.h>
#include "fbrec.h"
#include "fbsgen/fbdesc.h"
#include "fbfield.h"

/* ---- descriptors ---------------------------------------------------------- */

const char *fbrec_desc_name(const fbrec_desc *d) { return d->name; }
const char *fbrec_desc_ident(const fbrec_desc *d) { return d->ident; }
size_t fbrec_size(const fbrec_desc *d) { return d->size; }

const fbrec_desc *const *fbrec_root_descs(int *n)
{
    *n = fb_gen_nroots;
    return fbrec_gen_roots;
}

/* Called for every record read: the identifiers compared as 4-byte words,
 * the thread's last match first (a stream is mostly runs of one type). */
const fbrec_desc *fbrec_desc_by_ident(const char *ident4)
{
    static _Thread_local const fbrec_desc *last;
    uint32_t want, have;
    memcpy(&want, ident4, 4);
    if (last) {
        memcpy(&have, last->ident, 4);
        if (have == want)
            return last;
    }
    for (int i = 0; i < fb_gen_nroots; i++) {
        memcpy(&have, fbrec_gen_roots[i]->ident, 4);
        if (have == want)
            return last = fbrec_gen_roots[i];
    }
    return NULL;
}

const fbrec_desc *fbrec_desc_by_name(const char *name)
{
    for (int i = 0; i < fb_gen_nall; i++)
        if (strcmp(fbrec_gen_all[i]->name, name) == 0 || strcmp(fbrec_gen_all[i]->fullname, name) == 0)
            return fbrec_gen_all[i];
    return NULL;
}

static void fb_set_default(const fbrec_field_desc *f, void *p)
{
    if (fb_is_float(f->base))
        fb_store_f(f->base, p, f->def_f);
    else if (f->base == FB_U64 || f->base == FB_U8 || f->base == FB_U16 || f->base == FB_U32)
        fb_store_i(f->base, p, (int64_t)f->def_u);
    else
        fb_store_i(f->base, p, f->def_i);
}

void fbrec_init(const fbrec_desc *d, void *out)
{
    memset(out, 0, d->size);
    if (d->is_struct)
        return;
    for (int i = 0; i < d->nfields; i++) {
        const fbrec_field_desc *f = &d->fields[i];
        if (!f->is_vector && fb_is_scalar(f->base))
            fb_set_default(f, (char *)out + f->offset);
    }
}

static void fb_clone_table(const fbrec_desc *t, const char *src, char *dst, arena *a)
{
    memcpy(dst, src, t->size);
    if (t->is_struct)
        return;
    for (int i = 0; i < t->nfields; i++) {
        const fbrec_field_desc *f = &t->fields[i];
        if (f->is_vector) {
            const char *arr;
            uint32_t n;
            memcpy(&arr, src + f->offset, sizeof arr);
            memcpy(&n, src + f->count_offset, 4);
            if (!arr)
                continue;
            size_t esize = f->base == FB_STRING ? sizeof(fb_str) : f->base == FB_TABLE ? f->sub->size
                         : fb_inline_size(f);
            size_t ealign = f->base == FB_STRING ? _Alignof(fb_str) : f->base == FB_TABLE ? f->sub->align
                          : fb_inline_align(f);
            char *copy = arena_alloc(a, n ? (size_t)n * esize : 1, ealign);
            for (uint32_t k = 0; k < n; k++) {
                const char *e = arr + (size_t)k * esize;
                char *c = copy + (size_t)k * esize;
                if (f->base == FB_STRING) {
                    const fb_str *s = (const fb_str *)e;
                    *(fb_str *)c = s->ptr ? (fb_str){ arena_strndup(a, s->ptr, s->len), s->len } : *s;
                } else if (f->base == FB_TABLE) {
                    fb_clone_table(f->sub, e, c, a);
                } else {
                    memcpy(c, e, esize);
                }
            }
            memcpy(dst + f->offset, &copy, sizeof copy);
        } else if (f->base == FB_STRING) {
            const fb_str *s = (const fb_str *)(src + f->offset);
            if (s->ptr)
                *(fb_str *)(dst + f->offset) = (fb_str){ arena_strndup(a, s->ptr, s->len), s->len };
        } else if (f->base == FB_TABLE) {
            const char *sub;
            memcpy(&sub, src + f->offset, sizeof sub);
            if (sub) {
                char *c = arena_alloc(a, f->sub->size, f->sub->align);
                fb_clone_table(f->sub, sub, c, a);
                memcpy(dst + f->offset, &c, sizeof c);
            }
        }
    }
}

void fbrec_clone(const fbrec_desc *d, const void *src, void *dst, arena *a)
{
    fb_clone_table(d, src, dst, a);
}

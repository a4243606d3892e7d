/* evenc.c — an Event without attrs, encoded as fbrec_encode writes it, in two
 * straight passes: the layout (where every string, field, the vtable and
 * the header land) is plain arithmetic on which fields are present and the
 * strings' lengths, so it is worked out first, then the bytes are written
 * once, in place, in the caller's buffer. fbrec_encode builds the same bytes
 * back to front through the general builder (a string at a time, the
 * vtable assembled and compared with earlier ones, the header padded):
 * ~940 instructions per event of the bench, ~510 here.
 *
 * The layout, as fb_enc_event (libstream/fbencode.c) and fb.c produce it,
 * positions counted from the buffer's end ("refs"):
 *   - strings in schema order (event_id, user_id, item_id, session_id,
 *     name, source, experiment, variant), each [u32 len][bytes][NUL][pad to 4];
 *   - the table: ts and value (8-byte aligned), then the references and
 *     position in schema order, then type (1 byte); padded to 4; its
 *     soffset to the vtable;
 *   - the vtable right in front (the buffer's only table: nothing to share);
 *   - padding so the whole is a multiple of the largest alignment, the
 *     identifier "EVNT", the root offset, the size prefix.
 * Anything else (attrs: KeyValue tables and their shared vtables) is left
 * to fbrec_encode. tests/unit/ingest/test_evenc.c compares the two on random
 * events, tests/fuzz/ingest/fuzz_flat.c on every fuzzed line. */
#include "record.h"

#include <string.h>

/* Little-endian, as the rest of the codec assumes (fb.h). */
static inline void ev_put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

/* The table and vtable depend only on which fields are present (and on
 * whether the strings end 4 bytes off an 8-byte boundary, for ts and
 * value): the same for most events, so each shape is worked out once and
 * kept, per thread (64 shapes, 4 KiB). */
typedef struct ev_shape {
    uint32_t key;           /* (slots << 1 | odd) + 1; 0: empty */
    uint16_t tsize;         /* the table's bytes, soffset included: obj - tstart */
    uint16_t vtbytes;
    uint16_t d[13];         /* each slot's field ref less tstart (0: absent) */
    uint16_t vt[16];        /* the vtable, zero-padded to 32 bytes */
} ev_shape;

#define EV_SHAPES 64
static __thread ev_shape ev_shapes[EV_SHAPES];

/* slots: bit i, vtable slot i present; odd: tstart is 4 mod 8 */
static const ev_shape *ev_shape_of(uint32_t slots, uint32_t odd)
{
    uint32_t key = (slots << 1 | odd) + 1;
    ev_shape *sh = &ev_shapes[(key * 0x9E3779B1u) >> 26];
    if (sh->key == key) return sh;
    memset(sh, 0, sizeof *sh);
    /* as fb_enc_event adds them: ts and value (aligned to 8), the
     * references and position in schema order (4 bytes each: size stays a
     * multiple of 4, no padding), then type (1 byte) */
    static const uint8_t order[] = { 1, 7, 0, 2, 3, 4, 6, 8, 9, 10, 11, 5 };
    uint32_t base = odd ? 4 : 0, size = base, fo[13] = { 0 };
    for (size_t k = 0; k < sizeof order; k++) {
        int i = order[k];
        if (!(slots >> i & 1)) continue;
        size = i == 1 || i == 7 ? ((size + 7) & ~7u) + 8 : i == 5 ? size + 1 : size + 4;
        fo[i] = size;
    }
    size = ((size + 3) & ~3u) + 4;   /* the soffset to the vtable */
    int n = slots ? 32 - __builtin_clz(slots) : 0;   /* trailing absent slots need no entry */
    sh->vtbytes = (uint16_t)(4 + 2 * n);
    sh->tsize = (uint16_t)(size - base);
    sh->vt[0] = sh->vtbytes;
    sh->vt[1] = sh->tsize;
    for (int i = 0; i < 13; i++)
        if (fo[i]) { sh->d[i] = (uint16_t)(fo[i] - base); sh->vt[2 + i] = (uint16_t)(size - fo[i]); }
    sh->key = key;
    return sh;
}

size_t ing_event_encode(const Event *e, uint8_t *out, size_t cap, int prefixed)
{
    if (e->attrs) return 0;
    /* each string's ref (its distance from the end; 0: absent):
     * [u32 len][bytes][NUL] padded to 4, so size stays a multiple of 4 */
    size_t size = 0;
#define EV_SREF(f) (e->f.ptr ? (size += ((size_t)e->f.len + 8) & ~(size_t)3, (uint32_t)size) : 0)
    uint32_t s_eid = EV_SREF(event_id), s_uid = EV_SREF(user_id), s_item = EV_SREF(item_id),
             s_sess = EV_SREF(session_id), s_name = EV_SREF(name), s_src = EV_SREF(source),
             s_exp = EV_SREF(experiment), s_var = EV_SREF(variant);
#undef EV_SREF
    if (size > (1u << 30)) return 0;   /* refs stay far from 2^32 */
    uint32_t tstart = (uint32_t)size;
    uint64_t value;
    memcpy(&value, &e->value, 8);   /* bit for bit: -0.0 is not the default */
    uint32_t slots = (uint32_t)(s_eid != 0) | (uint32_t)(e->ts != 0) << 1 | (uint32_t)(s_uid != 0) << 2
                   | (uint32_t)(s_item != 0) << 3 | (uint32_t)(s_sess != 0) << 4 | (uint32_t)(e->type != 0) << 5
                   | (uint32_t)(s_name != 0) << 6 | (uint32_t)(value != 0) << 7 | (uint32_t)(s_src != 0) << 8
                   | (uint32_t)(e->position != -1) << 9 | (uint32_t)(s_exp != 0) << 10 | (uint32_t)(s_var != 0) << 11;
    const ev_shape *sh = ev_shape_of(slots, tstart >> 2 & 1);
    uint32_t obj = tstart + sh->tsize, vtbytes = sh->vtbytes;
    size_t align = slots & (1u << 1 | 1u << 7) ? 8 : 4;
    size_t extra = prefixed ? 12 : 8;   /* identifier, root offset, size prefix */
    size = ((obj + vtbytes + extra + align - 1) & ~(align - 1)) - extra;
    size_t total = size + extra;
    if (total > cap) return 0;

    /* the bytes; P(r) is where the object of ref r starts. Zeroed first:
     * NULs, padding and absent slots are zero. */
    memset(out, 0, total);
#define P(r) (out + total - (r))
    /* the vtable right in front of the table; 32 bytes when there is room,
     * the ones past it zeros that the table's bytes then overwrite */
    if (obj + vtbytes >= sizeof sh->vt)
        memcpy(P(obj + vtbytes), sh->vt, sizeof sh->vt);
    else
        memcpy(P(obj + vtbytes), sh->vt, vtbytes);
#define EV_STR(f, r, slot) do { if (r) { ev_put32(P(r), e->f.len); fb_copy_short(P(r) + 4, e->f.ptr, e->f.len); \
                                         ev_put32(P(tstart + sh->d[slot]), tstart + sh->d[slot] - (r)); } } while (0)
    EV_STR(event_id, s_eid, 0); EV_STR(user_id, s_uid, 2); EV_STR(item_id, s_item, 3);
    EV_STR(session_id, s_sess, 4); EV_STR(name, s_name, 6); EV_STR(source, s_src, 8);
    EV_STR(experiment, s_exp, 10); EV_STR(variant, s_var, 11);
#undef EV_STR
    if (e->ts) memcpy(P(tstart + sh->d[1]), &e->ts, 8);
    if (value) memcpy(P(tstart + sh->d[7]), &value, 8);
    if (e->position != -1) memcpy(P(tstart + sh->d[9]), &e->position, 4);
    if (e->type) *P(tstart + sh->d[5]) = (uint8_t)e->type;
    ev_put32(P(obj), vtbytes);
    memcpy(P(size + 4), "EVNT", 4);
    ev_put32(P(size + 8), (uint32_t)(size + 8 - obj));
    if (prefixed) ev_put32(out, (uint32_t)(total - 4));
#undef P
    return total;
}

/* stream_out_set_encoder's hook for the sequential loop (main thread only:
 * one buffer). An Event too large for it, or with attrs, goes to fbrec_encode. */
const uint8_t *ingest_event_encoder(void *ctx, const void *rec, int prefixed, size_t *len)
{
    (void)ctx;
    static uint8_t buf[1 << 16];
    *len = ing_event_encode(rec, buf, sizeof buf, prefixed);
    return *len ? buf : NULL;
}

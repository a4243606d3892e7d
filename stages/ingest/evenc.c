/* evenc.c — an Event without attrs, encoded as fb_encode writes it, in two
 * straight passes: the layout (where every string, field, the vtable and
 * the header land) is plain arithmetic on which fields are present and the
 * strings' lengths, so it is worked out first, then the bytes are written
 * once, in place, in the caller's buffer. fb_encode builds the same bytes
 * back to front through the general builder (a string at a time, the
 * vtable assembled and compared with earlier ones, the header padded):
 * about 940 instructions per event against ~250 here.
 *
 * The layout, as fb_enc_event (libstream/fbrec.c) and fb.c produce it,
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
 * to fb_encode. tests/unit/ingest/test_evenc.c compares the two on random
 * events, tests/fuzz/ingest/fuzz_flat.c on every fuzzed line. */
#include "record.h"

#include <string.h>

/* Little-endian, as the rest of the codec assumes (fb.h). */
static inline void ev_put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

size_t ing_event_encode(const Event *e, uint8_t *out, size_t cap, int prefixed)
{
    if (e->attrs) return 0;
    /* the layout: each object's ref (its distance from the end; 0 absent).
     * Strings: [u32 len][bytes][NUL] padded to 4, so every string keeps
     * size a multiple of 4. */
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
    /* the table: 8-byte fields first (aligned to 8), then 4-byte ones in
     * schema order (size stays a multiple of 4: no padding), then type */
    uint32_t fo[13] = { 0 };   /* each slot's field ref, as fb_builder's field_off */
    uint32_t slots = 0;   /* bit i: slot i present */
    size_t align = 4;
    if (e->ts) { size = ((size + 7) & ~(size_t)7) + 8; fo[1] = (uint32_t)size; align = 8; slots |= 1u << 1; }
    if (value) { size = ((size + 7) & ~(size_t)7) + 8; fo[7] = (uint32_t)size; align = 8; slots |= 1u << 7; }
#define EV_FIELD(slot, present) do { if (present) { size += 4; fo[slot] = (uint32_t)size; slots |= 1u << (slot); } } while (0)
    EV_FIELD(0, s_eid); EV_FIELD(2, s_uid); EV_FIELD(3, s_item); EV_FIELD(4, s_sess);
    EV_FIELD(6, s_name); EV_FIELD(8, s_src); EV_FIELD(9, e->position != -1);
    EV_FIELD(10, s_exp); EV_FIELD(11, s_var);
#undef EV_FIELD
    if (e->type) { size += 1; fo[5] = (uint32_t)size; slots |= 1u << 5; }
    size = ((size + 3) & ~(size_t)3) + 4;   /* the soffset to the vtable */
    uint32_t obj = (uint32_t)size;
    /* trailing absent slots need no entry: n is the last present slot + 1 */
    int n = slots ? 32 - __builtin_clz(slots) : 0;
    uint32_t vtbytes = 4 + 2 * (uint32_t)n;
    size += vtbytes;
    size_t extra = prefixed ? 12 : 8;   /* identifier, root offset, size prefix */
    size = ((size + extra + align - 1) & ~(align - 1)) - extra;
    size_t total = size + extra;
    if (total > cap) return 0;

    /* the bytes; P(r) is where the object of ref r starts. Zeroed first:
     * NULs, padding and absent slots are zero. */
    memset(out, 0, total);
#define P(r) (out + total - (r))
    /* the vtable right in front of the table: its entries past n are 0 */
    uint16_t vt[16] = { (uint16_t)vtbytes, (uint16_t)(obj - tstart) };
    for (uint32_t m = slots; m; m &= m - 1) {
        int i = __builtin_ctz(m);
        vt[2 + i] = (uint16_t)(obj - fo[i]);
    }
    if (obj + vtbytes >= sizeof vt)   /* all 32 bytes: the ones past the vtable are zeros in the table */
        memcpy(P(obj + vtbytes), vt, sizeof vt);
    else
        memcpy(P(obj + vtbytes), vt, vtbytes);
#define EV_STR(f, r, slot) do { if (r) { ev_put32(P(r), e->f.len); fb_copy_short(P(r) + 4, e->f.ptr, e->f.len); \
                                         ev_put32(P(fo[slot]), fo[slot] - (r)); } } while (0)
    EV_STR(event_id, s_eid, 0); EV_STR(user_id, s_uid, 2); EV_STR(item_id, s_item, 3);
    EV_STR(session_id, s_sess, 4); EV_STR(name, s_name, 6); EV_STR(source, s_src, 8);
    EV_STR(experiment, s_exp, 10); EV_STR(variant, s_var, 11);
#undef EV_STR
    if (fo[1]) memcpy(P(fo[1]), &e->ts, 8);
    if (fo[7]) memcpy(P(fo[7]), &value, 8);
    if (fo[9]) memcpy(P(fo[9]), &e->position, 4);
    if (fo[5]) *P(fo[5]) = (uint8_t)e->type;
    ev_put32(P(obj), vtbytes);
    memcpy(P(size + 4), "EVNT", 4);
    ev_put32(P(size + 8), (uint32_t)(size + 8 - obj));
    if (prefixed) ev_put32(out, (uint32_t)(total - 4));
#undef P
    return total;
}

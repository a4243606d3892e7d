/* fbdesc.h — the layout of record descriptors, shared by the generated
 * build/gen/records.c (which defines them) and libstream/fbrec.c,
 * fbdecode.c, fbencode.c and fbjson.c (which walk them). Private to those:
 * stages use fbrec.h only.
 *
 * A descriptor lists a table's (or struct's) fields in schema order, each
 * with its wire type, vtable slot, place in the C struct and default, so one
 * generic codec serves every record type. */
#ifndef STREAMREC_FBDESC_H
#define STREAMREC_FBDESC_H
#include <stddef.h>
#include <stdint.h>

/* Wire types. For a vector, the element type. */
enum {
    FB_BOOL = 1, FB_I8, FB_U8, FB_I16, FB_U16, FB_I32, FB_U32, FB_I64, FB_U64,
    FB_F32, FB_F64, FB_STRING, FB_TABLE, FB_STRUCT
};

typedef struct fbrec_enum_val { int64_t value; const char *name; } fbrec_enum_val;

typedef struct fbrec_enum_desc {
    const char *name;
    uint8_t base;              /* underlying integer type */
    uint16_t nvals;
    const fbrec_enum_val *vals;   /* sorted by value */
} fbrec_enum_desc;

typedef struct fbrec_field_desc {
    const char *name;
    uint8_t base;              /* FB_* (element type when is_vector) */
    uint8_t is_vector;
    uint16_t slot;             /* vtable slot: voffset = 4 + 2*slot (structs: unused) */
    uint32_t offset;           /* offsetof in the C struct (structs: also the wire offset) */
    uint32_t count_offset;     /* vectors: offsetof NAME_count */
    int64_t def_i;             /* default, for signed/bool types */
    uint64_t def_u;            /* default, for unsigned types */
    double def_f;              /* default, for float types */
    const fbrec_enum_desc *enm;   /* enum type, or NULL */
    const struct fbrec_desc *sub; /* FB_TABLE / FB_STRUCT: its descriptor */
} fbrec_field_desc;

struct fbrec_desc {
    const char *name;          /* "Event" */
    const char *fullname;      /* "streamrec.Event" */
    const char *ident;         /* "EVNT", NULL if not a root type */
    uint32_t size, align;      /* sizeof/alignof the C struct (= wire size/align for structs) */
    uint8_t is_struct;
    uint16_t nfields;
    const fbrec_field_desc *fields;
};

/* Defined by the generated records.c: the root types, and every table and
 * struct type. */
extern const fbrec_desc *const fbrec_gen_roots[];
extern const int fb_gen_nroots;
extern const fbrec_desc *const fbrec_gen_all[];
extern const int fb_gen_nall;

#endif

/* fbrec.h — typed records: the C structs generated from schemas/NAME.fbs
 * (build/gen/records.h, included here) and the schema-driven binary codec
 * that verifies+decodes (fbdecode.c) and encodes them (fbencode.c), over
 * the descriptors (fbrec.c). Their JSON forms are fbjson.h's.
 *
 * Every table T in the schemas becomes:
 *   typedef struct T { ...fields in schema order... } T;
 *   extern const fbrec_desc T_desc;     // its descriptor
 *   void T_init(T *t);                  // all fields at schema defaults
 * with field types:
 *   string          -> fb_str (fb.h)  {const char *ptr; uint32_t len;} (ptr NULL: absent)
 *   bool/byte/enum  -> int8_t/uint8_t (enums: typedef'd, values T_name)
 *   int / long      -> int32_t / int64_t;  ulong -> uint64_t;  double -> double
 *   [Table] / [Struct] -> const Elem *NAME; uint32_t NAME_count;
 * Enums E get `E_<value>` constants, `const char *E_name(int)` and
 * `int E_parse(const char *s, size_t len)` (-1 if unknown).
 * Structs (Quantile) are plain C structs of the same layout.
 * `AnyRecord` is a union of every root type (event, sample, metric, drift,
 * experiment_result, recommendation, alert).
 *
 * Ownership: decoded strings point INTO the input buffer (they are NUL
 * terminated there, the verifier checked it); decoded vectors are copied
 * into the caller's arena. Encoding reads the struct and copies everything
 * into the builder.
 *
 * Prefixes: fbrec_ is this schema-driven codec; fb_ is fb.h's wire format
 * (builder, raw readers, the fb_str string view). */
#ifndef STREAMREC_FBREC_H
#define STREAMREC_FBREC_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "arena.h"
#include "fb.h"

typedef struct fbrec_desc fbrec_desc;     /* one per table type; layout (fbsgen/fbdesc.h) private to the codec's files and fbjson.c */

#include "records.h"                /* generated: structs, enums, T_desc, AnyRecord */

const char *fbrec_desc_name(const fbrec_desc *d);          /* "Event" */
const char *fbrec_desc_ident(const fbrec_desc *d);         /* "EVNT" or NULL for non-root tables */
const fbrec_desc *fbrec_desc_by_ident(const char *ident4); /* root types only; NULL if unknown */
const fbrec_desc *fbrec_desc_by_name(const char *name);    /* case-sensitive; NULL if unknown */
const fbrec_desc *const *fbrec_root_descs(int *n);         /* every root type */

/* Verify and decode buf[0..len) (no size prefix) into *out (a T of d's type).
 * prefixed: the buffer came from a size-prefixed frame, so alignment is
 * checked relative to buf-4 (as flatc --size-prefixed lays it out).
 * The identifier must match d's. 0, or -1 with err = "offset N: reason". */
int fbrec_decode(const fbrec_desc *d, const uint8_t *buf, size_t len, int prefixed,
              void *out, arena *a, char *err, size_t errlen);   /* out NULL: fbrec_verify */

/* The same checks as fbrec_decode (a buffer is accepted by both or by
 * neither, with the same reason: what fbrec_verify's own walk does not accept
 * goes through fbrec_decode's), without decoding: nothing is stored or
 * allocated. For pass-through, where the record is copied unchanged.
 * 0, or -1 with err = "offset N: reason". */
int fbrec_verify(const fbrec_desc *d, const uint8_t *buf, size_t len, int prefixed,
              char *err, size_t errlen);

/* Encode *rec into b (reset first) and finish with d's identifier. The
 * bytes are fb_data(b, &len); with size_prefixed they start with the prefix.
 * Event (one per ingested line) takes a direct path with the same bytes
 * (tests/unit/test_fbrec.c compares every path with fbrec_encode_generic). */
void fbrec_encode(fb_builder *b, const fbrec_desc *d, const void *rec, int size_prefixed);
/* The same bytes with the root table written by the plain schema walk,
 * not by its plan or the Event fast path (nested tables still take their
 * plans): the reference fbrec_encode's paths must equal (tests). */
void fbrec_encode_generic(fb_builder *b, const fbrec_desc *d, const void *rec, int size_prefixed);

void fbrec_init(const fbrec_desc *d, void *out);    /* schema defaults */
/* Deep copy of a record (strings, vectors, nested tables) into arena a, so
 * it outlives the buffer it was decoded from. Strings stay NUL-terminated. */
void fbrec_clone(const fbrec_desc *d, const void *src, void *dst, arena *a);
size_t fbrec_size(const fbrec_desc *d);             /* sizeof(T) */

#endif

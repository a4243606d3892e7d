/* fbrec.h — typed records: the C structs generated from schemas/NAME.fbs
 * (build/gen/records.h, included here) and the schema-driven codec that
 * verifies+decodes, encodes, and converts them to and from JSON.
 *
 * Every table T in the schemas becomes:
 *   typedef struct T { ...fields in schema order... } T;
 *   extern const fb_desc T_desc;        // its descriptor
 *   void T_init(T *t);                  // all fields at schema defaults
 * with field types:
 *   string          -> fb_str     {const char *ptr; uint32_t len;} (ptr NULL: absent)
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
 * into the builder. */
#ifndef STREAMREC_FBREC_H
#define STREAMREC_FBREC_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "arena.h"
#include "fb.h"
#include "json.h"

typedef struct fb_str { const char *ptr; uint32_t len; } fb_str;
#define FB_STR(s) ((fb_str){ (s), (uint32_t)strlen(s) })
#define FB_STRN(s, n) ((fb_str){ (s), (uint32_t)(n) })
static inline int fb_str_eq(fb_str a, const char *b)
{ size_t n = strlen(b); return a.ptr && a.len == n && memcmp(a.ptr, b, n) == 0; }

typedef struct fb_desc fb_desc;     /* one per table type; layout private to fbrec.c */

#include "records.h"                /* generated: structs, enums, T_desc, AnyRecord */

const char *fb_desc_name(const fb_desc *d);          /* "Event" */
const char *fb_desc_ident(const fb_desc *d);         /* "EVNT" or NULL for non-root tables */
const fb_desc *fb_desc_by_ident(const char *ident4); /* root types only; NULL if unknown */
const fb_desc *fb_desc_by_name(const char *name);    /* case-sensitive; NULL if unknown */
const fb_desc *const *fb_root_descs(int *n);         /* every root type */

/* Verify and decode buf[0..len) (no size prefix) into *out (a T of d's type).
 * prefixed: the buffer came from a size-prefixed frame, so alignment is
 * checked relative to buf-4 (as flatc --size-prefixed lays it out).
 * The identifier must match d's. 0, or -1 with err = "offset N: reason". */
int fb_decode(const fb_desc *d, const uint8_t *buf, size_t len, int prefixed,
              void *out, arena *a, char *err, size_t errlen);   /* out NULL: fb_verify */

/* The same checks as fb_decode (they share one walker: a buffer is
 * accepted by both or by neither), without decoding: nothing is stored or
 * allocated. For pass-through, where the record is copied unchanged.
 * 0, or -1 with err = "offset N: reason". */
int fb_verify(const fb_desc *d, const uint8_t *buf, size_t len, int prefixed,
              char *err, size_t errlen);

/* Encode *rec into b (reset first) and finish with d's identifier. The
 * bytes are fb_data(b, &len); with size_prefixed they start with the prefix.
 * Event (one per ingested line) takes a direct path with the same bytes
 * (tests/unit/test_fbrec.c compares every path with fb_encode_generic). */
void fb_encode(fb_builder *b, const fb_desc *d, const void *rec, int size_prefixed);
/* The same bytes with the root table written by the plain schema walk,
 * not by its plan or the Event fast path (nested tables still take their
 * plans): the reference fb_encode's paths must equal (tests). */
void fb_encode_generic(fb_builder *b, const fb_desc *d, const void *rec, int size_prefixed);

/* The two JSON forms of a record (schemas/README.md, "JSON"); both have
 * the schema's field names in schema order and enums by name.
 *   FB_JSON_JQ (--json-style jq, the default): every field, defaults too;
 *     labels and attrs as an object {"endpoint":"/api/recs"}; quantiles as
 *     fields p50, p95, p999 (fb_quantile_name); each µs time followed by
 *     NAME_iso, e.g. "ts_iso":"2026-11-23T10:00:00.000Z".
 *   FB_JSON_FLATC (--json-style flatc): what flatc --json prints, fields
 *     at their default value left out. */
typedef enum fb_json_style { FB_JSON_JQ = 0, FB_JSON_FLATC } fb_json_style;
void fb_to_json_style(const fb_desc *d, const void *rec, json_writer *w, fb_json_style style);
/* The flatc form (what this function has always written). */
void fb_to_json(const fb_desc *d, const void *rec, json_writer *w);
/* "jq" or "flatc": 0, or -1 if s is neither. */
int fb_json_style_parse(const char *s, fb_json_style *style);
/* The field name of quantile q in the jq form: "p" and the digits of q
 * after "0." (at least two: 0.5 -> p50, 0.999 -> p999, 0.05 -> p05; p0 and
 * p100 for 0 and 1). 0 if q has none (outside [0, 1], NaN, -0, more than 20
 * digits). buf: 22 bytes. */
int fb_quantile_name(double q, char *buf);

/* Fill *out from a parsed JSON object in either form, or a mix (names as
 * in the schema, plus NAME_iso and quantile names; unknown member, wrong
 * type or bad enum name is an error naming the field; a NAME_iso that is
 * not the instant in NAME is an error too). null is the field's default,
 * except for a float or double: NaN (both forms print NaN and infinities
 * as null, so json -> record -> json keeps the text).
 * Strings are copied into the arena. 0 or -1 with err. */
int fb_from_json(const fb_desc *d, const json_doc *doc, const json_node *obj,
                 void *out, arena *a, char *err, size_t errlen);

void fb_init_record(const fb_desc *d, void *out);    /* schema defaults */
/* Deep copy of a record (strings, vectors, nested tables) into arena a, so
 * it outlives the buffer it was decoded from. Strings stay NUL-terminated. */
void fb_record_clone(const fb_desc *d, const void *src, void *dst, arena *a);
size_t fb_record_size(const fb_desc *d);             /* sizeof(T) */

#endif

/* json.h — a fast, strict JSON reader (one document at a time, e.g. a line)
 * and a JSON writer.
 *
 * Reader: json_parse builds a flat array of nodes in document order inside a
 * reusable json_doc. Strings are unescaped into doc-owned memory and their
 * UTF-8 validated; numbers keep their double value and, when integral and in
 * range, an exact int64. Nesting depth and node count are capped (JSON_MAX_*)
 * so hostile input cannot make it allocate without bound. Nothing returned
 * outlives the next json_parse or json_doc_free on the same doc.
 *
 * Errors: json_parse returns -1 and fills doc->err (a human sentence) and
 * doc->err_offset (byte offset in the input where it went wrong).
 *
 * Writer: appends to a growable buffer; doubles are printed with the fewest
 * digits that read back to the same value; strings are escaped per RFC 8259
 * (control characters as \u00XX). */
#ifndef STREAMREC_JSON_H
#define STREAMREC_JSON_H
#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH 64
#define JSON_MAX_NODES (1u << 20)

typedef enum { JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING,
               JSON_ARRAY, JSON_OBJECT } json_type;

typedef struct json_node {
    json_type type;
    uint32_t len;      /* string: bytes (unescaped); array/object: child count */
    uint32_t next;     /* index of the next sibling, 0 if none */
    const char *str;   /* string value (NUL-terminated), or number's source text */
    const char *keystr;/* member name (NUL-terminated) when the parent is an object */
    uint32_t keylen;
    int is_int;        /* number is integral and fits int64 */
    int64_t i;         /* exact value when is_int */
    double num;        /* number value */
} json_node;

typedef struct json_doc {
    json_node *nodes; uint32_t nnodes, cap;
    char *scratch; size_t scratch_len, scratch_cap;
    char err[160];
    size_t err_offset;
    int has_nul;       /* a string holds NUL (only \u0000 decodes to it): else no NUL anywhere */
} json_doc;

void json_doc_init(json_doc *d);
void json_doc_free(json_doc *d);
/* Parse exactly one JSON value (surrounding whitespace allowed). 0 or -1. */
int json_parse(json_doc *d, const char *buf, size_t len);
static inline const json_node *json_root(const json_doc *d) { return d->nnodes ? &d->nodes[0] : NULL; }
/* First child of an array/object, NULL if empty; then json_next. */
const json_node *json_child(const json_doc *d, const json_node *n);
/* inline: called for every member a reader walks */
static inline const json_node *json_next(const json_doc *d, const json_node *n)
{ return n && n->next ? &d->nodes[n->next] : NULL; }
/* Member of an object by name, NULL if absent (first match). */
const json_node *json_get(const json_doc *d, const json_node *obj, const char *key);
const char *json_type_name(json_type t);

/* Writer */
typedef struct json_writer {
    char *buf; size_t len, cap;
    int need_comma;    /* internal: a value was written at this level */
} json_writer;

void jw_init(json_writer *w);
void jw_free(json_writer *w);
void jw_reset(json_writer *w);        /* len = 0, keep memory */
void jw_obj_begin(json_writer *w);
void jw_obj_end(json_writer *w);
void jw_arr_begin(json_writer *w);
void jw_arr_end(json_writer *w);
void jw_key(json_writer *w, const char *key);          /* then one value */
void jw_str(json_writer *w, const char *s, size_t len); /* s may be NULL: null */
void jw_cstr(json_writer *w, const char *s);
void jw_double(json_writer *w, double v);   /* NaN/Inf are not JSON: written as null */
void jw_int(json_writer *w, int64_t v);
void jw_uint(json_writer *w, uint64_t v);
void jw_bool(json_writer *w, int v);
void jw_null(json_writer *w);
void jw_raw(json_writer *w, const char *s, size_t len); /* pre-formatted value */
void jw_newline(json_writer *w);   /* ends a JSON line; resets comma state */
/* Shortest "%.Ng" that reads back to v; buf needs 32 bytes. Returns length. */
int json_format_double(char *buf, double v);

/* Added: 1 if s[0..len) is valid UTF-8 (no overlong forms, no surrogates,
 * nothing above U+10FFFF), else 0. The reader applies the same rule. */
int json_utf8_valid(const char *s, size_t len);
/* Added: jw_key for a member name of known length (it may hold NUL bytes). */
void jw_key_n(json_writer *w, const char *key, size_t len);

#endif

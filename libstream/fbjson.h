/* fbjson.h — a typed record (fbrec.h) to and from JSON, in the two forms of
 * schemas/README.md ("JSON"), by walking the same descriptors as the binary
 * codec. fbrec.h includes this header, so every user of records has both. */
#ifndef STREAMREC_FBJSON_H
#define STREAMREC_FBJSON_H
#include <stddef.h>
#include "arena.h"
#include "json.h"

typedef struct fbrec_desc fbrec_desc;     /* fbrec.h */

/* The two JSON forms of a record (schemas/README.md, "JSON"); both have
 * the schema's field names in schema order and enums by name.
 *   FB_JSON_JQ (--json-style jq, the default): every field, defaults too;
 *     labels and attrs as an object {"endpoint":"/api/recs"}; quantiles as
 *     fields p50, p95, p999 (fb_quantile_name); each µs time followed by
 *     NAME_iso, e.g. "ts_iso":"2026-11-23T10:00:00.000Z".
 *   FB_JSON_FLATC (--json-style flatc): what flatc --json prints, fields
 *     at their default value left out. */
typedef enum fb_json_style { FB_JSON_JQ = 0, FB_JSON_FLATC } fb_json_style;
void fb_to_json_style(const fbrec_desc *d, const void *rec, json_writer *w, fb_json_style style);
/* The flatc form (what this function has always written). */
void fb_to_json(const fbrec_desc *d, const void *rec, json_writer *w);
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
int fb_from_json(const fbrec_desc *d, const json_doc *doc, const json_node *obj,
                 void *out, arena *a, char *err, size_t errlen);

#endif

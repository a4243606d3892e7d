/* record.h — what ingest's files share inside the stage (not part of
 * ingest.h's contract): the refusal, the typed getters, labels and
 * emitting from record.c, and the JSON-lines entry point (jsonl.c). */
#ifndef INGEST_RECORD_H
#define INGEST_RECORD_H
#include <string.h>

#include "ingest.h"

/* Refuse the line: g->reason, g->detail (printf), counted. ING_BAD. (ingest.c) */
int ing_bad(ingest *g, const char *reason, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* record.c */
const char *ing_jkind(json_type t);
const char *ing_kind(const ing_val *v);
int ing_get_num(ingest *g, const ing_val *v, double *out, int required);
int ing_get_int(ingest *g, const ing_val *v, int64_t *out, int64_t lo, int64_t hi, int required);
int64_t ing_now(ingest *g, int64_t now);
int ing_get_ts(ingest *g, const ing_val *ts, const ing_val *alt, int64_t now, int64_t *out);
int ing_label_set(ingest *g, const char *key, uint32_t keylen, const char *val, uint32_t vallen);
void ing_sort_kv(ingest *g);
size_t ing_record_bound(const fb_str *strs, int nstrs, const KeyValue *kv, uint32_t nkv);
int ing_too_big(ingest *g, size_t bound);
int ing_sample_start(ingest *g, const ing_val *f);
int ing_emit_sample(ingest *g, Sample *s);

/* ingest_field_index, inline for the readers: called for every member of
 * every line (dispatch on the length, then one memcmp against the one or few
 * names of that length). */
static inline int ing_field_index(const char *name, size_t len)
{
#define F(id) do { const char *f_ = ingest_field_names[id]; \
                   if (name[0] == f_[0] && memcmp(name, f_, len) == 0) return id; } while (0)
    switch (len) {
    case 2: F(F_TS); break;
    case 5: F(F_VALUE); break;
    case 6: F(F_SOURCE); F(F_LABELS); F(F_METRIC); F(F_STATUS); break;
    case 7: F(F_USER_ID); F(F_ITEM_ID); F(F_VARIANT); F(F_METRICS); break;
    case 8: F(F_EVENT_ID); F(F_POSITION); F(F_METADATA); F(F_MODEL_ID); F(F_ENDPOINT); break;
    case 9: F(F_TIMESTAMP); F(F_SAMPLE_ID); break;
    case 10: F(F_SESSION_ID); F(F_EVENT_TYPE); F(F_EXPERIMENT); break;
    case 11: F(F_METRIC_NAME); F(F_DURATION_MS); break;
    case 13: F(F_MODEL_VERSION); break;
    }
#undef F
    return -1;
}

/* evenc.c: the bytes fbrec_encode(b, &Event_desc, e, prefixed) gives, written
 * to out: their length, or 0 when e has attrs (left to fbrec_encode) or they
 * would not fit in cap. */
size_t ing_event_encode(const Event *e, uint8_t *out, size_t cap, int prefixed);

/* jsonl.c */
int ing_json_line(ingest *g, const char *line, size_t len, int64_t now);

/* A JSON line's top-level members beyond f[]: the first fields present
 * (bit F_...), and the unknown ones (at most --max-attrs kept, all counted). */
typedef struct ing_members {
    const json_node **extra;
    uint32_t nextra, nextra_all, present;
} ing_members;

/* flat.c: the usual line (one object of scalars and objects of scalars, no
 * escapes) into g->doc as json_parse builds it, its fields into f (from
 * ingest_fields_init) and mb (zeroed, extra = g->extra): 1. 0: not such a
 * line, or not read to the end: f and mb hold a part, g->doc nothing
 * usable; json_parse reads it. */
int ing_flat_read(ingest *g, const char *line, size_t len, ing_val *f, ing_members *mb);
/* Tests: the scan 32 bytes a step (AVX2, when the CPU has it; the default)
 * or 16 (SSE2). Returns whether the 32-byte scan is on. */
int ing_flat_set_wide(int on);

/* ---- typed getters: 0 ok (or absent when !required), ING_BAD otherwise ------ */

static inline int ing_present(const ing_val *v)
{
    return v->n != NULL || v->s != NULL;
}

/* inline: eight calls per event */
static inline __attribute__((always_inline)) int ing_get_str(ingest *g, const ing_val *v, fb_str *out, int required)
{
    out->ptr = NULL;
    out->len = 0;
    if (!ing_present(v)) {
        if (required) return ing_bad(g, "missing_field", "%s is missing", v->name);
        return 0;
    }
    const char *s;
    uint32_t len;
    if (v->n) {
        if (v->n->type != JSON_STRING)
            return ing_bad(g, "wrong_type", "%s is %s, expected a string", v->name, ing_kind(v));
        s = v->n->str;
        len = v->n->len;
    } else {
        s = v->s;
        len = v->len;
    }
    if (len > g->c.max_string)
        return ing_bad(g, "too_long", "%s is %u bytes, over the %zu-byte limit (--max-string)",
                       v->name, len, g->c.max_string);
    if (required && len == 0) return ing_bad(g, "missing_field", "%s is empty", v->name);
    if (!g->no_nul && memchr(s, 0, len))
        return ing_bad(g, "wrong_type", "%s contains a NUL character", v->name);
    out->ptr = s;
    out->len = len;
    return 0;
}

#endif

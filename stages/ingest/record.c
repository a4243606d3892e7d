/* record.c — from a line's fields to Event and Sample records: validate
 * (types, sizes, timestamps), attrs and labels, dedup, rate limit, ids,
 * emit. The JSON-lines reader (jsonl.c) and the CSV reader (csv.c) hand
 * their fields here. Contract in ingest.h; what they share in record.h. */
#include "ingest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "record.h"
#include "timefmt.h"

/* ---- small pieces ---------------------------------------------------------- */

EventType ingest_event_type(const char *s, size_t n)
{
#define IS(lit) (n == sizeof lit - 1 && memcmp(s, lit, n) == 0)
    if (IS("impression")) return EventType_impression;
    if (IS("view") || IS("book_view")) return EventType_view;
    if (IS("click") || IS("book_click")) return EventType_click;
    if (IS("add_to_cart")) return EventType_add_to_cart;
    if (IS("purchase")) return EventType_purchase;
    if (IS("rating")) return EventType_rating;
    if (IS("exposure")) return EventType_exposure;
#undef IS
    return EventType_custom;
}

/* What the value is, for "user_id is a number, expected a string". */
const char *ing_jkind(json_type t)
{
    switch (t) {
    case JSON_NULL: return "null";
    case JSON_TRUE: case JSON_FALSE: return "a boolean";
    case JSON_NUMBER: return "a number";
    case JSON_STRING: return "a string";
    case JSON_ARRAY: return "an array";
    case JSON_OBJECT: return "an object";
    }
    return "?";
}

const char *ing_kind(const ing_val *v)
{
    return v->n ? ing_jkind(v->n->type) : "text";
}

/* ---- typed getters: 0 ok (or absent when !required), ING_BAD otherwise ------ */

/* A number: JSON number, or (CSV) text in JSON number syntax. */
int ing_get_num(ingest *g, const ing_val *v, double *out, int required)
{
    if (!ing_present(v)) {
        if (required) return ing_bad(g, "missing_field", "%s is missing", v->name);
        return 0;
    }
    if (v->n) {
        if (v->n->type != JSON_NUMBER)
            return ing_bad(g, "wrong_type", "%s is %s, expected a number", v->name, ing_kind(v));
        *out = v->n->num;
        return 0;
    }
    const char *s = v->s;
    int ok = v->len > 0 && v->len < 64;
    for (uint32_t i = 0; ok && i < v->len; i++)
        ok = (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '+' || s[i] == '.' || s[i] == 'e' || s[i] == 'E';
    char *end = NULL;
    double d = ok ? strtod(s, &end) : 0;
    if (!ok || end != s + v->len || !isfinite(d))
        return ing_bad(g, "wrong_type", "%s '%.40s' is not a number", v->name, s);
    *out = d;
    return 0;
}

int ing_get_int(ingest *g, const ing_val *v, int64_t *out, int64_t lo, int64_t hi, int required)
{
    double d = 0;
    int rc = ing_get_num(g, v, &d, required);
    if (rc || !ing_present(v)) return rc;
    if (d != floor(d))
        return ing_bad(g, "wrong_type", "%s is %g, expected an integer", v->name, d);
    if (d < (double)lo || d > (double)hi)
        return ing_bad(g, "wrong_type", "%s is %g, outside %lld..%lld", v->name, d, (long long)lo, (long long)hi);
    *out = (int64_t)d;
    return 0;
}

int64_t ingest_now(ingest *g)
{
    if (!g->now_line) g->now_line = g->now_seen = now_us();
    return g->now_line;
}

int64_t ing_now(ingest *g, int64_t now)
{
    return now ? now : ingest_now(g);
}

/* ts or timestamp; absent: arrival time. */
int ing_get_ts(ingest *g, const ing_val *ts, const ing_val *alt, int64_t now, int64_t *out)
{
    const ing_val *v = ing_present(ts) ? ts : alt;
    if (!ing_present(v)) { *out = ing_now(g, now); return 0; }
    const char *s;
    size_t len;
    if (v->n) {
        if (v->n->type != JSON_STRING && v->n->type != JSON_NUMBER)
            return ing_bad(g, "bad_timestamp", "%s is %s, expected ISO 8601 text or epoch seconds/milliseconds",
                           v->name, ing_kind(v));
        s = v->n->str;
        len = v->n->len;
    } else {
        s = v->s;
        len = v->len;
    }
    int64_t us = 0;
    int rc = ingest_ts_text(s, len, &us);
    if (rc == -1)
        return ing_bad(g, "bad_timestamp", "%s '%.60s' is neither ISO 8601 with a zone nor an epoch number",
                       v->name, s);
    if (rc == -3)
        return ing_bad(g, "bad_timestamp", "%s '%.60s' has no zone (add Z or +HH:MM: a local time is ambiguous)",
                       v->name, s);
    /* 0 is the epoch itself: an unset clock, and the records' "no ts" */
    if (rc == -2 || us <= 0)
        return ing_bad(g, "implausible_timestamp",
                       "%s '%.60s' is not a plausible time (not after 1970-01-01T00:00:00Z, or beyond year 5000)",
                       v->name, s);
    /* an earlier clock reading is no later than now: only a ts beyond it
     * needs the clock read for this line */
    int64_t known = now ? now : g->now_line ? g->now_line : g->now_seen;
    if (us > known + g->c.max_skew_us && us > (now = ing_now(g, now)) + g->c.max_skew_us) {
        char a[40], b[40];
        time_format_iso(us, a);
        time_format_iso(now, b);
        return ing_bad(g, "implausible_timestamp", "%s %s is more than --max-skew ahead of now (%s)", v->name, a, b);
    }
    *out = us;
    return 0;
}

/* ---- attrs and labels ------------------------------------------------------- */

int ingest_kv_add(ingest *g, const char *key, uint32_t keylen, const char *val, uint32_t vallen,
                      const char *what)
{
    if (g->nkv >= g->c.max_attrs + g->nkv_builtin)
        return ing_bad(g, "too_long", "more than %u %s (--max-attrs)", g->c.max_attrs, what);
    if (keylen > g->c.max_string || vallen > g->c.max_string)
        return ing_bad(g, "too_long", "%s %.60s is %u bytes, over the %zu-byte limit (--max-string)", what,
                       key, keylen > g->c.max_string ? keylen : vallen, g->c.max_string);
    if (!json_utf8_valid(val, vallen) || !json_utf8_valid(key, keylen))
        return ing_bad(g, "bad_utf8", "%s %.60s is not valid UTF-8", what, key);
    if (!g->no_nul && (memchr(key, 0, keylen) || memchr(val, 0, vallen)))
        return ing_bad(g, "wrong_type", "%s %.60s contains a NUL character", what, key);
    g->kv[g->nkv].key = FB_STRN(key, keylen);
    g->kv[g->nkv].value = FB_STRN(val, vallen);
    g->nkv++;
    return 0;
}

/* A label ingest itself derives (model_id, endpoint, status_class...): it
 * replaces a user label of the same key, and does not count against
 * --max-attrs (at most ING_BUILTIN_LABELS per line). */
int ing_label_set(ingest *g, const char *key, uint32_t keylen, const char *val, uint32_t vallen)
{
    for (uint32_t i = 0; i < g->nkv; i++)
        if (g->kv[i].key.len == keylen && !memcmp(g->kv[i].key.ptr, key, keylen)) {
            if (vallen > g->c.max_string)
                return ing_bad(g, "too_long", "label %s is %u bytes, over the %zu-byte limit (--max-string)",
                               key, vallen, g->c.max_string);
            g->kv[i].value = FB_STRN(val, vallen);
            return 0;
        }
    g->nkv_builtin++;
    return ingest_kv_add(g, key, keylen, val, vallen, "labels");
}

/* Labels sorted by key (bytes), first of equal keys kept: one series, one key. */
void ing_sort_kv(ingest *g)
{
    KeyValue *kv = g->kv;
    for (uint32_t i = 1; i < g->nkv; i++) {
        KeyValue x = kv[i];
        uint32_t j = i;
        while (j > 0) {
            uint32_t m = kv[j - 1].key.len < x.key.len ? kv[j - 1].key.len : x.key.len;
            int c = memcmp(kv[j - 1].key.ptr, x.key.ptr, m);
            if (c < 0 || (c == 0 && kv[j - 1].key.len <= x.key.len)) break;
            kv[j] = kv[j - 1];
            j--;
        }
        kv[j] = x;
    }
    uint32_t o = 0;
    for (uint32_t i = 0; i < g->nkv; i++) {
        if (o > 0 && kv[o - 1].key.len == kv[i].key.len && !memcmp(kv[o - 1].key.ptr, kv[i].key.ptr, kv[i].key.len))
            continue;
        kv[o++] = kv[i];
    }
    g->nkv = o;
}

/* ---- emitting --------------------------------------------------------------- */

/* An upper bound of a record's encoded size: its strings (length, NUL and
 * padding: +8 each), 32 bytes per key/value table (vtable, table, vector
 * slot, alignment) and 512 for the root table, prefix and identifier. */
size_t ing_record_bound(const fb_str *strs, int nstrs, const KeyValue *kv, uint32_t nkv)
{
    size_t n = 512;
    for (int i = 0; i < nstrs; i++) n += (size_t)strs[i].len + 8;
    for (uint32_t i = 0; i < nkv; i++) n += 32 + (size_t)kv[i].key.len + 8 + (size_t)kv[i].value.len + 8;
    return n;
}

/* A record the next stage could not read (over --max-record: a corrupt
 * stream to it), or could not derive its own from, is refused here, so
 * every record ingest writes passes every stage (schemas/SIZES.md). */
int ing_too_big(ingest *g, size_t bound)
{
    if (!g->c.max_record || bound <= g->c.max_record) return 0;
    return ing_bad(g, "too_long", "the record would take up to %zu bytes, over the %zu-byte limit "
                   "(--max-record less 64 KiB for what later stages add)", bound, g->c.max_record);
}

/* A generated id: the letter, then h as 16 lower-case hex digits and a NUL
 * (what "%c%016llx" prints, without printf on every line). out: 18 bytes. */
static void ing_hex_id(char *out, char letter, uint64_t h)
{
    static const char hex[] = "0123456789abcdef";
    out[0] = letter;
    for (int i = 16; i >= 1; i--, h >>= 4) out[i] = hex[h & 15];
    out[17] = 0;
}

/* FNV-1a of: the topic and a NUL (nothing for a byte stream), the
 * partition (4 bytes) and the offset or line number (8 bytes), little-endian. */
void ingest_set_pos(ingest *g, const char *topic, int32_t partition, int64_t offset)
{
    /* kept, hashed only when a sample needs its id (ing_pos_hash): most
     * lines are events */
    g->pos_topic = topic;
    g->pos_partition = partition;
    g->pos_offset = offset;
    g->pos_set = 1;
}

static uint64_t ing_pos_hash(const ingest *g)
{
    const char *topic = g->pos_topic;
    uint64_t h = hash_fnv1a64(topic ? topic : "", topic ? strlen(topic) + 1 : 0);
    h = hash_fnv1a64_le(h, (uint32_t)g->pos_partition, 4);
    return hash_fnv1a64_le(h, (uint64_t)g->pos_offset, 8);
}

/* The line's sample_id, if it has one; the samples of the line are counted
 * from 0 (ing_emit_sample). */
int ing_sample_start(ingest *g, const ing_val *f)
{
    g->sample_seq = 0;
    return ing_get_str(g, &f[F_SAMPLE_ID], &g->sample_id, 0);
}

/* The Kafka key is the series' (record_key, in stream_write).
 * sample_id: the line's own (shared by the samples of one line, which
 * differ in name: aggregate keys a copy on id and name), else "s" + 16 hex
 * digits of FNV-1a over the record's position, its bytes and the sample's
 * index in the line. The same line read again at the same place (Kafka
 * redelivering after a crash, the same file ingested again) gives the same
 * ids; two identical lines at two places give two ids, so both count. */
int ing_emit_sample(ingest *g, Sample *s)
{
    int rc;
    if (g->sample_id.ptr) {
        s->sample_id = g->sample_id;
    } else {
        uint64_t h;
        if (g->pos_set) {
            h = ing_pos_hash(g);
        } else {   /* no position given (a library caller): the record's number as a line's */
            h = hash_fnv1a64_le(HASH_FNV1A64_BASIS, 0, 4);
            h = hash_fnv1a64_le(h, g->rec_no, 8);
        }
        h = hash_fnv1a64_more(h, g->raw, g->raw_len);
        h = hash_fnv1a64_le(h, g->sample_seq, 4);
        char *id = arena_alloc(&g->ar, 18, 1);
        ing_hex_id(id, 's', h);
        s->sample_id = FB_STRN(id, 17);
    }
    g->sample_seq++;
    const fb_str strs[] = { s->name, s->sample_id };
    if ((rc = ing_too_big(g, ing_record_bound(strs, 2, s->labels, s->labels_count)))) return rc;
    if (g->c.emit(g->c.emit_ctx, &Sample_desc, s, NULL, 0)) return ING_FAIL;
    g->n_samples++;
    return ING_OUT;
}

/* ---- the three kinds ---------------------------------------------------------- */

int ingest_build_event(ingest *g, const ing_val *f, int64_t now, const char *raw, size_t rawlen)
{
    Event ev;
    Event_init(&ev);
    int rc;
    if ((rc = ing_get_str(g, &f[F_USER_ID], &ev.user_id, 1))) return rc;
    if ((rc = ing_get_str(g, &f[F_EVENT_TYPE], &ev.name, 1))) return rc;
    if ((rc = ing_get_str(g, &f[F_EVENT_ID], &ev.event_id, 0))) return rc;
    if ((rc = ing_get_str(g, &f[F_ITEM_ID], &ev.item_id, 0))) return rc;
    if ((rc = ing_get_str(g, &f[F_SESSION_ID], &ev.session_id, 0))) return rc;
    if ((rc = ing_get_str(g, &f[F_SOURCE], &ev.source, 0))) return rc;
    if ((rc = ing_get_str(g, &f[F_EXPERIMENT], &ev.experiment, 0))) return rc;
    if ((rc = ing_get_str(g, &f[F_VARIANT], &ev.variant, 0))) return rc;
    if ((rc = ing_get_num(g, &f[F_VALUE], &ev.value, 0))) return rc;
    int64_t pos = -1;
    if ((rc = ing_get_int(g, &f[F_POSITION], &pos, 0, INT32_MAX, 0))) return rc;
    ev.position = (int32_t)pos;
    if ((rc = ing_get_ts(g, &f[F_TS], &f[F_TIMESTAMP], now, &ev.ts))) return rc;
    ev.type = ingest_event_type(ev.name.ptr, ev.name.len);
    ev.attrs = g->nkv ? g->kv : NULL;
    ev.attrs_count = g->nkv;

    char idbuf[24];
    if (!ev.event_id.ptr) {
        /* no event_id: the content decides, so a resent line dedups */
        ing_hex_id(idbuf, 'h', hash_fnv1a64(raw, rawlen));
        ev.event_id = FB_STRN(idbuf, 17);
    }
    const fb_str strs[] = { ev.event_id, ev.user_id, ev.item_id, ev.session_id, ev.name, ev.source,
                            ev.experiment, ev.variant };
    if ((rc = ing_too_big(g, ing_record_bound(strs, 8, ev.attrs, ev.attrs_count)))) return rc;
    uint64_t h = g->id_hash_ok ? g->id_hash : hash_table(ev.event_id.ptr, ev.event_id.len);
    dedup_at(&g->dd, ev.ts);
    if (dedup_seen(&g->dd, h)) { g->n_dups++; return ING_DUP; }
    if (g->c.rate_per_s > 0   /* off: no need to hash user_id */
        && !ratelimit_allow(&g->rl, hash_table(ev.user_id.ptr, ev.user_id.len), g->c.rate_arrival ? ing_now(g, now) : ev.ts))
        return ingest_rate_limited(g, ev.user_id.ptr);
    if (g->c.emit(g->c.emit_ctx, &Event_desc, &ev, NULL, 0)) return ING_FAIL;
    dedup_add(&g->dd, h);
    g->n_events++;
    return ING_OUT;
}

int ingest_build_sample(ingest *g, const ing_val *f, int64_t now)
{
    Sample s;
    Sample_init(&s);
    int rc;
    if ((rc = ing_sample_start(g, f))) return rc;
    const ing_val *nv = ing_present(&f[F_METRIC_NAME]) ? &f[F_METRIC_NAME] : &f[F_METRIC];
    if ((rc = ing_get_str(g, nv, &s.name, 1))) return rc;
    if ((rc = ing_get_num(g, &f[F_VALUE], &s.value, 1))) return rc;
    if ((rc = ing_get_ts(g, &f[F_TS], &f[F_TIMESTAMP], now, &s.ts))) return rc;
    ing_sort_kv(g);
    s.labels = g->nkv ? g->kv : NULL;
    s.labels_count = g->nkv;
    return ing_emit_sample(g, &s);
}

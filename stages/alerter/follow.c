/* follow.c — the alerter's alerts follow their input partition
 * (follow.h).
 *
 * An alert's changelog record: key its fingerprint (16 hex digits), blob
 * (little-endian) u8 version 1, u8 state, u8 severity, u8 notified, u8
 * acked, i64 starts_at, fired_at, last_seen, last_sent (µs), f64 value,
 * u16 rule name length and the name, u16 label count, then per label u16
 * length and key, u16 length and value. The rule goes by name, as in
 * --state: a reload that renames or drops it drops the alert. */
#include "follow.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "changelog.h"
#include "engine_int.h"
#include "log.h"
#include "timefmt.h"

#define AL_BLOB_VERSION 1
#define AL_BLOB_FIXED (5 + 4 * 8 + 8)

struct al_follow {
    al_engine *eng;
    changelog *cl;
    stream_in *in;
    stream_out *out;
    int rebalanced;
    uint8_t *buf; size_t cap;           /* one blob */
    al_follow_stats st;
};

/* ---- the blob ------------------------------------------------------------ */

static uint8_t *put_u16(uint8_t *p, size_t v) { uint16_t x = (uint16_t)v; memcpy(p, &x, 2); return p + 2; }
static uint8_t *put_bytes(uint8_t *p, const void *s, size_t n) { p = put_u16(p, n); if (n) memcpy(p, s, n); return p + n; }

static size_t blob_encode(al_follow *f, const al_alert *a)
{
    const char *rule = f->eng->cfg->rules[a->rule].name;
    size_t need = AL_BLOB_FIXED + 2 + strlen(rule) + 2;
    for (int i = 0; i < a->nlabels; i++) need += 4 + a->labels[i].key.len + a->labels[i].value.len;
    if (need > f->cap) {
        uint8_t *b = realloc(f->buf, need * 2);
        if (!b) log_fatal("out of memory");
        f->buf = b;
        f->cap = need * 2;
    }
    uint8_t *p = f->buf;
    *p++ = AL_BLOB_VERSION;
    *p++ = (uint8_t)a->state;
    *p++ = (uint8_t)a->severity;
    *p++ = (uint8_t)a->notified;
    *p++ = (uint8_t)a->acked;
    const int64_t t[4] = { a->starts_at, a->fired_at, a->last_seen, a->last_sent };
    memcpy(p, t, sizeof t); p += sizeof t;
    memcpy(p, &a->value, 8); p += 8;
    p = put_bytes(p, rule, strlen(rule));
    p = put_u16(p, (size_t)a->nlabels);
    for (int i = 0; i < a->nlabels; i++) {
        p = put_bytes(p, a->labels[i].key.ptr, a->labels[i].key.len);
        p = put_bytes(p, a->labels[i].value.ptr, a->labels[i].value.len);
    }
    return (size_t)(p - f->buf);
}

/* A length-prefixed string at *p (before end): 1 and *out, 0 cut short. */
static int get_bytes(const uint8_t **p, const uint8_t *end, fb_str *out)
{
    uint16_t n;
    if (end - *p < 2) return 0;
    memcpy(&n, *p, 2);
    if (end - *p - 2 < n) return 0;
    *out = FB_STRN((const char *)*p + 2, n);
    *p += 2 + n;
    return 1;
}

typedef struct restore_ctx { al_follow *f; int32_t part; uint64_t rule_gone, full; } restore_ctx;

/* The alert fp is gone from this process (a tombstone, or a newer state
 * replaces it): no notification, and the changelog still holds what it
 * holds. */
static void forget(al_engine *e, uint64_t fp)
{
    al_alert *a = al_find(e, fp);
    if (!a) return;
    a->cl_saved = 0;
    al_remove(e, a);
}

static const char *restore_alert(restore_ctx *rc, uint64_t fp, const uint8_t *v, size_t n)
{
    al_engine *e = rc->f->eng;
    const uint8_t *p = v, *end = v + n;
    if (n < AL_BLOB_FIXED) return "shorter than an alert";
    if (p[0] != AL_BLOB_VERSION) return "unknown alert version";
    int state = p[1], severity = p[2];
    if (state != AL_PENDING && state != AL_FIRING) return "unknown alert state";
    if (severity < Severity_MIN || severity > Severity_MAX) return "unknown severity";
    int64_t t[4];
    double value;
    memcpy(t, p + 5, sizeof t);
    memcpy(&value, p + 5 + sizeof t, 8);
    p += AL_BLOB_FIXED;
    fb_str rule;
    uint16_t nl;
    if (!get_bytes(&p, end, &rule) || end - p < 2) return "cut short";
    memcpy(&nl, p, 2);
    p += 2;
    if (nl > AL_MAX_LABELS) return "too many labels";
    KeyValue kv[AL_MAX_LABELS];
    for (int i = 0; i < nl; i++)
        if (!get_bytes(&p, end, &kv[i].key) || !get_bytes(&p, end, &kv[i].value)) return "cut short";
    if (p != end) return "bytes after the labels";
    char name[256];
    if (rule.len >= sizeof name) return "rule name too long";
    memcpy(name, rule.ptr, rule.len);
    name[rule.len] = 0;
    forget(e, fp);
    int ri = al_rule_find(e->cfg, name);
    if (ri < 0) { rc->rule_gone++; return NULL; }
    if ((int64_t)e->n >= e->max_alerts) { rc->full++; return NULL; }
    al_alert *a = al_insert(e, fp);
    if (!a || al_copy_labels(a, kv, nl) < 0) log_fatal("out of memory");
    a->rule = ri;
    a->state = state;
    a->severity = severity;
    a->notified = v[3];
    a->acked = v[4];
    a->starts_at = t[0]; a->fired_at = t[1]; a->last_seen = t[2]; a->last_sent = t[3];
    a->value = value;
    a->part = rc->part;
    a->cl_saved = 1;
    a->dirty = AL_DIRTY_DB;    /* the changelog has it as it is */
    if (a->state == AL_FIRING) e->nfiring++;
    al_inh_set(e, a, 1);
    return NULL;
}

static int restore_one(void *ctx, const char *key, size_t klen, int64_t aux, const uint8_t *blob, size_t n)
{
    (void)aux;
    restore_ctx *rc = ctx;
    char hex[17], kname[40];
    uint64_t fp;
    const char *why = NULL;
    snprintf(hex, sizeof hex, "%.*s", (int)(klen < 16 ? klen : 16), key);
    if (klen != 16 || al_fp_parse(hex, &fp) < 0) why = "the key is not an alert's fingerprint";
    else if (!blob) forget(rc->f->eng, fp);
    else why = restore_alert(rc, fp, blob, n);
    if (why) {
        /* that alert starts again from its records; the others are whole */
        rc->f->st.bad++;
        log_kv(LOG_WARN, "--changelog: a record is not an alert: left out",
               "\"partition\":%d,\"key\":\"%s\",\"bytes\":%zu,\"why\":\"%s\"", (int)rc->part,
               log_jesc(kname, sizeof kname, hex), n, why);
    }
    return 0;
}

/* Kafka assigned partition p: its alerts come from the changelog first. */
static int64_t on_assign(void *ctx, const char *topic, int32_t p)
{
    (void)topic;
    al_follow *f = ctx;
    f->rebalanced = 1;
    int64_t current = changelog_current(f->cl, p);
    if (current >= 0) {
        log_kv(LOG_INFO, "partition kept: its alerts are current here", "\"partition\":%d,\"start\":%lld", (int)p,
               (long long)current);
        return current;
    }
    /* what this process holds of p is stale: another instance read on */
    f->st.dropped_alerts += al_engine_drop_part(f->eng, p);
    restore_ctx rc = { f, p, 0, 0 };
    changelog_restored got;
    int64_t t0 = mono_us();
    if (changelog_restore(f->cl, p, restore_one, &rc, &got))
        log_fatal("--changelog %s: partition %d could not be restored; not alerting on a partial state",
                  changelog_topic(f->cl), (int)p);
    f->st.restored_partitions++;
    f->st.restored_alerts += got.applied;
    f->st.bad += got.bad;
    log_kv(LOG_INFO, "partition restored from the changelog",
           "\"partition\":%d,\"records\":%llu,\"alerts_applied\":%llu,\"tombstones\":%llu,\"left_out\":%llu,"
           "\"bad\":%llu,\"start\":%lld,\"seconds\":%.3f", (int)p, (unsigned long long)got.records,
           (unsigned long long)got.applied, (unsigned long long)got.deleted, (unsigned long long)got.left_out,
           (unsigned long long)got.bad, (long long)got.covered, (double)(mono_us() - t0) / 1e6);
    if (rc.rule_gone)
        log_kv(LOG_WARN, "restored alerts of rules no longer in the rules file dropped",
               "\"partition\":%d,\"dropped\":%llu", (int)p, (unsigned long long)rc.rule_gone);
    if (rc.full)
        log_kv(LOG_WARN, "restored alerts past --max-alerts left out",
               "\"partition\":%d,\"left_out\":%llu,\"hint\":\"raise --max-alerts\"", (int)p,
               (unsigned long long)rc.full);
    return got.covered;
}

al_follow *al_follow_open(const char *uri, const cli_list *conf, al_engine *e, stream_in *in, stream_out *out)
{
    char err[600];
    al_follow *f = calloc(1, sizeof *f);
    if (!f) log_fatal("out of memory");
    f->eng = e; f->in = in; f->out = out;
    if (!(f->cl = changelog_open(uri, conf, "alerter", err, sizeof err)) ||
        changelog_check_input(f->cl, in, err, sizeof err)) {
        log_error("--changelog %s: %s", uri, err);
        al_follow_close(f);
        return NULL;
    }
    al_engine_track(e);
    stream_in_set_start(in, on_assign, f);
    return f;
}

void al_follow_record(al_follow *f, int32_t part)
{
    if (f->rebalanced) al_follow_keep_owned(f);
    al_engine_set_part(f->eng, part);
}

/* Tombstones first: an alert resolved and raised again since the last
 * checkpoint ends with its new state. */
int al_follow_checkpoint(al_follow *f)
{
    al_engine *e = f->eng;
    char hex[17];
    /* what the state covers is delivered before the marker says so: the
     * next owner writes nothing before the marker's offset again */
    if (stream_flush(f->out) < 0) goto fail;
    for (uint32_t i = 0; i < e->nclgone; i++) {
        al_fp_hex(e->clgone[i].fp, hex);
        if (changelog_delete(f->cl, e->clgone[i].part, hex, 16)) goto fail;
    }
    e->nclgone = 0;
    for (uint32_t i = 0; i < e->n; i++) {
        al_alert *a = &e->v[i];
        if (!(a->dirty & AL_DIRTY_CL) || a->part < 0) continue;
        size_t n = blob_encode(f, a);
        al_fp_hex(a->fp, hex);
        if (changelog_put(f->cl, a->part, hex, 16, INT64_MIN, f->buf, n)) goto fail;
        a->dirty &= ~AL_DIRTY_CL;
        a->cl_saved = 1;
    }
    if (changelog_checkpoint(f->cl, f->in)) goto fail;
    return 0;
fail:
    log_error("--changelog %s: checkpoint not written; the input is not committed", changelog_topic(f->cl));
    return -1;
}

void al_follow_rebalanced(al_follow *f) { f->rebalanced = 1; }

static void drop_part(void *ctx, int32_t p)
{
    al_follow *f = ctx;
    uint64_t n = al_engine_drop_part(f->eng, p);
    f->st.dropped_alerts += n;
    if (n) log_kv(LOG_INFO, "partition's alerts dropped", "\"partition\":%d,\"alerts\":%llu", (int)p,
                  (unsigned long long)n);
}

void al_follow_keep_owned(al_follow *f)
{
    if (f->rebalanced && changelog_keep_owned(f->cl, f->in, drop_part, f)) f->rebalanced = 0;
}

const al_follow_stats *al_follow_stats_get(const al_follow *f) { return &f->st; }

void al_follow_close(al_follow *f)
{
    if (!f) return;
    changelog_close(f->cl);
    free(f->buf);
    free(f);
}

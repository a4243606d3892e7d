/* layout.c — what Redis key and value a record becomes under each --layout,
 * and the per-record scripts that write them newer-wins (see layout.h); the
 * json layout's write paths are newer.c's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "layout.h"
#include "cli.h"
#include "log.h"
#include "newer.h"
#include "num.h"
#include "timefmt.h"

/* KEYS[1] value (zset or blob), KEYS[2] its version. ARGV: ts, ttl_ms,
 * kind ('z' then score,member pairs | 'b' then the blob). */
#define LUA_VERSIONED \
    "local t = redis.call('GET', KEYS[2])\n" \
    "if t and tonumber(t) > tonumber(ARGV[1]) then return 0 end\n" \
    "redis.call('DEL', KEYS[1])\n" \
    "if ARGV[3] == 'z' then if #ARGV > 3 then redis.call('ZADD', KEYS[1], unpack(ARGV, 4)) end\n" \
    "else redis.call('SET', KEYS[1], ARGV[4]) end\n" \
    "redis.call('SET', KEYS[2], ARGV[1])\n" \
    "local ttl = tonumber(ARGV[2])\n" \
    "if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) redis.call('PEXPIRE', KEYS[2], ttl) end\n" \
    "return 1\n"
/* KEYS[1] hash with a window_end field. ARGV: window_end, ttl_ms, field, value, ... */
#define LUA_HASH \
    "local cur = redis.call('HGET', KEYS[1], 'window_end')\n" \
    "if cur and tonumber(cur) > tonumber(ARGV[1]) then return 0 end\n" \
    "redis.call('DEL', KEYS[1])\n" \
    "redis.call('HSET', KEYS[1], unpack(ARGV, 3))\n" \
    "if tonumber(ARGV[2]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end\n" \
    "return 1\n"
/* KEYS[1] feature hash, KEYS[2] per-field versions. ARGV: version, ttl_ms, field, value. */
#define LUA_FEATURE \
    "local cur = redis.call('HGET', KEYS[2], ARGV[3])\n" \
    "if cur and tonumber(cur) > tonumber(ARGV[1]) then return 0 end\n" \
    "redis.call('HSET', KEYS[1], ARGV[3], ARGV[4])\n" \
    "redis.call('HSET', KEYS[2], ARGV[3], ARGV[1])\n" \
    "local ttl = tonumber(ARGV[2])\n" \
    "if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) redis.call('PEXPIRE', KEYS[2], ttl) end\n" \
    "return 1\n"
/* KEYS[1] leaderboard zset, KEYS[2] its window_start. ARGV: window_start,
 * ttl_ms, size, score, member. A newer window starts the board afresh. */
#define LUA_LEADERBOARD \
    "local cur = tonumber(redis.call('GET', KEYS[2]) or '-9e18')\n" \
    "local ws = tonumber(ARGV[1])\n" \
    "if ws < cur then return 0 end\n" \
    "if ws > cur then redis.call('DEL', KEYS[1]) redis.call('SET', KEYS[2], ARGV[1]) end\n" \
    "redis.call('ZADD', KEYS[1], ARGV[4], ARGV[5])\n" \
    "local n = tonumber(ARGV[3])\n" \
    "if redis.call('ZCARD', KEYS[1]) > n then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -n - 1) end\n" \
    "local ttl = tonumber(ARGV[2])\n" \
    "if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) redis.call('PEXPIRE', KEYS[2], ttl) end\n" \
    "return 1\n"

const char *const layout_scripts[SCRIPT_COUNT] = {
    LUA_VERSIONED, LUA_HASH, LUA_FEATURE, LUA_LEADERBOARD,
};

/* The key memory: 2^18 buckets of 4, 1,048,576 keys, 8 MiB at most. */
#define KNOWN_BUCKETS (1u << 18)

void layout_init(layout *l, const layout_conf *c)
{
    memset(l, 0, sizeof *l);
    l->conf = *c;
    jw_init(&l->jw);
    fb_builder_init(&l->fbb);
    if (c->rec_layout == LAYOUT_FB) {
        l->zc = ZSTD_createCCtx();
        if (!l->zc) log_fatal("zstd: cannot create a compression context");
    }
    if (keyset_init(&l->known, KNOWN_BUCKETS) || (c->rec_ttl_max_ms > 0 && keyset_track_activity(&l->known)))
        log_fatal("out of memory");
    newer_init(l);
}

void layout_free(layout *l)
{
    newer_free(l);
    jw_free(&l->jw);
    fb_builder_free(&l->fbb);
    if (l->zc) ZSTD_freeCCtx(l->zc);
    rbuf_free(&l->tmp); rbuf_free(&l->key2);
    keyset_free(&l->known);
}

static void key_prefix(rbuf *k, const layout *l, const char *kind)
{
    k->len = 0;
    if (l->conf.prefix) rbuf_put(k, l->conf.prefix, strlen(l->conf.prefix));
    rbuf_put(k, kind, strlen(kind));
}

/* ":k=v,k=v" with labels sorted by key, skipping the keys `skip1` and
 * `skip2` (NULL: none). */
/* Key order; equal keys in input order (the pointers are into one array). */
static int key_label_cmp(const void *a, const void *b)
{
    const KeyValue *x = *(const KeyValue *const *)a, *y = *(const KeyValue *const *)b;
    uint32_t len = x->key.len < y->key.len ? x->key.len : y->key.len;
    int c = memcmp(x->key.ptr ? x->key.ptr : "", y->key.ptr ? y->key.ptr : "", len);
    if (c) return c;
    if (x->key.len != y->key.len) return x->key.len < y->key.len ? -1 : 1;
    return (x > y) - (x < y);
}

/* Every label goes into the key (up to the 4,160 a record may carry:
 * schemas/SIZES.md): keeping only some would write two series to one key. */
static void key_labels(rbuf *k, const KeyValue *kv, uint32_t n, const char *skip1, const char *skip2)
{
    const KeyValue *few[64], **v = n <= 64 ? few : malloc(n * sizeof *v);
    if (!v) log_fatal("out of memory");
    uint32_t m = 0;
    for (uint32_t i = 0; i < n; i++)
        if ((!skip1 || !fb_str_eq(kv[i].key, skip1)) && (!skip2 || !fb_str_eq(kv[i].key, skip2)))
            v[m++] = &kv[i];
    qsort(v, m, sizeof *v, key_label_cmp);
    for (uint32_t i = 0; i < m; i++) {
        rbuf_put(k, i ? "," : ":", 1);
        rbuf_put(k, v[i]->key.ptr ? v[i]->key.ptr : "", v[i]->key.len);
        rbuf_put(k, "=", 1);
        rbuf_put(k, v[i]->value.ptr ? v[i]->value.ptr : "", v[i]->value.len);
    }
    if (v != few) free(v);
}

static const fb_str *label_value(const Metric *m, const char *key)
{
    for (uint32_t i = 0; i < m->labels_count; i++)
        if (fb_str_eq(m->labels[i].key, key)) return &m->labels[i].value;
    return NULL;
}

int64_t layout_adaptive_ttl(int64_t min_ms, int64_t max_ms, double gap_us)
{
    /* A user who comes back at random (no memory of when they last came)
     * is as likely to come in the next second at any age of their key: at
     * their rate. So the hits a key earns per second it is kept are its
     * user's rate, 1/gap, and memory is best spent keeping the keys of
     * frequent users long and those of rare ones briefly: the TTL grows
     * with the rate. min * max / gap puts a user coming every MIN at MAX
     * and one coming every MAX at MIN. */
    if (gap_us <= 0) return min_ms;
    double t = (double)min_ms * (double)max_ms / (gap_us / 1000.0);
    if (t < (double)min_ms) return min_ms;
    if (t > (double)max_ms) return max_ms;
    return (int64_t)t;
}

int layout_ttl_parse(const char *s, int64_t *fixed_ms, int64_t *min_ms, int64_t *max_ms, char *err, size_t errlen)
{
    *fixed_ms = *min_ms = *max_ms = 0;
    if (strncmp(s, "adaptive", 8) != 0) {
        int64_t us;
        if (time_parse_duration(s, &us)) {
            snprintf(err, errlen, "'%s' is neither a duration (1h, 90s, 0: none) nor adaptive:MIN:MAX", s);
            return -1;
        }
        *fixed_ms = us / 1000;
        if (us > 0 && *fixed_ms == 0) *fixed_ms = 1;   /* PX takes whole milliseconds */
        return 0;
    }
    char a[64], b[64];
    const char *p = s + 8, *colon;
    int64_t lo, hi;
    if (*p != ':' || !(colon = strchr(p + 1, ':')) || (size_t)(colon - p - 1) >= sizeof a ||
        strlen(colon + 1) >= sizeof b) {
        snprintf(err, errlen, "'%s': expected adaptive:MIN:MAX, such as adaptive:10m:1d", s);
        return -1;
    }
    memcpy(a, p + 1, (size_t)(colon - p - 1)); a[colon - p - 1] = 0;
    strcpy(b, colon + 1);
    if (time_parse_duration(a, &lo) || time_parse_duration(b, &hi) || lo < 1000 || hi < lo) {
        snprintf(err, errlen, "'%s': MIN and MAX are durations of 1ms or more, MIN <= MAX", s);
        return -1;
    }
    *min_ms = lo / 1000; *max_ms = hi / 1000;
    return 0;
}

/* Remember the key as written and give its record's TTL: fixed, or from
 * its user's activity (event times) with --ttl adaptive. */
static int rec_touch(layout *l, uint64_t h, int64_t ts, int64_t *ttl_ms)
{
    if (l->conf.rec_ttl_max_ms <= 0) {
        *ttl_ms = l->conf.rec_ttl_ms;
        return keyset_touch(&l->known, h);
    }
    double gap;
    int known = keyset_touch_at(&l->known, h, ts, &gap);
    *ttl_ms = layout_adaptive_ttl(l->conf.rec_ttl_min_ms, l->conf.rec_ttl_max_ms, gap);
    return known;
}

/* A json recommendation: its key and value; newer.c writes it (SET NX for
 * a key not known to exist, the checked path otherwise: see layout.h). */
static int json_recommendation(layout *l, rpipe *p, const Recommendation *r, const stream_rec *src)
{
    /* fallbacks first: they precede any later record for their key */
    if (newer_fallbacks(l, p)) return -1;
    rbuf *key = &l->key2;
    key_prefix(key, l, "rec:");
    rbuf_put(key, r->user_id.ptr ? r->user_id.ptr : "", r->user_id.len);
    uint64_t h = keyset_hash(key->p, key->len);
    /* the key memory is 8 MiB: its bucket is rarely in cache; fetch it
     * while the value is built (it cost a tenth of our CPU time waiting) */
    keyset_prefetch(&l->known, h);

    json_writer *w = &l->jw;
    jw_reset(w);
    jw_obj_begin(w);
    jw_key(w, "ts"); jw_int(w, r->ts);      /* first: the checks read it from the value's start */
    jw_key(w, "user_id"); jw_str(w, r->user_id.ptr, r->user_id.len);
    jw_key(w, "items"); jw_arr_begin(w);
    for (uint32_t i = 0; i < r->items_count; i++) {
        jw_obj_begin(w);
        jw_key(w, "item_id"); jw_str(w, r->items[i].item_id.ptr, r->items[i].item_id.len);
        char num[NUM_BUF];
        jw_key(w, "score"); jw_raw(w, num, (size_t)num_f64(num, r->items[i].score));
        jw_obj_end(w);
    }
    jw_arr_end(w);
    jw_key(w, "algorithm"); jw_str(w, r->algorithm.ptr, r->algorithm.len);
    jw_key(w, "model_version"); jw_str(w, r->model_version.ptr, r->model_version.len);
    jw_obj_end(w);

    int64_t ttl_ms;
    int known = rec_touch(l, h, r->ts, &ttl_ms);
    return newer_json(l, p, key, h, r->ts, ttl_ms, known, w, src);
}

int layout_recommendation(layout *l, rpipe *p, const Recommendation *r, const stream_rec *src)
{
    if (l->conf.rec_layout == LAYOUT_JSON) return json_recommendation(l, p, r, src);
    if (layout_flush(l, p)) return -1;
    rpipe_slot *s = rpipe_next_slot(p);
    if (!s) return -1;
    rpipe_slot_source(s, src);
    key_prefix(&s->key, l, "rec:");
    rbuf_put(&s->key, r->user_id.ptr ? r->user_id.ptr : "", r->user_id.len);

    l->key2.len = 0;
    rbuf_put(&l->key2, s->key.p, s->key.len);
    rbuf_put(&l->key2, ":ts", 3);
    resp_begin(s);
    resp_arg_str(s, "EVALSHA"); resp_arg_str(s, rpipe_sha(p, SCRIPT_VERSIONED)); resp_arg_str(s, "2");
    resp_arg(s, s->key.p, s->key.len);
    resp_arg(s, l->key2.p, l->key2.len);
    int64_t ttl_ms = l->conf.rec_ttl_ms;
    if (l->conf.rec_ttl_max_ms > 0) rec_touch(l, keyset_hash(s->key.p, s->key.len), r->ts, &ttl_ms);
    resp_arg_i64(s, r->ts); resp_arg_i64(s, ttl_ms);
    if (l->conf.rec_layout == LAYOUT_ZSET) {
        resp_arg_str(s, "z");
        for (uint32_t i = 0; i < r->items_count; i++) {
            resp_arg_f64(s, r->items[i].score);
            resp_arg(s, r->items[i].item_id.ptr ? r->items[i].item_id.ptr : "", r->items[i].item_id.len);
        }
    } else {
        /* re-encoded without a size prefix, so the stored buffer is aligned
         * from its own start, as any FlatBuffers reader expects */
        size_t n;
        fbrec_encode(&l->fbb, &Recommendation_desc, r, 0);
        const uint8_t *data = fb_data(&l->fbb, &n);
        size_t bound = ZSTD_compressBound(n);
        rbuf_reserve(&l->tmp, bound);
        size_t z = ZSTD_compressCCtx(l->zc, l->tmp.p, bound, data, n, l->conf.zstd_level);
        if (ZSTD_isError(z)) log_fatal("zstd: %s", ZSTD_getErrorName(z));
        resp_arg_str(s, "b");
        resp_arg(s, l->tmp.p, z);
    }
    return rpipe_push(p);
}

int layout_board_parse(const char *s, layout_board *b, char *err, size_t errlen)
{
    memset(b, 0, sizeof *b);
    const char *whole = s;
    size_t n = strcspn(s, ":@");
    if (n == 0 || n >= sizeof b->name) {
        snprintf(err, errlen, "'%s': expected NAME[:count][@MIN_COUNT]", s);
        return -1;
    }
    memcpy(b->name, s, n);
    s += n;
    if (*s == ':') {
        if (strncmp(s, ":count", 6) == 0 && (s[6] == 0 || s[6] == '@')) { b->by_count = 1; s += 6; }
        else if (strncmp(s, ":value", 6) == 0 && (s[6] == 0 || s[6] == '@')) s += 6;
        else { snprintf(err, errlen, "'%s': after ':' comes count or value", whole); return -1; }
    }
    if (*s == '@') {
        char *end;
        if (s[1] < '0' || s[1] > '9') { snprintf(err, errlen, "'%s': @ takes a count", whole); return -1; }
        unsigned long long v = strtoull(s + 1, &end, 10);
        if (*end) { snprintf(err, errlen, "'%s': @ takes a count", whole); return -1; }
        b->min_count = v;
    } else if (*s) {
        snprintf(err, errlen, "'%s': expected NAME[:count][@MIN_COUNT]", whole);
        return -1;
    }
    return 0;
}

static const layout_board *find_board(const layout *l, const Metric *m)
{
    for (int i = 0; i < l->conf.nboards; i++)
        if (fb_str_eq(m->name, l->conf.boards[i].name)) return &l->conf.boards[i];
    return NULL;
}

/* "60s", "5m", "1h", "1d", or microseconds as "123us" when not round. */
static int window_name(char *buf, size_t n, int64_t us)
{
    if (us > 0 && us % 86400000000LL == 0) return snprintf(buf, n, "%lldd", (long long)(us / 86400000000LL));
    if (us > 0 && us % 3600000000LL == 0) return snprintf(buf, n, "%lldh", (long long)(us / 3600000000LL));
    if (us > 0 && us % 60000000LL == 0) return snprintf(buf, n, "%lldm", (long long)(us / 60000000LL));
    if (us > 0 && us % 1000000LL == 0) return snprintf(buf, n, "%llds", (long long)(us / 1000000LL));
    return snprintf(buf, n, "%lldus", (long long)us);
}

/* "p50", "p99", "p999" from 0.5, 0.99, 0.999 */
static void quantile_field(char *buf, size_t n, double q)
{
    char d[24];
    snprintf(d, sizeof d, "%.6g", q * 100.0);
    char *dot = strchr(d, '.');
    if (dot) memmove(dot, dot + 1, strlen(dot));   /* 99.9 -> 999 */
    snprintf(buf, n, "p%s", d);
}

static int write_feature(layout *l, rpipe *p, const Metric *m, const stream_rec *src,
                         const char *kind, const fb_str *id)
{
    rpipe_slot *s = rpipe_next_slot(p);
    if (!s) return -1;
    rpipe_slot_source(s, src);
    key_prefix(&s->key, l, kind);
    rbuf_put(&s->key, id->ptr ? id->ptr : "", id->len);
    l->key2.len = 0;
    rbuf_put(&l->key2, s->key.p, s->key.len);
    rbuf_put(&l->key2, ":ts", 3);
    resp_begin(s);
    resp_arg_str(s, "EVALSHA"); resp_arg_str(s, rpipe_sha(p, SCRIPT_FEATURE)); resp_arg_str(s, "2");
    resp_arg(s, s->key.p, s->key.len);
    resp_arg(s, l->key2.p, l->key2.len);
    resp_arg_i64(s, m->window_end); resp_arg_i64(s, l->conf.metric_ttl_ms);
    resp_arg(s, m->name.ptr + 5, m->name.len - 5);       /* "user.x" -> "x" */
    resp_arg_f64(s, m->value);
    return rpipe_push(p);
}

int layout_metric(layout *l, rpipe *p, const Metric *m, const stream_rec *src)
{
    if (layout_flush(l, p)) return -1;
    if (!m->name.ptr || m->name.len == 0) { l->skipped++; return 0; }
    const layout_board *board = find_board(l, m);
    /* the online feature store */
    int feature = 0;
    if (m->labels_count == 1 && m->name.len > 5) {
        if (memcmp(m->name.ptr, "user.", 5) == 0 && fb_str_eq(m->labels[0].key, "user_id")) {
            if (write_feature(l, p, m, src, "features:user:", &m->labels[0].value)) return -1;
            feature = 1;
        } else if (memcmp(m->name.ptr, "item.", 5) == 0 && fb_str_eq(m->labels[0].key, "item_id")) {
            if (write_feature(l, p, m, src, "features:item:", &m->labels[0].value)) return -1;
            feature = 1;
        }
    }

    const fb_str *item = board ? label_value(m, "item_id") : NULL;
    if (item && m->count >= board->min_count) {
        rpipe_slot *s = rpipe_next_slot(p);
        if (!s) return -1;
        rpipe_slot_source(s, src);
        char win[32];
        window_name(win, sizeof win, m->window_end - m->window_start);
        key_prefix(&s->key, l, "leaderboard:");
        rbuf_put(&s->key, m->name.ptr, m->name.len);
        key_labels(&s->key, m->labels, m->labels_count, "item_id", "rank");
        rbuf_put(&s->key, ":", 1);
        rbuf_put(&s->key, win, strlen(win));
        l->key2.len = 0;
        rbuf_put(&l->key2, s->key.p, s->key.len);
        rbuf_put(&l->key2, ":window", 7);
        double score = board->by_count ? (double)m->count : m->value;
        resp_begin(s);
        resp_arg_str(s, "EVALSHA"); resp_arg_str(s, rpipe_sha(p, SCRIPT_LEADERBOARD)); resp_arg_str(s, "2");
        resp_arg(s, s->key.p, s->key.len);
        resp_arg(s, l->key2.p, l->key2.len);
        resp_arg_i64(s, m->window_start); resp_arg_i64(s, l->conf.metric_ttl_ms);
        resp_arg_i64(s, l->conf.leaderboard_size);
        resp_arg_f64(s, score);
        resp_arg(s, item->ptr ? item->ptr : "", item->len);
        if (rpipe_push(p)) return -1;
    }
    /* A feature lives in its features: hash; a ranked top-K entry
     * (top.clicks, rank=3) in its board: a hash per rank would only pile up. */
    if (feature && !board) return 0;
    if (item && label_value(m, "rank")) return 0;

    rpipe_slot *s = rpipe_next_slot(p);
    if (!s) return -1;
    rpipe_slot_source(s, src);
    key_prefix(&s->key, l, "metric:");
    rbuf_put(&s->key, m->name.ptr, m->name.len);
    key_labels(&s->key, m->labels, m->labels_count, NULL, NULL);
    resp_begin(s);
    resp_arg_str(s, "EVALSHA"); resp_arg_str(s, rpipe_sha(p, SCRIPT_HASH)); resp_arg_str(s, "1");
    resp_arg(s, s->key.p, s->key.len);
    resp_arg_i64(s, m->window_end); resp_arg_i64(s, l->conf.metric_ttl_ms);
    resp_arg_str(s, "count"); resp_arg_i64(s, (int64_t)m->count);
    resp_arg_str(s, "sum"); resp_arg_f64(s, m->sum);
    resp_arg_str(s, "min"); resp_arg_f64(s, m->min);
    resp_arg_str(s, "max"); resp_arg_f64(s, m->max);
    resp_arg_str(s, "mean"); resp_arg_f64(s, m->mean);
    resp_arg_str(s, "stddev"); resp_arg_f64(s, m->stddev);
    resp_arg_str(s, "value"); resp_arg_f64(s, m->value);
    resp_arg_str(s, "window_start"); resp_arg_i64(s, m->window_start);
    resp_arg_str(s, "window_end"); resp_arg_i64(s, m->window_end);
    for (uint32_t i = 0; i < m->quantiles_count; i++) {
        char f[48];
        quantile_field(f, sizeof f, m->quantiles[i].q);
        resp_arg_str(s, f);
        resp_arg_f64(s, m->quantiles[i].value);
    }
    return rpipe_push(p);
}

/* redisstats.c — see redisstats.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli.h"
#include "fbrec.h"
#include "log.h"
#include "metrics.h"
#include "redisstats.h"
#include "sdnotify.h"
#include "sig.h"
#include "timefmt.h"

static const char *const kinds[] = { "rec", "metric", "features", "leaderboard", "cache-writer", "other" };
#define NKINDS (sizeof kinds / sizeof *kinds)

/* The value of INFO's line "NAME:VALUE", or NULL without one. */
static const char *info_line(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = text; (p = strstr(p, name)); p += n)
        if ((p == text || p[-1] == '\n') && p[n] == ':') return p + n + 1;
    return NULL;
}

static int64_t field(const char *text, const char *name)
{
    const char *v = info_line(text, name);
    return v ? strtoll(v, NULL, 10) : -1;
}

void redis_info_parse(const char *text, int db, redis_info *o)
{
    o->uptime_s = field(text, "uptime_in_seconds");
    o->hits = field(text, "keyspace_hits");
    o->misses = field(text, "keyspace_misses");
    o->expired = field(text, "expired_keys");
    o->evicted = field(text, "evicted_keys");
    o->used_memory = field(text, "used_memory");
    o->maxmemory = field(text, "maxmemory");
    /* "db0:keys=12,expires=3,avg_ttl=0"; no line: an empty database */
    char name[24];
    snprintf(name, sizeof name, "db%d", db);
    o->keys = o->expires = 0;
    const char *p = info_line(text, name);
    if (p) {
        const char *k = strstr(p, "keys="), *e = strstr(p, "expires=");
        const char *eol = strchr(p, '\n');
        if (k && (!eol || k < eol)) o->keys = strtoll(k + 5, NULL, 10);
        if (e && (!eol || e < eol)) o->expires = strtoll(e + 8, NULL, 10);
    }
}

const char *redis_key_kind(const char *key, size_t len, const char *prefix)
{
    size_t pl = prefix ? strlen(prefix) : 0;
    if (len < pl || memcmp(key, prefix, pl)) return "other";
    key += pl; len -= pl;
    const char *colon = memchr(key, ':', len);
    if (!colon) return "other";
    size_t kl = (size_t)(colon - key);
    for (size_t i = 0; i + 1 < NKINDS; i++)
        if (strlen(kinds[i]) == kl && !memcmp(key, kinds[i], kl)) return kinds[i];
    return "other";
}

typedef struct sampler {
    const redis_stats_conf *c;
    rpipe *p;
    stream_out *out;
    int have_prev;
    redis_info prev;
    int64_t prev_us;
    char cursor[32];          /* SCAN's, carried from one sample to the next */
    KeyValue labels[2];
} sampler;

static int emit(sampler *s, const char *name, const char *kind, int64_t start, int64_t end,
                double value, uint64_t count, double sum, double mean)
{
    Metric m;
    Metric_init(&m);
    m.name = FB_STR(name);
    KeyValue_init(&s->labels[0]); KeyValue_init(&s->labels[1]);
    /* sorted by key, as every stage writes them */
    int n = 0;
    if (kind) { s->labels[n].key = FB_STR("prefix"); s->labels[n].value = FB_STR(kind); n++; }
    s->labels[n].key = FB_STR("redis"); s->labels[n].value = FB_STR(s->c->instance); n++;
    m.labels = s->labels; m.labels_count = (uint32_t)n;
    m.window_start = start; m.window_end = end;
    m.value = value; m.count = count; m.sum = sum;
    m.mean = mean; m.min = mean; m.max = mean;
    return stream_write(s->out, &Metric_desc, &m, NULL, 0);
}

static int gauge(sampler *s, const char *name, const char *kind, int64_t a, int64_t b, double v)
{
    return emit(s, name, kind, a, b, v, 1, v, v);
}

static int counter(sampler *s, const char *name, int64_t a, int64_t b, int64_t now, int64_t before)
{
    if (now < 0) return 0;
    /* a smaller counter: Redis restarted (or CONFIG RESETSTAT) meanwhile */
    uint64_t inc = (uint64_t)(before >= 0 && now >= before ? now - before : now);
    return emit(s, name, NULL, a, b, (double)now, inc, (double)inc, (double)now);
}

/* One reply, or NULL after logging (the connection is then reconnected). */
static redisReply *command(sampler *s, int argc, const char **argv)
{
    redisReply *r = redisCommandArgv(s->p->c, argc, argv, NULL);
    if (!r) { log_warn("redis-stats: %s: %s", argv[0], s->p->c->errstr); return NULL; }
    if (r->type == REDIS_REPLY_ERROR) {
        log_warn("redis-stats: %s: %s", argv[0], r->str);
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

/* Up to keys_per_sample keys: per kind, how many and their MEMORY USAGE.
 * *exact: the sample went from cursor 0 round to 0 (every key seen).
 * 0, or -1 (connection trouble). */
static int scan_sample(sampler *s, uint64_t *nkeys, uint64_t *bytes, uint64_t *examined, int *exact)
{
    int from_zero = !strcmp(s->cursor, "0");
    *examined = 0;
    *exact = 0;
    /* the bound counts the keys asked about, not only those answered: a
     * key gone since SCAN (nil) or a refused MEMORY USAGE (an ACL without
     * it) must not let one sample walk the whole database */
    uint64_t asked = 0;
    while (asked < (uint64_t)s->c->keys_per_sample) {
        char count[24];
        uint64_t left = (uint64_t)s->c->keys_per_sample - asked;
        snprintf(count, sizeof count, "%llu", (unsigned long long)(left < 1000 ? left : 1000));
        const char *a[] = { "SCAN", s->cursor, "COUNT", count };
        redisReply *r = command(s, 4, a);
        if (!r) return -1;
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_STRING ||
            r->element[1]->type != REDIS_REPLY_ARRAY) {
            log_warn("redis-stats: SCAN: an unexpected reply");
            freeReplyObject(r);
            return -1;
        }
        snprintf(s->cursor, sizeof s->cursor, "%s", r->element[0]->str);
        redisReply *ks = r->element[1];
        /* COUNT is a hint: a batch may hold more; the bound is ours */
        size_t nk = ks->elements < left ? ks->elements : (size_t)left;
        asked += nk;
        for (size_t i = 0; i < nk; i++) {
            const char *m[] = { "MEMORY", "USAGE", ks->element[i]->str };
            size_t ml[] = { 6, 5, ks->element[i]->len };
            redisAppendCommandArgv(s->p->c, 3, m, ml);
        }
        int bad = 0;
        for (size_t i = 0; i < nk; i++) {
            redisReply *u = NULL;
            if (redisGetReply(s->p->c, (void **)&u) != REDIS_OK || !u) {
                log_warn("redis-stats: MEMORY USAGE: %s", s->p->c->errstr);
                freeReplyObject(r);
                return -1;
            }
            if (u->type == REDIS_REPLY_INTEGER) {       /* nil: gone since SCAN */
                const char *k = redis_key_kind(ks->element[i]->str, ks->element[i]->len, s->c->prefix);
                for (size_t j = 0; j < NKINDS; j++)
                    if (kinds[j] == k) { nkeys[j]++; bytes[j] += (uint64_t)u->integer; }
                (*examined)++;
            } else if (u->type == REDIS_REPLY_ERROR && !bad++) {
                log_warn("redis-stats: MEMORY USAGE: %s", u->str);
            }
            freeReplyObject(u);
        }
        int all = nk == ks->elements;
        freeReplyObject(r);
        if (!strcmp(s->cursor, "0")) {
            *exact = from_zero && all;
            break;
        }
    }
    return 0;
}

static int sample(sampler *s)
{
    const char *a[] = { "INFO" };
    redisReply *r = command(s, 1, a);
    if (!r) return -2;
    redis_info in;
    redis_info_parse(r->type == REDIS_REPLY_STRING ? r->str : "",
                     s->p->uri.db, &in);
    freeReplyObject(r);
    int64_t end = now_us();
    uint64_t nkeys[NKINDS] = { 0 }, bytes[NKINDS] = { 0 }, examined = 0;
    int exact = 0;
    if (scan_sample(s, nkeys, bytes, &examined, &exact)) return -2;
    /* the first window: since Redis started, which INFO's counters count from */
    int64_t start = s->have_prev && in.uptime_s >= 0 && s->prev_us > end - in.uptime_s * 1000000
                        ? s->prev_us : end - (in.uptime_s > 0 ? in.uptime_s : 0) * 1000000;
    const redis_info *pv = s->have_prev ? &s->prev : NULL;
    int rc = counter(s, "redis.keyspace_hits", start, end, in.hits, pv ? pv->hits : -1) ||
             counter(s, "redis.keyspace_misses", start, end, in.misses, pv ? pv->misses : -1) ||
             counter(s, "redis.expired_keys", start, end, in.expired, pv ? pv->expired : -1) ||
             counter(s, "redis.evicted_keys", start, end, in.evicted, pv ? pv->evicted : -1);
    if (!rc && in.hits >= 0 && in.misses >= 0) {
        int64_t h = in.hits, m = in.misses;
        if (pv && pv->hits >= 0 && pv->hits <= h && pv->misses <= m && start == s->prev_us) {
            h -= pv->hits; m -= pv->misses;
        }
        if (h + m > 0)
            rc = emit(s, "redis.hit_rate", NULL, start, end, (double)h / (double)(h + m), (uint64_t)(h + m),
                      (double)h, (double)h / (double)(h + m));
    }
    if (!rc && in.used_memory >= 0) rc = gauge(s, "redis.used_memory", NULL, start, end, (double)in.used_memory);
    if (!rc && in.maxmemory >= 0) rc = gauge(s, "redis.maxmemory", NULL, start, end, (double)in.maxmemory);
    if (!rc && in.maxmemory > 0 && in.used_memory >= 0)
        rc = gauge(s, "redis.memory_used_ratio", NULL, start, end, (double)in.used_memory / (double)in.maxmemory);
    if (!rc) rc = gauge(s, "redis.keys", NULL, start, end, (double)in.keys) ||
                  gauge(s, "redis.keys_with_expiry", NULL, start, end, (double)in.expires) ||
                  gauge(s, "redis.scan.sampled_keys", NULL, start, end, (double)examined) ||
                  gauge(s, "redis.scan.exact", NULL, start, end, exact);
    for (size_t j = 0; !rc && j < NKINDS; j++) {
        /* exact, or the sample's share scaled to INFO's count of keys */
        double scale = exact || !examined ? 1.0 : (double)in.keys / (double)examined;
        double k = (double)nkeys[j] * scale, b = (double)bytes[j] * scale;
        rc = emit(s, "redis.prefix.keys", kinds[j], start, end, k, nkeys[j], k, k) ||
             emit(s, "redis.prefix.memory_bytes", kinds[j], start, end, b, nkeys[j], b,
                  nkeys[j] ? (double)bytes[j] / (double)nkeys[j] : 0);
    }
    if (rc || stream_flush(s->out)) return -1;
    s->prev = in; s->prev_us = end; s->have_prev = 1;
    return 0;
}

int redis_stats_run(rpipe *p, stream_out *out, const redis_stats_conf *c)
{
    sampler s = { .c = c, .p = p, .out = out };
    strcpy(s.cursor, "0");
    metrics_series *samples = metrics_counter("streamrec_redis_stats_samples_total",
                                              "Samples of Redis INFO written as Metric records");
    int64_t next = mono_us();
    while (!sig_stop_requested()) {
        int64_t now = mono_us();
        if (now >= next) {
            int rc = sample(&s);
            if (rc == -1) return -1;
            if (rc == -2) {
                /* the connection broke or Redis refused: this sample is
                 * lost, the next one starts on a new connection */
                strcpy(s.cursor, "0");
                if (rpipe_reconnect(p)) return sig_stop_requested() ? 0 : -1;
            } else {
                metrics_add(samples, 1);
                p->flaps = 0;
                sd_status("%s: sampled", c->instance);
            }
            next += c->interval_us;
            if (next < mono_us()) next = mono_us() + c->interval_us;   /* fell behind: skip, do not burst */
            continue;
        }
        int64_t wait = next - now;
        if (wait > 100000) wait = 100000;   /* a stop request is seen within 0.1 s */
        struct timespec ts = { 0, (long)wait * 1000 };
        nanosleep(&ts, NULL);
        sd_watchdog_tick();
        metrics_tick();
    }
    return 0;
}

int redis_stats_main(const redis_uri *uri, const cli_common *common, redis_stats_conf *c)
{
    stream_out *out = stream_out_open(common->out, common);
    if (!out) return 1;
    rpipe pipe;
    char err[300], instance[300];
    if (uri->unix_path[0]) snprintf(instance, sizeof instance, "%s", uri->unix_path);
    else snprintf(instance, sizeof instance, "%s:%d", uri->host, uri->port);
    if (rpipe_open(&pipe, uri, 1, NULL, 0, NULL, NULL, NULL, NULL)) {
        rpipe_close(&pipe);
        stream_out_close(out);
        return 1;
    }
    int wc = rpipe_wait_connected(&pipe, common->connect_timeout, err, sizeof err);
    if (wc) {
        rpipe_close(&pipe);
        stream_out_close(out);
        return rpipe_start_failed(wc, uri, common->connect_timeout, err);
    }
    sd_ready();
    char t[32];
    time_format_duration(c->interval_us, t, sizeof t);
    log_info("sampling Redis at %s every %s (%lld keys a sample at most)", instance, t, (long long)c->keys_per_sample);
    c->instance = instance;
    int failed = redis_stats_run(&pipe, out, c) != 0;
    sd_stopping();
    rpipe_close(&pipe);
    if (stream_out_close(out)) failed = 1;
    return failed;
}

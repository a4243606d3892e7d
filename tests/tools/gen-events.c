/* gen-events — the project's generator of realistic event streams (JSON
 * lines) for the demo, the tests and the benchmarks. Deterministic: the same
 * arguments always give the same bytes, on any machine (integer RNG, one
 * stream per concern, no locale, no time of day). Documented in
 * tests/tools/README.md.
 *
 *   gen-events [--count N] [--kind interactions|samples|requests|model|mixed]
 *              [--seed N] [--users N] [--items N] [--start TIME] [--rate R]
 *              [--experiment NAME:LIFT] [--drift-at N:FACTOR] [--latency]
 *              [--bad-fraction F]
 *
 * Three random streams, each seeded from --seed: the traffic itself, the
 * impressions' latency (so --latency changes no other field) and the choice
 * and shape of malformed lines (so --bad-fraction leaves every other line
 * byte-identical to the clean run, which tests compare line by line). */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- random numbers: xoshiro256** seeded through splitmix64 ------------- */

typedef struct { uint64_t s[4]; } rng;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void rng_seed(rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed * 0x2545f4914f6cdd1dULL + stream;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_u64(rng *r)
{
    uint64_t *s = r->s, out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t; s[3] = rotl(s[3], 45);
    return out;
}

/* uniform in [0, 1), 53 bits */
static double rng_unit(rng *r) { return (double)(rng_u64(r) >> 11) * 0x1.0p-53; }

/* uniform integer in [lo, hi] (the modulo bias is below 2^-40 for our ranges) */
static long rng_range(rng *r, long lo, long hi) { return lo + (long)(rng_u64(r) % (uint64_t)(hi - lo + 1)); }

static double rng_gauss(rng *r, double mean, double sd)
{
    /* Box-Muller; 1 - u keeps the logarithm finite */
    double u = 1.0 - rng_unit(r), v = rng_unit(r);
    return mean + sd * sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

static double rng_lognormal(rng *r, double mu, double sigma) { return exp(rng_gauss(r, mu, sigma)); }

static double rng_exponential(rng *r, double rate) { return -log(1.0 - rng_unit(r)) / rate; }

/* ---- the arguments --------------------------------------------------------- */

enum kind { K_INTERACTIONS, K_SAMPLES, K_REQUESTS, K_MODEL, K_MIXED };
static const char *const kind_names[] = { "interactions", "samples", "requests", "model", "mixed" };

static struct {
    long count, users, items;
    enum kind kind;
    uint64_t seed;
    double start, rate, bad_fraction;
    const char *experiment;     /* NULL: none */
    double lift;
    long drift_at;              /* -1: none */
    double drift_factor;
    int latency;
} opt = { 100000, 50000, 10000, K_INTERACTIONS, 1, 1795428000.0, 500.0, 0.0, NULL, 0.0, -1, 2.0, 0 };

static void usage(FILE *f)
{
    fputs("usage: gen-events [FLAGS] > events.jsonl\n"
          "Writes deterministic, realistic JSON lines: app interactions, system samples,\n"
          "request and model metrics, optionally with a planted A/B lift, a planted\n"
          "regression and malformed lines. Same flags, same bytes.\n"
          "\n"
          "  --count N             lines to write (100000)\n"
          "  --kind KIND           interactions (default), samples, requests, model, or\n"
          "                        mixed (about 80/8/10/2 percent of those)\n"
          "  --seed N              seed of every random choice (1)\n"
          "  --users N             distinct users u1..uN, uniform (50000)\n"
          "  --items N             distinct items b1..bN, Zipf-skewed s=1.07 (10000)\n"
          "  --start TIME          event time of the first line: epoch seconds or ISO 8601\n"
          "                        such as 2026-11-23T10:00:00Z (the default)\n"
          "  --rate R              lines per second of event time, exponential gaps (500)\n"
          "  --experiment NAME:LIFT  users are hashed into control/treatment of NAME, each\n"
          "                        gets one exposure first; treatment's purchase step is\n"
          "                        x(1+LIFT) (0: an A/A test)\n"
          "  --drift-at N:FACTOR   from line N (counted from 0) latency, errors, cpu and\n"
          "                        model latency grow by FACTOR (default 2)\n"
          "  --latency             impressions carry latency_ms (own random stream)\n"
          "  --bad-fraction F      that fraction of lines is malformed (0)\n"
          "  --help                this text\n"
          "Exit: 0 done (also when the reader goes away), 2 usage error.\n"
          "Details: tests/tools/README.md\n", f);
}

static _Noreturn void usage_error(const char *fmt, const char *arg) __attribute__((format(printf, 1, 0)));
static _Noreturn void usage_error(const char *fmt, const char *arg)
{
    fputs("gen-events: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs(" (see --help)\n", stderr);
    exit(2);
}

static long parse_long(const char *flag, const char *s, long lo)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo) usage_error("%s: not an integer in range", flag);
    return v;
}

static double parse_double(const char *flag, const char *s)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v)) usage_error("%s: not a number", flag);
    return v;
}

/* --start: epoch seconds, or YYYY-MM-DD[THH:MM[:SS[.fff]]][Z|±HH:MM] (no zone: UTC) */
static double parse_start(const char *s)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!errno && end != s && !*end && isfinite(v)) return v;
    struct tm tm = { 0 };
    int n = 0;
    double sec = 0;
    if (sscanf(s, "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &n) != 3)
        usage_error("--start: '%s' is neither epoch seconds nor ISO 8601", s);
    const char *p = s + n;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        int m = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &tm.tm_hour, &tm.tm_min, &m) != 2)
            usage_error("--start: '%s' is neither epoch seconds nor ISO 8601", s);
        p += 1 + m;
        if (*p == ':') {
            sec = strtod(p + 1, &end);
            if (end == p + 1) usage_error("--start: '%s' is neither epoch seconds nor ISO 8601", s);
            p = end;
        }
    }
    long offset = 0;
    if (*p == 'Z' || *p == 'z') p++;
    else if (*p == '+' || *p == '-') {
        int hh, mm, m = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &hh, &mm, &m) != 2)
            usage_error("--start: '%s': bad zone offset", s);
        offset = (*p == '-' ? -1 : 1) * (hh * 3600L + mm * 60L);
        p += 1 + m;
    }
    if (*p) usage_error("--start: '%s' is neither epoch seconds nor ISO 8601", s);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (double)timegm(&tm) + sec - (double)offset;
}

static void parse_args(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(stdout); exit(0); }
        if (!strcmp(a, "--latency")) { opt.latency = 1; continue; }
        if (strncmp(a, "--", 2)) usage_error("unexpected argument '%s'", a);
        /* every other flag takes a value: --flag VALUE or --flag=VALUE */
        char name[32];
        const char *val, *eq = strchr(a, '=');
        if (eq) {
            if ((size_t)(eq - a) >= sizeof name) usage_error("unknown flag '%s'", a);
            memcpy(name, a, (size_t)(eq - a));
            name[eq - a] = 0;
            val = eq + 1;
        } else {
            if (strlen(a) >= sizeof name) usage_error("unknown flag '%s'", a);
            strcpy(name, a);
            if (i + 1 >= argc) usage_error("%s needs a value", a);
            val = argv[++i];
        }
        if (!strcmp(name, "--count")) opt.count = parse_long(name, val, 0);
        else if (!strcmp(name, "--users")) opt.users = parse_long(name, val, 1);
        else if (!strcmp(name, "--items")) opt.items = parse_long(name, val, 1);
        else if (!strcmp(name, "--seed")) opt.seed = (uint64_t)parse_long(name, val, 0);
        else if (!strcmp(name, "--start")) opt.start = parse_start(val);
        else if (!strcmp(name, "--rate")) {
            opt.rate = parse_double(name, val);
            if (opt.rate <= 0) usage_error("%s must be above 0", name);
        } else if (!strcmp(name, "--bad-fraction")) {
            opt.bad_fraction = parse_double(name, val);
            if (opt.bad_fraction < 0 || opt.bad_fraction > 1) usage_error("%s must be within [0, 1]", name);
        } else if (!strcmp(name, "--kind")) {
            size_t k;
            for (k = 0; k < sizeof kind_names / sizeof *kind_names && strcmp(val, kind_names[k]); k++) ;
            if (k == sizeof kind_names / sizeof *kind_names)
                usage_error("--kind: '%s' is not interactions, samples, requests, model or mixed", val);
            opt.kind = (enum kind)k;
        } else if (!strcmp(name, "--experiment")) {
            const char *colon = strchr(val, ':');
            if (colon == val) usage_error("--experiment: '%s' has no name (NAME:LIFT)", val);
            /* the name goes into JSON strings as is: keep it to safe characters */
            for (const char *c = val; c < (colon ? colon : val + strlen(val)); c++)
                if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20)
                    usage_error("--experiment: '%s': quotes, backslashes and control characters are not allowed", val);
            opt.experiment = strndup(val, colon ? (size_t)(colon - val) : strlen(val));
            opt.lift = colon ? parse_double(name, colon + 1) : 0.0;
            if (opt.lift <= -1) usage_error("--experiment: lift '%s' must be above -1", colon + 1);
        } else if (!strcmp(name, "--drift-at")) {
            char buf[64];
            const char *colon = strchr(val, ':');
            size_t n = colon ? (size_t)(colon - val) : strlen(val);
            if (n >= sizeof buf) usage_error("--drift-at: '%s' is not N:FACTOR", val);
            memcpy(buf, val, n);
            buf[n] = 0;
            opt.drift_at = parse_long(name, buf, 0);
            opt.drift_factor = colon ? parse_double(name, colon + 1) : 2.0;
            if (opt.drift_factor <= 0) usage_error("--drift-at: factor of '%s' must be above 0", val);
        } else usage_error("unknown flag '%s'", name);
    }
}

/* ---- the generator's state ---------------------------------------------- */

static rng main_rng, latency_rng, bad_rng;
static double now;              /* event time of the last line, epoch seconds */
static long line_no;            /* lines generated so far */
static double *zipf_cdf;        /* items' cumulative probabilities, opt.items entries */
static unsigned char *exposed;  /* --experiment: a bit per user, set once exposed */

static double drift(void) { return opt.drift_at >= 0 && line_no >= opt.drift_at ? opt.drift_factor : 1.0; }

static void advance_time(void) { now += rng_exponential(&main_rng, opt.rate); }

static void zipf_init(void)
{
    zipf_cdf = malloc((size_t)opt.items * sizeof *zipf_cdf);
    if (!zipf_cdf) { fputs("gen-events: out of memory\n", stderr); exit(1); }
    double total = 0;
    for (long k = 1; k <= opt.items; k++) zipf_cdf[k - 1] = total += pow((double)k, -1.07);
    for (long k = 0; k < opt.items; k++) zipf_cdf[k] /= total;
}

static long zipf_item(void)
{
    double u = rng_unit(&main_rng);
    long lo = 0, hi = opt.items - 1;
    while (lo < hi) {
        long mid = lo + (hi - lo) / 2;
        if (zipf_cdf[mid] < u) lo = mid + 1;
        else hi = mid;
    }
    return lo + 1;
}

/* control or treatment, by hashing experiment and user (FNV-1a, then a
 * splitmix64 finaliser so the lowest bit is well mixed): stable across runs
 * and seeds, as an app's assignment would be */
static int is_treatment(long user)
{
    char buf[64];
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const char *c = opt.experiment; *c; c++) h = (h ^ (unsigned char)*c) * 0x100000001b3ULL;
    int n = snprintf(buf, sizeof buf, ":%ld", user);
    for (int i = 0; i < n; i++) h = (h ^ (unsigned char)buf[i]) * 0x100000001b3ULL;
    return (int)(splitmix64(&h) & 1);
}

/* ---- one line, as a record before it is written ------------------------------
 * The generator fills a line_rec; write_line turns it into JSON, normally or
 * malformed in one of several ways. Keeping the two apart lets a malformed
 * line draw nothing from the traffic's random stream. */

enum bad {
    BAD_NONE, BAD_TRUNCATED, BAD_WRONG_TYPE, BAD_MISSING_KEY, BAD_TIMESTAMP,
    BAD_HUGE_STRING, BAD_UTF8, BAD_EMPTY, BAD_ARRAY, BAD_KINDS
};

enum funnel { F_IMPRESSION, F_VIEW, F_CLICK, F_CART, F_PURCHASE, F_RATING, F_EXPOSURE };
static const char *const funnel_names[] = {
    "impression", "book_view", "book_click", "add_to_cart", "purchase", "rating", "exposure"
};
static const char *const sources[] = { "recommendation", "search", "home", "email" };
static const char *const endpoints[] = {
    "/api/v1/recommendations", "/api/v1/books", "/api/v1/search", "/api/v1/auth/login"
};
static const struct { const char *name; double mean, sd; } system_samples[] = {
    { "cpu_usage", 55, 15 }, { "memory_usage", 62, 8 }, { "disk_usage", 70, 3 },
    { "cache_hit_rate", 82, 5 }, { "active_users", 1200, 150 },
};
#define NSYSTEM (sizeof system_samples / sizeof *system_samples)

typedef struct {
    enum kind kind;
    double ts;
    /* interactions */
    uint64_t event_id, session;
    long user, item;            /* item 0: none */
    enum funnel type;
    int position, has_value, variant;   /* variant: -1 none, 0 control, 1 treatment */
    double value, latency_ms;           /* latency_ms < 0: none */
    const char *source;
    /* samples */
    const char *metric;
    int host;
    /* requests */
    const char *endpoint;
    double duration_ms;
    int status;
    /* model */
    double accuracy, model_latency_ms;
} line_rec;

/* A session: one user, 1-5 slots, each an item shown and followed through the
 * funnel impression -> view -> click -> cart -> purchase as far as the user
 * goes, sometimes a rating after. Kept across calls, one event per call, so
 * mixed traffic interleaves sessions with metrics. */
static struct {
    int active;
    long user;
    uint64_t id;
    int variant, slots, slot, steps, step, rating_checked;
    long item;
} sess;

static void interaction_event(line_rec *r, enum funnel type, long item)
{
    rng *g = &main_rng;
    advance_time();
    r->kind = K_INTERACTIONS;
    r->ts = now;
    r->event_id = rng_u64(g);
    r->user = sess.user;
    r->session = sess.id;
    r->type = type;
    r->item = item;
    r->position = type == F_EXPOSURE ? 0 : sess.slot;
    r->variant = sess.variant;
    r->has_value = 0;
    if (type == F_PURCHASE) {
        r->has_value = 1;
        r->value = round((3.0 + 37.0 * rng_unit(g)) * 100.0) / 100.0;   /* a price */
    } else if (type == F_RATING) {
        /* ratings lean high, as on real shops: 3%, 6%, 20%, 35%, 36% */
        static const int cum[] = { 3, 9, 29, 64, 100 };
        long u = rng_range(g, 0, 99);
        int stars = 1;
        while (u >= cum[stars - 1]) stars++;
        r->has_value = 1;
        r->value = stars;
    }
    r->source = sources[rng_range(g, 0, 3)];
    r->latency_ms = -1;
    if (opt.latency && type == F_IMPRESSION)
        r->latency_ms = round(rng_lognormal(&latency_rng, 3.2, 0.5) * drift() * 100.0) / 100.0;
}

/* how far down the funnel a user goes with the item in front of them */
static int funnel_steps(void)
{
    double p_purchase = 0.18 * (sess.variant == 1 ? 1.0 + opt.lift : 1.0);
    const double p[] = { 0.9, 0.35, 0.3, p_purchase };   /* view, click, cart, purchase */
    int steps = 1;
    for (int i = 0; i < 4 && rng_unit(&main_rng) < p[i]; i++) steps++;
    return steps;
}

static void next_interaction(line_rec *r)
{
    rng *g = &main_rng;
    for (;;) {
        if (!sess.active) {
            sess.active = 1;
            sess.user = rng_range(g, 1, opt.users);
            sess.id = rng_u64(g) >> 24;     /* 40 bits */
            sess.slots = (int)rng_range(g, 1, 5);
            sess.slot = 0;
            sess.steps = sess.step = 0;
            sess.rating_checked = 1;
            sess.variant = opt.experiment ? is_treatment(sess.user) : -1;
            if (opt.experiment) {
                long u = sess.user - 1;
                if (!(exposed[u / 8] & (1u << (u % 8)))) {
                    exposed[u / 8] |= (unsigned char)(1u << (u % 8));
                    interaction_event(r, F_EXPOSURE, 0);
                    return;
                }
            }
        }
        if (sess.step < sess.steps) {
            interaction_event(r, (enum funnel)sess.step++, sess.item);
            return;
        }
        if (!sess.rating_checked) {
            sess.rating_checked = 1;
            if (rng_unit(g) < 0.08) {
                interaction_event(r, F_RATING, sess.item);
                return;
            }
        }
        if (sess.slot < sess.slots) {
            sess.slot++;
            sess.item = zipf_item();
            sess.steps = funnel_steps();
            sess.step = 0;
            sess.rating_checked = 0;
            continue;
        }
        sess.active = 0;
    }
}

static void next_sample(line_rec *r)
{
    static unsigned next;       /* the five series take turns */
    rng *g = &main_rng;
    unsigned i = next++ % NSYSTEM;
    double v = rng_gauss(g, system_samples[i].mean, system_samples[i].sd);
    if (i == 0) v *= drift();               /* cpu_usage carries the regression */
    if (v < 0) v = 0;
    if (i <= 1 && v > 100) v = 100;         /* cpu and memory are percentages */
    advance_time();
    r->kind = K_SAMPLES;
    r->ts = now;
    r->metric = system_samples[i].name;
    r->value = v;
    r->host = (int)rng_range(g, 1, 4);
}

static void next_request(line_rec *r)
{
    rng *g = &main_rng;
    int e = (int)rng_range(g, 0, 3);
    double f = drift();
    /* search is the slow endpoint (median ~55 ms, the others ~25 ms) */
    r->duration_ms = rng_lognormal(g, e == 2 ? 4.0 : 3.2, 0.6) * f;
    if (rng_unit(g) < 0.01 * f) r->status = 500;
    else {
        static const int other[] = { 201, 204, 304, 400, 404 };
        long k = rng_range(g, 0, 24);       /* 20 in 25 are 200 */
        r->status = k < 20 ? 200 : other[k - 20];
    }
    advance_time();
    r->kind = K_REQUESTS;
    r->ts = now;
    r->endpoint = endpoints[e];
}

static void next_model(line_rec *r)
{
    rng *g = &main_rng;
    double f = drift();
    double acc = rng_gauss(g, 0.86, 0.01) / pow(f, 0.1);
    r->accuracy = acc > 1 ? 1 : acc;
    r->model_latency_ms = rng_lognormal(g, 4.2, 0.3) * f;
    advance_time();
    r->kind = K_MODEL;
    r->ts = now;
}

static void next_line(line_rec *r)
{
    enum kind k = opt.kind;
    if (k == K_MIXED) {
        double u = rng_unit(&main_rng);
        k = u < 0.80 ? K_INTERACTIONS : u < 0.88 ? K_SAMPLES : u < 0.98 ? K_REQUESTS : K_MODEL;
    }
    switch (k) {
    case K_INTERACTIONS: next_interaction(r); break;
    case K_SAMPLES: next_sample(r); break;
    case K_REQUESTS: next_request(r); break;
    default: next_model(r); break;
    }
    line_no++;
}

/* ---- JSON out ---------------------------------------------------------------- */

typedef struct { char *p; size_t len, cap; } buf;

static void bputf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bputf(buf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) { fputs("gen-events: formatting failed\n", stderr); exit(1); }
        if ((size_t)n < b->cap - b->len) { b->len += (size_t)n; return; }
        b->cap = (b->cap + (size_t)n) * 2;
        if (!(b->p = realloc(b->p, b->cap))) { fputs("gen-events: out of memory\n", stderr); exit(1); }
    }
}

/* Both time formats truncate to the millisecond the same way, so mixed
 * traffic stays in event-time order once printed. */
static void split_ms(double ts, time_t *sec, int *ms)
{
    *sec = (time_t)floor(ts);
    *ms = (int)floor((ts - (double)*sec) * 1000.0);
    if (*ms > 999) *ms = 999;
}

static void put_iso(buf *b, double ts)
{
    time_t sec;
    int ms;
    split_ms(ts, &sec, &ms);
    struct tm tm;
    gmtime_r(&sec, &tm);
    bputf(b, "\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\"", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
          tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

/* the event-time member: a bad one is a date nobody can parse */
static void put_ts(buf *b, const line_rec *r, enum bad bad)
{
    bputf(b, "\"ts\":");
    if (bad == BAD_TIMESTAMP) bputf(b, "\"last tuesday\"");
    else if (r->kind == K_INTERACTIONS) put_iso(b, r->ts);
    else {
        time_t sec;
        int ms;
        split_ms(r->ts, &sec, &ms);
        bputf(b, "%lld.%03d", (long long)sec, ms);
    }
}

/* The line in JSON. Malformed variants change exactly one thing, each one
 * a mistake real producers make: a number where a string belongs, the
 * identifying member missing, a timestamp no parser knows, a 70,000-byte
 * string, bytes that are not UTF-8. */
static void format_line(buf *b, const line_rec *r, enum bad bad)
{
    int wrong = bad == BAD_WRONG_TYPE, missing = bad == BAD_MISSING_KEY;
    b->len = 0;
    bputf(b, "{");
    switch (r->kind) {
    case K_INTERACTIONS:
        bputf(b, "\"event_id\":\"e%016llx\",", (unsigned long long)r->event_id);
        put_ts(b, r, bad);
        if (missing) ;
        else if (wrong) bputf(b, ",\"user_id\":%ld", r->user);
        else bputf(b, ",\"user_id\":\"%su%ld\"", bad == BAD_UTF8 ? "\xff\xfe" : "", r->user);
        bputf(b, ",\"event_type\":\"%s\",\"session_id\":\"", funnel_names[r->type]);
        if (bad == BAD_HUGE_STRING) {
            for (int i = 0; i < 70000; i++) bputf(b, "x");
        } else bputf(b, "s%010llx", (unsigned long long)r->session);
        bputf(b, "\"");
        if (r->item) bputf(b, ",\"item_id\":\"b%ld\"", r->item);
        if (r->has_value) bputf(b, r->type == F_RATING ? ",\"value\":%.0f" : ",\"value\":%.2f", r->value);
        if (r->latency_ms >= 0) bputf(b, ",\"latency_ms\":%.2f", r->latency_ms);
        bputf(b, ",\"metadata\":{\"source\":\"%s\"", r->source);
        if (r->position) bputf(b, ",\"position\":%d", r->position);
        if (r->variant >= 0)
            bputf(b, ",\"experiment\":\"%s\",\"variant\":\"%s\"", opt.experiment,
                  r->variant ? "treatment" : "control");
        bputf(b, "}");
        break;
    case K_SAMPLES:
        if (!missing) bputf(b, "\"metric_name\":\"%s%s\",", bad == BAD_UTF8 ? "\xff\xfe" : "", r->metric);
        if (wrong) bputf(b, "\"value\":\"seventy\",");
        else bputf(b, "\"value\":%.3f,", r->value);
        put_ts(b, r, bad);
        bputf(b, ",\"metadata\":{\"source\":\"system_monitor\",\"host\":\"web-%d\"}", r->host);
        break;
    case K_REQUESTS:
        if (!missing) bputf(b, "\"endpoint\":\"%s%s\",", bad == BAD_UTF8 ? "\xff\xfe" : "", r->endpoint);
        if (wrong) bputf(b, "\"duration_ms\":\"slow\",");
        else bputf(b, "\"duration_ms\":%.3f,", r->duration_ms);
        bputf(b, "\"status\":%d,", r->status);
        put_ts(b, r, bad);
        break;
    default:
        if (!missing) bputf(b, "\"model_id\":\"%srecommendation_model_v1\",", bad == BAD_UTF8 ? "\xff\xfe" : "");
        bputf(b, "\"model_version\":\"v1.0\",");
        put_ts(b, r, bad);
        if (wrong) bputf(b, ",\"metrics\":[{\"type\":\"accuracy\",\"value\":\"high\"}]");
        else bputf(b, ",\"metrics\":[{\"type\":\"accuracy\",\"value\":%.4f},{\"type\":\"latency_ms\",\"value\":%.2f}]",
                   r->accuracy, r->model_latency_ms);
        break;
    }
    /* samples, requests and model lines: a huge string in a member of its own */
    if (bad == BAD_HUGE_STRING && r->kind != K_INTERACTIONS) {
        bputf(b, ",\"note\":\"");
        for (int i = 0; i < 70000; i++) bputf(b, "x");
        bputf(b, "\"");
    }
    bputf(b, "}");
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    signal(SIGPIPE, SIG_IGN);   /* EPIPE instead: see the end */
    rng_seed(&main_rng, opt.seed, 1);
    rng_seed(&latency_rng, opt.seed, 2);
    rng_seed(&bad_rng, opt.seed, 3);
    now = opt.start;
    zipf_init();
    if (opt.experiment && !(exposed = calloc((size_t)opt.users / 8 + 1, 1))) {
        fputs("gen-events: out of memory\n", stderr);
        return 1;
    }
    static char out_buf[1 << 16];
    setvbuf(stdout, out_buf, _IOFBF, sizeof out_buf);
    buf b = { malloc(4096), 0, 4096 };
    if (!b.p) { fputs("gen-events: out of memory\n", stderr); return 1; }
    for (long i = 0; i < opt.count; i++) {
        line_rec r;
        memset(&r, 0, sizeof r);
        next_line(&r);
        enum bad bad = BAD_NONE;
        if (opt.bad_fraction > 0 && rng_unit(&bad_rng) < opt.bad_fraction)
            bad = (enum bad)rng_range(&bad_rng, 1, BAD_KINDS - 1);
        switch (bad) {
        case BAD_EMPTY: b.len = 0; break;
        case BAD_ARRAY:
            format_line(&b, &r, BAD_NONE);
            fputc('[', stdout);
            bputf(&b, "]");
            break;
        case BAD_TRUNCATED: {
            format_line(&b, &r, BAD_NONE);
            b.len = (size_t)rng_range(&bad_rng, 1, (long)b.len - 2);  /* never the closing brace */
            break;
        }
        default: format_line(&b, &r, bad); break;
        }
        fwrite(b.p, 1, b.len, stdout);
        if (fputc('\n', stdout) == EOF) break;
    }
    if (fflush(stdout) == EOF || ferror(stdout)) {
        /* the reader went away (… | head): done, as it wanted; anything else is a failure */
        if (errno != EPIPE) { perror("gen-events: write to stdout"); return 1; }
    }
    free(b.p);
    free(zipf_cdf);
    free(exposed);
    free((char *)opt.experiment);
    return 0;
}

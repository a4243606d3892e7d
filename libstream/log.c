/* log.c — JSON-lines logs on stderr, one write(2) per line so lines from
 * several threads (librdkafka callbacks) or processes sharing stderr never
 * interleave.
 *
 * Rate limiting: each message key (the format string of log_msg, the msg of
 * log_kv) hashes into a small table of slots {key hash, second, count,
 * suppressed}. Within one monotonic second the first LOG_BURST lines of a
 * key pass; later ones only count. The next line of that key that passes
 * carries "suppressed":N. Two keys that collide in a slot share a budget,
 * which errs on the side of printing (the slot resets when the key changes). */
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hash.h"
#include "timefmt.h"

static const char *log_stage = "streamrec";
static log_level log_min = LOG_INFO;
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

#define LOG_SLOTS 256
typedef struct log_slot { uint64_t key; int64_t sec; unsigned count; unsigned suppressed; } log_slot;
static log_slot log_slots[LOG_SLOTS];

static const char *const log_names[] = { "debug", "info", "warn", "error" };

int log_parse_level(const char *s, log_level *out)
{
    if (!s) return -1;
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, log_names[i])) { *out = (log_level)i; return 0; }
    if (!strcmp(s, "warning")) { *out = LOG_WARN; return 0; }
    return -1;
}

void log_init(const char *stage, const char *level)
{
    if (stage) log_stage = stage;
    log_level l = LOG_INFO;
    if (level && log_parse_level(level, &l) < 0) {
        log_min = LOG_INFO;
        log_warn("unknown log level '%s', using info", level);
        return;
    }
    log_min = l;
}

int log_enabled(log_level lvl) { return lvl >= log_min; }

/* A bounded line buffer; appends past the end are dropped, then the line is
 * closed properly (log lines stay valid JSON even when truncated). */
#define LOG_LINE_MAX 8192
typedef struct log_buf { char b[LOG_LINE_MAX]; size_t n; } log_buf;

static void lb_put(log_buf *lb, const char *s, size_t n)
{
    /* keep room for the closing "}\n"; an escape or UTF-8 sequence (<= 6
     * bytes) goes in whole or not at all, plain ASCII runs may be cut */
    if (lb->n + n > LOG_LINE_MAX - 4) {
        if (n <= 6) return;
        n = LOG_LINE_MAX - 4 > lb->n ? LOG_LINE_MAX - 4 - lb->n : 0;
    }
    memcpy(lb->b + lb->n, s, n);
    lb->n += n;
}
static void lb_cstr(log_buf *lb, const char *s) { lb_put(lb, s, strlen(s)); }

/* JSON string body: escapes quote, backslash and control characters, and
 * replaces invalid UTF-8 bytes by U+FFFD so a line is always valid JSON. */
static void lb_esc(log_buf *lb, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s, *e = p + n;
    while (p < e) {
        const unsigned char *run = p;
        while (p < e && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\') p++;
        if (p > run) lb_put(lb, (const char *)run, (size_t)(p - run));
        if (p >= e) break;
        unsigned c = *p;
        if (c < 0x80) {
            char esc[6] = { '\\', 0 };
            switch (c) {
            case '"': esc[1] = '"'; lb_put(lb, esc, 2); break;
            case '\\': esc[1] = '\\'; lb_put(lb, esc, 2); break;
            case '\n': esc[1] = 'n'; lb_put(lb, esc, 2); break;
            case '\r': esc[1] = 'r'; lb_put(lb, esc, 2); break;
            case '\t': esc[1] = 't'; lb_put(lb, esc, 2); break;
            default:
                esc[1] = 'u'; esc[2] = '0'; esc[3] = '0';
                esc[4] = hex[c >> 4]; esc[5] = hex[c & 15];
                lb_put(lb, esc, 6);
            }
            p++;
            continue;
        }
        /* multi-byte sequence: check length, continuation bytes, overlongs,
         * surrogates and the U+10FFFF ceiling */
        int need; unsigned min;
        if (c >= 0xc2 && c <= 0xdf) { need = 1; min = 0x80; }
        else if (c >= 0xe0 && c <= 0xef) { need = 2; min = 0x800; }
        else if (c >= 0xf0 && c <= 0xf4) { need = 3; min = 0x10000; }
        else { lb_cstr(lb, "\xef\xbf\xbd"); p++; continue; }
        if (e - p <= need) { lb_cstr(lb, "\xef\xbf\xbd"); p++; continue; }
        unsigned cp = c & (0x3f >> need);
        int ok = 1;
        for (int i = 1; i <= need; i++) {
            if ((p[i] & 0xc0) != 0x80) { ok = 0; break; }
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        if (!ok || cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            lb_cstr(lb, "\xef\xbf\xbd"); p++; continue;
        }
        lb_put(lb, (const char *)p, (size_t)need + 1);
        p += need + 1;
    }
}

const char *log_jesc(char *buf, size_t n, const char *s)
{
    if (!n) return buf;
    log_buf *lb = malloc(sizeof *lb);
    if (!lb) { buf[0] = 0; return buf; }
    lb->n = 0;
    lb_esc(lb, s ? s : "", s ? strlen(s) : 0);
    /* keep whole units only: an escape sequence or a UTF-8 character */
    size_t k = 0;
    while (k < lb->n) {
        unsigned char c = (unsigned char)lb->b[k];
        size_t u = c == '\\' ? (lb->b[k + 1] == 'u' ? 6 : 2)
                 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
        if (k + u > lb->n || k + u > n - 1) break;
        k += u;
    }
    memcpy(buf, lb->b, k);
    buf[k] = 0;
    free(lb);
    return buf;
}

/* 1: print (with *suppressed set to what was held back), 0: suppress. */
static int log_admit(const char *key, unsigned *suppressed)
{
    uint64_t h = hash_fnv1a64_more(HASH_FNV1A64_SHORT_BASIS, key, strlen(key));
    int64_t sec = mono_us() / 1000000;
    log_slot *s = &log_slots[h % LOG_SLOTS];
    *suppressed = 0;
    if (s->key != h) {
        s->key = h; s->sec = sec; s->count = 1; s->suppressed = 0;
        return 1;
    }
    if (s->sec != sec) { s->sec = sec; s->count = 0; }
    if (s->count >= LOG_BURST) { s->suppressed++; return 0; }
    s->count++;
    *suppressed = s->suppressed;
    s->suppressed = 0;
    return 1;
}

/* Rate-limit check before any formatting, so a flood of suppressed lines
 * costs a hash and a clock read each, not a printf. */
static int log_admit_locked(const char *key, unsigned *suppressed)
{
    pthread_mutex_lock(&log_mu);
    int ok = log_admit(key, suppressed);
    pthread_mutex_unlock(&log_mu);
    return ok;
}

static void log_write_line(log_level lvl, unsigned suppressed, const char *msg, const char *extra)
{
    static __thread log_buf lb;     /* 8 KiB: keep it off small thread stacks */
    lb.n = 0;
    char ts[40];
    time_format_iso(now_us(), ts);
    lb_cstr(&lb, "{\"ts\":\"");
    lb_cstr(&lb, ts);
    lb_cstr(&lb, "\",\"level\":\"");
    lb_cstr(&lb, log_names[lvl]);
    lb_cstr(&lb, "\",\"stage\":\"");
    lb_esc(&lb, log_stage, strlen(log_stage));
    lb_cstr(&lb, "\",\"msg\":\"");
    lb_esc(&lb, msg, strlen(msg));
    lb_cstr(&lb, "\"");
    if (extra && *extra) {
        /* extra is caller-formatted JSON members; if the line buffer cut it
         * short we could emit broken JSON, so drop it when it cannot fit */
        size_t n = strlen(extra);
        if (lb.n + n + 40 < LOG_LINE_MAX) { lb_cstr(&lb, ","); lb_put(&lb, extra, n); }
        else lb_cstr(&lb, ",\"fields_truncated\":true");
    }
    if (suppressed) {
        char tmp[40];
        int k = snprintf(tmp, sizeof tmp, ",\"suppressed\":%u", suppressed);
        lb_put(&lb, tmp, (size_t)k);
    }
    lb.b[lb.n++] = '}';
    lb.b[lb.n++] = '\n';
    const char *p = lb.b;
    size_t left = lb.n;
    while (left) {
        ssize_t w = write(STDERR_FILENO, p, left);
        if (w < 0) { if (errno == EINTR) continue; break; }
        p += w; left -= (size_t)w;
    }
}

void log_msg(log_level lvl, const char *fmt, ...)
{
    if (lvl < log_min) return;
    unsigned suppressed;
    if (!log_admit_locked(fmt, &suppressed)) return;
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log_write_line(lvl, suppressed, msg, NULL);
}

void log_kv(log_level lvl, const char *msg, const char *fields, ...)
{
    if (lvl < log_min) return;
    unsigned suppressed;
    if (!log_admit_locked(msg, &suppressed)) return;
    char extra[4096];
    extra[0] = 0;
    if (fields) {
        va_list ap;
        va_start(ap, fields);
        int n = vsnprintf(extra, sizeof extra, fields, ap);
        va_end(ap);
        if (n >= (int)sizeof extra) extra[0] = 0, strcpy(extra, "\"fields_truncated\":true");
    }
    log_write_line(lvl, suppressed, msg, extra);
}

void log_fatal(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char msg[4096];
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log_write_line(LOG_ERROR, 0, msg, NULL);    /* never rate-limited away */
    exit(1);
}

/* redisuri.c — see redisuri.h. Percent-escapes are decoded in the password
 * and path so that any password can be written in a URI. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "redisuri.h"

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Copy src[0..len) into dst decoding %XX; -1 if it does not fit or is malformed. */
static int pct_decode(char *dst, size_t cap, const char *src, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)src[i];
        if (c == '%') {
            if (i + 2 >= len) return -1;
            int h = hexval(src[i + 1]), l = hexval(src[i + 2]);
            if (h < 0 || l < 0) return -1;
            c = h * 16 + l;
            i += 2;
        }
        if (o + 1 >= cap) return -1;
        dst[o++] = (char)c;
    }
    dst[o] = 0;
    return 0;
}

static int parse_int(const char *s, size_t len, int lo, int hi, int *out)
{
    if (len == 0 || len > 9) return -1;
    int v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i])) return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

int redis_uri_parse(const char *s, redis_uri *u, char *err, size_t errlen)
{
    memset(u, 0, sizeof *u);
    u->port = 6379;
    const char *env = getenv("REDISCLI_AUTH");
    if (env && strlen(env) < sizeof u->password) strcpy(u->password, env);

    if (s[0] == '/' || strncmp(s, "unix://", 7) == 0) {
        const char *p = s[0] == '/' ? s : s + 7;
        const char *q = strchr(p, '?');
        size_t plen = q ? (size_t)(q - p) : strlen(p);
        if (plen == 0 || p[0] != '/' || pct_decode(u->unix_path, sizeof u->unix_path, p, plen)) {
            snprintf(err, errlen, "'%s': expected unix:///absolute/path.sock", s);
            return -1;
        }
        if (q) {
            if (strncmp(q, "?db=", 4) || parse_int(q + 4, strlen(q + 4), 0, 1 << 20, &u->db)) {
                snprintf(err, errlen, "'%s': the only query key is db=N", s);
                return -1;
            }
        }
        return 0;
    }
    if (strncmp(s, "redis://", 8) != 0) {
        snprintf(err, errlen, "'%s': expected redis://[user@]host[:port][/db] or unix:///path", s);
        return -1;
    }
    const char *p = s + 8;
    const char *end = p + strcspn(p, "/");
    const char *at = memchr(p, '@', (size_t)(end - p));
    if (at) {
        /* user@, user:@ and :password@; an empty password here leaves the
         * one from $REDISCLI_AUTH (or the file, main.c) in place, so that
         * a named user is never quietly logged in as the default one */
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *userend = colon ? colon : at;
        char pw[sizeof u->password] = "";
        if (pct_decode(u->user, sizeof u->user, p, (size_t)(userend - p)) ||
            (colon && pct_decode(pw, sizeof pw, colon + 1, (size_t)(at - colon - 1)))) {
            snprintf(err, errlen, "'%s': bad user or password (too long or bad %%-escape)", s);
            return -1;
        }
        if (pw[0]) memcpy(u->password, pw, sizeof pw);
        p = at + 1;
    }
    const char *hostend = end;
    if (*p == '[') {                      /* [ipv6]:port */
        const char *rb = memchr(p, ']', (size_t)(end - p));
        if (!rb) { snprintf(err, errlen, "'%s': unclosed '[' in host", s); return -1; }
        if ((size_t)(rb - p - 1) >= sizeof u->host) { snprintf(err, errlen, "'%s': host too long", s); return -1; }
        memcpy(u->host, p + 1, (size_t)(rb - p - 1));
        p = rb + 1;
        if (p < end && *p != ':') { snprintf(err, errlen, "'%s': junk after ']'", s); return -1; }
    } else {
        const char *colon = memchr(p, ':', (size_t)(end - p));
        if (colon) hostend = colon;
        if ((size_t)(hostend - p) >= sizeof u->host) { snprintf(err, errlen, "'%s': host too long", s); return -1; }
        memcpy(u->host, p, (size_t)(hostend - p));
        p = hostend;
    }
    if (u->host[0] == 0) strcpy(u->host, "127.0.0.1");
    if (p < end && *p == ':') {
        if (parse_int(p + 1, (size_t)(end - p - 1), 1, 65535, &u->port)) {
            snprintf(err, errlen, "'%s': port must be 1..65535", s);
            return -1;
        }
    }
    if (*end == '/' && end[1]) {
        if (parse_int(end + 1, strlen(end + 1), 0, 1 << 20, &u->db)) {
            snprintf(err, errlen, "'%s': database must be a number after the last '/'", s);
            return -1;
        }
    }
    return 0;
}

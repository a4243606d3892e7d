/* json.c — the strict RFC 8259 reader (contract in json.h; the writer,
 * json.h's jw_ half, is jsonwriter.c).
 *
 * One pass, no recursion. A fixed stack of open containers (depth
 * capped by JSON_MAX_DEPTH) remembers each container's node index and its
 * last child, so sibling links (`next`) are set as children appear. Nodes
 * live in a growable array capped at JSON_MAX_NODES.
 *
 * Strings and number texts are copied into doc->scratch, which is sized once
 * per parse to len+1 bytes before parsing starts: every token's copy plus its
 * NUL fits in the input bytes it came from (quotes, escapes and delimiters
 * are never shorter than what they become), except a lone top-level number,
 * hence the +1. Because scratch never moves during a parse, node pointers
 * into it stay valid.
 *
 * Strictness: no trailing commas, no leading zeros, no NaN/Infinity, no
 * comments, only the four JSON whitespace bytes, no raw control characters
 * in strings, UTF-8 validated (no overlongs, no surrogates, <= U+10FFFF),
 * \u escapes of surrogates must pair, numbers must fit a double.
 *
 * Numbers: integers of up to 19 digits are exact (int64); decimals with at
 * most 15 significant digits and a small power of ten use the exact
 * fast path (Clinger: both operands exact in double, one rounding);
 * everything else goes to strtod, which rounds correctly. */
#include "json.h"
#include "json_int.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void json_doc_init(json_doc *d)
{
    memset(d, 0, sizeof *d);
}

void json_doc_free(json_doc *d)
{
    free(d->nodes);
    free(d->scratch);
    memset(d, 0, sizeof *d);
}

const char *json_type_name(json_type t)
{
    switch (t) {
    case JSON_NULL: return "null";
    case JSON_FALSE: case JSON_TRUE: return "boolean";
    case JSON_NUMBER: return "number";
    case JSON_STRING: return "string";
    case JSON_ARRAY: return "array";
    case JSON_OBJECT: return "object";
    }
    return "?";
}

typedef struct json_parser {
    json_doc *d;
    const unsigned char *s, *p, *end;
    char *out;            /* next free byte in scratch */
} json_parser;

static int json_fail(json_parser *ps, const unsigned char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int json_fail(json_parser *ps, const unsigned char *at, const char *fmt, ...)
{
    json_doc *d = ps->d;
    d->err_offset = (size_t)(at - ps->s);
    int n = snprintf(d->err, sizeof d->err, "at byte %zu: ", d->err_offset);
    if (n < 0 || (size_t)n >= sizeof d->err) n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->err + n, sizeof d->err - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

/* What a byte looks like in an error message: 'x', or 0xNN, or "end of input". */
static const char *json_found(const json_parser *ps, const unsigned char *at, char *buf, size_t n)
{
    if (at >= ps->end) return "the end of the input";
    if (*at >= 0x21 && *at < 0x7f) snprintf(buf, n, "'%c'", *at);
    else snprintf(buf, n, "byte 0x%02x", *at);
    return buf;
}

static inline const unsigned char *json_ws(const unsigned char *p, const unsigned char *end)
{
    /* every JSON whitespace byte is <= ' ': one test for the usual non-space */
    while (p < end && *p <= ' ' && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
    return p;
}

static int json_new_node(json_parser *ps, uint32_t *idx)
{
    json_doc *d = ps->d;
    if (d->nnodes == d->cap) {
        if (d->cap >= JSON_MAX_NODES)
            return json_fail(ps, ps->p, "more than %u values in one document", JSON_MAX_NODES);
        uint32_t ncap = d->cap ? d->cap * 2 : 64;
        if (ncap > JSON_MAX_NODES) ncap = JSON_MAX_NODES;
        json_node *nn = realloc(d->nodes, ncap * sizeof *nn);
        if (!nn) return json_fail(ps, ps->p, "out of memory");
        d->nodes = nn;
        d->cap = ncap;
    }
    *idx = d->nnodes++;
    json_node *n = &d->nodes[*idx];
    memset(n, 0, sizeof *n);
    return 0;
}

static int json_hex4(const unsigned char *p, unsigned *v)
{
    unsigned x = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = p[i], h;
        if (c >= '0' && c <= '9') h = c - '0';
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') h = (c | 0x20) - 'a' + 10;
        else return -1;
        x = x << 4 | h;
    }
    *v = x;
    return 0;
}

static char *json_put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) *o++ = (char)cp;
    else if (cp < 0x800) { *o++ = (char)(0xC0 | cp >> 6); *o++ = (char)(0x80 | (cp & 0x3F)); }
    else if (cp < 0x10000) {
        *o++ = (char)(0xE0 | cp >> 12); *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *o++ = (char)(0xF0 | cp >> 18); *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F)); *o++ = (char)(0x80 | (cp & 0x3F));
    }
    return o;
}

#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define JSON_SWAR 1
#define JSON_B8(c) (0x0101010101010101ull * (uint8_t)(c))
/* High bit set in the lowest byte of v that is '"', '\\', a control byte or
 * non-ASCII (bits above it may be spurious from borrows; only the lowest
 * set bit is used). */
static inline uint64_t json_special8(uint64_t v)
{
    uint64_t q = v ^ JSON_B8('"'), bs = v ^ JSON_B8('\\');
    uint64_t zq = (q - JSON_B8(1)) & ~q;
    uint64_t zb = (bs - JSON_B8(1)) & ~bs;
    uint64_t lt = (v - JSON_B8(0x20)) & ~v;
    return (zq | zb | lt | v) & JSON_B8(0x80);
}
#else
#define JSON_SWAR 0
#endif

#if defined(__SSE2__)
#include <emmintrin.h>
#define JSON_SSE2 1
/* Copy the 16 bytes at p to o; bit i set when byte i is '"', '\\', a
 * control byte or non-ASCII (one signed compare catches both: bytes
 * >= 0x80 are negative). Twice the bytes of json_special8 in fewer
 * instructions. */
static inline unsigned json_special16(const unsigned char *p, char *o)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    _mm_storeu_si128((__m128i *)(void *)o, v);
    __m128i q = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
    __m128i bs = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
    __m128i lt = _mm_cmplt_epi8(v, _mm_set1_epi8(0x20));
    return (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(q, bs), lt));
}
#else
#define JSON_SSE2 0
#endif

/* The general case of json_string below, resumed at p (input) and o (its
 * copy in scratch): escapes, non-ASCII, errors, and short tails. */
static int json_string_slow(json_parser *ps, const unsigned char *p, char *o,
                            const char **str, uint32_t *len) __attribute__((noinline));

/* p at the opening quote. Copies the unescaped string into scratch. The
 * common case (plain ASCII with the closing quote at least eight bytes
 * before the end of the input) is finished here, the rest by
 * json_string_slow. */
static inline __attribute__((always_inline)) int json_string(json_parser *ps, const char **str, uint32_t *len)
{
    const unsigned char *p = ps->p + 1;
    char *o = ps->out;
#if JSON_SSE2
    /* the 16-byte copy is safe for the reason the 8-byte one is (below) */
    while (ps->end - p >= 16) {
        unsigned m = json_special16(p, o);
        if (m) {
            size_t k = (size_t)__builtin_ctz(m);
            p += k; o += k;
            if (*p != '"')
                return json_string_slow(ps, p, o, str, len);
            *o = 0;
            *str = ps->out;
            *len = (uint32_t)(o - ps->out);
            ps->out = o + 1;
            ps->p = p + 1;
            return 0;
        }
        p += 16; o += 16;
    }
#endif
#if JSON_SWAR
    const unsigned char *end = ps->end;
    while (end - p >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        memcpy(o, &v, 8);          /* safe: see json_string_slow */
        uint64_t m = json_special8(v);
        if (m) {
            size_t k = (size_t)__builtin_ctzll(m) >> 3;
            p += k; o += k;
            if (*p != '"')
                break;
            *o = 0;
            *str = ps->out;
            *len = (uint32_t)(o - ps->out);
            ps->out = o + 1;
            ps->p = p + 1;
            return 0;
        }
        p += 8; o += 8;
    }
#endif
    return json_string_slow(ps, p, o, str, len);
}

static int json_string_slow(json_parser *ps, const unsigned char *p, char *o,
                            const char **str, uint32_t *len)
{
    const unsigned char *end = ps->end;
    char *start = ps->out;
    for (;;) {
#if JSON_SSE2
        while (end - p >= 16) {
            unsigned m = json_special16(p, o);
            if (m) {
                size_t k = (size_t)__builtin_ctz(m);
                p += k; o += k;
                goto special;
            }
            p += 16; o += 16;
        }
#endif
#if JSON_SWAR
        /* Eight bytes at a time while none is special. Writing all eight is
         * safe: o stays behind p relative to the input (see the top), so
         * o + 8 <= scratch + len whenever p + 8 <= end. */
        while (end - p >= 8) {
            uint64_t v;
            memcpy(&v, p, 8);
            memcpy(o, &v, 8);
            uint64_t m = json_special8(v);
            if (m) {
                size_t k = (size_t)__builtin_ctzll(m) >> 3;
                p += k; o += k;
                goto special;
            }
            p += 8; o += 8;
        }
#endif
        while (p < end && json_strclass[*p] == 0) *o++ = (char)*p++;
#if JSON_SWAR || JSON_SSE2
    special:
#endif
        if (p >= end) return json_fail(ps, ps->p, "string not terminated (missing closing quote)");
        switch (json_strclass[*p]) {
        case 1:
            p++;
            goto done;
        case 3:
            return json_fail(ps, p, "control character 0x%02x inside a string (must be escaped)", *p);
        case 4: {
            size_t n = json_utf8_seq(p, end);
            if (!n) return json_fail(ps, p, "invalid UTF-8 byte 0x%02x inside a string", *p);
            memcpy(o, p, n);
            o += n; p += n;
            break;
        }
        case 2: {
            if (p + 1 >= end) return json_fail(ps, p, "string not terminated (ends in a backslash)");
            unsigned char e = p[1];
            switch (e) {
            case '"': *o++ = '"'; p += 2; break;
            case '\\': *o++ = '\\'; p += 2; break;
            case '/': *o++ = '/'; p += 2; break;
            case 'b': *o++ = '\b'; p += 2; break;
            case 'f': *o++ = '\f'; p += 2; break;
            case 'n': *o++ = '\n'; p += 2; break;
            case 'r': *o++ = '\r'; p += 2; break;
            case 't': *o++ = '\t'; p += 2; break;
            case 'u': {
                unsigned cp, lo;
                if (end - p < 6 || json_hex4(p + 2, &cp))
                    return json_fail(ps, p, "\\u must be followed by four hex digits");
                if (cp >= 0xDC00 && cp <= 0xDFFF)
                    return json_fail(ps, p, "lone low surrogate \\u%04x", cp);
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    if (end - p < 12 || p[6] != '\\' || p[7] != 'u' || json_hex4(p + 8, &lo)
                        || lo < 0xDC00 || lo > 0xDFFF)
                        return json_fail(ps, p, "high surrogate \\u%04x not followed by a low surrogate", cp);
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    p += 12;
                } else {
                    p += 6;
                }
                if (cp == 0)
                    ps->d->has_nul = 1;
                o = json_put_utf8(o, cp);
                break;
            }
            default: {
                char fb[16];
                return json_fail(ps, p, "invalid escape \\%s in a string",
                                 e >= 0x21 && e < 0x7f ? (snprintf(fb, sizeof fb, "%c", e), fb)
                                                       : (snprintf(fb, sizeof fb, "x%02x", e), fb));
            }
            }
            break;
        }
        }
    }
done:
    *o++ = 0;
    *str = start;
    *len = (uint32_t)(o - start - 1);
    ps->out = o;
    ps->p = p;
    return 0;
}

int json_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        if (*p < 0x80) { p++; continue; }
        size_t n = json_utf8_seq(p, end);
        if (!n) return 0;
        p += n;
    }
    return 1;
}

static const double json_pow10[] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };

static int json_number(json_parser *ps, json_node *n)
{
    const unsigned char *p = ps->p, *end = ps->end, *start = p;
    int neg = 0, plain = 1;
    uint64_t m = 0;
    int sig = 0, ovf = 0;     /* significant digits accumulated; too many for m */
    int exp10 = 0;            /* decimal exponent applied to m */
    if (*p == '-') { neg = 1; p++; }
    if (p >= end || *p < '0' || *p > '9')
        return json_fail(ps, p, "a minus sign must be followed by a digit");
    if (*p == '0') {
        p++;
        if (p < end && *p >= '0' && *p <= '9')
            return json_fail(ps, start, "numbers cannot have leading zeros");
    } else {
        while (p < end && *p >= '0' && *p <= '9') {
            if (sig < 19) { m = m * 10 + (uint64_t)(*p - '0'); sig++; }
            else { ovf = 1; exp10++; }
            p++;
        }
    }
    if (p < end && *p == '.') {
        plain = 0;
        p++;
        if (p >= end || *p < '0' || *p > '9')
            return json_fail(ps, p, "a decimal point must be followed by a digit");
        while (p < end && *p >= '0' && *p <= '9') {
            if (sig < 19) {
                if (m || *p != '0') { m = m * 10 + (uint64_t)(*p - '0'); sig++; }
                exp10--;
            } else ovf = 1;
            p++;
        }
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        plain = 0;
        p++;
        int eneg = 0, e = 0;
        if (p < end && (*p == '+' || *p == '-')) { eneg = *p == '-'; p++; }
        if (p >= end || *p < '0' || *p > '9')
            return json_fail(ps, p, "an exponent must have digits");
        while (p < end && *p >= '0' && *p <= '9') {
            if (e < 100000) e = e * 10 + (*p - '0');
            p++;
        }
        exp10 += eneg ? -e : e;
    }
    size_t tl = (size_t)(p - start);
    memcpy(ps->out, start, tl);
    ps->out[tl] = 0;
    n->str = ps->out;
    n->len = (uint32_t)tl;
    ps->out += tl + 1;
    n->type = JSON_NUMBER;

    if (plain && !ovf && (m <= (uint64_t)INT64_MAX || (neg && m == (uint64_t)INT64_MAX + 1))) {
        n->is_int = 1;
        n->i = neg ? (int64_t)(0 - m) : (int64_t)m;
        n->num = (double)n->i;
    } else if (!ovf && sig <= 15 && exp10 >= -22 && exp10 <= 22) {
        double v = (double)m;
        v = exp10 < 0 ? v / json_pow10[-exp10] : v * json_pow10[exp10];
        n->num = neg ? -v : v;
    } else {
        errno = 0;
        double v = strtod(n->str, NULL);
        if (isinf(v)) return json_fail(ps, start, "number %.40s is too large for a double", n->str);
        n->num = v;
    }
    if (!n->is_int && n->num == floor(n->num) && fabs(n->num) < 9.2e18) {
        n->is_int = 1;
        n->i = (int64_t)n->num;
    }
    ps->p = p;
    return 0;
}

/* count: the children so far, stored in the node when it closes */
typedef struct json_level { uint32_t node, last, count; int is_obj; } json_level;
#define JSON_NOLAST UINT32_MAX

int json_parse(json_doc *d, const char *buf, size_t len)
{
    d->nnodes = 0;
    d->err[0] = 0;
    d->err_offset = 0;
    d->has_nul = 0;
    if (d->scratch_cap < len + 1) {
        size_t nc = len + 1 < 256 ? 256 : len + 1;
        char *ns = realloc(d->scratch, nc);
        if (!ns) {
            snprintf(d->err, sizeof d->err, "out of memory");
            return -1;
        }
        d->scratch = ns;
        d->scratch_cap = nc;
    }
    json_parser ps = { d, (const unsigned char *)buf, (const unsigned char *)buf,
                       (const unsigned char *)buf + len, d->scratch };
    json_level stack[JSON_MAX_DEPTH];
    int depth = 0;
    const char *key = NULL;
    uint32_t keylen = 0;
    char fb[16];

    ps.p = json_ws(ps.p, ps.end);
    if (ps.p >= ps.end) { json_fail(&ps, ps.p, "no JSON value (empty input)"); goto fail; }

value:
    {
        uint32_t idx = 0;
        if (json_new_node(&ps, &idx)) goto fail;
        json_node *n = &d->nodes[idx];
        if (depth > 0) {
            json_level *l = &stack[depth - 1];
            if (l->last != JSON_NOLAST) d->nodes[l->last].next = idx;
            l->last = idx;
            l->count++;
            if (l->is_obj) { n->keystr = key; n->keylen = keylen; }
        }
        if (ps.p >= ps.end) { json_fail(&ps, ps.p, "expected a value, found the end of the input"); goto fail; }
        switch (*ps.p) {
        case '{':
        case '[':
            if (depth >= JSON_MAX_DEPTH) {
                json_fail(&ps, ps.p, "nested deeper than %d levels", JSON_MAX_DEPTH);
                goto fail;
            }
            n->type = *ps.p == '{' ? JSON_OBJECT : JSON_ARRAY;
            stack[depth].node = idx;
            stack[depth].last = JSON_NOLAST;
            stack[depth].count = 0;
            stack[depth].is_obj = *ps.p == '{';
            depth++;
            ps.p = json_ws(ps.p + 1, ps.end);
            if (ps.p < ps.end && *ps.p == (stack[depth - 1].is_obj ? '}' : ']')) {
                ps.p++;
                depth--;
                goto after;
            }
            if (stack[depth - 1].is_obj) goto member;
            goto value;
        case '"':
            n->type = JSON_STRING;
            if (json_string(&ps, &n->str, &n->len)) goto fail;
            goto after;
        case 't':
            if (ps.end - ps.p >= 4 && !memcmp(ps.p, "true", 4)) { n->type = JSON_TRUE; ps.p += 4; goto after; }
            break;
        case 'f':
            if (ps.end - ps.p >= 5 && !memcmp(ps.p, "false", 5)) { n->type = JSON_FALSE; ps.p += 5; goto after; }
            break;
        case 'n':
            if (ps.end - ps.p >= 4 && !memcmp(ps.p, "null", 4)) { n->type = JSON_NULL; ps.p += 4; goto after; }
            break;
        case '-': case '0': case '1': case '2': case '3': case '4':
        case '5': case '6': case '7': case '8': case '9':
            if (json_number(&ps, n)) goto fail;
            goto after;
        case ']': case '}':
            if (depth > 0 && ps.p > ps.s) {
                const unsigned char *q = ps.p - 1;
                while (q > ps.s && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')) q--;
                if (*q == ',') { json_fail(&ps, q, "trailing comma before '%c'", *ps.p); goto fail; }
            }
            break;
        }
        json_fail(&ps, ps.p, "expected a value, found %s", json_found(&ps, ps.p, fb, sizeof fb));
        goto fail;
    }

member:
    if (ps.p >= ps.end || *ps.p != '"') {
        if (ps.p < ps.end && *ps.p == '}') {
            const unsigned char *q = ps.p - 1;
            while (q > ps.s && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')) q--;
            if (*q == ',') { json_fail(&ps, q, "trailing comma before '}'"); goto fail; }
        }
        json_fail(&ps, ps.p, "expected a member name in double quotes, found %s",
                  json_found(&ps, ps.p, fb, sizeof fb));
        goto fail;
    }
    if (json_string(&ps, &key, &keylen)) goto fail;
    if (ps.p >= ps.end || *ps.p != ':') {   /* the usual "key": needs no whitespace skip */
        ps.p = json_ws(ps.p, ps.end);
        if (ps.p >= ps.end || *ps.p != ':') {
            json_fail(&ps, ps.p, "expected ':' after member name \"%.40s\", found %s", key,
                      json_found(&ps, ps.p, fb, sizeof fb));
            goto fail;
        }
    }
    ps.p = json_ws(ps.p + 1, ps.end);
    goto value;

after:
    if (depth == 0) {
        ps.p = json_ws(ps.p, ps.end);
        if (ps.p < ps.end) {
            json_fail(&ps, ps.p, "unexpected %s after the end of the JSON value",
                      json_found(&ps, ps.p, fb, sizeof fb));
            goto fail;
        }
        return 0;
    }
    {
        json_level *l = &stack[depth - 1];
        char close = l->is_obj ? '}' : ']';
        /* after a value mostly ',' or the close itself: the one test for both */
        int c = ps.p < ps.end ? *ps.p : -1;
        if (c <= ' ') {
            ps.p = json_ws(ps.p, ps.end);
            c = ps.p < ps.end ? *ps.p : -1;
        }
        if (c == ',') {
            ps.p = json_ws(ps.p + 1, ps.end);
            if (l->is_obj) goto member;
            goto value;
        }
        if (c == close) {
            ps.p++;
            d->nodes[l->node].len = l->count;
            depth--;
            goto after;
        }
        json_fail(&ps, ps.p, "expected ',' or '%c' %s, found %s", close,
                  l->is_obj ? "after an object member" : "after an array element",
                  json_found(&ps, ps.p, fb, sizeof fb));
        goto fail;
    }

fail:
    d->nnodes = 0;
    return -1;
}

const json_node *json_child(const json_doc *d, const json_node *n)
{
    if (!n || (n->type != JSON_ARRAY && n->type != JSON_OBJECT) || n->len == 0) return NULL;
    return n + 1;
    (void)d;
}

const json_node *json_get(const json_doc *d, const json_node *obj, const char *key)
{
    if (!obj || obj->type != JSON_OBJECT) return NULL;
    size_t kl = strlen(key);
    for (const json_node *c = json_child(d, obj); c; c = json_next(d, c))
        if (c->keylen == kl && memcmp(c->keystr, key, kl) == 0) return c;
    return NULL;
}

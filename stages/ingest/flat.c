/* flat.c — the usual JSON line read in one pass: one object whose members
 * are strings, numbers, true/false/null or objects of those (metadata,
 * labels), with no backslash and no control byte anywhere in the line.
 * Without escapes every '"' delimits a string, so one vector pass over the
 * line finds them all (and copies the line to scratch, where each string's
 * closing quote becomes its NUL); a walk over the few structural bytes
 * then builds in g->doc the nodes json_parse would (same order, links,
 * texts, values) and matches the top-level members to ingest's fields. The
 * rest of jsonl.c cannot tell which reader ran. Anything else (escapes,
 * arrays, deeper nesting, exponents, long numbers, tabs, any syntax error)
 * is left to json_parse: ing_flat_read returns 0, and json_parse also words
 * every error. */
#include "ingest.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
/* 32 bytes a step where the CPU has AVX2 (checked once at start-up): the
 * scan is about a fifth of a line's instructions. */
#if defined(__x86_64__) && defined(__SSE2__) && (defined(__GNUC__) || defined(__clang__))
#define FLAT_AVX2 1
#include <immintrin.h>
#endif

/* Longer lines go to json_parse: the quote bits live on the stack. */
#define FLAT_MAX_LINE 8192

typedef struct flat {
    const unsigned char *s;     /* the line */
    size_t len;
    char *o;                    /* its copy in scratch (NUL-terminated) */
    const uint16_t *qm;         /* bit i: s[i] is '"' (and bit len), 16 bytes a piece */
    int hi;                     /* a byte >= 0x80 somewhere: strings are validated */
} flat;

/* The first quote at or after position from; len (a sentinel bit past the
 * line) when none is left. */
static inline __attribute__((always_inline)) size_t flat_quote(const flat *fl, size_t from)
{
    size_t w = from >> 6;
    uint64_t m;
    memcpy(&m, fl->qm + 4 * w, 8);
    m &= ~0ull << (from & 63);
    while (!m) memcpy(&m, fl->qm + 4 * ++w, 8);
    return w * 64 + (size_t)__builtin_ctzll(m);
}

static inline __attribute__((always_inline)) size_t flat_ws(const flat *fl, size_t i)
{
    while (i < fl->len && fl->s[i] == ' ') i++;   /* the other whitespace bytes sent the line away */
    return i;
}

/* The string whose opening quote is at *i: NUL-terminated in the copy. */
static inline __attribute__((always_inline)) int flat_string(const flat *fl, size_t *i, const char **str, uint32_t *len)
{
    size_t c = flat_quote(fl, *i + 1);
    if (c >= fl->len) return -1;
    fl->o[c] = 0;
    *str = fl->o + *i + 1;
    *len = (uint32_t)(c - *i - 1);
    if (fl->hi && !json_utf8_valid(*str, *len)) return -1;
    *i = c + 1;
    return 0;
}

static const double flat_pow10[] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };

/* The numbers json_parse converts without strtod — an integer that fits
 * int64, a decimal of at most 15 significant digits, no exponent — by its
 * very arithmetic (json.c json_number); any other: -1, not ours. */
static inline __attribute__((always_inline)) int flat_number(const flat *fl, size_t *pi, json_node *n)
{
    const unsigned char *s = fl->s;
    size_t i = *pi, start = i, len = fl->len;
    int neg = 0, sig = 0, exp10 = 0;
    uint64_t m = 0;
    if (s[i] == '-') { neg = 1; i++; }
    if (i >= len || s[i] < '0' || s[i] > '9') return -1;
    if (s[i] == '0') {
        i++;
        if (i < len && s[i] >= '0' && s[i] <= '9') return -1;
    } else {
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (sig == 19) return -1;
            m = m * 10 + (uint64_t)(s[i++] - '0');
            sig++;
        }
    }
    if (i < len && s[i] == '.') {
        i++;
        if (i >= len || s[i] < '0' || s[i] > '9') return -1;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (sig == 19) return -1;
            if (m || s[i] != '0') { m = m * 10 + (uint64_t)(s[i] - '0'); sig++; }
            exp10--;
            i++;
        }
        if (i < len && (s[i] == 'e' || s[i] == 'E')) return -1;
        if (sig > 15 || exp10 < -22) return -1;
        double v = (double)m / flat_pow10[-exp10];
        n->num = neg ? -v : v;
        if (n->num == floor(n->num) && fabs(n->num) < 9.2e18) {
            n->is_int = 1;
            n->i = (int64_t)n->num;
        }
    } else {
        if (i < len && (s[i] == 'e' || s[i] == 'E')) return -1;
        if (!(m <= (uint64_t)INT64_MAX || (neg && m == (uint64_t)INT64_MAX + 1))) return -1;
        n->is_int = 1;
        n->i = neg ? (int64_t)(0 - m) : (int64_t)m;
        n->num = (double)n->i;
    }
    fl->o[i] = 0;   /* the delimiter after it, in the copy: read from s */
    n->type = JSON_NUMBER;
    n->str = fl->o + start;
    n->len = (uint32_t)(i - start);
    *pi = i;
    return 0;
}

/* A string, number or true/false/null at *i into n (zeroed): 0 or -1. */
static inline __attribute__((always_inline)) int flat_scalar(const flat *fl, size_t *i, json_node *n)
{
    const unsigned char *p = fl->s + *i;
    size_t left = fl->len - *i;
    switch (*p) {
    case '"':
        n->type = JSON_STRING;
        return flat_string(fl, i, &n->str, &n->len);
    case 't':
        if (left < 4 || memcmp(p, "true", 4)) return -1;
        n->type = JSON_TRUE; *i += 4; return 0;
    case 'f':
        if (left < 5 || memcmp(p, "false", 5)) return -1;
        n->type = JSON_FALSE; *i += 5; return 0;
    case 'n':
        if (left < 4 || memcmp(p, "null", 4)) return -1;
        n->type = JSON_NULL; *i += 4; return 0;
    default:
        return flat_number(fl, i, n);
    }
}

/* A member's name at *i and the ':' after it, up to its value. */
static inline __attribute__((always_inline)) int flat_name(const flat *fl, size_t *i, const char **key, uint32_t *keylen)
{
    if (*i >= fl->len || fl->s[*i] != '"' || flat_string(fl, i, key, keylen)) return -1;
    size_t j = *i;   /* the closing quote was before len: s[j] is in the line or the end */
    if (j < fl->len && fl->s[j] == ':' && j + 1 < fl->len && fl->s[j + 1] != ' ') { *i = j + 1; return 0; }
    j = flat_ws(fl, j);
    if (j >= fl->len || fl->s[j] != ':') return -1;
    j = flat_ws(fl, j + 1);
    if (j >= fl->len) return -1;
    *i = j;
    return 0;
}

/* After a member: 1 past a ',' (at the next name), 0 past the '}', -1 else. */
static inline __attribute__((always_inline)) int flat_next(const flat *fl, size_t *i)
{
    size_t j = *i;
    if (j + 1 < fl->len && fl->s[j] == ',' && fl->s[j + 1] == '"') { *i = j + 1; return 1; }
    j = flat_ws(fl, j);
    if (j >= fl->len) return -1;
    *i = j + 1;
    if (fl->s[j] == '}') return 0;
    if (fl->s[j] != ',') return -1;
    *i = flat_ws(fl, j + 1);
    return 1;
}

/* The 16 bytes at p: copied to o; their quotes as bits; -1 for a
 * backslash or a control byte; *hi gains the bytes >= 0x80. */
static inline __attribute__((always_inline)) int flat_chunk(const unsigned char *p, char *o, uint16_t *q,
                                                            unsigned *hi)
{
#if defined(__SSE2__)
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    _mm_storeu_si128((__m128i *)(void *)o, v);
    unsigned qb = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')));
    __m128i bs = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
    __m128i lt = _mm_cmplt_epi8(v, _mm_set1_epi8(0x20));   /* control, and >= 0x80 (signed) */
    unsigned sb = (unsigned)_mm_movemask_epi8(_mm_or_si128(bs, lt));
    unsigned hb = (unsigned)_mm_movemask_epi8(v);
#else
    unsigned qb = 0, sb = 0, hb = 0;
    for (int b = 0; b < 16; b++) {
        unsigned c = p[b];
        qb |= (unsigned)(c == '"') << b;
        sb |= (unsigned)(c == '\\' || c < 0x20 || c >= 0x80) << b;
        hb |= (unsigned)(c >= 0x80) << b;
    }
    memcpy(o, p, 16);
#endif
    *q = (uint16_t)qb;
    *hi |= hb;
    return (int)(sb & ~hb);   /* nonzero: a backslash or a control byte */
}

#ifdef FLAT_AVX2
static int flat_wide;   /* the CPU has AVX2 (ing_flat_set_wide) */

__attribute__((constructor)) static void flat_wide_init(void)
{
    __builtin_cpu_init();
    flat_wide = __builtin_cpu_supports("avx2") != 0;
}

/* flat_chunk's work 32 bytes at a time over the first len / 32 * 32
 * bytes: the quote bits of two 16-byte pieces stored as one word. Returns
 * the bytes done; *special gains the backslash and control bytes. */
__attribute__((target("avx2"))) static size_t flat_scan_wide(const unsigned char *s, size_t len, char *o,
                                                             uint16_t *qm, unsigned *hi, int *special)
{
    const __m256i quote = _mm256_set1_epi8('"'), bsl = _mm256_set1_epi8('\\'), ctl = _mm256_set1_epi8(0x20);
    unsigned h = 0, sp = 0;
    size_t at = 0;
    for (; at + 32 <= len; at += 32) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(s + at));
        _mm256_storeu_si256((__m256i *)(void *)(o + at), v);
        uint32_t qb = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, quote));
        /* control, and >= 0x80 (signed) */
        __m256i bad = _mm256_or_si256(_mm256_cmpeq_epi8(v, bsl), _mm256_cmpgt_epi8(ctl, v));
        unsigned hb = (unsigned)_mm256_movemask_epi8(v);
        sp |= (unsigned)_mm256_movemask_epi8(bad) & ~hb;
        h |= hb;
        memcpy(&qm[at / 16], &qb, 4);   /* little-endian: the first piece's bits in the low half */
    }
    *hi |= h;
    *special |= sp != 0;
    return at;
}
#endif

int ing_flat_set_wide(int on)
{
#ifdef FLAT_AVX2
    __builtin_cpu_init();
    flat_wide = on && __builtin_cpu_supports("avx2");
    return flat_wide;
#else
    (void)on;
    return 0;
#endif
}

/* One vector pass: the line copied to scratch (NUL-terminated), its quotes
 * as bits with the sentinel at len; -1 for a backslash or a control byte. */
static int flat_scan(const unsigned char *s, size_t len, char *o, uint16_t *qm, int *hi)
{
    size_t at = 0;
    unsigned h = 0;
    int special = 0;
#ifdef FLAT_AVX2
    if (flat_wide) at = flat_scan_wide(s, len, o, qm, &h, &special);
#endif
    for (; at + 16 <= len; at += 16) special |= flat_chunk(s + at, o + at, &qm[at / 16], &h);
    if (special) return -1;
    unsigned char tail[16];   /* the last bytes, padded with spaces (nothing special) */
    char tail_out[16];
    memset(tail, ' ', sizeof tail);
    memcpy(tail, s + at, len - at);
    if (flat_chunk(tail, tail_out, &qm[at / 16], &h)) return -1;
    memcpy(o + at, tail, len - at);
    for (size_t k = at / 16 + 1; k < at / 16 + 5; k++) qm[k] = 0;   /* the rest of the last word */
    qm[len / 16] |= (uint16_t)(1u << (len % 16));
    o[len] = 0;
    *hi = h != 0;
    return 0;
}

int ing_flat_read(ingest *g, const char *line, size_t len, ing_val *f, ing_members *mb)
{
    json_doc *d = &g->doc;
    if (len > FLAT_MAX_LINE) return 0;
    if (d->scratch_cap < len + 1) {   /* as json_parse grows it */
        size_t nc = len + 1 < 256 ? 256 : len + 1;
        char *ns = realloc(d->scratch, nc);
        if (!ns) return 0;
        d->scratch = ns;
        d->scratch_cap = nc;
    }
    uint16_t qm[FLAT_MAX_LINE / 16 + 8];
    flat fl = { (const unsigned char *)line, len, d->scratch, qm, 0 };
    if (flat_scan(fl.s, len, fl.o, qm, &fl.hi)) return 0;
    /* every node but the root is a member, of 5 bytes at least ("":0 and
     * a ',' or the '}'), so at most 1,639 nodes (105 KiB) */
    size_t need = len / 5 + 1;
    if (d->cap < need) {   /* as json_parse grows it: doubling from 64 */
        uint32_t ncap = d->cap ? d->cap : 64;
        while (ncap < need) ncap *= 2;
        json_node *nn = realloc(d->nodes, ncap * sizeof *nn);
        if (!nn) return 0;
        d->nodes = nn;
        d->cap = ncap;
    }
    json_node *nodes = d->nodes;
    d->err[0] = 0;
    d->err_offset = 0;
    d->has_nul = 0;   /* no escapes, so no \u0000 */
    size_t i = flat_ws(&fl, 0);
    if (i >= len || fl.s[i] != '{') return 0;
    nodes[0] = (json_node){ .type = JSON_OBJECT };
    uint32_t n = 1, prev = 0, count = 0;
    i = flat_ws(&fl, i + 1);
    int more = i < len && fl.s[i] == '}' ? (i++, 0) : 1;
    while (more == 1) {
        const char *key;
        uint32_t keylen;
        if (flat_name(&fl, &i, &key, &keylen)) return 0;
        uint32_t idx = n++;
        json_node *nd = &nodes[idx];
        *nd = (json_node){ .keystr = key, .keylen = keylen };
        if (count) nodes[prev].next = idx;
        prev = idx;
        count++;
        if (fl.s[i] == '{') {   /* one level of members, scalars only */
            nd->type = JSON_OBJECT;
            i = flat_ws(&fl, i + 1);
            int inner = i < len && fl.s[i] == '}' ? (i++, 0) : 1;
            uint32_t cprev = 0, ccount = 0;
            while (inner == 1) {
                const char *ck;
                uint32_t cklen;
                if (flat_name(&fl, &i, &ck, &cklen)) return 0;
                uint32_t cidx = n++;
                json_node *c = &nodes[cidx];
                *c = (json_node){ .keystr = ck, .keylen = cklen };
                if (ccount) nodes[cprev].next = cidx;
                cprev = cidx;
                ccount++;
                if (flat_scalar(&fl, &i, c)) return 0;
                inner = flat_next(&fl, &i);
            }
            if (inner < 0) return 0;
            nd->len = ccount;
        } else if (flat_scalar(&fl, &i, nd)) {
            return 0;
        }
        /* the member to its field, as jsonl.c does after json_parse */
        int fi = ing_field_index(key, keylen);
        if (fi >= 0) {
            if (!f[fi].n) { f[fi].n = nd; mb->present |= 1u << fi; }
        } else {
            if (mb->nextra < g->c.max_attrs) mb->extra[mb->nextra++] = nd;
            mb->nextra_all++;
        }
        more = flat_next(&fl, &i);
    }
    if (more < 0 || flat_ws(&fl, i) != len) return 0;
    nodes[0].len = count;
    d->nnodes = n;
    return 1;
}

/* promql.c — the PromQL subset of promql.h: a hand-written scanner, since
 * the grammar accepted is two operands and an operator; every refusal
 * names the token where the accepted subset ends. */
#include "promql.h"
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "rules.h"

typedef struct pq_ctx {
    const char *s;
    size_t i;
    size_t *err_at;
    char *why; size_t whylen;
} pq_ctx;

static int pq_fail(pq_ctx *c, size_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int pq_fail(pq_ctx *c, size_t at, const char *fmt, ...)
{
    *c->err_at = at;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->why, c->whylen, fmt, ap);
    va_end(ap);
    return -1;
}

static void pq_skip(pq_ctx *c)
{
    for (;;) {
        while (isspace((unsigned char)c->s[c->i])) c->i++;
        if (c->s[c->i] != '#') return;           /* a PromQL comment runs to the end of the line */
        while (c->s[c->i] && c->s[c->i] != '\n') c->i++;
    }
}

static int pq_ident_start(int ch) { return isalpha(ch) || ch == '_' || ch == ':'; }
static int pq_ident_char(int ch) { return isalnum(ch) || ch == '_' || ch == ':'; }

static const char *const pq_aggregations[] = {
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
    "bottomk", "topk", "quantile", "limitk", "limit_ratio", NULL };

/* What an identifier the subset has no place for is, for the message. */
static int pq_refuse_word(pq_ctx *c, size_t at, const char *w, size_t n)
{
#define IS(x) (n == strlen(x) && !memcmp(w, x, n))
    if (IS("and") || IS("or") || IS("unless"))
        return pq_fail(c, at, "set operator '%.*s' is not supported: write one rule per condition", (int)n, w);
    if (IS("by") || IS("without") || IS("on") || IS("ignoring") || IS("group_left") || IS("group_right"))
        return pq_fail(c, at, "'%.*s' (grouping or vector matching) is not supported: the alerter "
                       "compares one series at a time against a number", (int)n, w);
    if (IS("offset") || IS("bool"))
        return pq_fail(c, at, "'%.*s' is not supported: %s", (int)n, w, IS("bool")
                       ? "an alerting rule fires on the comparison itself" : "the alerter evaluates each record at its own event time");
    for (int k = 0; pq_aggregations[k]; k++)
        if (IS(pq_aggregations[k]))
            return pq_fail(c, at, "aggregation '%.*s' is not supported: the alerter compares one Metric "
                           "record's field against a number (aggregate computes windows upstream)", (int)n, w);
    return pq_fail(c, at, "function '%.*s' is not supported: the alerter compares one Metric record's "
                   "field against a number (a selector, a comparison, a number)", (int)n, w);
#undef IS
}

/* A string literal: "..." or '...' with Go escapes, or `raw`. */
static int pq_string(pq_ctx *c, char **out)
{
    size_t at = c->i;
    char q = c->s[c->i];
    if (q != '"' && q != '\'' && q != '`') return pq_fail(c, at, "expected a quoted string");
    c->i++;
    size_t cap = 16, n = 0;
    char *b = malloc(cap);
    if (!b) return pq_fail(c, at, "out of memory");
    for (;;) {
        char ch = c->s[c->i];
        if (!ch || (ch == '\n' && q != '`')) { free(b); return pq_fail(c, at, "string not closed"); }
        c->i++;
        if (ch == q) break;
        if (ch == '\\' && q != '`') {
            char e = c->s[c->i++];
            switch (e) {
            case 'n': ch = '\n'; break;
            case 't': ch = '\t'; break;
            case 'r': ch = '\r'; break;
            case '\\': case '"': case '\'': ch = e; break;
            default: free(b); return pq_fail(c, c->i - 2, "escape '\\%c' is not supported (\\n \\t \\r \\\\ \\\" \\')", e ? e : ' ');
            }
        }
        if (n + 2 > cap) {
            char *nb = realloc(b, cap *= 2);
            if (!nb) { free(b); return pq_fail(c, at, "out of memory"); }
            b = nb;
        }
        b[n++] = ch;
    }
    b[n] = 0;
    *out = b;
    return 0;
}

/* glibc's regcomp copies a subexpression for each repetition it unrolls
 * (x+ is xx*, x{3} is xxx, x{,3} is x?x?x?), so nested repetitions grow its
 * automaton exponentially: 20 stacked '+' took 700 MB. RE2, which
 * Prometheus uses, refuses such patterns by program size; here an estimate
 * of the unrolled size does the same. PQ_RE_MAX_ATOMS keeps regcomp within
 * a few MB. Atoms that may be skipped (under '?', '*', the copies past n of
 * {n,m}, a group with an empty branch) cost more: regcomp's closure of a
 * run of them is quadratic ((a?){5000}: 5,000 atoms, 400 MB; (a?){1000}:
 * 18 MB; (a{,10}){,100}: 13 atoms by the earlier estimate, 38 MB), so at
 * most PQ_RE_MAX_OPTIONAL of them. */
#define PQ_RE_MAX_ATOMS 10000
#define PQ_RE_MAX_OPTIONAL 1000
#define PQ_RE_MAX_DEPTH 64
/* The unrolled size of re: its atoms, and in *optional those that may be
 * skipped (both saturate just above PQ_RE_MAX_ATOMS). */
static size_t pq_re_atoms(const char *re, size_t *optional)
{
    const size_t cap = PQ_RE_MAX_ATOMS + 1;   /* saturate: above the cap is all we need to know */
    /* per open group: atoms of its branches so far and of the current
     * branch, the same for the optional ones, and whether a branch was empty */
    size_t alts[PQ_RE_MAX_DEPTH], seqs[PQ_RE_MAX_DEPTH], last = 0;
    size_t alts_o[PQ_RE_MAX_DEPTH], seqs_o[PQ_RE_MAX_DEPTH], last_o = 0;
    int empty[PQ_RE_MAX_DEPTH];
    int depth = 0;
    alts[0] = seqs[0] = alts_o[0] = seqs_o[0] = 0;
    empty[0] = 0;
#define PQ_SAT(x) ((x) > cap ? cap : (x))
    *optional = cap;
    for (const char *p = re; *p; p++) {
        size_t lo = 0, hi = 0;   /* a repetition: lo copies, then hi - lo optional ones */
        switch (*p) {
        case '(':
            if (depth + 1 == PQ_RE_MAX_DEPTH) return cap;
            seqs[depth] = PQ_SAT(seqs[depth] + last);
            seqs_o[depth] = PQ_SAT(seqs_o[depth] + last_o);
            last = last_o = 0;
            depth++;
            alts[depth] = seqs[depth] = alts_o[depth] = seqs_o[depth] = 0;
            empty[depth] = 0;
            continue;
        case ')':
            if (!depth) {   /* regcomp judges */
                seqs[0] = PQ_SAT(seqs[0] + last); seqs_o[0] = PQ_SAT(seqs_o[0] + last_o);
                last = 1; last_o = 0;
                continue;
            }
            if (!seqs[depth] && !last) empty[depth] = 1;
            alts[depth] = PQ_SAT(alts[depth] + seqs[depth] + last);
            alts_o[depth] = PQ_SAT(alts_o[depth] + seqs_o[depth] + last_o);
            last = alts[depth] ? alts[depth] : 1;
            last_o = empty[depth] ? last : alts_o[depth];
            depth--;
            continue;
        case '|':
            if (!seqs[depth] && !last) empty[depth] = 1;
            alts[depth] = PQ_SAT(alts[depth] + seqs[depth] + last);
            alts_o[depth] = PQ_SAT(alts_o[depth] + seqs_o[depth] + last_o);
            seqs[depth] = last = seqs_o[depth] = last_o = 0;
            continue;
        case '*': case '?': hi = 1; break;
        case '+': lo = 1; hi = 2; break;
        case '{': {
            char *end = (char *)p + 1;
            unsigned long n = *end == ',' ? 0 : strtoul(p + 1, &end, 10), m = n;   /* {,m} is {0,m} */
            if (end == p + 1 && *end != ',') break;   /* not a bound: a literal '{' */
            if (*end == ',') {
                const char *h = end + 1;
                m = strtoul(h, &end, 10);
                if (end == h) m = n + 1;           /* {n,}: n copies and a star */
            }
            if (*end != '}') break;
            lo = n > cap ? cap : n;
            hi = m > cap ? cap : m;
            if (hi < lo) hi = lo;                  /* regcomp refuses it */
            if (!hi) hi = 1;                       /* {0}, {0,0}: counted as one */
            p = end;
            break;
        }
        case '[': {                                /* a bracket expression is one atom */
            const char *q = p + 1;
            if (*q == '^') q++;
            if (*q == ']') q++;
            while (*q && *q != ']') {
                if (*q == '[' && (q[1] == ':' || q[1] == '.' || q[1] == '=')) {
                    const char *close = strchr(q + 2, q[1]);
                    while (close && close[1] != ']') close = strchr(close + 1, q[1]);
                    q = close ? close + 2 : q + 1;
                } else q++;
            }
            seqs[depth] = PQ_SAT(seqs[depth] + last);
            seqs_o[depth] = PQ_SAT(seqs_o[depth] + last_o);
            last = 1; last_o = 0;
            p = *q ? q : q - 1;
            continue;
        }
        case '\\':
            if (p[1]) p++;
            break;
        default: break;
        }
        if (hi) {   /* the element repeated: lo copies as they are, hi - lo that may be skipped */
            size_t one = last ? last : 1;
            /* one skippable copy after the mandatory ones (x+ is xx*, x{2,3}
             * xxx?) starts no run: only what the copies skip inside counts,
             * so stacked '+' (~2 MB at 2,048 atoms) stay cheap */
            last_o = lo && hi - lo == 1 ? PQ_SAT(hi * last_o) : PQ_SAT(lo * last_o + (hi - lo) * one);
            last = PQ_SAT(one * hi);
            continue;
        }
        seqs[depth] = PQ_SAT(seqs[depth] + last);
        seqs_o[depth] = PQ_SAT(seqs_o[depth] + last_o);
        last = 1; last_o = 0;
    }
    while (depth > 0) {                            /* unclosed: regcomp will say so */
        alts[depth] = PQ_SAT(alts[depth] + seqs[depth] + last);
        alts_o[depth] = PQ_SAT(alts_o[depth] + seqs_o[depth] + last_o);
        last = alts[depth]; last_o = alts_o[depth];
        depth--;
    }
    *optional = PQ_SAT(alts_o[0] + seqs_o[0] + last_o);
    return PQ_SAT(alts[0] + seqs[0] + last);
#undef PQ_SAT
}

static int pq_add(pq_ctx *c, pq_expr *e, size_t at, char *label, char *value, int op)
{
    if (e->nm == PQ_MAX_MATCHERS) { free(label); free(value); return pq_fail(c, at, "more than %d label matchers", PQ_MAX_MATCHERS); }
    if (!e->m && !(e->m = calloc(PQ_MAX_MATCHERS, sizeof *e->m))) { free(label); free(value); return pq_fail(c, at, "out of memory"); }
    pq_matcher *m = &e->m[e->nm];
    m->label = label; m->value = value; m->op = op;
    if (op == PQ_RE || op == PQ_NRE) {
        size_t optional, atoms = pq_re_atoms(value, &optional);
        if (atoms > PQ_RE_MAX_ATOMS || optional > PQ_RE_MAX_OPTIONAL) {
            if (atoms > PQ_RE_MAX_ATOMS)
                pq_fail(c, at, "regular expression \"%.60s%s\" is too costly: its repetitions unroll to more than %d "
                        "atoms (nested '+' or '{n,m}' multiply)", value, strlen(value) > 60 ? "..." : "", PQ_RE_MAX_ATOMS);
            else
                pq_fail(c, at, "regular expression \"%.60s%s\" is too costly: its repetitions unroll to more than %d "
                        "atoms that may be skipped ('?', '*', '{n,m}' past n)", value, strlen(value) > 60 ? "..." : "",
                        PQ_RE_MAX_OPTIONAL);
            free(label); free(value);
            return -1;
        }
        /* PromQL regexes match the whole value */
        size_t n = strlen(value) + 5;
        char *pat = malloc(n);
        if (!pat) return pq_fail(c, at, "out of memory");
        snprintf(pat, n, "^(%s)$", value);
        int rc = regcomp(&m->re, pat, REG_EXTENDED | REG_NOSUB);
        free(pat);
        if (rc) {
            char msg[120];
            regerror(rc, &m->re, msg, sizeof msg);
            pq_fail(c, at, "regular expression \"%s\": %s (POSIX extended syntax)", value, msg);
            free(label); free(value); m->label = m->value = NULL;
            return -1;
        }
    }
    e->nm++;
    return 0;
}

/* name{matchers}; at least one of the two */
static int pq_selector(pq_ctx *c, pq_expr *e, int *have)
{
    size_t at = c->i;
    char *name = NULL;
    if (pq_ident_start((unsigned char)c->s[c->i])) {
        size_t b = c->i;
        while (pq_ident_char((unsigned char)c->s[c->i])) c->i++;
        size_t n = c->i - b;
        size_t save = c->i;
        pq_skip(c);
        if (c->s[c->i] == '(') return pq_refuse_word(c, b, c->s + b, n);
        for (int k = 0; pq_aggregations[k]; k++)   /* sum by (job) (...) */
            if (n == strlen(pq_aggregations[k]) && !memcmp(c->s + b, pq_aggregations[k], n) &&
                (!strncmp(c->s + c->i, "by", 2) || !strncmp(c->s + c->i, "without", 7)))
                return pq_refuse_word(c, b, c->s + b, n);
        c->i = save;
        static const char *const words[] = { "and", "or", "unless", "by", "without", "on", "ignoring",
                                             "group_left", "group_right", "offset", "bool", NULL };
        for (int k = 0; words[k]; k++)
            if (n == strlen(words[k]) && !memcmp(c->s + b, words[k], n)) return pq_refuse_word(c, b, c->s + b, n);
        if ((n == 3 && !strncasecmp(c->s + b, "inf", 3)) || (n == 3 && !strncasecmp(c->s + b, "nan", 3))) {
            c->i = b;
            return 0;   /* a number: the caller reads it */
        }
        if (!(name = strndup(c->s + b, n))) return pq_fail(c, b, "out of memory");
    }
    pq_skip(c);
    if (name && pq_add(c, e, at, strdup("__name__"), name, PQ_EQ) < 0) return -1;
    if (c->s[c->i] == '{') {
        c->i++;
        for (;;) {
            pq_skip(c);
            if (c->s[c->i] == '}') { c->i++; break; }
            size_t lat = c->i;
            char *label = NULL;
            if (c->s[c->i] == '"' || c->s[c->i] == '\'') {
                if (pq_string(c, &label) < 0) return -1;   /* a quoted name: Prometheus 3 */
            } else {
                if (!pq_ident_start((unsigned char)c->s[c->i]) || c->s[c->i] == ':')
                    return pq_fail(c, lat, "expected a label name or '}'");
                size_t b = c->i;
                while (isalnum((unsigned char)c->s[c->i]) || c->s[c->i] == '_') c->i++;
                if (!(label = strndup(c->s + b, c->i - b))) return pq_fail(c, b, "out of memory");
            }
            pq_skip(c);
            size_t oat = c->i;
            int op;
            if (c->s[c->i] == '=' && c->s[c->i + 1] == '~') { op = PQ_RE; c->i += 2; }
            else if (c->s[c->i] == '!' && c->s[c->i + 1] == '~') { op = PQ_NRE; c->i += 2; }
            else if (c->s[c->i] == '!' && c->s[c->i + 1] == '=') { op = PQ_NE; c->i += 2; }
            else if (c->s[c->i] == '=') { op = PQ_EQ; c->i++; }
            else { free(label); return pq_fail(c, oat, "expected a matcher: =, !=, =~ or !~"); }
            pq_skip(c);
            char *value;
            if (pq_string(c, &value) < 0) { free(label); return -1; }
            if (pq_add(c, e, lat, label, value, op) < 0) return -1;
            pq_skip(c);
            if (c->s[c->i] == ',') { c->i++; continue; }
            if (c->s[c->i] == '}') { c->i++; break; }
            return pq_fail(c, c->i, "expected ',' or '}' after a label matcher");
        }
        pq_skip(c);
    } else if (!name) {
        return 0;
    }
    if (c->s[c->i] == '[')
        return pq_fail(c, c->i, "a range selector ([...]) is not supported: the alerter sees each record "
                       "once; say how long the condition must hold with 'for:'");
    if (c->s[c->i] == '@') return pq_fail(c, c->i, "'@' is not supported: the alerter evaluates each record at its own event time");
    *have = 1;
    return 0;
}

/* A number, or 0 (nothing read) when there is none here. */
static int pq_number(pq_ctx *c, double *x, int *have)
{
    size_t at = c->i;
    const char *p = c->s + c->i;
    int neg = 0;
    if (*p == '-' || *p == '+') { neg = *p == '-'; p++; while (isspace((unsigned char)*p)) p++; }
    if (!isdigit((unsigned char)*p) && *p != '.' && strncasecmp(p, "inf", 3) && strncasecmp(p, "nan", 3)) return 0;
    if (!strncasecmp(p, "nan", 3)) return pq_fail(c, at, "NaN never compares true: give a number");
    char *end;
    errno = 0;
    double v = strtod(p, &end);
    if (end == p) return pq_fail(c, at, "expected a number");
    if (pq_ident_char((unsigned char)*end))
        return pq_fail(c, (size_t)(end - c->s), "a duration or unit after a number is not supported here");
    c->i = (size_t)(end - c->s);
    *x = neg ? -v : v;
    *have = 1;
    return 0;
}

static int pq_cmp(pq_ctx *c, int *cond)
{
    const char *p = c->s + c->i;
    int n = 1;
    if (p[0] == '>' && p[1] == '=') { *cond = AL_GE; n = 2; }
    else if (p[0] == '<' && p[1] == '=') { *cond = AL_LE; n = 2; }
    else if (p[0] == '=' && p[1] == '=') { *cond = AL_EQ; n = 2; }
    else if (p[0] == '!' && p[1] == '=') { *cond = AL_NE; n = 2; }
    else if (p[0] == '>') *cond = AL_GT;
    else if (p[0] == '<') *cond = AL_LT;
    else if (p[0] && strchr("+-*/%^", p[0]))
        return pq_fail(c, c->i, "arithmetic ('%c') is not supported: compare the selector with a number "
                       "(>, >=, <, <=, ==, !=)", p[0]);
    else if (!p[0])
        return pq_fail(c, c->i, "a bare selector is not supported: compare it with a number (for example '> 0')");
    else if (pq_ident_start((unsigned char)p[0])) {
        size_t b = c->i, k = b;
        while (pq_ident_char((unsigned char)c->s[k])) k++;
        return pq_refuse_word(c, b, c->s + b, k - b);
    } else
        return pq_fail(c, c->i, "expected a comparison (>, >=, <, <=, ==, !=)");
    c->i += (size_t)n;
    pq_skip(c);
    if (!strncmp(c->s + c->i, "bool", 4) && !pq_ident_char((unsigned char)c->s[c->i + 4]))
        return pq_refuse_word(c, c->i, "bool", 4);
    return 0;
}

static int pq_flip(int cond)
{
    switch (cond) {
    case AL_GT: return AL_LT;
    case AL_GE: return AL_LE;
    case AL_LT: return AL_GT;
    case AL_LE: return AL_GE;
    }
    return cond;
}

/* Which Metric field the selector reads: __field__="F", quantile="0.99"
 * (the Prometheus summary convention), or a name suffix (_count, _sum,
 * _min, _max, _mean, _stddev, _pNN); else value. The field labels leave
 * the matcher list: a record does not carry them. */
static int pq_field(pq_ctx *c, pq_expr *e, size_t sel_at)
{
    int given = 0;
    for (int i = 0; i < e->nm; i++) {
        pq_matcher *m = &e->m[i];
        int fieldlab = !strcmp(m->label, "__field__"), qlab = !strcmp(m->label, "quantile");
        if (!fieldlab && !qlab) continue;
        if (m->op != PQ_EQ) return pq_fail(c, sel_at, "%s takes '=' only: it picks one field", m->label);
        if (given) return pq_fail(c, sel_at, "the field is given twice (__field__ or quantile)");
        given = 1;
        if (fieldlab) {
            e->field = strdup(m->value);
        } else {
            const char *v = m->value;
            if (strncmp(v, "0.", 2) || !v[2] || strspn(v + 2, "0123456789") != strlen(v + 2) || strlen(v) > 8)
                return pq_fail(c, sel_at, "quantile=\"%s\": give it as 0.DIGITS (0.5, 0.95, 0.99, 0.999)", v);
            size_t n = strlen(v + 2) + 2;
            if ((e->field = malloc(n))) snprintf(e->field, n, "p%s", v + 2);
        }
        if (!e->field) return pq_fail(c, sel_at, "out of memory");
        free(m->label); free(m->value);
        if (m->op == PQ_RE || m->op == PQ_NRE) regfree(&m->re);
        memmove(m, m + 1, (size_t)(e->nm - i - 1) * sizeof *m);
        e->nm--;
        i--;
    }
    if (given) return 0;
    static const char *const suffixes[] = { "_count", "_sum", "_min", "_max", "_mean", "_stddev", NULL };
    for (int i = 0; i < e->nm; i++) {
        pq_matcher *m = &e->m[i];
        if (strcmp(m->label, "__name__") || m->op != PQ_EQ) continue;
        size_t n = strlen(m->value);
        const char *cut = NULL;
        for (int k = 0; suffixes[k] && !cut; k++) {
            size_t sn = strlen(suffixes[k]);
            if (n > sn && !strcmp(m->value + n - sn, suffixes[k])) cut = m->value + n - sn;
        }
        const char *u = strrchr(m->value, '_');
        if (!cut && u && u > m->value && u[1] == 'p' && u[2] && strspn(u + 2, "0123456789") == strlen(u + 2))
            cut = u;
        if (!cut) break;
        if (!(e->field = strdup(cut + 1))) return pq_fail(c, sel_at, "out of memory");
        m->value[cut - m->value] = 0;
        return 0;
    }
    if (!(e->field = strdup("value"))) return pq_fail(c, sel_at, "out of memory");
    return 0;
}

int pq_parse(const char *s, pq_expr *e, size_t *err_at, char *why, size_t whylen)
{
    memset(e, 0, sizeof *e);
    pq_ctx c = { .s = s, .err_at = err_at, .why = why, .whylen = whylen };
    pq_skip(&c);
    size_t sel_at = 0;
    int have_sel = 0, have_num = 0;
    size_t num_at = c.i;
    if (c.s[c.i] == '(')
        goto paren;
    if (pq_number(&c, &e->threshold, &have_num) < 0) goto fail;
    if (have_num) {
        pq_skip(&c);
        if (pq_cmp(&c, &e->cond) < 0) goto fail;
        pq_skip(&c);
        if (c.s[c.i] == '(') goto paren;
        sel_at = c.i;
        if (pq_selector(&c, e, &have_sel) < 0) goto fail;
        if (!have_sel) { pq_fail(&c, c.i, "expected a selector (metric_name{label=\"value\"}) after the comparison"); goto fail; }
        e->cond = pq_flip(e->cond);
    } else {
        sel_at = c.i;
        if (pq_selector(&c, e, &have_sel) < 0) goto fail;
        if (!have_sel) {
            if (!c.s[c.i]) pq_fail(&c, c.i, "empty expression");
            else pq_fail(&c, c.i, "expected a selector (metric_name{label=\"value\"})");
            goto fail;
        }
        if (pq_cmp(&c, &e->cond) < 0) goto fail;
        pq_skip(&c);
        if (c.s[c.i] == '(') goto paren;
        size_t nat = num_at = c.i;
        if (pq_number(&c, &e->threshold, &have_num) < 0) goto fail;
        if (!have_num) {
            /* what stands there instead: a series, a function... */
            int other = 0;
            pq_expr tmp = {0};
            pq_ctx c2 = c;
            if (pq_selector(&c2, &tmp, &other) == 0) {
                if (other) pq_fail(&c, nat, "comparing two series is not supported: compare the selector with a number");
                else pq_fail(&c, nat, "expected a number after the comparison");
            }
            pq_free(&tmp);
            goto fail;
        }
    }
    pq_skip(&c);
    if (c.s[c.i]) {
        if (strchr("+-*/%^", c.s[c.i]))
            pq_fail(&c, c.i, "arithmetic ('%c') is not supported: the threshold is one number", c.s[c.i]);
        else if (pq_ident_start((unsigned char)c.s[c.i])) {
            size_t b = c.i;
            while (pq_ident_char((unsigned char)c.s[c.i])) c.i++;
            pq_refuse_word(&c, b, c.s + b, c.i - b);
        } else if (strchr("<>=!", c.s[c.i]))
            pq_fail(&c, c.i, "a second comparison is not supported: one selector, one comparison, one number");
        else
            pq_fail(&c, c.i, "unexpected '%c' after the expression", c.s[c.i]);
        goto fail;
    }
    if (!isfinite(e->threshold)) {
        pq_fail(&c, num_at, "an infinite threshold: give a finite number");
        goto fail;
    }
    if (pq_field(&c, e, sel_at) < 0) goto fail;
    return 0;
paren:
    pq_fail(&c, c.i, "parentheses are not supported: write the selector and the number bare "
            "(metric{label=\"v\"} > 5)");
fail:
    pq_free(e);
    return -1;
}

void pq_free(pq_expr *e)
{
    for (int i = 0; i < e->nm; i++) {
        free(e->m[i].label);
        free(e->m[i].value);
        if (e->m[i].op == PQ_RE || e->m[i].op == PQ_NRE) regfree(&e->m[i].re);
    }
    free(e->m);
    free(e->field);
    memset(e, 0, sizeof *e);
}

int pq_match(const pq_matcher *m, const char *v, size_t len)
{
    if (!v) { v = ""; len = 0; }
    switch (m->op) {
    case PQ_EQ: return strlen(m->value) == len && !memcmp(m->value, v, len);
    case PQ_NE: return !(strlen(m->value) == len && !memcmp(m->value, v, len));
    }
    /* REG_STARTEND: the value is not NUL-terminated (a record's bytes) */
    regmatch_t r = { .rm_so = 0, .rm_eo = (regoff_t)len };
    int hit = regexec(&m->re, v, 1, &r, REG_STARTEND) == 0;
    return m->op == PQ_RE ? hit : !hit;
}

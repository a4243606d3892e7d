/* cli.c — one flag table per stage drives parsing and bounds checks
 * (cli.h); --help is printed from the same tables by clihelp.c, and the
 * flags every stage shares (schemas/README.md "What every stage shares")
 * are clicommon.c's.
 *
 * Accepted forms: --name VALUE, --name=VALUE, --flag (booleans), -s VALUE,
 * -sVALUE, clustered short booleans (-ab), "--" to end flags. A value is
 * always the next argument, even when it starts with '-' (--threshold -2).
 * Positional arguments are moved after the flags, keeping their order, and
 * cli_parse returns the index of the first; a stage whose usage line shows
 * nothing but "STAGE [FLAGS]" takes none, so a stray word is a usage error
 * instead of being silently ignored.
 *
 * Every mistake is a usage error: "STAGE: --flag: reason", then
 * "try 'STAGE --help'", exit 2. An unknown flag suggests the closest known
 * one (edit distance, or a unique prefix). A non-list flag given twice is an
 * error rather than last-one-wins: in a long systemd command line the second
 * --window is more often a mistake than an override.
 *
 * Bounds (min < max) are in the target's unit: µs for durations, bytes for
 * sizes. */
#include "cli.h"
#include "cli_int.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "timefmt.h"

/* ---- values ---------------------------------------------------------------- */

int cli_parse_size(const char *s, int64_t *bytes)
{
    if (!s || !*s || !(isdigit((unsigned char)*s) || *s == '.')) return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || !isfinite(v) || v < 0) return -1;
    double mul = 1;
    switch (*end) {
    case 'k': case 'K': mul = 1024.0; end++; break;
    case 'm': case 'M': mul = 1024.0 * 1024; end++; break;
    case 'g': case 'G': mul = 1024.0 * 1024 * 1024; end++; break;
    case 't': case 'T': mul = 1024.0 * 1024 * 1024 * 1024; end++; break;
    default: break;
    }
    /* optional "B", "iB" after a unit (64KiB, 16MB); plain "B" for bytes */
    if (mul > 1 && end[0] == 'i' && end[1] == 'B') end += 2;
    else if (*end == 'B' || *end == 'b') end++;
    if (*end) return -1;
    double r = v * mul;
    if (r > 9.2e18) return -1;
    if (r != floor(r)) return -1;        /* "1.3" bytes makes no sense */
    *bytes = (int64_t)r;
    return 0;
}

static void cli_fmt_size(int64_t b, char *buf, size_t n)
{
    static const char *u = "KMGT";
    int k = -1;
    while (b >= 1024 && b % 1024 == 0 && k < 3) { b /= 1024; k++; }
    if (k < 0) snprintf(buf, n, "%lld", (long long)b);
    else snprintf(buf, n, "%lld%c", (long long)b, u[k]);
}

void cli_fmt_bound(const cli_opt *o, double v, char *buf, size_t n)
{
    if (o->type == CLI_DURATION) time_format_duration((int64_t)v, buf, n);
    else if (o->type == CLI_SIZE) cli_fmt_size((int64_t)v, buf, n);
    else snprintf(buf, n, "%.15g", v);
}

/* ---- suggestions ------------------------------------------------------------ */

int cli_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64) return 1000;
    int row[65];
    for (size_t j = 0; j <= lb; j++) row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *cli_suggest(const char *word, const char *const *cands, int n)
{
    const char *best = NULL, *prefix = NULL;
    int bestd = 1000, nprefix = 0;
    size_t wl = strlen(word);
    for (int i = 0; i < n; i++) {
        if (!cands[i]) continue;
        if (wl && !strncmp(cands[i], word, wl)) { prefix = cands[i]; nprefix++; }
        int d = cli_edit_distance(word, cands[i]);
        if (d < bestd) { bestd = d; best = cands[i]; }
    }
    int limit = (int)wl / 3 > 2 ? (int)wl / 3 : 2;
    if (best && bestd <= limit) return best;
    if (nprefix == 1) return prefix;
    return NULL;
}

/* ---- parsing ---------------------------------------------------------------- */

static const char *cli_last_stage = "streamrec";   /* for cli_die */

void cli_die(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", cli_last_stage);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fflush(stderr);
    exit(status);
}

static void cli_vfail(const cli_spec *spec, const char *fmt, va_list ap)
{
    fprintf(stderr, "%s: ", cli_stage(spec));
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\ntry '%s --help'\n", cli_stage(spec));
    fflush(stderr);
    exit(2);
}

void cli_usage_error(const cli_spec *spec, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cli_vfail(spec, fmt, ap);
    va_end(ap);
    exit(2);   /* not reached */
}

static void cli_list_add(cli_list *l, const char *s, size_t n)
{
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 8;
        const char **items = realloc(l->items, (size_t)cap * sizeof *items);
        if (!items) { fprintf(stderr, "out of memory\n"); exit(1); }
        l->items = items;
        l->cap = cap;
    }
    char *d = malloc(n + 1);
    if (!d) { fprintf(stderr, "out of memory\n"); exit(1); }
    memcpy(d, s, n);
    d[n] = 0;
    l->items[l->n++] = d;
}

void cli_list_free(cli_list *l)
{
    for (int i = 0; i < l->n; i++) free((char *)l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = l->cap = 0;
}

static const cli_opt *cli_find_long(cli_ctx *cx, const char *name, size_t len, int *idx)
{
    for (int i = 0; i < cx->nstage; i++) {
        const cli_opt *o = &cx->spec->opts[i];
        if (strlen(o->name) == len && !strncmp(o->name, name, len)) { *idx = i; return o; }
    }
    for (int i = 0; i < cx->ncopts; i++) {
        const cli_opt *o = &cx->copts[i];
        if (strlen(o->name) == len && !strncmp(o->name, name, len)) { *idx = cx->nstage + i; return o; }
    }
    return NULL;
}

static const cli_opt *cli_find_short(cli_ctx *cx, char c, int *idx)
{
    for (int i = 0; i < cx->nstage; i++)
        if (cx->spec->opts[i].short_name == c) { *idx = i; return &cx->spec->opts[i]; }
    for (int i = 0; i < cx->ncopts; i++)
        if (cx->copts[i].short_name == c) { *idx = cx->nstage + i; return &cx->copts[i]; }
    return NULL;
}

/* "--window" or "-X" for messages */
static const char *cli_flagname(const cli_opt *o, int as_short, char *buf, size_t n)
{
    if (as_short) snprintf(buf, n, "-%c", o->short_name);
    else snprintf(buf, n, "--%s", o->name);
    return buf;
}

static void cli_fail(const cli_ctx *cx, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
static void cli_fail(const cli_ctx *cx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cli_vfail(cx->spec, fmt, ap);
    va_end(ap);
    exit(2);
}

/* Where the flag's value goes: its target, or its member of spec->conf. */
static void *cli_target(const cli_ctx *cx, const cli_opt *o)
{
    if (o->target) return o->target;
    if (!cx->spec->conf) {
        fprintf(stderr, "%s: --%s: no target and no spec conf (a bug in the flag table)\n",
                cli_stage(cx->spec), o->name);
        abort();
    }
    return (char *)cx->spec->conf + o->off;
}

/* "a, b or c" from an enum's names, for messages. */
void cli_names_text(const cli_name *nm, const char *sep, const char *last, char *buf, size_t n)
{
    size_t l = 0;
    buf[0] = 0;
    for (int i = 0; nm && nm[i].name && l < n; i++)
        l += (size_t)snprintf(buf + l, n - l, "%s%s", i == 0 ? "" : nm[i + 1].name ? sep : last, nm[i].name);
}

/* The value of an enum name; fails with the names and a suggestion. */
static int cli_enum_value(const cli_ctx *cx, const cli_opt *o, const char *fl, const char *val, size_t len)
{
    const char *cands[64];
    int nc = 0;
    for (int i = 0; o->names && o->names[i].name; i++) {
        if (strlen(o->names[i].name) == len && !strncmp(o->names[i].name, val, len)) return o->names[i].value;
        if (nc < 64) cands[nc++] = o->names[i].name;
    }
    char word[80], all[512];
    snprintf(word, sizeof word, "%.*s", (int)(len < 70 ? len : 70), val);
    cli_names_text(o->names, ", ", " or ", all, sizeof all);
    const char *s = cli_suggest(word, cands, nc);
    if (s) cli_fail(cx, "%s: '%s' is not %s (did you mean %s?)", fl, word, all, s);
    cli_fail(cx, "%s: '%s' is not %s", fl, word, all);
}

/* The row's own validator (cli_opt.check), if any. */
static void cli_check(const cli_ctx *cx, const cli_opt *o, const char *fl, const char *val)
{
    char why[400];
    if (o->check && o->check(val, why, sizeof why)) cli_fail(cx, "%s: %s", fl, why);
}

/* Store val into o's target. fl names the flag for messages; NULL when
 * applying a default (a bad default is the stage's bug: still exit 2). */
static void cli_set(const cli_ctx *cx, const cli_opt *o, const char *fl, const char *val)
{
    char fb[80];
    if (!fl) fl = cli_flagname(o, 0, fb, sizeof fb);
    int bounded = o->min < o->max;
    char lo[32], hi[32];
    if (bounded) { cli_fmt_bound(o, o->min, lo, sizeof lo); cli_fmt_bound(o, o->max, hi, sizeof hi); }
    void *target = cli_target(cx, o);
    switch (o->type) {
    case CLI_BOOL:
        *(int *)target = !val || !strcmp(val, "1") || !strcmp(val, "true");
        return;
    case CLI_STR:
        if (o->names) (void)cli_enum_value(cx, o, fl, val, strlen(val));
        cli_check(cx, o, fl, val);
        *(const char **)target = val;
        return;
    case CLI_INT: {
        char *end;
        errno = 0;
        long long v = strtoll(val, &end, 10);
        int64_t us;
        if ((!*val || *end || errno) && isdigit((unsigned char)*val) && time_parse_duration(val, &us) == 0)
            cli_fail(cx, "%s: '%s' is a duration, but %s is a count (%s)", fl, val, fl,
                     o->help ? o->help : "an integer");
        if (!*val || *end || errno) cli_fail(cx, "%s: '%s' is not an integer", fl, val);
        if (bounded && (v < o->min || v > o->max))
            cli_fail(cx, "%s: %lld is out of range %s..%s", fl, v, lo, hi);
        *(int64_t *)target = v;
        return;
    }
    case CLI_DOUBLE: {
        char *end;
        errno = 0;
        double v = strtod(val, &end);
        if (!*val || *end || errno == ERANGE || !isfinite(v)) cli_fail(cx, "%s: '%s' is not a number", fl, val);
        if (bounded && (v < o->min || v > o->max))
            cli_fail(cx, "%s: %s is out of range %s..%s", fl, val, lo, hi);
        *(double *)target = v;
        return;
    }
    case CLI_DURATION: {
        int64_t v;
        if (time_parse_duration(val, &v) < 0)
            cli_fail(cx, "%s: '%s' is not a duration (e.g. 250ms, 60s, 5m, 1h, 1d)", fl, val);
        if (bounded && (v < o->min || v > o->max))
            cli_fail(cx, "%s: %s is out of range %s..%s", fl, val, lo, hi);
        *(int64_t *)target = v;
        return;
    }
    case CLI_COUNT_OR_DURATION: {
        cli_count_or_duration *t = target;
        char *end;
        errno = 0;
        long long n = strtoll(val, &end, 10);
        if (*val && !*end && !errno) {
            if (bounded && (n < o->min || n > o->max))
                cli_fail(cx, "%s: %lld is out of range %s..%s", fl, n, lo, hi);
            t->count = n; t->us = 0;
            return;
        }
        int64_t us;
        if (time_parse_duration(val, &us) < 0 || us <= 0)
            cli_fail(cx, "%s: '%s' is neither a count nor a duration (e.g. 100000, 10m, 1h)", fl, val);
        t->count = 0; t->us = us;
        return;
    }
    case CLI_SIZE: {
        int64_t v;
        if (cli_parse_size(val, &v) < 0)
            cli_fail(cx, "%s: '%s' is not a size (e.g. 512, 64k, 16M, 1G)", fl, val);
        if (bounded && (v < o->min || v > o->max))
            cli_fail(cx, "%s: %s is out of range %s..%s", fl, val, lo, hi);
        *(int64_t *)target = v;
        return;
    }
    case CLI_LIST: {
        cli_list *l = target;
        if (o->short_name == 'X' && cx->common && target == &cx->common->kafka_conf) {
            /* librdkafka values contain commas (bootstrap.servers): never split */
            const char *eq = strchr(val, '=');
            if (!eq || eq == val) cli_fail(cx, "%s: '%s' is not KEY=VALUE", fl, val);
            cli_list_add(l, val, strlen(val));
            return;
        }
        for (const char *p = val;;) {
            const char *c = strchr(p, ',');
            size_t n = c ? (size_t)(c - p) : strlen(p);
            if (n) cli_list_add(l, p, n);
            if (n) cli_check(cx, o, fl, l->items[l->n - 1]);
            if (!c) break;
            p = c + 1;
        }
        return;
    }
    case CLI_ENUM:
        *(int *)target = cli_enum_value(cx, o, fl, val, strlen(val));
        return;
    case CLI_ENUM_SET: {
        int any = 0;
        for (const char *p = val;;) {
            const char *c = strchr(p, ',');
            size_t n = c ? (size_t)(c - p) : strlen(p);
            if (n) *(unsigned *)target |= 1u << cli_enum_value(cx, o, fl, p, n);
            any |= n > 0;
            if (!c) break;
            p = c + 1;
        }
        if (!any) {   /* an empty set is more likely a lost shell variable than a wish */
            char all[512];
            cli_names_text(o->names, ", ", " or ", all, sizeof all);
            cli_fail(cx, "%s: give one or more of %s", fl, all);
        }
        return;
    }
    }
}

/* Does the usage text announce positional arguments? Each line is
 * "PROG WORDS..."; a word that is not a flag ("--config", "[--x"), not a
 * flag's value ("--config FILE"), not "[FLAGS]"/"[OPTIONS]" and not after a
 * redirection ("< user_ids") is a positional: "recommender train", "FILE...". */
static int cli_takes_positional(const cli_spec *spec)
{
    if (!spec->usage) return 0;
    const char *p = spec->usage;
    while (*p) {
        int tok = 0, prev_flag = 0, stop = 0;
        while (*p && *p != '\n') {
            while (*p == ' ' || *p == '\t') p++;
            if (!*p || *p == '\n') break;
            const char *s = p;
            while (*p && *p != ' ' && *p != '\t' && *p != '\n') p++;
            if (stop || tok++ == 0) continue;          /* program name, or after a redirection */
            const char *e = p;
            if (*s == '<' || *s == '>' || *s == '|') { stop = 1; continue; }
            while (s < e && (*s == '[' || *s == '(')) s++;
            while (e > s && (e[-1] == ']' || e[-1] == ')' || e[-1] == '.')) e--;
            size_t n = (size_t)(e - s);
            if (!n) continue;
            if (*s == '-') { prev_flag = !memchr(s, '=', n); continue; }
            if (prev_flag) { prev_flag = 0; continue; }
            if ((n == 5 && (!strncmp(s, "FLAGS", 5) || !strncmp(s, "flags", 5))) ||
                (n == 7 && (!strncmp(s, "OPTIONS", 7) || !strncmp(s, "options", 7))))
                continue;
            return 1;
        }
        if (*p == '\n') p++;
    }
    return 0;
}

/* The flag is on the command line: once only, unless it collects; a set
 * given replaces its default rather than adding to it. */
static void cli_see(cli_ctx *cx, const cli_opt *o, int idx, const char *fb)
{
    int collects = o->type == CLI_LIST || o->type == CLI_ENUM_SET;
    if (cx->seen[idx] && !collects) cli_fail(cx, "%s: given twice", fb);
    if (!cx->seen[idx] && o->type == CLI_ENUM_SET) *(unsigned *)cli_target(cx, o) = 0;
    cx->seen[idx] = 1;
}

/* What the last cli_parse saw, for cli_given (flag names are the tables'
 * string literals, so pointers to them stay valid). */
#define CLI_MAX_GIVEN 256
static struct {
    const cli_spec *spec;
    int n;
    const char *name[CLI_MAX_GIVEN];
    unsigned char seen[CLI_MAX_GIVEN];
} cli_last;

int cli_given(const cli_spec *spec, const char *name)
{
    if (spec != cli_last.spec) {
        fprintf(stderr, "%s: cli_given(\"%s\") before cli_parse of this spec\n", cli_stage(spec), name);
        abort();
    }
    for (int i = 0; i < cli_last.n; i++)
        if (!strcmp(cli_last.name[i], name)) return cli_last.seen[i];
    fprintf(stderr, "%s: cli_given: no flag --%s\n", cli_stage(spec), name);
    abort();
}

int cli_parse(int argc, char **argv, const cli_spec *spec, cli_common *common)
{
    cli_ctx cx = { .spec = spec, .common = spec->no_common ? NULL : common };
    cli_last_stage = cli_stage(spec);
    if (spec->opts)
        while (spec->opts[cx.nstage].name) cx.nstage++;
    if (cx.common) {
        memset(common, 0, sizeof *common);
        /* base values, in case a stage flag shadows a shared one elsewhere */
        common->in = common->out = "-";
        common->format = "records";
        common->log_level = "info";
        common->max_record = 16 << 20;
        cli_build_common(&cx);
    }
    int nall = cx.nstage + cx.ncopts;
    unsigned char seen_small[64];
    cx.seen = nall <= 64 ? seen_small : calloc((size_t)nall, 1);
    if (!cx.seen) { fprintf(stderr, "out of memory\n"); exit(1); }
    memset(cx.seen, 0, (size_t)(nall <= 64 ? 64 : nall));

    /* --help and --version win wherever they appear (before "--") */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--")) break;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            cli_help(&cx);
            exit(0);
        }
        if (!strcmp(argv[i], "--version")) {
            printf("%s (streamrec) %s\n", cli_stage(spec), STREAMREC_VERSION);
            fflush(stdout);
            exit(0);
        }
    }

    for (int i = 0; i < nall; i++) {
        const cli_opt *o = i < cx.nstage ? &spec->opts[i] : &cx.copts[i - cx.nstage];
        if (o->defval) cli_set(&cx, o, NULL, o->defval);
    }

    /* flags (with their values) first, then positionals, each in order */
    char **pos = calloc((size_t)argc + 1, sizeof *pos);
    if (!pos) { fprintf(stderr, "out of memory\n"); exit(1); }
    int npos = 0, nflag = 1, dashdash = 0;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (!strcmp(a, "--")) {
            for (int j = i + 1; j < argc; j++) pos[npos++] = argv[j];
            dashdash = 1;
            break;
        }
        if (a[0] != '-' || a[1] == 0) { pos[npos++] = a; continue; }
        int start = i;
        char fb[96];
        if (a[1] == '-') {
            const char *name = a + 2, *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            int idx;
            const cli_opt *o = cli_find_long(&cx, name, len, &idx);
            if (!o) {
                char word[80];
                snprintf(word, sizeof word, "%.*s", (int)(len < 70 ? len : 70), name);
                const char *cands[256];
                int nc = 0;
                for (int k = 0; k < nall && nc < 254; k++)
                    cands[nc++] = k < cx.nstage ? spec->opts[k].name : cx.copts[k - cx.nstage].name;
                cands[nc++] = "help";
                cands[nc++] = "version";
                const char *s = cli_suggest(word, cands, nc);
                if (s) cli_fail(&cx, "--%s: unknown flag; did you mean --%s?", word, s);
                cli_fail(&cx, "--%s: unknown flag", word);
            }
            snprintf(fb, sizeof fb, "--%s", o->name);
            cli_see(&cx, o, idx, fb);
            if (o->type == CLI_BOOL) {
                if (eq) cli_fail(&cx, "%s: takes no value", fb);
                cli_set(&cx, o, fb, NULL);
            } else if (eq) {
                cli_set(&cx, o, fb, eq + 1);
            } else {
                if (i + 1 >= argc)
                    cli_fail(&cx, "%s: needs a value (%s)", fb, o->metavar ? o->metavar : "VALUE");
                cli_set(&cx, o, fb, argv[++i]);
            }
        } else {
            for (int j = 1; a[j]; j++) {
                int idx;
                const cli_opt *o = cli_find_short(&cx, a[j], &idx);
                if (!o) cli_fail(&cx, "-%c: unknown flag", a[j]);
                cli_flagname(o, 1, fb, sizeof fb);
                cli_see(&cx, o, idx, fb);
                if (o->type == CLI_BOOL) { cli_set(&cx, o, fb, NULL); continue; }
                if (a[j + 1]) cli_set(&cx, o, fb, a + j + 1);
                else if (i + 1 < argc) cli_set(&cx, o, fb, argv[++i]);
                else cli_fail(&cx, "%s: needs a value (%s)", fb, o->metavar ? o->metavar : "VALUE");
                break;
            }
        }
        for (int k = start; k <= i; k++) argv[nflag++] = argv[k];
    }
    if (cx.common) {
        /* records are for programs; on a terminal they are noise that can
         * upset it. Like ls or git, adapt to the terminal unless told: an
         * explicit --format records is obeyed (stage flags named format
         * decide for themselves) */
        int fi;
        const cli_opt *fo = cli_find_long(&cx, "format", 6, &fi);
        if (fo && fo->target == &cx.common->format && !cx.seen[fi] && !strcmp(cx.common->out, "-") &&
            isatty(STDOUT_FILENO))
            cx.common->format = "json";
    }
    cli_last.spec = spec;
    cli_last.n = 0;
    for (int i = 0; i < nall && i < CLI_MAX_GIVEN; i++) {
        const cli_opt *o = i < cx.nstage ? &spec->opts[i] : &cx.copts[i - cx.nstage];
        cli_last.name[cli_last.n] = o->name;
        cli_last.seen[cli_last.n++] = cx.seen[i];
    }
    if (dashdash) argv[nflag++] = "--";
    int first = nflag;
    for (int k = 0; k < npos; k++) argv[nflag++] = pos[k];
    free(pos);
    if (cx.seen != seen_small) free(cx.seen);

    if (npos && !cli_takes_positional(spec))
        cli_usage_error(spec, "unexpected argument '%s' (this stage takes only flags)", argv[first]);
    cli_validate_common(spec, cx.common);
    /* after the shared flags' checks, as the stages' own checks always came */
    for (int i = 0; i < cli_last.n; i++) {
        const cli_opt *o = i < cx.nstage ? &spec->opts[i] : &cx.copts[i - cx.nstage];
        if (o->required && !cli_last.seen[i]) cli_fail(&cx, "--%s is required", o->name);
    }
    if (cx.common && cx.common->compress && !strcmp(cx.common->compress, "none"))
        cx.common->compress = NULL;
    return first;
}

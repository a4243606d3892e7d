/* csv.c — CSV input (RFC 4180): a header line names the columns, --map
 * points record fields at columns, other columns become attrs (events) or
 * labels (samples).
 *
 * Quoting: a field may be quoted; inside quotes "" is a quote, and commas
 * and newlines are data (a record may span lines: the pieces are joined
 * with '\n', up to --max-line bytes). A quote inside an unquoted field, or
 * text after a closing quote, is refused (bad_csv). An empty field is an
 * absent value. A UTF-8 byte-order mark before the header is skipped. */
#include "record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ingest_csv_split(const char *s, size_t len, char *out, const char **fv, uint32_t *fl,
                     int maxf, size_t *err_at)
{
    int n = 0;
    size_t i = 0;
    char *o = out;
    for (;;) {
        if (n >= maxf) return -3;
        fv[n] = o;
        if (i < len && s[i] == '"') {
            i++;
            for (;;) {
                if (i >= len) return -1;
                if (s[i] == '"') {
                    if (i + 1 < len && s[i + 1] == '"') { *o++ = '"'; i += 2; continue; }
                    i++;
                    break;
                }
                *o++ = s[i++];
            }
            if (i < len && s[i] != ',') { *err_at = i; return -2; }
        } else {
            while (i < len && s[i] != ',') {
                if (s[i] == '"') { *err_at = i; return -2; }
                *o++ = s[i++];
            }
        }
        fl[n] = (uint32_t)(o - fv[n]);
        *o++ = 0;
        n++;
        if (i >= len) return n;
        i++;   /* the comma */
    }
}

int ingest_map_add(ingest_conf *c, const char *item, char *err, size_t errlen)
{
    const char *eq = strchr(item, '=');
    if (!eq || eq == item || !eq[1]) {
        snprintf(err, errlen, "'%s' is not FIELD=COLUMN", item);
        return -1;
    }
    size_t fl = (size_t)(eq - item), cl = strlen(eq + 1);
    if (c->nmap >= INGEST_MAX_MAP || fl >= sizeof c->map[0].field || cl >= sizeof c->map[0].column) {
        snprintf(err, errlen, "'%s': too many mappings or names too long", item);
        return -1;
    }
    ingest_map *m = &c->map[c->nmap++];
    memcpy(m->field, item, fl);
    m->field[fl] = 0;
    memcpy(m->column, eq + 1, cl + 1);
    return 0;
}

void ingest_csv_free(ingest *g)
{
    for (int i = 0; i < g->csv_ncols; i++) {
        free(g->csv_cols[i]);
        free(g->csv_names[i]);
    }
    free(g->csv_cols);
    free(g->csv_names);
    free(g->csv_target);
    free(g->csv_buf);
    free(g->csv_fields);
    free(g->csv_fv);
    free(g->csv_fl);
    g->csv_cols = g->csv_names = NULL;
    g->csv_target = NULL;
    g->csv_buf = g->csv_fields = NULL;
    g->csv_fv = NULL;
    g->csv_fl = NULL;
    g->csv_ncols = 0;
}

const char *ingest_csv_raw(const ingest *g, size_t *len)
{
    *len = g->csv_len;
    return g->csv_buf;
}

static int csv_reserve(char **buf, size_t *cap, size_t need)
{
    if (need <= *cap) return 0;
    size_t nc = *cap ? *cap : 1024;
    while (nc < need) nc *= 2;
    char *nb = realloc(*buf, nc);
    if (!nb) return -1;
    *buf = nb;
    *cap = nc;
    return 0;
}

static int csv_header(ingest *g, const char **fv, const uint32_t *fl, int n)
{
    if (fl[0] >= 3 && !memcmp(fv[0], "\xef\xbb\xbf", 3)) { fv[0] += 3; }
    g->csv_cols = calloc((size_t)n, sizeof *g->csv_cols);
    g->csv_names = calloc((size_t)n, sizeof *g->csv_names);
    g->csv_target = calloc((size_t)n, sizeof *g->csv_target);
    if (!g->csv_cols || !g->csv_names || !g->csv_target) return ING_FAIL;
    g->csv_ncols = n;
    for (int i = 0; i < n; i++) {
        g->csv_cols[i] = strdup(fv[i]);
        if (!g->csv_cols[i]) return ING_FAIL;
        g->csv_target[i] = -1;
    }
    for (int m = 0; m < g->c.nmap; m++) {
        int found = 0;
        for (int i = 0; i < n; i++)
            if (!strcmp(g->csv_cols[i], g->c.map[m].column)) {
                g->csv_target[i] = ingest_field_index(g->c.map[m].field, strlen(g->c.map[m].field));
                found = 1;
            }
        if (!found) {
            size_t o = (size_t)snprintf(g->detail, sizeof g->detail,
                                        "--map %s=%s: the CSV header has no column '%s' (columns:",
                                        g->c.map[m].field, g->c.map[m].column, g->c.map[m].column);
            for (int i = 0; i < n && o < sizeof g->detail; i++)
                o += (size_t)snprintf(g->detail + o, sizeof g->detail - o, " %s", g->csv_cols[i]);
            if (o < sizeof g->detail) snprintf(g->detail + o, sizeof g->detail - o, ")");
            g->reason = "usage";
            return ING_FAIL;
        }
    }
    /* columns named like a field map to it, unless --map already gave that field a column */
    for (int i = 0; i < n; i++) {
        if (g->csv_target[i] >= 0) continue;
        int fi = ingest_field_index(g->csv_cols[i], strlen(g->csv_cols[i]));
        if (fi < 0 || fi == F_METADATA || fi == F_LABELS || fi == F_METRICS) continue;
        int taken = 0;
        for (int j = 0; j < n; j++) taken |= g->csv_target[j] == fi;
        if (!taken) g->csv_target[i] = fi;
    }
    for (int i = 0; i < n; i++) {
        char b[300];
        if (g->csv_target[i] >= 0 && strcmp(ingest_field_names[g->csv_target[i]], g->csv_cols[i]))
            snprintf(b, sizeof b, "%s (column %s)", ingest_field_names[g->csv_target[i]], g->csv_cols[i]);
        else
            snprintf(b, sizeof b, "%s", g->csv_cols[i]);
        g->csv_names[i] = strdup(b);
        if (!g->csv_names[i]) return ING_FAIL;
    }
    g->csv_have_header = 1;
    return ING_HEADER;
}

/* Where a record stands after its text so far: the states of
 * ingest_csv_split, so that a record spanning lines is scanned once, each
 * continuation line on its own from the state the previous one left, and
 * split once when complete (rescanning the whole record at every line was
 * quadratic: 160 KB of one quoted field took 28 s). */
enum { CSV_FIELD, CSV_PLAIN, CSV_QUOTED, CSV_QUOTE_IN_QUOTED, CSV_STRAY };

static int csv_scan(const char *s, size_t len, int st)
{
    const char *p = s, *e = s + len;
    while (p < e && st != CSV_STRAY) {
        if (st == CSV_QUOTED) {   /* the long case: jump to the next quote */
            const char *q = memchr(p, '"', (size_t)(e - p));
            if (!q) return CSV_QUOTED;
            p = q + 1;
            st = CSV_QUOTE_IN_QUOTED;
            continue;
        }
        char c = *p++;
        switch (st) {
        case CSV_FIELD: st = c == '"' ? CSV_QUOTED : c == ',' ? CSV_FIELD : CSV_PLAIN; break;
        case CSV_PLAIN: st = c == ',' ? CSV_FIELD : c == '"' ? CSV_STRAY : CSV_PLAIN; break;
        default:        /* CSV_QUOTE_IN_QUOTED: a doubled quote, or the field's end */
            st = c == '"' ? CSV_QUOTED : c == ',' ? CSV_FIELD : CSV_STRAY; break;
        }
    }
    return st;
}

int ingest_csv_line(ingest *g, const char *line, size_t len, int64_t now)
{
    const char *rec = line;
    size_t rl = len;
    if (g->csv_open) {   /* a quoted field continues: join with the newline */
        if (csv_reserve(&g->csv_buf, &g->csv_cap, g->csv_len + len + 2)) return ING_FAIL;
        g->csv_buf[g->csv_len++] = '\n';
        memcpy(g->csv_buf + g->csv_len, line, len);
        g->csv_len += len;
        g->csv_buf[g->csv_len] = 0;
        rec = g->csv_buf;
        rl = g->csv_len;
        g->csv_scanned += len + 1;
        if (csv_scan(line, len, CSV_QUOTED) == CSV_QUOTED) {   /* the '\n' left it quoted */
            if (g->c.max_line && g->csv_len > g->c.max_line) {
                g->csv_open = 0;
                return ing_bad(g, "line_too_long", "a quoted field is still open after %zu bytes (--max-line)",
                               g->csv_len);
            }
            return ING_MORE;
        }
    }
    int maxf = 1;
    for (const char *p = rec, *e = rec + rl; (p = memchr(p, ',', (size_t)(e - p))); p++) maxf++;
    g->csv_scanned += rl;
    if (maxf > g->csv_fcap) {
        const char **nv = realloc(g->csv_fv, (size_t)maxf * sizeof *nv);
        if (nv) g->csv_fv = nv;
        uint32_t *nl = realloc(g->csv_fl, (size_t)maxf * sizeof *nl);
        if (nl) g->csv_fl = nl;
        if (!nv || !nl) return ING_FAIL;
        g->csv_fcap = maxf;
    }
    if (csv_reserve(&g->csv_fields, &g->csv_fields_cap, rl + 1)) return ING_FAIL;
    size_t err_at = 0;
    int n = ingest_csv_split(rec, rl, g->csv_fields, g->csv_fv, g->csv_fl, maxf, &err_at);
    g->csv_scanned += rl;
    if (n == -1) {   /* only on a record's first line: csv_scan decides for the next ones */
        if (!g->csv_open) {
            if (csv_reserve(&g->csv_buf, &g->csv_cap, len + 1)) return ING_FAIL;
            memcpy(g->csv_buf, line, len);
            g->csv_buf[len] = 0;
            g->csv_len = len;
            g->csv_open = 1;
        }
        if (g->c.max_line && g->csv_len > g->c.max_line) {
            g->csv_open = 0;
            return ing_bad(g, "line_too_long", "a quoted field is still open after %zu bytes (--max-line)",
                           g->csv_len);
        }
        return ING_MORE;
    }
    if (!g->csv_open) {   /* keep the record's text for ingest_csv_raw */
        if (csv_reserve(&g->csv_buf, &g->csv_cap, len + 1)) return ING_FAIL;
        memcpy(g->csv_buf, line, len);
        g->csv_buf[len] = 0;
        g->csv_len = len;
    }
    g->csv_open = 0;
    if (n == -2) return ing_bad(g, "bad_csv", "stray quote at byte %zu (quote the whole field and double inner quotes)", err_at);
    const char **fv = g->csv_fv;
    const uint32_t *fl = g->csv_fl;
    if (!g->csv_have_header) return csv_header(g, fv, fl, n);
    if (rl == 0) return ing_bad(g, "bad_csv", "empty line (expected %d fields)", g->csv_ncols);
    if (n != g->csv_ncols)
        return ing_bad(g, "bad_csv", "the row has %d fields, the header has %d", n, g->csv_ncols);
    if (!json_utf8_valid(rec, rl)) return ing_bad(g, "bad_utf8", "the row is not valid UTF-8");

    ing_val f[ING_NFIELDS];
    ingest_fields_init(f);
    int rc;
    for (int i = 0; i < n; i++) {
        int t = g->csv_target[i];
        if (t >= 0) f[t].name = g->csv_names[i];   /* messages name the column, also when empty */
        if (fl[i] == 0) continue;
        if (t >= 0) {
            f[t].s = fv[i];
            f[t].len = fl[i];
            f[t].name = g->csv_names[i];
        } else if ((rc = ingest_kv_add(g, g->csv_cols[i], (uint32_t)strlen(g->csv_cols[i]), fv[i], fl[i],
                                       "attrs")) != 0) {
            return rc;
        }
    }
    if (!f[F_EVENT_TYPE].s && g->c.event_type) {
        f[F_EVENT_TYPE].s = g->c.event_type;
        f[F_EVENT_TYPE].len = (uint32_t)strlen(g->c.event_type);
        f[F_EVENT_TYPE].name = "--event-type";
    }
    if (f[F_USER_ID].s || f[F_EVENT_TYPE].s) return ingest_build_event(g, f, now, rec, rl);
    g->raw = rec;
    g->raw_len = rl;
    if (f[F_METRIC_NAME].s || f[F_METRIC].s) return ingest_build_sample(g, f, now);
    return ing_bad(g, "missing_field", "the row has no user_id/event_type (interaction) or metric_name (sample)");
}

int ingest_finish(ingest *g)
{
    if (g->c.csv && g->csv_open) {
        g->csv_open = 0;
        return ing_bad(g, "bad_csv", "the input ends inside a quoted field");
    }
    return ING_OUT;
}

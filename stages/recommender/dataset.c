/* dataset.c — interactions and item metadata (dataset.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>
#include "dataset.h"
#include "hash.h"
#include "log.h"
#include "model.h"
#include "stream.h"

static int idmap_grow(idmap *m)
{
    uint32_t cap = m->tcap ? m->tcap * 2 : 1024;
    uint32_t *t = calloc(cap, sizeof *t);
    if (!t) return -1;
    for (uint32_t k = 0; k < m->n; k++) {
        uint32_t s = (uint32_t)hash_table(m->ids[k], strlen(m->ids[k])) & (cap - 1);
        while (t[s]) s = (s + 1) & (cap - 1);
        t[s] = k + 1;
    }
    free(m->tab);
    m->tab = t;
    m->tcap = cap;
    return 0;
}

int64_t idmap_get(const idmap *m, const char *s, size_t len)
{
    if (!m->tcap) return -1;
    uint32_t h = (uint32_t)hash_table(s, len) & (m->tcap - 1);
    for (;;) {
        uint32_t v = m->tab[h];
        if (!v) return -1;
        const char *id = m->ids[v - 1];
        if (!strncmp(id, s, len) && id[len] == 0) return v - 1;
        h = (h + 1) & (m->tcap - 1);
    }
}

uint32_t idmap_put(idmap *m, const char *s, size_t len, int *added)
{
    if (added) *added = 0;
    if (memchr(s, 0, len)) len = strlen(s);
    int64_t k = idmap_get(m, s, len);
    if (k >= 0) return (uint32_t)k;
    if ((m->n + 1) * 2 > m->tcap && idmap_grow(m)) return UINT32_MAX;
    if (m->n == m->cap) {
        uint32_t cap = m->cap ? m->cap * 2 : 1024;
        char **ids = realloc(m->ids, cap * sizeof *ids);
        if (!ids) return UINT32_MAX;
        m->ids = ids;
        m->cap = cap;
    }
    char *c = malloc(len + 1);
    if (!c) return UINT32_MAX;
    memcpy(c, s, len);
    c[len] = 0;
    m->ids[m->n] = c;
    uint32_t h = (uint32_t)hash_table(c, len) & (m->tcap - 1);
    while (m->tab[h]) h = (h + 1) & (m->tcap - 1);
    m->tab[h] = m->n + 1;
    if (added) *added = 1;
    return m->n++;
}

void idmap_free(idmap *m)
{
    for (uint32_t k = 0; k < m->n; k++) free(m->ids[k]);
    free(m->ids);
    free(m->tab);
    memset(m, 0, sizeof *m);
}

void data_init(rec_data *d) { memset(d, 0, sizeof *d); }

void data_free(rec_data *d)
{
    for (size_t k = 0; k < d->meta_cap; k++) { free(d->cats[k]); free(d->text[k]); }
    free(d->cats); free(d->text);
    idmap_free(&d->users); idmap_free(&d->items);
    free(d->u); free(d->i); free(d->w); free(d->ts);
    memset(d, 0, sizeof *d);
}

static int meta_fit(rec_data *d)
{
    if (d->items.n <= d->meta_cap) return 0;
    size_t cap = d->meta_cap ? d->meta_cap : 1024;
    while (cap < d->items.n) cap *= 2;
    char **c = realloc(d->cats, cap * sizeof *c);
    if (!c) return -1;
    d->cats = c;
    char **t = realloc(d->text, cap * sizeof *t);
    if (!t) return -1;
    d->text = t;
    for (size_t k = d->meta_cap; k < cap; k++) d->cats[k] = d->text[k] = NULL;
    d->meta_cap = cap;
    return 0;
}

int data_add(rec_data *d, const char *user, size_t ulen, const char *item, size_t ilen, float w, int64_t ts)
{
    if (!(w > 0)) return 0;
    uint32_t u = idmap_put(&d->users, user, ulen, NULL);
    uint32_t i = idmap_put(&d->items, item, ilen, NULL);
    if (u == UINT32_MAX || i == UINT32_MAX || meta_fit(d)) return -1;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 65536;
        uint32_t *nu = realloc(d->u, cap * sizeof *nu);
        if (nu) d->u = nu;
        uint32_t *ni = realloc(d->i, cap * sizeof *ni);
        if (ni) d->i = ni;
        float *nw = realloc(d->w, cap * sizeof *nw);
        if (nw) d->w = nw;
        int64_t *nt = realloc(d->ts, cap * sizeof *nt);
        if (nt) d->ts = nt;
        if (!nu || !ni || !nw || !nt) return -1;
        d->cap = cap;
    }
    d->u[d->n] = u; d->i[d->n] = i; d->w[d->n] = w; d->ts[d->n] = ts;
    d->n++;
    if (ts > d->max_ts) d->max_ts = ts;
    return 0;
}

typedef struct { uint32_t i; float w; int64_t ts; } ent;
static int ent_cmp(const void *a, const void *b)
{
    const ent *x = a, *y = b;
    if (x->i != y->i) return x->i < y->i ? -1 : 1;
    return (x->ts > y->ts) - (x->ts < y->ts);
}

void data_finish(rec_data *d)
{
    uint32_t nu = d->users.n;
    if (!d->n) return;
    size_t *off = calloc((size_t)nu + 1, sizeof *off);
    ent *e = malloc(d->n * sizeof *e);
    if (!off || !e) { free(off); free(e); log_fatal("out of memory"); }
    for (size_t k = 0; k < d->n; k++) off[d->u[k] + 1]++;
    for (uint32_t k = 0; k < nu; k++) off[k + 1] += off[k];
    size_t *pos = malloc(((size_t)nu + 1) * sizeof *pos);
    if (!pos) log_fatal("out of memory");
    memcpy(pos, off, ((size_t)nu + 1) * sizeof *pos);
    for (size_t k = 0; k < d->n; k++) e[pos[d->u[k]]++] = (ent){ d->i[k], d->w[k], d->ts[k] };
    free(pos);
    size_t o = 0;
    for (uint32_t u = 0; u < nu; u++) {
        size_t a = off[u], b = off[u + 1];
        qsort(e + a, b - a, sizeof *e, ent_cmp);
        for (size_t k = a; k < b; k++) {
            if (o > 0 && k > a && d->i[o - 1] == e[k].i && d->u[o - 1] == u) {
                if (e[k].w > d->w[o - 1]) d->w[o - 1] = e[k].w;
                if (e[k].ts > d->ts[o - 1]) d->ts[o - 1] = e[k].ts;
                continue;
            }
            d->u[o] = u; d->i[o] = e[k].i; d->w[o] = e[k].w; d->ts[o] = e[k].ts;
            o++;
        }
    }
    d->n = o;
    free(off);
    free(e);
}

int data_read_events(rec_data *d, const char *uri, const struct cli_common *common)
{
    stream_in *in = stream_in_open(uri, common);
    if (!in) return -1;
    stream_rec r;
    int rc;
    long skipped = 0;
    while ((rc = stream_in_next(in, &r)) == 1) {
        if (r.type != &Event_desc) { skipped++; continue; }
        const Event *ev = &r.as.event;
        if (!ev->user_id.ptr || !ev->item_id.ptr || !ev->user_id.len || !ev->item_id.len) { skipped++; continue; }
        float w = event_weight(ev->type, ev->value);
        if (!(w > 0)) { skipped++; continue; }
        int64_t ts = ev->ts / 1000000;
        if (data_add(d, ev->user_id.ptr, ev->user_id.len, ev->item_id.ptr, ev->item_id.len, w, ts)) {
            log_error("out of memory reading events");
            stream_in_close(in);
            return -1;
        }
    }
    stream_in_close(in);
    if (rc < 0) return -1;
    if (skipped) log_info("%ld records were not interactions (other types, impressions, exposures, no item)", skipped);
    data_finish(d);
    return 0;
}

/* ---- item metadata CSV ---------------------------------------------------- */

/* One CSV field starting at *p: unquoted or "quoted with "" escapes".
 * Writes the unescaped text into out (cap bytes, truncating). Returns 1 if
 * more fields follow on this record, 0 at end of record, -1 at end of input
 * (nothing read). */
static int csv_field(const char **p, const char *end, char *out, size_t cap, size_t *olen)
{
    const char *s = *p;
    size_t o = 0;
    if (s >= end) { *olen = 0; return -1; }
    if (*s == '"') {
        s++;
        for (;;) {
            if (s >= end) break;
            if (*s == '"') {
                if (s + 1 < end && s[1] == '"') { if (o + 1 < cap) out[o++] = '"'; s += 2; continue; }
                s++;
                break;
            }
            if (o + 1 < cap) out[o++] = *s;
            s++;
        }
        /* junk after the closing quote up to the separator is kept */
        while (s < end && *s != ',' && *s != '\n' && *s != '\r') { if (o + 1 < cap) out[o++] = *s; s++; }
    } else {
        while (s < end && *s != ',' && *s != '\n' && *s != '\r') { if (o + 1 < cap) out[o++] = *s; s++; }
    }
    out[o] = 0;
    *olen = o;
    int more = 0;
    if (s < end && *s == ',') { s++; more = 1; }
    else {
        if (s < end && *s == '\r') s++;
        if (s < end && *s == '\n') s++;
    }
    *p = s;
    return more;
}

#define CSV_MAXCOLS 64
#define CSV_FIELD 4096

typedef struct { int id, cats, text[8], ntext; } csv_map;

static int map_parse(const char *map, char hdr[][64], int nh, csv_map *cm, char *err, size_t errlen)
{
    cm->id = cm->cats = -1;
    cm->ntext = 0;
    const char *p = map;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        const char *eq = memchr(p, '=', n);
        if (!eq) { snprintf(err, errlen, "--item-map: '%.*s' is not KEY=COLUMN", (int)n, p); return -1; }
        size_t kl = (size_t)(eq - p);
        const char *v = eq + 1;
        size_t vl = n - kl - 1;
        int which = kl == 2 && !strncmp(p, "id", 2) ? 0 : kl == 10 && !strncmp(p, "categories", 10) ? 1 :
                    kl == 4 && !strncmp(p, "text", 4) ? 2 : -1;
        if (which < 0) { snprintf(err, errlen, "--item-map: unknown key '%.*s' (id, categories, text)", (int)kl, p); return -1; }
        while (vl) {
            const char *plus = memchr(v, '+', vl);
            size_t cl = plus ? (size_t)(plus - v) : vl;
            int col = -1;
            for (int h = 0; h < nh; h++) if (strlen(hdr[h]) == cl && !strncmp(hdr[h], v, cl)) { col = h; break; }
            if (col < 0) { snprintf(err, errlen, "--item-map: no column '%.*s' in the header", (int)cl, v); return -1; }
            if (which == 0) cm->id = col;
            else if (which == 1) cm->cats = col;
            else if (cm->ntext < 8) cm->text[cm->ntext++] = col;
            if (!plus) break;
            vl -= cl + 1;
            v = plus + 1;
        }
        if (!e) break;
        p = e + 1;
    }
    if (cm->id < 0) { snprintf(err, errlen, "--item-map: id=COLUMN is required"); return -1; }
    return 0;
}

long data_parse_items_csv(rec_data *d, const char *buf, size_t len, const char *map, char *err, size_t errlen)
{
    const char *p = buf, *end = buf + len;
    static __thread char hdr[CSV_MAXCOLS][64];
    char *field = malloc(CSV_FIELD);
    char *row[CSV_MAXCOLS];
    size_t rl[CSV_MAXCOLS];
    if (!field) { snprintf(err, errlen, "out of memory"); return -1; }
    for (int k = 0; k < CSV_MAXCOLS; k++) row[k] = NULL;
    long used = 0;
    int nh = 0, more = 1;
    if (len >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) p += 3;   /* BOM */
    while (more == 1) {
        size_t fl;
        more = csv_field(&p, end, field, CSV_FIELD, &fl);
        if (more < 0) break;
        if (nh < CSV_MAXCOLS) snprintf(hdr[nh++], sizeof hdr[0], "%s", field);
    }
    if (!nh) { snprintf(err, errlen, "empty CSV (no header)"); free(field); return -1; }
    csv_map cm;
    if (map_parse(map, hdr, nh, &cm, err, errlen)) { free(field); return -1; }
    for (int k = 0; k < nh; k++) {
        row[k] = malloc(CSV_FIELD);
        if (!row[k]) { snprintf(err, errlen, "out of memory"); used = -1; goto out; }
    }
    while (p < end) {
        int nf = 0;
        more = 1;
        while (more == 1) {
            size_t fl;
            more = csv_field(&p, end, nf < nh ? row[nf] : field, CSV_FIELD, &fl);
            if (more < 0) break;
            if (nf < nh) rl[nf] = fl;
            nf++;
        }
        if (nf <= cm.id) continue;                     /* blank or short line */
        size_t idl = strnlen(row[cm.id], rl[cm.id]);   /* a NUL ends the id */
        if (!idl) continue;
        int added;
        uint32_t it = idmap_put(&d->items, row[cm.id], idl, &added);
        if (it == UINT32_MAX || meta_fit(d)) { snprintf(err, errlen, "out of memory"); used = -1; goto out; }
        if (cm.cats >= 0 && cm.cats < nf) {
            free(d->cats[it]);
            d->cats[it] = strdup(row[cm.cats]);
        }
        size_t tl = 0;
        int ntx = 0;
        for (int k = 0; k < cm.ntext; k++) if (cm.text[k] < nf) { tl += rl[cm.text[k]] + 1; ntx++; }
        if (ntx) {
            char *t = malloc(tl + 1);
            if (t) {
                size_t o = 0;
                for (int k = 0; k < cm.ntext; k++) {
                    if (cm.text[k] >= nf) continue;
                    if (o) t[o++] = ' ';
                    memcpy(t + o, row[cm.text[k]], rl[cm.text[k]]);
                    o += rl[cm.text[k]];
                }
                t[o] = 0;
                free(d->text[it]);
                d->text[it] = t;
            }
        }
        used++;
    }
out:
    for (int k = 0; k < nh; k++) free(row[k]);
    free(field);
    return used;
}

long data_read_items(rec_data *d, const char *path, const char *map, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) { snprintf(err, errlen, "%s: %s", path, strerror(errno)); return -1; }
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n == cap) { char *b = realloc(buf, cap * 2); if (!b) { free(buf); buf = NULL; break; } buf = b; cap *= 2; }
        size_t r = fread(buf + n, 1, cap - n, f);
        if (!r) break;
        n += r;
    }
    int ferr = ferror(f);
    fclose(f);
    if (!buf || ferr) { free(buf); snprintf(err, errlen, "%s: read error", path); return -1; }
    if (n >= 4 && !memcmp(buf, "\x28\xB5\x2F\xFD", 4)) {
        ZSTD_DStream *z = ZSTD_createDStream();
        size_t ocap = n * 4 + 4096, on = 0;
        char *out = malloc(ocap);
        ZSTD_inBuffer zi = { buf, n, 0 };
        int bad = !z || !out;
        while (!bad && zi.pos < zi.size) {
            if (on == ocap) { char *o2 = realloc(out, ocap * 2); if (!o2) { bad = 1; break; } out = o2; ocap *= 2; }
            ZSTD_outBuffer zo = { out + on, ocap - on, 0 };
            size_t r = ZSTD_decompressStream(z, &zo, &zi);
            if (ZSTD_isError(r)) { snprintf(err, errlen, "%s: zstd: %s", path, ZSTD_getErrorName(r)); bad = 2; break; }
            on += zo.pos;
            if (r == 0 && zi.pos == zi.size) break;
        }
        ZSTD_freeDStream(z);
        free(buf);
        if (bad) { if (bad == 1) snprintf(err, errlen, "out of memory"); free(out); return -1; }
        buf = out;
        n = on;
    }
    long r = data_parse_items_csv(d, buf, n, map, err, errlen);
    free(buf);
    return r;
}

/* ---- CSR ------------------------------------------------------------------ */

int csr_build(rec_csr *m, uint32_t rows, uint32_t cols, size_t n,
              const uint32_t *r, const uint32_t *c, const float *v, const int64_t *t)
{
    memset(m, 0, sizeof *m);
    m->rows = rows; m->cols = cols;
    m->off = calloc((size_t)rows + 1, sizeof *m->off);
    m->idx = malloc((n ? n : 1) * sizeof *m->idx);
    m->val = malloc((n ? n : 1) * sizeof *m->val);
    m->ts = malloc((n ? n : 1) * sizeof *m->ts);
    uint32_t *pos = malloc(((size_t)rows + 1) * sizeof *pos);
    if (!m->off || !m->idx || !m->val || !m->ts || !pos) { free(pos); csr_free(m); return -1; }
    for (size_t k = 0; k < n; k++) m->off[r[k] + 1]++;
    for (uint32_t k = 0; k < rows; k++) m->off[k + 1] += m->off[k];
    memcpy(pos, m->off, ((size_t)rows + 1) * sizeof *pos);
    for (size_t k = 0; k < n; k++) {
        uint32_t p = pos[r[k]]++;
        m->idx[p] = c[k];
        m->val[p] = v ? v[k] : 1.0f;
        m->ts[p] = t ? t[k] : 0;
    }
    free(pos);
    return 0;
}

void csr_free(rec_csr *m)
{
    free(m->off); free(m->idx); free(m->val); free(m->ts);
    memset(m, 0, sizeof *m);
}

int train_build(rec_train *t, uint32_t n_users, uint32_t n_items, size_t n,
                const uint32_t *u, const uint32_t *i, const float *w, const int64_t *ts)
{
    memset(t, 0, sizeof *t);
    t->n_users = n_users; t->n_items = n_items; t->nnz = n;
    for (size_t k = 0; k < n; k++) if (ts && ts[k] > t->max_ts) t->max_ts = ts[k];
    if (csr_build(&t->R, n_users, n_items, n, u, i, w, ts)) return -1;
    if (csr_build(&t->Rt, n_items, n_users, n, i, u, w, ts)) { csr_free(&t->R); return -1; }
    return 0;
}

void train_free(rec_train *t)
{
    csr_free(&t->R);
    csr_free(&t->Rt);
}

/* ---- terms ------------------------------------------------------------------- */

void data_item_terms(const char *cats, const char *text,
                     void (*fn)(void *ctx, const char *term, size_t len), void *ctx)
{
    char term[130];
    if (cats) {
        const char *p = cats;
        while (*p) {
            while (*p == '|' || *p == ',' || *p == ' ') p++;
            if (!*p) break;
            size_t o = 2;
            term[0] = 'c'; term[1] = ':';
            while (*p && *p != '|' && *p != ',') {
                if (o < sizeof term - 1) term[o++] = (char)tolower((unsigned char)*p);
                p++;
            }
            while (o > 2 && term[o - 1] == ' ') o--;
            term[o] = 0;
            if (o > 2 && strcmp(term, "c:(no genres listed)") != 0) fn(ctx, term, o);
        }
    }
    if (text) {
        const unsigned char *p = (const unsigned char *)text;
        while (*p) {
            while (*p && !isalnum(*p) && *p < 0x80) p++;
            if (!*p) break;
            size_t o = 2;
            term[0] = 't'; term[1] = ':';
            while (*p && (isalnum(*p) || *p >= 0x80)) {
                if (o < sizeof term - 1) term[o++] = (char)tolower(*p);
                p++;
            }
            term[o] = 0;
            if (o > 3) fn(ctx, term, o);    /* skip one-letter words */
        }
    }
}

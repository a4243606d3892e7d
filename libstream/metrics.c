/* metrics.c — a tiny registry of counters and gauges written as Prometheus
 * text exposition format 0.0.4 (what node_exporter's textfile collector
 * reads):
 *
 *   # HELP streamrec_records_in_total Records read.
 *   # TYPE streamrec_records_in_total counter
 *   streamrec_records_in_total{stage="aggregate"} 1234
 *
 * Series of one name are grouped under one HELP/TYPE pair, in registration
 * order. Label values escape backslash, double quote and newline; HELP text
 * escapes backslash and newline (the format's rules).
 *
 * The file is replaced atomically (atomicfile.h: a temporary file with an
 * unpredictable name beside it, renamed over NAME), so the collector never
 * reads half a file. */
#include "metrics.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomicfile.h"
#include "log.h"
#include "sdnotify.h"
#include "timefmt.h"

typedef enum { MT_COUNTER, MT_GAUGE } metrics_type;

struct metrics_series {
    char *name, *help, *label, *value;   /* label/value NULL: no extra label */
    char *label2, *value2;               /* a second pair, or NULL */
    metrics_type type;
    double v;
};

static metrics_series **mt_series;
static int mt_n, mt_cap;
static char *mt_stage, *mt_path;
static int64_t mt_interval_us = 5000000, mt_last_write;
static int mt_write_failed;   /* log the first failure, not one per tick */

metrics_series *metrics_records_in, *metrics_records_out,
               *metrics_bytes_in, *metrics_bytes_out;

static char *mt_strdup(const char *s)
{
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) log_fatal("out of memory");
    return d;
}

static int mt_streq(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

static metrics_series *mt_get2(const char *name, const char *help, metrics_type type,
                               const char *label, const char *value, const char *label2, const char *value2)
{
    for (int i = 0; i < mt_n; i++) {
        metrics_series *s = mt_series[i];
        if (!strcmp(s->name, name) && mt_streq(s->label, label) && mt_streq(s->value, value) &&
            mt_streq(s->label2, label2) && mt_streq(s->value2, value2))
            return s;
    }
    if (mt_n == mt_cap) {
        mt_cap = mt_cap ? mt_cap * 2 : 32;
        mt_series = realloc(mt_series, (size_t)mt_cap * sizeof *mt_series);
        if (!mt_series) log_fatal("out of memory");
    }
    metrics_series *s = calloc(1, sizeof *s);
    if (!s) log_fatal("out of memory");
    s->name = mt_strdup(name);
    s->help = mt_strdup(help ? help : "");
    s->label = label ? mt_strdup(label) : NULL;
    s->value = label ? mt_strdup(value ? value : "") : NULL;
    s->label2 = label && label2 ? mt_strdup(label2) : NULL;
    s->value2 = label && label2 ? mt_strdup(value2 ? value2 : "") : NULL;
    s->type = type;
    mt_series[mt_n++] = s;
    return s;
}

static metrics_series *mt_get(const char *name, const char *help, metrics_type type,
                              const char *label, const char *value)
{
    return mt_get2(name, help, type, label, value, NULL, NULL);
}

metrics_series *metrics_counter(const char *name, const char *help)
{ return mt_get(name, help, MT_COUNTER, NULL, NULL); }
metrics_series *metrics_gauge(const char *name, const char *help)
{ return mt_get(name, help, MT_GAUGE, NULL, NULL); }
metrics_series *metrics_counter_l(const char *name, const char *help, const char *label, const char *value)
{ return mt_get(name, help, MT_COUNTER, label, value); }
metrics_series *metrics_gauge_l(const char *name, const char *help, const char *label, const char *value)
{ return mt_get(name, help, MT_GAUGE, label, value); }
metrics_series *metrics_gauge_l2(const char *name, const char *help, const char *label, const char *value,
                                 const char *label2, const char *value2)
{ return mt_get2(name, help, MT_GAUGE, label, value, label2, value2); }

void metrics_add(metrics_series *s, double v) { if (s) s->v += v; }
void metrics_set(metrics_series *s, double v) { if (s) s->v = v; }
double metrics_get(const metrics_series *s) { return s ? s->v : 0; }

void metrics_invalid(const char *reason)
{
    metrics_add(metrics_counter_l("streamrec_records_invalid_total",
                                  "Records refused as invalid, by reason.",
                                  "reason", reason ? reason : "unknown"), 1);
}

static void mt_register_shared(void)
{
    metrics_records_in = metrics_counter("streamrec_records_in_total", "Records (or lines) read.");
    metrics_records_out = metrics_counter("streamrec_records_out_total", "Records written.");
    metrics_bytes_in = metrics_counter("streamrec_bytes_in_total", "Bytes read.");
    metrics_bytes_out = metrics_counter("streamrec_bytes_out_total", "Bytes written.");
    metrics_set(metrics_gauge("streamrec_start_time_seconds", "When the stage started, seconds since the epoch."),
                (double)(now_us() / 1000) / 1000.0);
}

void metrics_init(const char *stage, const char *path, int interval_ms)
{
    free(mt_stage);
    free(mt_path);
    mt_stage = mt_strdup(stage ? stage : "streamrec");
    mt_path = path ? mt_strdup(path) : NULL;
    mt_interval_us = interval_ms > 0 ? (int64_t)interval_ms * 1000 : 5000000;
    mt_last_write = mono_us();
    mt_write_failed = 0;
    mt_register_shared();
}

/* Append to a growable buffer (a few KiB: no need for anything smarter). */
typedef struct mt_buf { char *p; size_t n, cap; int oom; } mt_buf;

static void mb_put(mt_buf *b, const char *s, size_t n)
{
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (b->n + n + 1 > cap) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) { b->oom = 1; return; }
        b->p = p; b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}
static void mb_cstr(mt_buf *b, const char *s) { mb_put(b, s, strlen(s)); }

/* label value: \\ \" \n; help: \\ \n */
static void mb_esc(mt_buf *b, const char *s, int is_label)
{
    for (; *s; s++) {
        if (*s == '\\') mb_put(b, "\\\\", 2);
        else if (*s == '\n') mb_put(b, "\\n", 2);
        else if (*s == '"' && is_label) mb_put(b, "\\\"", 2);
        else mb_put(b, s, 1);
    }
}

static void mb_value(mt_buf *b, double v)
{
    char tmp[40];
    if (isnan(v)) strcpy(tmp, "NaN");
    else if (isinf(v)) strcpy(tmp, v > 0 ? "+Inf" : "-Inf");
    else if (fabs(v) < 1e15 && v == (double)(long long)v) snprintf(tmp, sizeof tmp, "%lld", (long long)v);
    else snprintf(tmp, sizeof tmp, "%.17g", v);
    mb_cstr(b, tmp);
}

/* Render every series; exposed for tests through metrics_flush's file. */
static void mt_render(mt_buf *b)
{
    /* group by name in first-registration order: O(n^2), n is small */
    for (int i = 0; i < mt_n; i++) {
        metrics_series *s = mt_series[i];
        int seen = 0;
        for (int j = 0; j < i && !seen; j++) seen = !strcmp(mt_series[j]->name, s->name);
        if (seen) continue;
        mb_cstr(b, "# HELP "); mb_cstr(b, s->name); mb_cstr(b, " "); mb_esc(b, s->help, 0);
        mb_cstr(b, "\n# TYPE "); mb_cstr(b, s->name);
        mb_cstr(b, s->type == MT_COUNTER ? " counter\n" : " gauge\n");
        for (int j = i; j < mt_n; j++) {
            metrics_series *t = mt_series[j];
            if (strcmp(t->name, s->name)) continue;
            mb_cstr(b, t->name);
            mb_cstr(b, "{stage=\""); mb_esc(b, mt_stage ? mt_stage : "streamrec", 1); mb_cstr(b, "\"");
            if (t->label) {
                mb_cstr(b, ","); mb_cstr(b, t->label); mb_cstr(b, "=\"");
                mb_esc(b, t->value, 1); mb_cstr(b, "\"");
            }
            if (t->label2) {
                mb_cstr(b, ","); mb_cstr(b, t->label2); mb_cstr(b, "=\"");
                mb_esc(b, t->value2, 1); mb_cstr(b, "\"");
            }
            mb_cstr(b, "} ");
            mb_value(b, t->v);
            mb_cstr(b, "\n");
        }
    }
}

int metrics_flush(void)
{
    if (!mt_path) return 0;
    mt_last_write = mono_us();
    mt_buf b = { 0 };
    mt_render(&b);
    if (b.oom) { free(b.p); return -1; }

    /* temp file beside the target, hidden from the collector (it reads
     * *.prom), unpredictable: the textfile directory is shared with other
     * users. 0644 whatever the umask: node_exporter reads it as another user,
     * and it holds nothing secret. */
    int rc = -1, err = 0;
    atomic_file af;
    if (atomic_file_open(&af, mt_path, 0644)) err = errno;
    else {
        size_t w = fwrite(b.p ? b.p : "", 1, b.n, af.f);
        if (w != b.n) { err = errno ? errno : EIO; atomic_file_abort(&af); }
        else if (atomic_file_commit(&af)) err = errno;
        else rc = 0;
    }
    if (rc < 0 && !mt_write_failed) {
        mt_write_failed = 1;
        char p[512];
        log_kv(LOG_WARN, "cannot write metrics file", "\"path\":\"%s\",\"error\":\"%s\"",
               log_jesc(p, sizeof p, mt_path), strerror(err));
    } else if (rc == 0) {
        mt_write_failed = 0;
    }
    free(b.p);
    return rc;
}

void metrics_tick(void)
{
    /* every loop already calls this heartbeat, busy or idle: it is where a
     * live stage proves to systemd's watchdog that it is not stuck */
    sd_watchdog_tick();
    if (!mt_path) return;
    if (mono_us() - mt_last_write >= mt_interval_us) metrics_flush();
}

void metrics_shutdown(void)
{
    metrics_flush();
    for (int i = 0; i < mt_n; i++) {
        metrics_series *s = mt_series[i];
        free(s->name); free(s->help); free(s->label); free(s->value); free(s->label2); free(s->value2); free(s);
    }
    free(mt_series);
    mt_series = NULL;
    mt_n = mt_cap = 0;
    free(mt_stage); free(mt_path);
    mt_stage = mt_path = NULL;
    metrics_records_in = metrics_records_out = metrics_bytes_in = metrics_bytes_out = NULL;
}

/* counters.c — the counter table (counters.h). */
#include "counters.h"
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "log.h"

static uint64_t counters_at(const counter_def *d, const void *snap)
{
    uint64_t v;
    memcpy(&v, (const char *)snap + d->offset, sizeof v);
    return v;
}

static double counters_real(const counter_def *d, const void *snap)
{
    double v;
    memcpy(&v, (const char *)snap + d->offset, sizeof v);
    return v;
}

void counters_init(counters *c, const counter_def *defs)
{
    memset(c, 0, sizeof *c);
    c->defs = defs;
    while (defs[c->n].metric || defs[c->n].done || defs[c->n].status) {
        if (c->n == COUNTERS_MAX) log_fatal("counters: more than %d rows", COUNTERS_MAX);
        const counter_def *d = &defs[c->n];
        if ((d->value == COUNTER_F64 && d->kind == COUNTER_TOTAL) || (d->value == COUNTER_BOOL && d->kind != COUNTER_DONE_ONLY))
            log_fatal("counters: row %d: a total is a whole number, a bool only in the done line", c->n);
        if (d->kind == COUNTER_TOTAL)
            c->series[c->n] = d->label ? metrics_counter_l(d->metric, d->help, d->label, d->label_value)
                                       : metrics_counter(d->metric, d->help);
        else if (d->kind == COUNTER_GAUGE)
            c->series[c->n] = d->label ? metrics_gauge_l(d->metric, d->help, d->label, d->label_value)
                                       : metrics_gauge(d->metric, d->help);
        c->n++;
    }
}

void counters_baseline(counters *c, const void *snap)
{
    for (int i = 0; i < c->n; i++) c->last[i] = c->defs[i].value == COUNTER_F64 ? 0 : counters_at(&c->defs[i], snap);
}

void counters_publish(counters *c, const void *snap)
{
    for (int i = 0; i < c->n; i++) {
        if (c->defs[i].value == COUNTER_F64) {
            double x = counters_real(&c->defs[i], snap);
            if (c->defs[i].kind == COUNTER_GAUGE && !isnan(x)) metrics_set(c->series[i], x);
            continue;
        }
        uint64_t v = counters_at(&c->defs[i], snap);
        if (c->defs[i].kind == COUNTER_TOTAL) metrics_add(c->series[i], (double)(v - c->last[i]));
        else if (c->defs[i].kind == COUNTER_GAUGE) metrics_set(c->series[i], (double)v);
        c->last[i] = v;
    }
}

/* Append one "N word" (status) or "\"key\":N" (done) pair, with its
 * separator; stops at the end of buf (snprintf truncates). */
static size_t counters_put(char *buf, size_t n, size_t o, int json, const counter_def *d, const void *snap)
{
    if (o >= n) return o;
    const char *key = json ? d->done : d->status;
    char num[40];
    if (d->value == COUNTER_F64) snprintf(num, sizeof num, "%.*f", d->decimals, counters_real(d, snap));
    else if (d->value == COUNTER_BOOL) snprintf(num, sizeof num, "%s", counters_at(d, snap) ? "true" : "false");
    else snprintf(num, sizeof num, "%llu", (unsigned long long)counters_at(d, snap));
    int k = json ? snprintf(buf + o, n - o, "%s\"%s\":%s", o ? "," : "", key, num)
                 : snprintf(buf + o, n - o, "%s%s %s", o ? ", " : "", num, key);
    return k < 0 ? o : o + (size_t)k;
}

void counters_status(const counters *c, const void *snap, char *buf, size_t n)
{
    size_t o = 0;
    if (n) buf[0] = 0;
    for (int i = 0; i < c->n; i++)
        if (c->defs[i].status) o = counters_put(buf, n, o, 0, &c->defs[i], snap);
}

void counters_done(const counters *c, const void *snap, char *buf, size_t n)
{
    size_t o = 0;
    if (n) buf[0] = 0;
    for (int i = 0; i < c->n; i++)
        if (c->defs[i].done) o = counters_put(buf, n, o, 1, &c->defs[i], snap);
}

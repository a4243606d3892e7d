/* counters.c — the counter table (counters.h). */
#include "counters.h"
#include <stdio.h>
#include <string.h>
#include "log.h"

static uint64_t counters_at(const counter_def *d, const void *snap)
{
    uint64_t v;
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
        if (d->kind == COUNTER_TOTAL) c->series[c->n] = metrics_counter(d->metric, d->help);
        else if (d->kind == COUNTER_GAUGE) c->series[c->n] = metrics_gauge(d->metric, d->help);
        c->n++;
    }
}

void counters_baseline(counters *c, const void *snap)
{
    for (int i = 0; i < c->n; i++) c->last[i] = counters_at(&c->defs[i], snap);
}

void counters_publish(counters *c, const void *snap)
{
    for (int i = 0; i < c->n; i++) {
        uint64_t v = counters_at(&c->defs[i], snap);
        if (c->defs[i].kind == COUNTER_TOTAL) metrics_add(c->series[i], (double)(v - c->last[i]));
        else if (c->defs[i].kind == COUNTER_GAUGE) metrics_set(c->series[i], (double)v);
        c->last[i] = v;
    }
}

/* Append one "N word" (status) or "\"key\":N" (done) pair, with its
 * separator; stops at the end of buf (snprintf truncates). */
static size_t counters_put(char *buf, size_t n, size_t o, int json, const char *key, uint64_t v)
{
    if (o >= n) return o;
    int k = json ? snprintf(buf + o, n - o, "%s\"%s\":%llu", o ? "," : "", key, (unsigned long long)v)
                 : snprintf(buf + o, n - o, "%s%llu %s", o ? ", " : "", (unsigned long long)v, key);
    return k < 0 ? o : o + (size_t)k;
}

void counters_status(const counters *c, const void *snap, char *buf, size_t n)
{
    size_t o = 0;
    if (n) buf[0] = 0;
    for (int i = 0; i < c->n; i++)
        if (c->defs[i].status) o = counters_put(buf, n, o, 0, c->defs[i].status, counters_at(&c->defs[i], snap));
}

void counters_done(const counters *c, const void *snap, char *buf, size_t n)
{
    size_t o = 0;
    if (n) buf[0] = 0;
    for (int i = 0; i < c->n; i++)
        if (c->defs[i].done) o = counters_put(buf, n, o, 1, c->defs[i].done, counters_at(&c->defs[i], snap));
}

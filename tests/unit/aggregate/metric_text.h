/* metric_text.h — the aggregate unit tests' Metric as one line of text
 * (every field, doubles in full), appended to a growing buffer: two runs'
 * outputs compare with strcmp and any difference shows. */
#ifndef AGG_TEST_METRIC_TEXT_H
#define AGG_TEST_METRIC_TEXT_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../../stages/aggregate/engine.h"

typedef struct { char *p; size_t len, cap; } sbuf;

static void sb_add(sbuf *b, const char *s)
{
    size_t n = strlen(s);
    if (b->len + n + 1 > b->cap) { b->cap = (b->len + n + 1) * 2; b->p = realloc(b->p, b->cap); }
    memcpy(b->p + b->len, s, n + 1);
    b->len += n;
}

/* an agg_emit_fn: ctx is the sbuf */
static int emit_text(void *ctx, const Metric *m)
{
    sbuf *b = ctx;
    char line[4096];
    int n = snprintf(line, sizeof line, "%.*s{", (int)m->name.len, m->name.ptr);
    for (uint32_t i = 0; i < m->labels_count; i++)
        n += snprintf(line + n, sizeof line - (size_t)n, "%.*s=%.*s,", (int)m->labels[i].key.len,
                      m->labels[i].key.ptr, (int)m->labels[i].value.len, m->labels[i].value.ptr);
    n += snprintf(line + n, sizeof line - (size_t)n, "} %lld %lld %llu %.17g %.17g %.17g %.17g %.17g %.17g",
                  (long long)m->window_start, (long long)m->window_end, (unsigned long long)m->count,
                  m->sum, m->min, m->max, m->mean, m->stddev, m->value);
    for (uint32_t i = 0; i < m->quantiles_count; i++)
        n += snprintf(line + n, sizeof line - (size_t)n, " q%g=%.17g", m->quantiles[i].q, m->quantiles[i].value);
    snprintf(line + n, sizeof line - (size_t)n, "\n");
    sb_add(b, line);
    return 0;
}
#endif

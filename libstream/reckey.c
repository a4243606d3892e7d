/* reckey.c — the Kafka partitioning key of a record (see reckey.h). */
#include "reckey.h"
#include <stdio.h>
#include <string.h>

static size_t key_put(char *buf, size_t n, size_t at, const char *s, size_t len)
{
    if (at >= n || !s) return at;
    if (len > n - at) len = n - at;
    if (len) memcpy(buf + at, s, len);
    return at + len;
}

static int str_cmp(fb_str a, fb_str b)
{
    size_t m = a.len < b.len ? a.len : b.len;
    int c = m ? memcmp(a.ptr, b.ptr, m) : 0;
    return c ? c : (a.len > b.len) - (a.len < b.len);
}

static int label_before(const KeyValue *a, const KeyValue *b)
{
    int c = str_cmp(a->key, b->key);
    return c < 0 || (c == 0 && str_cmp(a->value, b->value) < 0);
}

/* name{k=v,...}, the first RECKEY_MAX_SORT labels sorted (insertion sort of
 * indices: label lists are short). */
static size_t key_series(char *buf, size_t n, fb_str name, const KeyValue *kv, uint32_t count)
{
    size_t at = key_put(buf, n, 0, name.ptr, name.len);
    if (count == 0) return at;
    unsigned char order[RECKEY_MAX_SORT];
    uint32_t ns = count < RECKEY_MAX_SORT ? count : RECKEY_MAX_SORT;
    for (uint32_t i = 0; i < ns; i++) {
        uint32_t j = i;
        for (; j > 0 && label_before(&kv[i], &kv[order[j - 1]]); j--) order[j] = order[j - 1];
        order[j] = (unsigned char)i;
    }
    at = key_put(buf, n, at, "{", 1);
    for (uint32_t i = 0; i < count; i++) {
        const KeyValue *l = &kv[i < ns ? order[i] : i];
        if (i) at = key_put(buf, n, at, ",", 1);
        at = key_put(buf, n, at, l->key.ptr, l->key.len);
        at = key_put(buf, n, at, "=", 1);
        at = key_put(buf, n, at, l->value.ptr, l->value.len);
    }
    return key_put(buf, n, at, "}", 1);
}

size_t record_key(const fbrec_desc *d, const void *rec, char *buf, size_t n)
{
    const AnyRecord *a = rec;
    fb_str s = { NULL, 0 };
    if (d == &Event_desc) s = a->event.user_id;
    else if (d == &Recommendation_desc) s = a->recommendation.user_id;
    else if (d == &ExperimentResult_desc) s = a->experiment_result.experiment;
    else if (d == &ExperimentPartial_desc) s = a->experiment_partial.experiment;
    else if (d == &Alert_desc) s = a->alert.fingerprint;
    else if (d == &Sample_desc) return key_series(buf, n, a->sample.name, a->sample.labels, a->sample.labels_count);
    else if (d == &Metric_desc) return key_series(buf, n, a->metric.name, a->metric.labels, a->metric.labels_count);
    else if (d == &Drift_desc) return key_series(buf, n, a->drift.series, a->drift.labels, a->drift.labels_count);
    else if (d == &MetricPartial_desc) {
        char part[16];
        int pl = snprintf(part, sizeof part, "/%d", (int)a->metric_partial.partition);
        size_t at = key_put(buf, n, 0, a->metric_partial.topic.ptr, a->metric_partial.topic.len);
        return key_put(buf, n, at, part, (size_t)pl);
    }
    return key_put(buf, n, 0, s.ptr, s.len);
}

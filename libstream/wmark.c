/* wmark.c — the reader's side of watermark marks (wmark.h). */
#include "wmark.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct wmark_input {
    int64_t time;        /* largest named; INT64_MIN none */
    uint8_t heard, idle;
} wmark_input;

typedef struct wmark_topic {
    char *name;
    int32_t partitions;  /* the largest count a mark said */
    int32_t cap;         /* inputs allocated */
    int32_t heard;       /* inputs heard of, below partitions */
    wmark_input *in;
} wmark_topic;

struct wmark_table {
    wmark_topic topics[WMARK_MAX_TOPICS];
    int ntopics;
    uint64_t marks;
    int dirty;
    int64_t time, max;   /* cached: wmark_table_time's answer, the largest time */
};

wmark_table *wmark_table_new(void)
{
    wmark_table *t = calloc(1, sizeof *t);
    if (t) { t->time = INT64_MIN; t->max = INT64_MIN; }
    return t;
}

void wmark_table_reset(wmark_table *t)
{
    for (int i = 0; i < t->ntopics; i++) { free(t->topics[i].name); free(t->topics[i].in); }
    memset(t, 0, sizeof *t);
    t->time = INT64_MIN;
    t->max = INT64_MIN;
}

void wmark_table_free(wmark_table *t)
{
    if (!t) return;
    wmark_table_reset(t);
    free(t);
}

uint64_t wmark_table_marks(const wmark_table *t) { return t->marks; }
int64_t wmark_table_max(const wmark_table *t) { return t->max; }

static wmark_topic *wmark_topic_get(wmark_table *t, fb_str name, char *err, size_t n)
{
    for (int i = 0; i < t->ntopics; i++)
        if (strlen(t->topics[i].name) == name.len && !memcmp(t->topics[i].name, name.ptr, name.len))
            return &t->topics[i];
    if (t->ntopics == WMARK_MAX_TOPICS) {
        snprintf(err, n, "more than %d input topics named in one partition", WMARK_MAX_TOPICS);
        return NULL;
    }
    char *s = malloc(name.len + 1);
    if (!s) { snprintf(err, n, "out of memory"); return NULL; }
    memcpy(s, name.ptr, name.len);
    s[name.len] = 0;
    wmark_topic *tp = &t->topics[t->ntopics++];
    memset(tp, 0, sizeof *tp);
    tp->name = s;
    return tp;
}

int wmark_table_note(wmark_table *t, const Watermark *m, char *err, size_t n)
{
    if (!m->topic.ptr || !m->topic.len || m->topic.len > 255 || memchr(m->topic.ptr, 0, m->topic.len)) {
        snprintf(err, n, "topic missing or not a topic name");
        return -1;
    }
    if (m->partitions < 1 || m->partitions > WMARK_MAX_PARTITIONS) {
        snprintf(err, n, "partitions %d outside 1..%d", (int)m->partitions, WMARK_MAX_PARTITIONS);
        return -1;
    }
    for (uint32_t i = 0; i < m->inputs_count; i++)
        if (m->inputs[i].partition < 0 || m->inputs[i].partition >= m->partitions) {
            snprintf(err, n, "input partition %d outside 0..%d", (int)m->inputs[i].partition,
                     (int)m->partitions - 1);
            return -1;
        }
    wmark_topic *tp = wmark_topic_get(t, m->topic, err, n);
    if (!tp) return -1;
    if (m->partitions > tp->cap) {   /* partitions added to the input topic: more to hear of */
        wmark_input *in = realloc(tp->in, (size_t)m->partitions * sizeof *in);
        if (!in) { snprintf(err, n, "out of memory"); return -1; }
        memset(in + tp->cap, 0, (size_t)(m->partitions - tp->cap) * sizeof *in);
        for (int32_t q = tp->cap; q < m->partitions; q++) in[q].time = INT64_MIN;
        tp->in = in;
        tp->cap = m->partitions;
    }
    /* Kafka never takes partitions away: a smaller count is a producer's
     * metadata from before some were added, and those are still to hear of */
    if (m->partitions > tp->partitions) tp->partitions = m->partitions;
    for (uint32_t i = 0; i < m->inputs_count; i++) {
        const InputProgress *ip = &m->inputs[i];
        wmark_input *w = &tp->in[ip->partition];
        if (!w->heard) w->heard = 1;
        /* a new owner starts without a time, or below an outlier its
         * predecessor committed: the promise made stands */
        if (ip->time > w->time) w->time = ip->time;
        if (w->time > t->max) t->max = w->time;
        w->idle = ip->idle != 0;
    }
    tp->heard = 0;
    for (int32_t q = 0; q < tp->partitions; q++) tp->heard += tp->in[q].heard;
    t->marks++;
    t->dirty = 1;
    return 0;
}

int64_t wmark_table_time(wmark_table *t)
{
    if (!t->dirty) return t->time;
    int64_t lo = WMARK_IDLE;
    for (int i = 0; i < t->ntopics && lo != INT64_MIN; i++) {
        const wmark_topic *tp = &t->topics[i];
        if (tp->heard < tp->partitions) { lo = INT64_MIN; break; }
        for (int32_t q = 0; q < tp->partitions; q++)
            if (!tp->in[q].idle && tp->in[q].time < lo) lo = tp->in[q].time;
    }
    t->time = lo;
    t->dirty = 0;
    return lo;
}

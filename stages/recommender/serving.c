/* serving.c — what both serving runs share (serving.h). */
#include "serving.h"
#include <stdio.h>
#include <stdlib.h>
#include "log.h"
#include "metrics.h"

void rec_take(rec_run *a, const stream_rec *r)
{
    if (r->type != &Event_desc) { a->other++; return; }
    const char *why;
    serve_set_partition(a->s, r->pos.topic ? r->pos.partition : -1);
    if (serve_event(a->s, &r->as.event, &why) < 0) stream_reject(a->in, &r->pos, "bad_event", why, r->data, r->len);
}

int rec_changelog_open(rec_run *a)
{
    const char *uri = a->fl->changelog;
    char err[600];
    if (!(a->cl = changelog_open(uri, &a->fl->common.kafka_conf, "recommender", err, sizeof err)) ||
        changelog_check_input(a->cl, a->in, err, sizeof err)) {
        log_error("--changelog %s: %s", uri, err);
        return -1;
    }
    serve_set_changelog(a->s, a->cl);
    return 0;
}

int rec_check(rec_run *a)
{
    counters cn;
    char err[600], desc[1024] = "";
    rec_counters_start(&cn);
    rules *ru = a->fl->rules ? rules_load(a->fl->rules, err, sizeof err) : rules_default();
    if (ru) rules_describe(ru, desc, sizeof desc);
    printf("model %s: version %s, %u items\nrules: %s\n", a->fl->model, serve_model_version(a->s),
           serve_model_items(a->s), desc);
    rules_free(ru);
    rec_counters_end(&cn, a, 0);
    serve_free(a->s);
    return 0;
}

int rec_keep_owned(rec_run *a)
{
    a->rebalanced = 0;
    int32_t owned[1024];
    int n = 0;
    stream_part sp;
    while (n < 1024 && stream_in_owned(a->in, n, &sp)) owned[n++] = sp.partition;
    return serve_keep_partitions(a->s, owned, n);
}

int rec_checkpoint(rec_run *a)
{
    if (!a->st && !a->cl) return 0;
    if (stream_flush(a->out)) return -1;
    return serve_checkpoint(a->s, a->in);
}

/* Every list fits the next reader's --max-record (schemas/SIZES.md): item
 * ids are as long as ingest allows, so N of them may not. Items are taken
 * best first while the record's upper bound stays within the limit; one
 * that would cross it is left out (a shorter one after it may still fit),
 * counted and logged. A list whose user_id and names alone are over the
 * limit (no stage before writes such a user_id) is not written, counted
 * and logged. The bound: 512 bytes for prefix, identifier, root table and
 * vtables, each string its bytes + 8 (length, NUL, padding), each item
 * 40 more (its table, vtable offset, score, vector slot, alignment). The
 * two counters appear once something is cut. */
int rec_emit(void *ctx, const Recommendation *rec)
{
    rec_run *a = ctx;
    static metrics_series *m_cut, *m_dropped;
    static ScoredItem *kept;     /* reachable till exit; at most --top items */
    static uint32_t kept_cap;
    int64_t max_record = a->fl->common.max_record;
    uint64_t limit = max_record > 0 ? (uint64_t)max_record : UINT64_MAX;
    uint64_t need = 512 + (uint64_t)rec->user_id.len + 8 + rec->algorithm.len + 8 + rec->model_version.len + 8;
    uint64_t with_items = need;
    for (uint32_t i = 0; i < rec->items_count; i++) with_items += 40 + (uint64_t)rec->items[i].item_id.len + 8;
    if (with_items <= limit) return stream_write(a->out, &Recommendation_desc, rec, NULL, 0);
    if (!m_cut) {
        m_cut = metrics_counter("streamrec_recommender_items_cut_total",
                                "items left out of a list to keep the record within --max-record");
        m_dropped = metrics_counter("streamrec_recommender_lists_too_large_total",
                                    "lists not written: user_id and names alone over --max-record");
    }
    if (need > limit) {
        metrics_add(m_dropped, 1);
        log_kv(LOG_ERROR, "list not written: its user_id alone is over --max-record",
               "\"user_id_bytes\":%u,\"max_record\":%llu", rec->user_id.len, (unsigned long long)limit);
        return 0;
    }
    if (kept_cap < rec->items_count) {
        ScoredItem *k = realloc(kept, rec->items_count * sizeof *k);
        if (!k) log_fatal("out of memory");
        kept = k;
        kept_cap = rec->items_count;
    }
    uint32_t n = 0;
    for (uint32_t i = 0; i < rec->items_count; i++) {
        uint64_t one = 40 + (uint64_t)rec->items[i].item_id.len + 8;
        if (need + one > limit) continue;
        need += one;
        kept[n++] = rec->items[i];
    }
    metrics_add(m_cut, rec->items_count - n);
    log_kv(LOG_WARN, "list cut to fit --max-record", "\"items\":%u,\"kept\":%u,\"max_record\":%llu",
           rec->items_count, n, (unsigned long long)limit);
    Recommendation cut = *rec;
    cut.items = kept;
    cut.items_count = n;
    return stream_write(a->out, &Recommendation_desc, &cut, NULL, 0);
}

/* follow.c — drift's series follow their input partition (follow.h). */
#include "follow.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "changelog.h"
#include "log.h"
#include "timefmt.h"

typedef struct restore_ctx { drift_main *a; int32_t part; uint64_t full; } restore_ctx;

static int restore_series(void *ctx, const char *key, size_t klen, int64_t aux, const uint8_t *blob, size_t n)
{
    (void)aux;
    restore_ctx *rc = ctx;
    char err[400];
    int k = drift_engine_restore_series(rc->a->eng, rc->part, blob, n, err, sizeof err);
    if (k == DRIFT_LOAD_SETTINGS) {
        log_error("--changelog %s: partition %d: %s", changelog_topic(rc->a->cl), (int)rc->part, err);
        exit(2);
    }
    if (k == DRIFT_RESTORE_FULL) rc->full++;
    if (k < 0) {
        /* that series starts again here; the others are whole */
        char name[101], jname[256], jerr[600];
        snprintf(name, sizeof name, "%.*s", (int)strnlen(key, klen > 100 ? 100 : klen), key);
        rc->a->changelog_bad++;
        log_kv(LOG_WARN, "--changelog: a series' state is unreadable: it starts again",
               "\"partition\":%d,\"series\":\"%s\",\"why\":\"%s\"", (int)rc->part,
               log_jesc(jname, sizeof jname, name), log_jesc(jerr, sizeof jerr, err));
    }
    return 0;
}

/* Kafka assigned partition p: its series come from the changelog first. */
static int64_t on_assign(void *ctx, const char *topic, int32_t p)
{
    (void)topic;
    drift_main *a = ctx;
    a->rebalanced = 1;
    int64_t current = changelog_current(a->cl, p);
    if (current >= 0) {
        log_kv(LOG_INFO, "partition kept: its series are current here", "\"partition\":%d,\"start\":%lld", (int)p,
               (long long)current);
        return current;
    }
    /* what this process holds of p is stale: another instance read on */
    a->dropped_series += drift_engine_drop_part(a->eng, p);
    restore_ctx rc = { a, p, 0 };
    changelog_restored got;
    int64_t t0 = mono_us();
    if (changelog_restore(a->cl, p, restore_series, &rc, &got))
        log_fatal("--changelog %s: partition %d could not be restored; not detecting on a partial state",
                  changelog_topic(a->cl), (int)p);
    a->restored_partitions++;
    a->changelog_series += got.applied;
    a->changelog_bad += got.bad;
    log_kv(LOG_INFO, "partition restored from the changelog",
           "\"partition\":%d,\"records\":%llu,\"series_applied\":%llu,\"left_out\":%llu,\"bad\":%llu,\"start\":%lld,"
           "\"seconds\":%.3f", (int)p, (unsigned long long)got.records, (unsigned long long)got.applied,
           (unsigned long long)got.left_out, (unsigned long long)got.bad, (long long)got.covered,
           (double)(mono_us() - t0) / 1e6);
    if (rc.full)
        log_kv(LOG_WARN, "restored series past --max-series left out: their records are untracked",
               "\"partition\":%d,\"left_out\":%llu,\"hint\":\"raise --max-series\"", (int)p,
               (unsigned long long)rc.full);
    return got.covered;
}

int drift_follow_open(drift_main *a, stream_in *in)
{
    const char *uri = a->fl->changelog;
    char err[600];
    a->in = in;
    if (!(a->cl = changelog_open(uri, &a->fl->common.kafka_conf, "drift", err, sizeof err)) ||
        changelog_check_input(a->cl, in, err, sizeof err)) {
        log_error("--changelog %s: %s", uri, err);
        return RUNNER_FAIL;
    }
    drift_engine_track(a->eng);
    stream_in_set_start(in, on_assign, a);
    a->cl_last_us = mono_us();
    return RUNNER_OK;
}

static int put_series(void *ctx, int32_t part, const char *key, size_t klen, const uint8_t *blob, size_t n)
{
    drift_main *a = ctx;
    return changelog_put(a->cl, part, key, klen, INT64_MIN, blob, n);
}

int drift_follow_checkpoint(drift_main *a, int force)
{
    if (!force && mono_us() - a->cl_last_us < a->fl->checkpoint_every) return RUNNER_SKIP;
    /* what the state covers is delivered before the marker says so: the
     * next owner writes nothing before the marker's offset again */
    if (stream_flush(a->out) < 0) return -1;
    if (drift_engine_changed(a->eng, put_series, a) || changelog_checkpoint(a->cl, a->in)) {
        log_error("--changelog %s: checkpoint not written; the input is not committed", changelog_topic(a->cl));
        return -1;
    }
    a->cl_last_us = mono_us();
    return 0;
}

static void drop_part(void *ctx, int32_t p)
{
    drift_main *a = ctx;
    uint64_t n = drift_engine_drop_part(a->eng, p);
    a->dropped_series += n;
    if (n) log_kv(LOG_INFO, "partition's series dropped", "\"partition\":%d,\"series\":%llu", (int)p,
                  (unsigned long long)n);
}

void drift_follow_keep_owned(drift_main *a)
{
    if (changelog_keep_owned(a->cl, a->in, drop_part, a)) a->rebalanced = 0;
}

void drift_follow_close(drift_main *a)
{
    changelog_close(a->cl);
    a->cl = NULL;
}

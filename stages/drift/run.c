/* run.c — drift's figures: the snapshot of its counters and the
 * counter table (runner.h) that turns them into metrics and the done line. */
#include "run.h"

typedef struct drift_stats {
    drift_counters c;
    uint64_t series, checkpoints;
    uint64_t restored_partitions, changelog_series, changelog_bad, dropped_series;
} drift_stats;

const size_t drift_stats_size = sizeof(drift_stats);

void drift_stats_fill(void *ctx, runner *r, void *snap)
{
    drift_main *a = ctx;
    drift_stats *s = snap;
    s->c = *drift_engine_counters(a->eng);
    s->series = drift_engine_series(a->eng);
    s->checkpoints = runner_checkpoints(r);
    s->restored_partitions = a->restored_partitions;
    s->changelog_series = a->changelog_series;
    s->changelog_bad = a->changelog_bad;
    s->dropped_series = a->dropped_series;
}

#define C(f) offsetof(drift_stats, c.f)
const counter_def drift_counter_table[] = {
    { COUNTER_DONE_ONLY, NULL, NULL, C(observations), "observations", NULL },
    { COUNTER_GAUGE, "streamrec_drift_series", "series tracked", offsetof(drift_stats, series), "series", "series" },
    { COUNTER_TOTAL, "streamrec_drift_drifts_total", "Drift records of kind drift", C(drifts), "drifts", "drifts" },
    { COUNTER_TOTAL, "streamrec_drift_anomalies_total", "Drift records of kind anomaly", C(anomalies), "anomalies",
      "anomalies" },
    { COUNTER_TOTAL, "streamrec_drift_recoveries_total", "Drift records of kind recovery", C(recoveries), "recoveries",
      NULL },
    { COUNTER_TOTAL, "streamrec_drift_forecasts_total", "forecast Metric records", C(forecasts), "forecasts", NULL },
    { COUNTER_TOTAL, "streamrec_drift_untracked_total", "records of new series refused past --max-series",
      C(untracked), "untracked", NULL },
    { COUNTER_TOTAL, "streamrec_drift_checkpoints_total", "state checkpoints written",
      offsetof(drift_stats, checkpoints), NULL, NULL },
    { COUNTER_TOTAL, "streamrec_drift_partitions_restored_total",
      "input partitions whose series were read from --changelog", offsetof(drift_stats, restored_partitions),
      NULL, NULL },
    { COUNTER_TOTAL, "streamrec_drift_changelog_series_total",
      "series states applied from --changelog (a series may count more than once)",
      offsetof(drift_stats, changelog_series), "changelog_series", NULL },
    { COUNTER_TOTAL, "streamrec_drift_changelog_bad_total",
      "--changelog records not understood (logged), left out: their series start again",
      offsetof(drift_stats, changelog_bad), NULL, NULL },
    { COUNTER_TOTAL, "streamrec_drift_dropped_series_total",
      "series forgotten because their partition went to another instance", offsetof(drift_stats, dropped_series),
      NULL, NULL },
    { 0 }
};
#undef C

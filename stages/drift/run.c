/* run.c — drift's figures: the snapshot of its counters and the
 * counter table (runner.h) that turns them into metrics and the done line. */
#include "run.h"

typedef struct drift_stats {
    drift_counters c;
    uint64_t series, checkpoints;
} drift_stats;

const size_t drift_stats_size = sizeof(drift_stats);

void drift_stats_fill(void *ctx, runner *r, void *snap)
{
    drift_main *a = ctx;
    drift_stats *s = snap;
    s->c = *drift_engine_counters(a->eng);
    s->series = drift_engine_series(a->eng);
    s->checkpoints = runner_checkpoints(r);
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
    { 0 }
};
#undef C

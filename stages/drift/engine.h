/* engine.h — drift's per-series state and the Metric -> Drift/forecast step.
 * No I/O: Metric records come in through drift_engine_metric, Drift records
 * and forecast Metric records go out through the callbacks, in a fixed
 * order per input record (detectors in enum order, then forecasts by
 * horizon). Memory: at most max_series series; a record of a series past
 * the bound is counted (untracked) and produces nothing. */
#ifndef DRIFT_ENGINE_H
#define DRIFT_ENGINE_H
#include <stddef.h>
#include <stdint.h>
#include "detect.h"
#include "fbrec.h"

#define DRIFT_MAX_HORIZONS 16

/* Which Metric field is the observation. */
enum { DRIFT_F_VALUE, DRIFT_F_MEAN, DRIFT_F_COUNT, DRIFT_F_SUM, DRIFT_F_MIN, DRIFT_F_MAX,
       DRIFT_F_STDDEV, DRIFT_F_QUANTILE };

/* Defaults of the flags whose value sets a false-alarm rate (README.md,
 * "Detectors"; measured by tests/unit/drift/test_drift_sim.c): main.c's
 * flag table takes its default text from these. */
#define DRIFT_ANOMALY_RATE 0.0003
#define DRIFT_PH_DELTA 0.25
#define DRIFT_PH_LAMBDA 13
#define DRIFT_CUSUM_K 0.5
#define DRIFT_CUSUM_H 7.5
typedef struct drift_config {
    unsigned detectors;          /* bit 1 << Detector_x */
    int field; double field_q;   /* DRIFT_F_*, and q for DRIFT_F_QUANTILE */
    int64_t warmup, cooldown, recovery;
    double threshold, ewma_alpha;          /* zscore: the smallest threshold; ewma_alpha unused since issue 18 */
    double anomaly_rate;                   /* zscore: target anomalies per point (0: DRIFT_ANOMALY_RATE) */
    double ph_delta, ph_lambda;
    double cusum_k, cusum_h;
    double adwin_delta; int64_t adwin_max, adwin_min;
    int64_t window, every, bins;           /* psi / ks windows */
    double psi_threshold, ks_alpha;
    double holt_alpha, holt_beta;
    int64_t horizons[DRIFT_MAX_HORIZONS]; int nhorizons;
    const char *horizon_names[DRIFT_MAX_HORIZONS];
    int64_t max_series;
} drift_config;

enum { DRIFT_OK = 0, DRIFT_ERR = -1, DRIFT_BADVALUE = 1, DRIFT_MISSING, DRIFT_ORDER, DRIFT_BADREC };

typedef struct drift_counters {
    uint64_t observations, drifts, anomalies, recoveries, forecasts, untracked;
} drift_counters;

typedef struct drift_engine drift_engine;
/* Callbacks return 0, or -1 when the output failed (the step then fails). */
typedef int (*drift_emit_drift)(void *ctx, const Drift *d);
typedef int (*drift_emit_metric)(void *ctx, const Metric *m);

drift_engine *drift_engine_new(const drift_config *c, drift_emit_drift ed, drift_emit_metric em, void *ctx);
void drift_engine_free(drift_engine *e);
/* One Metric. DRIFT_OK, DRIFT_ERR (an emit failed), or a rejection code
 * with *why set to a static or engine-owned text (valid until the next call). */
int drift_engine_metric(drift_engine *e, const Metric *m, const char **why);
uint64_t drift_engine_series(const drift_engine *e);
const drift_counters *drift_engine_counters(const drift_engine *e);

/* The whole state as one blob (malloc'd into *data), with a fingerprint of
 * the settings that shape it and `extra` (the stage's resume position). */
int drift_engine_save(const drift_engine *e, uint64_t extra, uint8_t **data, size_t *len);
/* Load into a fresh engine. 0; DRIFT_LOAD_SETTINGS for a blob written with
 * other settings; -1 for a corrupt one (err says what). Never reads out of
 * bounds (fuzzed). */
#define DRIFT_LOAD_SETTINGS (-2)
int drift_engine_load(drift_engine *e, const uint8_t *data, size_t len, uint64_t *extra,
                      char *err, size_t errlen);
uint64_t drift_config_fingerprint(const drift_config *c);

/* ---- one series at a time: the changelog (--changelog, README "Scale-out") */

/* drift_engine_metric, for a record read from input partition part (-1: a
 * byte stream): the series belongs to the partition of its latest record. */
int drift_engine_metric_at(drift_engine *e, const Metric *m, int32_t part, const char **why);
/* From now on, keep the list of series changed since the last
 * drift_engine_changed (a pointer per series: 8 bytes each at most). */
void drift_engine_track(drift_engine *e);
/* fn(ctx, …) for each series changed since the last call (tracking on),
 * with its partition, its key (name\0k\0v\0…) and its state: a blob of its
 * own (the series' part of drift_engine_save's, after a magic and the
 * settings' fingerprint). 0, or -1 when fn failed: the series not handed
 * over stay listed. */
typedef int (*drift_series_fn)(void *ctx, int32_t part, const char *key, size_t klen,
                               const uint8_t *blob, size_t n);
int drift_engine_changed(drift_engine *e, drift_series_fn fn, void *ctx);
/* Forget every series of partition part (another instance owns it now).
 * Returns how many. */
uint64_t drift_engine_drop_part(drift_engine *e, int32_t part);
/* One series from a drift_engine_changed blob, now of partition part: it
 * replaces the series of the same key. 0; DRIFT_LOAD_SETTINGS (written with
 * other settings); DRIFT_RESTORE_FULL (--max-series reached: left out); -1
 * corrupt (err says where). Never reads out of bounds. */
#define DRIFT_RESTORE_FULL 1
#define DRIFT_SERIES_MAGIC 0x31535244u     /* "DRS1" */
int drift_engine_restore_series(drift_engine *e, int32_t part, const uint8_t *blob, size_t len,
                                char *err, size_t errlen);
#endif

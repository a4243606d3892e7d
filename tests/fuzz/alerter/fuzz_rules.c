/* fuzz_rules.c — libFuzzer target for the alerter's rules file (yamlcfg.h
 * field tables + the checks of rules.c).
 *
 * Any input: loading must not crash, leak or read out of bounds; a refusal
 * carries "NAME:LINE..." naming the file. An accepted config must hold what
 * the engine relies on (a known field per rule, severities in range,
 * escalation above the severity, outside with low <= high, channels of a
 * known kind, silences that end after they start), and must run: its
 * summaries render within their buffer, and a few Metric and Drift records
 * go through the engine. */
#include <stdint.h>
#include "fzalert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    al_config cfg;
    char err[512] = "";
    if (al_config_load_string("fuzz.yaml", (const char *)data, size, &cfg, err, sizeof err) < 0) {
        FZ_CHECK(!strncmp(err, "fuzz.yaml:", 10));
        return 0;
    }
    fz_check_config(&cfg);
    al_engine *e = al_engine_new(&cfg, 16, fz_emit, NULL);
    for (int k = 0; k < 8; k++) {
        AnyRecord r;
        const char *bad;
        KeyValue kv[1] = { { FB_STR("host"), FB_STR(k & 1 ? "a" : "b") } };
        Quantile q[2] = { { 0.5, k }, { 0.99, 10.0 * k } };
        if (k % 3 == 2) {
            Drift_init(&r.drift);
            r.drift.series = FB_STR(cfg.rules[k % cfg.nrules].metric ? cfg.rules[k % cfg.nrules].metric : "x");
            r.drift.ts = k * 60000000LL;
            r.drift.statistic = k;
            r.drift.labels = kv; r.drift.labels_count = 1;
            al_engine_record(e, &Drift_desc, &r, &bad);
        } else {
            Metric_init(&r.metric);
            r.metric.name = FB_STR(cfg.rules[k % cfg.nrules].metric ? cfg.rules[k % cfg.nrules].metric : "x");
            r.metric.window_end = k * 60000000LL;
            r.metric.value = r.metric.mean = r.metric.max = k * 7.0;
            r.metric.quantiles = q; r.metric.quantiles_count = 2;
            r.metric.labels = kv; r.metric.labels_count = 1;
            al_engine_record(e, &Metric_desc, &r, &bad);
        }
    }
    FZ_CHECK(al_engine_active(e) <= 16);
    al_engine_free(e);
    al_config_free(&cfg);
    return 0;
}

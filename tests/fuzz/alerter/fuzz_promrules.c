/* fuzz_promrules.c — libFuzzer target for Prometheus rule files
 * (promrules.c) and the PromQL subset (promql.c).
 *
 * Any input: loading must not crash, leak or read out of bounds; a refusal
 * names "fuzz.yml:LINE:COL:" (or "fuzz.yml:LINE:" for checks across rules).
 * An accepted file must hold what the engine relies on (a known field, a
 * finite threshold, a comparison), and run: its summaries render within
 * their buffer, and Metric records whose names and labels the matchers may
 * or may not accept go through the engine. */
#include <ctype.h>
#include "fzalert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    al_config cfg;
    char err[600] = "";
    if (al_config_load_prom_string("fuzz.yml", (const char *)data, size, &cfg, err, sizeof err) < 0) {
        FZ_CHECK(!strncmp(err, "fuzz.yml:", 9) && isdigit((unsigned char)err[9]));
        return 0;
    }
    fz_check_config(&cfg);
    for (int i = 0; i < cfg.nrules; i++)   /* PromQL compares Metric values; no range */
        FZ_CHECK(cfg.rules[i].type == AL_REC_METRIC && cfg.rules[i].cond <= AL_NE);
    al_engine *e = al_engine_new(&cfg, 16, fz_emit, NULL);
    static const char *const names[] = { "request.duration_ms", "cpu_usage", "x", "item.ctr", "" };
    static const char *const vals[] = { "/api/recs", "db-1", "", "web-1", "prod" };
    for (int k = 0; k < 10; k++) {
        AnyRecord r;
        const char *bad;
        KeyValue kv[2] = { { FB_STR("endpoint"), FB_STR(vals[k % 5]) }, { FB_STR("host"), FB_STR(vals[(k + 1) % 5]) } };
        Quantile q[2] = { { 0.5, k }, { 0.99, 10.0 * k } };
        Metric_init(&r.metric);
        r.metric.name = FB_STR(names[k % 5]);
        r.metric.window_end = k * 60000000LL;
        r.metric.value = r.metric.mean = r.metric.max = r.metric.sum = k * 7.0;
        r.metric.count = (uint64_t)k;
        r.metric.quantiles = q; r.metric.quantiles_count = 2;
        r.metric.labels = kv; r.metric.labels_count = 2;
        al_engine_record(e, &Metric_desc, &r, &bad);
    }
    FZ_CHECK(al_engine_active(e) <= 16);
    al_engine_free(e);
    al_config_free(&cfg);
    return 0;
}

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
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../../../stages/alerter/engine.h"
#include "../../../stages/alerter/rules.h"

#define FZ_CHECK(c) do { if (!(c)) abort(); } while (0)

static int fz_emit(void *ctx, const al_rule *r, const Alert *a)
{
    (void)ctx; (void)r;
    FZ_CHECK(a->fingerprint.len == 16 && a->severity >= Severity_MIN && a->severity <= Severity_MAX);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    al_config cfg;
    char err[512] = "";
    if (al_config_load_string("fuzz.yaml", (const char *)data, size, &cfg, err, sizeof err) < 0) {
        FZ_CHECK(!strncmp(err, "fuzz.yaml:", 10));
        return 0;
    }
    FZ_CHECK(cfg.nrules >= 1);
    for (int i = 0; i < cfg.nrules; i++) {
        const al_rule *r = &cfg.rules[i];
        FZ_CHECK(r->name && r->name[0] && r->field_id >= 0);
        FZ_CHECK(r->severity >= Severity_MIN && r->severity <= Severity_MAX);
        FZ_CHECK(r->escalate_to == -1 || (r->escalate_to > r->severity && r->escalate_to <= Severity_MAX));
        FZ_CHECK(r->cond != AL_OUTSIDE || r->threshold_high >= r->threshold);
        FZ_CHECK(isfinite(r->threshold));
        for (int c = 0; c < r->nchannels; c++)
            FZ_CHECK(!strcmp(r->channels[c], "out") || !strcmp(r->channels[c], "stdout") ||
                     !strncmp(r->channels[c], "exec:", 5) || !strncmp(r->channels[c], "webhook:", 8));
        KeyValue kv[1] = { { FB_STR("host"), FB_STR("h") } };
        char buf[64];
        al_render_summary(r, kv, 1, 1.5, Severity_warning, buf, sizeof buf);
        FZ_CHECK(strlen(buf) < sizeof buf);
    }
    for (int i = 0; i < cfg.nsilences; i++) FZ_CHECK(cfg.silences[i].ends_us > cfg.silences[i].starts_us);
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

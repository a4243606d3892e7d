/* fuzz_records.c — alerter's record path on well-formed Metrics, Drifts
 * and ExperimentResults (fzrec.h), under the shipped default rules (every
 * kind of rule, grouping and inhibition): every field, names and labels
 * from empty to 1 MiB, thousands of labels, NaN/inf/denormal values, times
 * at +-2^62 and the int64 limits.
 *
 * Properties (abort on violation, the sanitizers catch the rest): no record
 * makes the engine fail; every Alert it delivers encodes to a record the
 * verifier accepts and has a rule and a fingerprint; a Metric read in
 * place (al_metric_read) equals the decoded one. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../../../stages/alerter/engine.h"
#include "../../../stages/alerter/mread.h"
#include "../fzrec.h"
#include "log.h"

static fb_builder out;

static int on_alert(void *ctx, const al_rule *rule, const Alert *al)
{
    (void)ctx; (void)rule;
    if (!al->rule.ptr || !al->rule.len || !al->fingerprint.len) abort();
    fbrec_encode(&out, &Alert_desc, al, 0);
    size_t len;
    const uint8_t *p = fb_data(&out, &len);
    char err[200];
    if (fbrec_verify(&Alert_desc, p, len, 0, err, sizeof err) != 0) {
        fprintf(stderr, "alerter delivered an Alert the verifier refuses: %s\n", err);
        abort();
    }
    return 0;
}

static const char *const words[] = {
    "cpu_usage", "memory_usage", "disk_usage", "request.duration_ms", "request.error", "cache_hit_rate",
    "model.accuracy", "model.latency_p95_ms", "host", "endpoint", "model_id", "model_version", "series",
    "experiment", "variant", "control", "b", "h1", "/api", "", "alertname", "mean", "p99", "p50",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static al_config cfg;
    static int init;
    if (!init) {
        log_init("alerter", "error");
        char err[300];
        /* tests/fuzz/run runs from the repository's top */
        static const char *const defaults[] = { "stages/alerter/rules.default.yaml",
                                                "stages/alerter/rules.default.alerter.yaml" };
        if (al_config_load_files(defaults, 2, &cfg, err, sizeof err) != 0) {
            fprintf(stderr, "fuzz_records: %s (run from the repository's top)\n", err);
            abort();
        }
        fb_builder_init(&out);
        fzrec_words = words;
        fzrec_nwords = (int)(sizeof words / sizeof *words);
        init = 1;
    }
    fz_in in = fz_in_make(data, size);
    al_engine *e = al_engine_new(&cfg, (fz_u8(&in) & 1) ? 4 : 100000, on_alert, NULL);
    arena a;
    arena_init(&a, 0);
    fb_builder b;
    fb_builder_init(&b);
    for (int i = 0; i < 48 && in.n; i++) {
        uint8_t t = fz_u8(&in) % 3;
        const fbrec_desc *d = t == 0 ? &Metric_desc : t == 1 ? &Drift_desc : &ExperimentResult_desc;
        AnyRecord rec;
        memcpy(&rec, fzrec_make(&in, &a, &b, d), d->size);
        if (d == &Metric_desc) {   /* the alerter reads its Metrics in place (mread.h): as fbrec_decode does */
            static al_mread mr;
            size_t len;
            const uint8_t *buf = fb_data(&b, &len);
            Metric got;
            if (al_metric_read(&mr, buf, len, &got) < 0) abort();
            Metric dec = rec.metric;
            if (dec.labels_count > AL_MAX_LABELS) {
                if (got.labels || got.labels_count != dec.labels_count) abort();
                dec.labels_count = got.labels_count = 0;
            }
            if (!al_metric_same(&dec, &got)) {
                fprintf(stderr, "al_metric_read differs from fbrec_decode\n");
                abort();
            }
        }
        const char *bad;
        if (al_engine_record(e, d, &rec, &bad) == AL_ERR) abort();
    }
    al_engine_free(e);
    fb_builder_free(&b);
    arena_free(&a);
    return 0;
}

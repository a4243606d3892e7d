/* fzalert.h — what the alerter's rule-file fuzzers (fuzz_rules.c: own
 * format, fuzz_promrules.c: Prometheus rule files) check of a configuration
 * a loader accepted: both build the same al_rule, and the engine relies on
 * the same things whichever file it came from. Header-only: the Makefile
 * builds a fuzzer from one .c file (plus the stage's objects). */
#ifndef FZALERT_H
#define FZALERT_H
#include <math.h>
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

/* A known field per rule, severities in range, escalation above the
 * severity, a known comparison (outside with low <= high), a finite
 * threshold, channels of a known kind, bounded labels, silences that end
 * after they start; and each summary renders within its buffer. */
static void fz_check_config(const al_config *cfg)
{
    FZ_CHECK(cfg->nrules >= 1);
    for (int i = 0; i < cfg->nrules; i++) {
        const al_rule *r = &cfg->rules[i];
        FZ_CHECK(r->name && r->name[0] && r->field_id >= 0);
        FZ_CHECK(r->severity >= Severity_MIN && r->severity <= Severity_MAX);
        FZ_CHECK(r->escalate_to == -1 || (r->escalate_to > r->severity && r->escalate_to <= Severity_MAX));
        FZ_CHECK(r->cond >= AL_GT && r->cond <= AL_OUTSIDE);
        FZ_CHECK(r->cond != AL_OUTSIDE || r->threshold_high >= r->threshold);
        FZ_CHECK(isfinite(r->threshold));
        for (int c = 0; c < r->nchannels; c++)
            FZ_CHECK(!strcmp(r->channels[c], "out") || !strcmp(r->channels[c], "stdout") ||
                     !strncmp(r->channels[c], "exec:", 5) || !strncmp(r->channels[c], "webhook:", 8));
        FZ_CHECK(r->nalert_labels >= 0 && r->nalert_labels <= AL_MAX_RULE_LABELS);
        KeyValue kv[1] = { { FB_STR("host"), FB_STR("h") } };
        char buf[64];
        al_render_summary(r, kv, 1, 1.5, Severity_warning, buf, sizeof buf);
        FZ_CHECK(strlen(buf) < sizeof buf);
    }
    for (int i = 0; i < cfg->nsilences; i++) FZ_CHECK(cfg->silences[i].ends_us > cfg->silences[i].starts_us);
}
#endif

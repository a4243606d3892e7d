/* run.c — what experiment-analyzer's run loops share (run.h). */
#include <stdio.h>
#include <string.h>
#include "log.h"
#include "report.h"
#include "run.h"

int ea_emit(ea_ctx *c)
{
    /* mergeable: the one look of this report (analyze.h) */
    if (ea_is_mergeable(c->ea)) ea_look_all(c->ea);
    const ea_row *rows;
    int n = ea_results(c->ea, &rows);
    for (int i = 0; i < n; i++) {
        const ea_row *r = &rows[i];
        const ea_experiment_cfg *e = &c->cfg->experiments[r->exp];
        const ea_metric_cfg *mc = &e->metrics[r->metric];
        ExperimentResult o;
        ExperimentResult_init(&o);
        o.ts = c->last_ts;
        o.experiment = FB_STR(e->name);
        o.metric = FB_STR(mc->name);
        o.variant = FB_STR(e->variants[r->variant].name);
        o.control = FB_STR(e->control);
        o.users = r->users; o.conversions = r->conversions;
        o.mean = r->mean; o.stddev = r->sd; o.rate = r->rate;
        o.ci_low = r->ci_low; o.ci_high = r->ci_high;
        o.lift = r->lift; o.lift_ci_low = r->lift_ci_low; o.lift_ci_high = r->lift_ci_high;
        o.p_value = r->p_value; o.test = FB_STR(r->test);
        o.significant = (uint8_t)r->significant;
        o.srm_p_value = r->srm_p; o.srm_flag = (uint8_t)r->srm_flag;
        o.decision = (Decision)r->decision;
        o.relative_lift = r->rel_lift;
        o.always_valid_p_value = r->av_p_adj;
        o.decision_reason = FB_STR(r->reason);
        o.p_value_adjusted = r->p_adj;
        o.always_valid_ci_low = r->av_ci_low; o.always_valid_ci_high = r->av_ci_high;
        o.mixed_users = r->mixed;
        o.primary = (uint8_t)(r->metric == e->primary_idx);
        o.alpha = e->alpha;
        o.metric_type = FB_STR(ea_metric_type_name(mc->type));
        o.lift_std_error = r->lift_se; o.quantile = r->quantile;
        o.covariate = FB_STR(mc->covariate ? mc->covariate : "");
        o.cuped_theta = r->theta; o.variance_reduction = r->var_reduction; o.lift_unadjusted = r->lift_plain;
        o.numerator = r->numerator; o.denominator = r->denominator;
        if (stream_write(c->out, &ExperimentResult_desc, &o, NULL, 0) < 0) return -1;
        metrics_add(c->m_results, 1);
    }
    if (c->report >= 0) {
        const char *path = c->report_file ? c->report_file :
            c->report == EA_REPORT_HTML ? "experiment-report.html" : "experiment-report.md";
        if (ea_report_write(path, c->report, c->cfg, rows, n, c->last_ts) < 0) return -1;
    }
    return 0;
}

void ea_event_outcome(ea_ctx *c, stream_rec *r, int er)
{
    const Event *ev = &r->as.event;
    if (er == EA_UNKNOWN_VARIANT) {
        char detail[200];
        snprintf(detail, sizeof detail, "experiment %.*s has no variant \"%.*s\"",
                 (int)(ev->experiment.len > 60 ? 60 : ev->experiment.len), ev->experiment.ptr,
                 (int)(ev->variant.len > 60 ? 60 : ev->variant.len), ev->variant.ptr);
        stream_reject(c->in, &r->pos, "unknown_variant", detail, r->data, r->len);
    } else if (er == EA_BAD_USER) {
        stream_reject(c->in, &r->pos, "bad_user_id", "user_id longer than 16 MiB (schemas/SIZES.md)",
                      r->data, r->len);
    } else if (er == EA_NO_USER) {
        stream_reject(c->in, &r->pos, "no_user_id", "event names an experiment but no user_id",
                      r->data, r->len);
    }
}

ea_engine *ea_engine_new(const ea_ctx *c, int mergeable)
{
    ea_engine *ea = ea_new(c->cfg, c->max_users);
    if (!ea || ea_set_dedup(ea, c->dedup_n, c->dedup_span_us) < 0 ||
        (mergeable && ea_set_mergeable(ea) < 0))
        log_fatal("out of memory");
    return ea;
}

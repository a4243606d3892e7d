/* fuzz_merge.c — experiment-analyzer --merge on well-formed ExperimentPartial
 * records (fzrec.h): every field from the generator, then, as often as
 * not, steered towards what a real instance writes (the configured
 * experiment and its fingerprint, the merge's --report-every, arrays of the
 * right length, canonical exact sums, few partitions and boundaries that
 * collide, the pair sums of CUPED and ratio metrics from pairs of values),
 * so that the merge's bookkeeping (keeping the partial covering
 * the most offsets, readiness of every partition, the last report) runs,
 * and not only its refusals.
 *
 * Properties (abort on violation, the sanitizers catch the rest): a refusal
 * always says why; the rows of every report name experiments, metrics and
 * variants in range; the last report comes at most once. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../../../stages/experiment-analyzer/analyze.h"
#include "../../../stages/experiment-analyzer/config.h"
#include "../../../stages/experiment-analyzer/partial.h"
#include "../fzrec.h"
#include "log.h"

static const char yaml[] =
    "experiments:\n"
    "  - name: exp\n"
    "    control: control\n"
    "    variants:\n"
    "      - {name: control, allocation: 0.5}\n"
    "      - {name: b, allocation: 0.5}\n"
    "    min_sample_size: 2\n"
    "    metrics:\n"
    "      - {name: purchase_rate, type: conversion, event: purchase, tau: 0.02}\n"
    "      - {name: revenue, type: numeric, event: purchase, aggregate: sum, tau: 2}\n"
    "      - {name: rev_cuped, type: numeric, event: purchase, covariate: pre, tau: 2}\n"
    "      - {name: ctr, type: ratio, event: click, aggregate: count, denominator: view, tau: 0.1}\n"
    "  - name: three\n"
    "    control: control\n"
    "    variants:\n"
    "      - {name: control, allocation: 0.3}\n"
    "      - {name: b, allocation: 0.3}\n"
    "      - {name: c, allocation: 0.4}\n"
    "    metrics:\n"
    "      - {name: t, type: duration, event: click, tau: 3}\n";

#define EVERY 10
static char fps[2][17];
static const char *words[] = { "exp", "three", "-", "events", fps[0], fps[1], "" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ea_config cfg;
    static int init;
    if (!init) {
        log_init("experiment-analyzer", "error");
        char err[300];
        if (ea_config_load_string("fuzz.yaml", yaml, &cfg, err, sizeof err) != 0) {
            fprintf(stderr, "fuzz_merge: %s\n", err);
            abort();
        }
        for (int x = 0; x < 2; x++) ea_fingerprint(&cfg.experiments[x], fps[x]);
        fzrec_words = words;
        fzrec_nwords = (int)(sizeof words / sizeof *words);
        init = 1;
    }
    fz_in in = fz_in_make(data, size);
    ea_engine *ea = ea_new(&cfg, 100);
    if (!ea || ea_set_mergeable(ea) < 0) abort();
    ea_merger *m = ea_merger_new(ea, EVERY);
    if (!m) abort();
    arena a;
    arena_init(&a, 0);
    fb_builder b;
    fb_builder_init(&b);
    int finals = 0;
    for (int i = 0; i < 48 && in.n; i++) {
        uint8_t steer = fz_u8(&in);
        ExperimentPartial *p = fzrec_make(&in, &a, &b, &ExperimentPartial_desc);
        if (steer & 1) {
            int x = (steer >> 1) & 1;
            const ea_experiment_cfg *e = &cfg.experiments[x];
            int nv = e->nvariants, na = nv * e->nmetrics;
            p->experiment = FB_STR(e->name);
            p->fingerprint = FB_STR(fps[x]);
            p->every = EVERY;
            p->metrics = e->nmetrics;
            p->topic = FB_STR("-");
            p->partitions = 1 + ((steer >> 2) & 3);
            p->partition = (int32_t)((uint32_t)p->partition % (uint32_t)p->partitions);
            p->boundary = EVERY * (int64_t)((uint64_t)p->boundary % 6);
            p->boundary_last = p->boundary + EVERY * (int64_t)((uint64_t)p->boundary_last % 3);
            p->watermark = p->boundary_last;
            uint64_t *users = arena_alloc(&a, (size_t)nv * sizeof *users, 8);
            for (int v = 0; v < nv; v++) users[v] = fz_u8(&in);
            p->users = users; p->users_count = (uint32_t)nv;
            ArmPartial *arms = arena_alloc(&a, (size_t)na * sizeof *arms, 8);
            for (int k = 0; k < na; k++) {
                ArmPartial_init(&arms[k]);
                arms[k].conversions = fz_u8(&in);
                arms[k].n = fz_u8(&in);
                arms[k].limb_exp = XS_LOW;
                xsum s1, s2;
                memset(&s1, 0, sizeof s1); memset(&s2, 0, sizeof s2);
                for (int j = 0; j < 3 && in.n; j++) {
                    double v = fz_double(&in);
                    if (xs_add(&s1, v, 1) == 0) xs_add_sq(&s2, v, 1);
                }
                xs_normalize(&s1); xs_normalize(&s2);
                int64_t *l1 = arena_alloc(&a, sizeof s1.limb, 8), *l2 = arena_alloc(&a, sizeof s2.limb, 8);
                memcpy(l1, s1.limb, sizeof s1.limb); memcpy(l2, s2.limb, sizeof s2.limb);
                arms[k].sum = l1; arms[k].sum_count = XS_LIMBS;
                arms[k].sum_sq = l2; arms[k].sum_sq_count = XS_LIMBS;
                const ea_metric_cfg *mc = &e->metrics[k % e->nmetrics];
                if (!(mc->covariate || mc->type == EA_RATIO) || !(steer & 16)) continue;
                /* CUPED and ratio: pair sums of up to 3 pairs, canonical */
                xsum ps[5];
                memset(ps, 0, sizeof ps);
                double ins[5] = { 0 };
                uint64_t pairs = 0;
                for (int j = 0; j < 3 && in.n; j++, pairs++) {
                    double py = fz_double(&in), px = in.n ? fz_double(&in) : 0;
                    if (xs_add(&ps[0], py, 1) < 0) ins[0] += py;
                    if (xs_add(&ps[1], px, 1) < 0) ins[1] += px;
                    if (xs_add_sq(&ps[2], py, 1) < 0) ins[2] += py * py;
                    if (xs_add_sq(&ps[3], px, 1) < 0) ins[3] += px * px;
                    if (xs_add_prod(&ps[4], py, px, 1) < 0) ins[4] += py * px;
                }
                int64_t *pl[5];
                for (int q = 0; q < 5; q++) {
                    xs_normalize(&ps[q]);
                    pl[q] = arena_alloc(&a, sizeof ps[q].limb, 8);
                    memcpy(pl[q], ps[q].limb, sizeof ps[q].limb);
                }
                arms[k].pair_n = (steer & 32) ? fz_u8(&in) : pairs;
                arms[k].sum_y = pl[0]; arms[k].sum_y_count = XS_LIMBS;
                arms[k].sum_x = pl[1]; arms[k].sum_x_count = XS_LIMBS;
                arms[k].sum_yy = pl[2]; arms[k].sum_yy_count = XS_LIMBS;
                arms[k].sum_xx = pl[3]; arms[k].sum_xx_count = XS_LIMBS;
                arms[k].sum_xy = pl[4]; arms[k].sum_xy_count = XS_LIMBS;
                arms[k].pair_inexact_y = ins[0]; arms[k].pair_inexact_x = ins[1];
                arms[k].pair_inexact_yy = ins[2]; arms[k].pair_inexact_xx = ins[3];
                arms[k].pair_inexact_xy = ins[4];
            }
            p->arms = arms; p->arms_count = (uint32_t)na;
        }
        char err[256] = "";
        if (ea_merger_add(m, p, err, sizeof err) < 0 && !err[0]) abort();
        int64_t ts;
        while (ea_merger_next(m, &ts) == 1) {
            if (ea_merger_done(m)) finals++;
            ea_look_all(ea);
            const ea_row *rows;
            int n = ea_results(ea, &rows);
            for (int r = 0; r < n; r++) {
                if (rows[r].exp < 0 || rows[r].exp >= cfg.nexperiments) abort();
                const ea_experiment_cfg *e = &cfg.experiments[rows[r].exp];
                if (rows[r].metric < 0 || rows[r].metric >= e->nmetrics) abort();
                if (rows[r].variant < 0 || rows[r].variant >= e->nvariants) abort();
            }
        }
    }
    if (finals > 1) abort();
    ea_merger_free(m);
    ea_free(ea);
    fb_builder_free(&b);
    arena_free(&a);
    return 0;
}

/* test_stats.c — experiment-analyzer's statistics against scipy/statsmodels:
 * the reference values were computed once by
 * tests/data/experiments/make_stats_ref.py and kept in stats_ref.inc. Every
 * value must agree to 1e-6 relative (1e-12 absolute for values near 0). */
#include <stdint.h>
#include "../testhelp.h"
#include "../../../stages/experiment-analyzer/stats.h"
#include "../../data/experiments/stats_ref.inc"

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))
static int close_rel(double got, double want)
{
    if (isinf(want)) return got == want;
    return fabs(got - want) <= 1e-6 * fabs(want) + 1e-12;
}
#define CHECK_REL(got, want, label, idx) CHECK_MSG(close_rel((got), (want)), \
    "%s (case %d): got %.17g want %.17g", label, (int)(idx), (double)(got), (double)(want))

static void test_distributions(void)
{
    for (int i = 0; i < NELEM(ref_dist); i++) {
        const struct ref_dist *r = &ref_dist[i];
        double got;
        if (!strcmp(r->fn, "norm_ppf")) got = st_norm_ppf(r->x);
        else if (!strcmp(r->fn, "norm_isf")) got = st_norm_isf(r->x);
        else if (!strcmp(r->fn, "norm_sf")) got = st_norm_sf(r->x);
        else if (!strcmp(r->fn, "t_sf")) got = st_t_sf(r->x, r->a);
        else if (!strcmp(r->fn, "t_isf")) got = st_t_isf(r->x, r->a);
        else if (!strcmp(r->fn, "chi2_sf")) got = st_chi2_sf(r->x, r->a);
        else if (!strcmp(r->fn, "betainc")) got = st_betainc(r->a, r->b, r->x, 1 - r->x);
        else if (!strcmp(r->fn, "gammaincc")) got = st_gammainc_q(r->a, r->x);
        else if (!strcmp(r->fn, "gammainc")) got = st_gammainc_p(r->a, r->x);
        else { CHECK_MSG(0, "unknown fn %s", r->fn); continue; }
        CHECK_MSG(close_rel(got, r->want), "%s(a=%g, b=%g, x=%g): got %.17g want %.17g",
                  r->fn, r->a, r->b, r->x, got, r->want);
    }
    /* t cdf and sf are complements; symmetric */
    CHECK_REL(st_t_cdf(1.3, 7) + st_t_sf(1.3, 7), 1.0, "cdf+sf", 0);
    CHECK_REL(st_t_sf(-2, 5), 1 - st_t_sf(2, 5), "symmetry", 0);
}

static void test_proportions(void)
{
    for (int i = 0; i < NELEM(ref_prop); i++) {
        const struct ref_prop *r = &ref_prop[i];
        st_interval wt = st_wilson(r->ct, r->nt, 0.05), wc = st_wilson(r->cc, r->nc, 0.05);
        CHECK_REL(wt.low, r->wt_lo, "wilson t low", i);
        CHECK_REL(wt.high, r->wt_hi, "wilson t high", i);
        CHECK_REL(wc.low, r->wc_lo, "wilson c low", i);
        CHECK_REL(wc.high, r->wc_hi, "wilson c high", i);
        st_prop_test o;
        CHECK(st_prop_test_run(r->ct, r->nt, r->cc, r->nc, 0.05, &o) == 0);
        CHECK_REL(o.diff_ci.low, r->diff_lo, "diff low", i);
        CHECK_REL(o.diff_ci.high, r->diff_hi, "diff high", i);
        CHECK_REL(o.p_value, r->p, "z-test p", i);
        double pt = (double)r->ct / r->nt, pc = (double)r->cc / r->nc;
        CHECK_REL(o.diff, pt - pc, "diff", i);
    }
    /* undefined cases: both arms at 0% (pooled variance 0) give p = 1 */
    st_prop_test o;
    CHECK(st_prop_test_run(0, 10, 0, 10, 0.05, &o) == 0);
    CHECK(o.p_value == 1);
    CHECK(st_prop_test_run(1, 0, 0, 10, 0.05, &o) == -1);
    st_interval w = st_wilson(0, 0, 0.05);
    CHECK(w.low == 0 && w.high == 1);
}

static void test_welch(void)
{
    for (int i = 0; i < NELEM(ref_welch); i++) {
        const struct ref_welch *r = &ref_welch[i];
        st_welch o;
        CHECK(st_welch_run(r->nt, r->mt, r->st, r->nc, r->mc, r->sc, 0.05, &o) == 0);
        CHECK_REL(o.t, r->t, "t", i);
        CHECK_REL(o.df, r->df, "df", i);
        CHECK_REL(o.p_value, r->p, "p", i);
        CHECK_REL(o.diff_ci.low, r->lo, "ci low", i);
        CHECK_REL(o.diff_ci.high, r->hi, "ci high", i);
        st_mean_ci m = st_mean_interval(r->nt, r->mt, r->st, 0.05);
        CHECK_REL(m.ci.low, r->ct_lo, "mean ci low", i);
        CHECK_REL(m.ci.high, r->ct_hi, "mean ci high", i);
    }
    st_welch o;
    CHECK(st_welch_run(1, 1, 0, 5, 1, 1, 0.05, &o) == -1);
    CHECK(st_welch_run(3, 2, 0, 3, 2, 0, 0.05, &o) == 0 && o.p_value == 1);
    CHECK(st_welch_run(3, 2, 0, 3, 1, 0, 0.05, &o) == 0 && o.p_value == 0);
}

static void test_srm(void)
{
    for (int i = 0; i < NELEM(ref_srm); i++) {
        const struct ref_srm *r = &ref_srm[i];
        CHECK_REL(st_srm_p_value(r->obs, r->alloc, r->k), r->p, "srm", i);
    }
    uint64_t none[2] = { 0, 0 };
    double half[2] = { 0.5, 0.5 };
    CHECK(st_srm_p_value(none, half, 2) == 1);
}

/* the sequential SRM's Bayes factor against scipy (beta-binomial / binomial
 * pmfs for two arms, the Dirichlet-multinomial in gammaln for three) */
static void test_srm_sequential(void)
{
    for (int i = 0; i < NELEM(ref_srm_seq); i++) {
        const struct ref_srm_seq *r = &ref_srm_seq[i];
        double lbf = st_srm_log_bf(r->obs, r->alloc, r->k, ST_SRM_CONCENTRATION);
        CHECK_MSG(fabs(lbf - r->log_bf) <= 1e-7 * fmax(1, fabs(r->log_bf)),
                  "srm log BF (case %d): got %.17g want %.17g", i, lbf, r->log_bf);
        CHECK_REL(st_srm_seq_p(r->obs, r->alloc, r->k, ST_SRM_CONCENTRATION), r->p, "srm seq p", i);
    }
    uint64_t none[2] = { 0, 0 }, odd[3] = { 10, 10, 1 };
    double half[2] = { 0.5, 0.5 }, planned_empty[3] = { 0.5, 0.5, 0 };
    CHECK(st_srm_seq_p(none, half, 2, ST_SRM_CONCENTRATION) == 1);
    /* a user in an arm planned empty: the split is certainly broken */
    CHECK(st_srm_seq_p(odd, planned_empty, 3, ST_SRM_CONCENTRATION) == 0);
    /* allocations the config accepts (sum 1 - 1e-6) must not drift the
     * factor by 1e-6 per user: 5,000,000 users on a perfect split */
    uint64_t big[2] = { 2500000, 2500000 };
    double short_alloc[2] = { 0.4999995, 0.4999995 };
    CHECK_NEAR(st_srm_log_bf(big, short_alloc, 2, ST_SRM_CONCENTRATION),
               st_srm_log_bf(big, half, 2, ST_SRM_CONCENTRATION), 1e-6);
}

static void test_holm(void)
{
    for (int i = 0; i < NELEM(ref_holm); i++) {
        const struct ref_holm *r = &ref_holm[i];
        double h[4], b[4];
        st_holm(r->p, h, r->m);
        st_bonferroni(r->p, b, r->m);
        for (int j = 0; j < r->m; j++) {
            CHECK_REL(h[j], r->holm[j], "holm", i * 10 + j);
            CHECK_REL(b[j], r->bonf[j], "bonferroni", i * 10 + j);
        }
    }
}

static void test_msprt(void)
{
    for (int i = 0; i < NELEM(ref_msprt); i++) {
        const struct ref_msprt *r = &ref_msprt[i];
        CHECK_REL(st_msprt_p(r->d, r->v, r->tau2), r->p, "msprt p", i);
        CHECK_REL(st_msprt_half_width(r->v, r->tau2, 0.05), r->hw, "msprt hw", i);
    }
    CHECK(st_msprt_p(1, 0, 1) == 1);
    /* the half-width is where p crosses alpha: p(d = hw) == alpha */
    double hw = st_msprt_half_width(1e-4, 1e-3, 0.05);
    CHECK_REL(st_msprt_p(hw, 1e-4, 1e-3), 0.05, "crossing", 0);
}

TEST_MAIN(test_distributions, test_proportions, test_welch, test_srm, test_srm_sequential, test_holm,
          test_msprt)

/* test_assign.c — the assignment hash against its specification (buckets
 * computed by tests/data/experiments/assign_ref.py, an independent Python
 * implementation of the documented hash), bucket bounds, determinism, and
 * the split over 1,000,000 users. */
#include <stdio.h>
#include "../testhelp.h"
#include "../../../stages/experiment-analyzer/assign.h"
#include "../../../stages/experiment-analyzer/stats.h"

static void test_reference_buckets(void)
{
    /* python3 tests/data/experiments/assign_ref.py --bucket rec_algo_v1 USER */
    CHECK_EQ_INT(ea_bucket("rec_algo_v1", 11, "u1", 2), 3801);
    CHECK_EQ_INT(ea_bucket("rec_algo_v1", 11, "u2", 2), 441);
    CHECK_EQ_INT(ea_bucket("rec_algo_v1", 11, "u12345", 6), 6734);
    CHECK_EQ_INT(ea_bucket("rec_algo_v1", 11, "", 0), 2710);
    CHECK_EQ_INT(ea_bucket("rec_algo_v1", 11, "user-\xc3\xbc", 7), 4371);
    /* FNV-1a test vector: fnv1a64("a") = 0xaf63dc4c8601ec8c; and the mixed
     * value of "exp:u1" from the Python reference */
    CHECK(ea_hash("exp", 3, "u1", 2) == 0xe80d3546ea358a41ULL);
}

static void test_bounds(void)
{
    ea_variant_cfg v[3] = { { "a", 0.5, 0 }, { "b", 0.3, 0 }, { "c", 0.2, 0 } };
    ea_experiment_cfg e = { .name = "x", .variants = v, .nvariants = 3 };
    ea_assign_bounds(&e);
    CHECK_EQ_INT(e.bound[0], 5000);
    CHECK_EQ_INT(e.bound[1], 8000);
    CHECK_EQ_INT(e.bound[2], 10000);
    ea_variant_cfg w[3] = { { "a", 1.0 / 3, 0 }, { "b", 1.0 / 3, 0 }, { "c", 1.0 / 3, 0 } };
    e.variants = w;
    ea_assign_bounds(&e);
    CHECK_EQ_INT(e.bound[0], 3333);
    CHECK_EQ_INT(e.bound[1], 6667);
    CHECK_EQ_INT(e.bound[2], 10000);
}

static void test_split(void)
{
    ea_variant_cfg v[3] = { { "a", 0.5, 0 }, { "b", 0.3, 0 }, { "c", 0.2, 0 } };
    ea_experiment_cfg e = { .name = "split_test", .variants = v, .nvariants = 3 };
    ea_assign_bounds(&e);
    uint64_t cnt[3] = { 0 };
    double alloc[3] = { 0.5, 0.3, 0.2 };
    char id[32];
    for (int i = 0; i < 1000000; i++) {
        int n = snprintf(id, sizeof id, "user%d", i);
        int k = ea_assign(&e, id, (size_t)n);
        CHECK(k >= 0 && k < 3);
        cnt[k]++;
        if (i % 100000 == 0) CHECK_EQ_INT(ea_assign(&e, id, (size_t)n), k);   /* deterministic */
    }
    double p = st_srm_p_value(cnt, alloc, 3);
    CHECK_MSG(p > 0.001, "split %llu/%llu/%llu p=%g", (unsigned long long)cnt[0],
              (unsigned long long)cnt[1], (unsigned long long)cnt[2], p);
    /* a salt changes the assignment */
    ea_experiment_cfg s = e;
    s.salt = "other";
    int same = 0;
    for (int i = 0; i < 1000; i++) {
        int n = snprintf(id, sizeof id, "user%d", i);
        same += ea_assign(&e, id, (size_t)n) == ea_assign(&s, id, (size_t)n);
    }
    CHECK(same < 600);
}

TEST_MAIN(test_reference_buckets, test_bounds, test_split)

/* test_eval.c — ranking metrics against values computed by hand, and the
 * edge cases (no hit, short lists, duplicates in the held-out set). */
#include "../testhelp.h"
#include "../../../stages/recommender/eval.h"

static void test_hand_computed(void)
{
    /* list 10 items, held out {3, 7, 42}: hits at ranks 1 and 4 (3 and 7) */
    uint32_t ranked[10] = { 3, 5, 6, 7, 8, 9, 10, 11, 12, 13 };
    uint32_t held[3] = { 42, 7, 3 };
    eval_metrics m;
    eval_user_metrics(ranked, 10, 10, held, 3, &m);
    double dcg = 1.0 / log2(2) + 1.0 / log2(5);
    double idcg = 1.0 / log2(2) + 1.0 / log2(3) + 1.0 / log2(4);
    CHECK_NEAR(m.ndcg, dcg / idcg, 1e-12);
    CHECK_NEAR(m.precision, 0.2, 1e-12);
    CHECK_NEAR(m.recall, 2.0 / 3.0, 1e-12);
    CHECK_NEAR(m.map, (1.0 / 1 + 2.0 / 4) / 3, 1e-12);
    CHECK_NEAR(m.hit, 1, 0);
}

static void test_ideal_and_more_held_than_k(void)
{
    /* 12 held out, k 10, all 10 hit: NDCG 1, MAP 1, recall 10/12 */
    uint32_t ranked[10], held[12];
    for (uint32_t i = 0; i < 12; i++) held[i] = 100 + i;
    for (uint32_t i = 0; i < 10; i++) ranked[i] = 111 - i;
    eval_metrics m;
    eval_user_metrics(ranked, 10, 10, held, 12, &m);
    CHECK_NEAR(m.ndcg, 1, 1e-12);
    CHECK_NEAR(m.map, 1, 1e-12);
    CHECK_NEAR(m.precision, 1, 1e-12);
    CHECK_NEAR(m.recall, 10.0 / 12, 1e-12);
}

static void test_no_hit_and_short_list(void)
{
    uint32_t ranked[3] = { 1, 2, 3 }, held[2] = { 9, 9 };
    eval_metrics m;
    eval_user_metrics(ranked, 3, 10, held, 2, &m);
    CHECK_NEAR(m.ndcg, 0, 0);
    CHECK_NEAR(m.hit, 0, 0);
    CHECK_NEAR(m.recall, 0, 0);
    /* a short list (3 items, k 10) with one hit at rank 3; held {3} (duplicated) */
    uint32_t held2[2] = { 3, 3 };
    eval_user_metrics(ranked, 3, 10, held2, 2, &m);
    CHECK_NEAR(m.precision, 0.1, 1e-12);           /* hits / k, not / list length */
    CHECK_NEAR(m.recall, 1, 1e-12);                /* duplicates count once */
    CHECK_NEAR(m.ndcg, 1.0 / log2(4), 1e-12);      /* ideal: one hit at rank 1 */
    CHECK_NEAR(m.map, 1.0 / 3, 1e-12);
}

TEST_MAIN(test_hand_computed, test_ideal_and_more_held_than_k, test_no_hit_and_short_list)

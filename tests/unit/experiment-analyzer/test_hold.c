/* test_hold.c — the records --emit partials holds for the watermark marks
 * (hold.h) come out earliest first, ties in the order read, each with its
 * own bytes and offset: 60,000 random pushes and pops (many equal times)
 * against a model that keeps the entries sorted by (time, order read). */
#include <stdint.h>
#include "../testhelp.h"
#include "../testrng.h"
#include "../../../stages/experiment-analyzer/hold.h"

#define OPS 60000
#define CAP 512

typedef struct { int64_t ts; uint64_t seq; } model_ent;

/* the model: a sorted array, insertion after every entry not later */
static void model_push(model_ent *m, size_t *n, int64_t ts, uint64_t seq)
{
    size_t i = *n;
    while (i > 0 && (m[i - 1].ts > ts || (m[i - 1].ts == ts && m[i - 1].seq > seq))) { m[i] = m[i - 1]; i--; }
    m[i] = (model_ent){ ts, seq };
    (*n)++;
}

static void test_order(void)
{
    static model_ent model[CAP];
    size_t n = 0;
    ea_hold h = { 0 };
    uint64_t rng = 11, seq = 0, bad = 0;
    size_t bytes = 0;
    for (int op = 0; op < OPS; op++) {
        int push = n == 0 || (n < CAP && trng_next(&rng) % 100 < 55);
        if (push) {
            int64_t ts = (int64_t)(trng_next(&rng) % 300) - 150;   /* few distinct times: many ties */
            uint8_t buf[24];
            uint32_t len = (uint32_t)(trng_next(&rng) % 24);
            for (uint32_t k = 0; k < len; k++) buf[k] = (uint8_t)(seq + k);
            if (ea_hold_push(&h, ts, seq, (int64_t)seq * 7, buf, len) < 0) { CHECK(0); break; }
            model_push(model, &n, ts, seq);
            bytes += len;
            seq++;
        } else {
            const ea_held *min = ea_hold_min(&h);
            ea_held e;
            ea_hold_pop(&h, &e);
            if (!min || e.ts != model[0].ts || e.seq != model[0].seq || e.offset != (int64_t)e.seq * 7) bad++;
            for (uint32_t k = 0; k < e.len; k++) if (e.data[k] != (uint8_t)(e.seq + k)) { bad++; break; }
            bytes -= e.len;
            free(e.data);
            memmove(model, model + 1, --n * sizeof *model);
        }
        if (h.n != n || h.bytes != bytes) bad++;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK(seq > OPS / 2);
    /* what is left comes out in order too, then nothing */
    for (size_t i = 0; i < n; i++) {
        ea_held e;
        ea_hold_pop(&h, &e);
        if (e.ts != model[i].ts || e.seq != model[i].seq) bad++;
        free(e.data);
    }
    CHECK_EQ_INT(bad, 0);
    CHECK(ea_hold_min(&h) == NULL);
    CHECK_EQ_INT(h.bytes, 0);
    /* freed with entries in it: nothing leaks (LSan) */
    uint8_t one = 1;
    CHECK(ea_hold_push(&h, 5, 0, 0, &one, 1) == 0);
    CHECK(ea_hold_push(&h, 4, 1, 0, NULL, 0) == 0);
    CHECK_EQ_INT(ea_hold_min(&h)->ts, 4);
    ea_hold_free(&h);
    CHECK(ea_hold_min(&h) == NULL);
}

TEST_MAIN(test_order)

/* test_evenc.c — evenc.c's Event encoder against fbrec_encode and
 * fbrec_encode_generic: over random events (each string absent, empty or of
 * 1-40 bytes, so every padding occurs; ts, value, position and type at
 * their defaults or not, value -0.0 and NaN too), with and without the size
 * prefix, the bytes are the same; an event with attrs and a buffer too
 * small are refused (0), a buffer of exactly the size is enough, and
 * nothing is written past the record's end. 200,000 events, ~0.2 s. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include "../../../stages/ingest/ingest.h"
#include "../../../stages/ingest/record.h"
#include "../testhelp.h"
#include "../testrng.h"

static const char text[] = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ";

static fb_str rand_str(uint64_t *rng, int sparse)
{
    if (sparse && trng_next(rng) % 8) return (fb_str){ NULL, 0 };
    switch (trng_next(rng) % 4) {
    case 0: return (fb_str){ NULL, 0 };
    case 1: return FB_STRN(text, 0);
    default: {
        uint32_t off = (uint32_t)(trng_next(rng) % 6);
        return FB_STRN(text + off, 1 + trng_next(rng) % 40);
    }
    }
}

static void rand_event(uint64_t *rng, Event *e)
{
    Event_init(e);
    int sparse = trng_next(rng) % 8 == 0;   /* few fields: the smallest tables and vtables */
    e->event_id = rand_str(rng, sparse);
    e->user_id = rand_str(rng, sparse);
    e->item_id = rand_str(rng, sparse);
    e->session_id = rand_str(rng, sparse);
    e->name = rand_str(rng, sparse);
    e->source = rand_str(rng, sparse);
    e->experiment = rand_str(rng, sparse);
    e->variant = rand_str(rng, sparse);
    uint64_t r = trng_next(rng);
    if (r % 5) e->ts = (int64_t)(trng_next(rng) >> (r % 3 ? 8 : 0)) * (r % 7 ? 1 : -1);
    switch (trng_next(rng) % 6) {
    case 0: e->value = 0; break;
    case 1: e->value = -0.0; break;
    case 2: e->value = NAN; break;
    default: e->value = (double)(int64_t)trng_next(rng) / 1e6; break;
    }
    switch (trng_next(rng) % 4) {
    case 0: e->position = -1; break;
    case 1: e->position = 0; break;
    default: e->position = (int32_t)(trng_next(rng) % 100000) - 50; break;
    }
    e->type = (EventType)(trng_next(rng) % 3 ? trng_next(rng) % 8 : 0);
}

static void test_same_bytes(void)
{
    fb_builder a, b;
    fb_builder_init(&a);
    fb_builder_init(&b);
    uint64_t rng = 4242;
    uint8_t out[1024];
    int bad = 0, n = 200000;
    for (int k = 0; k < n; k++) {
        Event e;
        rand_event(&rng, &e);
        int prefixed = k & 1;
        fbrec_encode(&a, &Event_desc, &e, prefixed);
        fbrec_encode_generic(&b, &Event_desc, &e, prefixed);
        size_t la, lb;
        const uint8_t *pa = fb_data(&a, &la), *pb = fb_data(&b, &lb);
        memset(out, 0xA5, sizeof out);   /* whatever is in the buffer is written over */
        size_t l = ing_event_encode(&e, out, sizeof out, prefixed);
        int ok = l == la && la == lb && !memcmp(out, pa, la) && !memcmp(pa, pb, la);
        for (size_t i = la; i < sizeof out; i++) ok &= out[i] == 0xA5;   /* nothing written past the end */
        /* exactly the size is enough, one byte less is not */
        ok &= ing_event_encode(&e, out, la, prefixed) == la && !memcmp(out, pa, la);
        ok &= ing_event_encode(&e, out, la - 1, prefixed) == 0;
        if (!ok && bad++ < 5)
            CHECK_MSG(0, "event %d (prefixed %d): %zu bytes, fbrec_encode %zu, generic %zu", k, prefixed, l, la, lb);
    }
    CHECK_EQ_INT(bad, 0);
    /* attrs: left to fbrec_encode */
    Event e;
    Event_init(&e);
    e.user_id = FB_STR("u");
    KeyValue kv = { FB_STR("k"), FB_STR("v") };
    e.attrs = &kv;
    e.attrs_count = 1;
    CHECK_EQ_INT(ing_event_encode(&e, out, sizeof out, 1), 0);
    fb_builder_free(&a);
    fb_builder_free(&b);
}

TEST_MAIN(test_same_bytes)

/* fuzz_records.c — aggregate's record path on well-formed Events and
 * Samples (fzrec.h): every field, strings from empty to 1 MiB, thousands of
 * labels, NaN/inf/denormal values, times at +-2^62 and the int64 limits.
 *
 * Input: a configuration byte, then records (a type byte, then the fields'
 * choices). Properties (abort on violation, the sanitizers catch the rest):
 *   - no record makes the engine fail (AGG_ERR);
 *   - every Metric emitted is sane (window end after start) and encodes to
 *     a record the verifier accepts;
 *   - a checkpoint taken after the records loads into a fresh engine, whose
 *     flush emits what the original's flush emits, byte for byte;
 *   - after the final flush no series is left. */
#include "fzagg.h"
#include "log.h"

/* the base, and bits 2 (lateness) and 5 (--by) */
static agg_config fz_config(uint8_t c)
{
    static const char *by[] = { "endpoint", "host" };
    agg_config cfg = fz_config_base(c);
    cfg.lateness = (c & 4) ? 0 : 5 * SEC;
    if (c & 32) { cfg.by[0] = by[0]; cfg.by[1] = by[1]; cfg.nby = 2; }
    return cfg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    if (!init) { log_init("aggregate", "error"); init = 1; }   /* refusals are expected */
    if (size < 1) return 0;
    fz_in in = fz_in_make(data + 1, size - 1);
    agg_config cfg = fz_config(data[0]);
    agg_fcfg fc = { 7 * 86400 * SEC, 86400 * SEC, 86400 * SEC, 16 };
    agg_features *fs = cfg.features ? agg_features_new(NULL, &fc) : NULL;
    fz_out o1 = { .who = "aggregate" };
    fb_builder_init(&o1.b);
    agg_engine *e = agg_engine_new(&cfg, fs, fz_emit, &o1);
    arena a;
    arena_init(&a, 0);
    fb_builder b;
    fb_builder_init(&b);
    for (int i = 0; i < 32 && in.n; i++) {
        int rc;
        int64_t ts;
        if (fz_u8(&in) & 1) {
            const Sample *s = fzrec_make(&in, &a, &b, &Sample_desc);
            rc = agg_engine_sample(e, s); ts = s->ts;
        } else {
            const Event *ev = fzrec_make(&in, &a, &b, &Event_desc);
            rc = agg_engine_event(e, ev); ts = ev->ts;
        }
        /* one ordered input: complete up to each record taken */
        if (rc == AGG_OK) rc = agg_engine_advance(e, ts);
        if (rc == AGG_ERR) abort();
        if (agg_engine_series(e) > (uint64_t)cfg.max_series) abort();
    }
    fz_finish(e, &cfg, fs != NULL, &o1, "valid records");
    agg_features_free(fs);
    fb_builder_free(&b);
    fb_builder_free(&o1.b);
    arena_free(&a);
    return 0;
}

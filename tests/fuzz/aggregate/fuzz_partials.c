/* fuzz_partials.c — aggregate --merge on well-formed MetricPartials (fzrec.h)
 * from anywhere: any kind, topic, partition counts, offsets, watermarks,
 * labels, counts vectors of any length, HLL registers and sketch bins of any
 * value, NaN and infinities; most carry the merge's own config hash, so they
 * get past the first check.
 *
 * Input: a configuration byte, then partials (the fields' choices).
 * Properties (abort on violation, the sanitizers catch the rest):
 *   - no partial makes the merge fail (AGG_ERR); refusals name a reason;
 *   - every Metric emitted is sane (window end after start) and encodes to a
 *     record the verifier accepts;
 *   - a checkpoint taken after the partials loads into a fresh merge, whose
 *     flush emits what the original's flush emits, byte for byte;
 *   - after the final flush no series is left. */
#include "../../../stages/aggregate/partial.h"
#include "fzagg.h"
#include "log.h"

static agg_config fz_config(uint8_t c)
{
    agg_config cfg = fz_config_base(c);
    cfg.mode = AGG_MODE_MERGE;
    return cfg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    if (!init) { log_init("aggregate", "error"); init = 1; }
    if (size < 1) return 0;
    fz_in in = fz_in_make(data + 1, size - 1);
    agg_config cfg = fz_config(data[0]);
    agg_fcfg fc = { 7 * 86400 * SEC, 86400 * SEC, 86400 * SEC, 16 };
    agg_features *fs = cfg.features ? agg_features_new(NULL, &fc) : NULL;
    fz_out o1 = { .who = "the merge" };
    fb_builder_init(&o1.b);
    agg_engine *e = agg_engine_new(&cfg, fs, fz_emit, &o1);
    uint64_t hash = agg_engine_config_hash(e);
    agg_pscratch sc = {0};
    arena a;
    arena_init(&a, 0);
    fb_builder b;
    fb_builder_init(&b);
    for (int i = 0; i < 64 && in.n; i++) {
        uint8_t how = fz_u8(&in);
        const MetricPartial *mp = fzrec_make(&in, &a, &b, &MetricPartial_desc);
        MetricPartial m = *mp;
        /* mostly past the config check, over a few partitions, spec in range */
        if (how & 1) m.config = hash;
        if (how & 2) { m.partitions = 1 + (m.partitions & 3); m.partition &= 3; }
        if (how & 4) m.spec &= 1;
        if (how & 8) m.kind = (PartialKind)(((unsigned)m.kind & 0xff) % 7);
        const char *why = NULL;
        int rc = agg_partial_merge(e, &m, &sc, &why);
        if (rc == AGG_ERR) abort();
        if (rc == AGG_BADVALUE && (!why || !*why)) abort();
        if (agg_engine_series(e) > (uint64_t)cfg.max_series) abort();
    }
    fz_finish(e, &cfg, fs != NULL, &o1, "the merge");
    agg_pscratch_free(&sc);
    agg_features_free(fs);
    fb_builder_free(&b);
    fb_builder_free(&o1.b);
    arena_free(&a);
    return 0;
}

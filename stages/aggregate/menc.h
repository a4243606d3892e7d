/* menc.h — Metric encoding by template: the same bytes as fbrec_encode, cheaper.
 *
 * A feature bucket emits 12-13 Metrics per user or item that differ only in
 * their name and value, and fbrec_encode's generic walk cost about 430
 * instructions per Metric, most of aggregate's cost with features. The
 * bytes fbrec_encode writes depend on a Metric's content only through its
 * string bytes, quantile values and scalar values; where they go depends
 * on its shape alone (string lengths, number of labels and quantiles,
 * which fields are present). So the first Metric of each shape is encoded
 * with fbrec_encode and kept as a template with the positions of its content;
 * later Metrics of that shape are the template with their content copied in.
 *
 * Memory: AGG_MENC_SLOTS (1024) templates of at most AGG_MENC_MAX (384)
 * bytes, 500 KiB with their content positions (sizeof (struct agg_menc)),
 * found by hash with a short probe (when the probed slots all hold other
 * shapes, one of them is replaced). Shapes
 * the cache does not take (more labels or quantiles than it has room for,
 * an absent string inside a label, a longer buffer) go through fbrec_encode. */
#ifndef AGG_MENC_H
#define AGG_MENC_H
#include <stddef.h>
#include <stdint.h>
#include "fbrec.h"

typedef struct agg_menc agg_menc;

agg_menc *agg_menc_new(void);
void agg_menc_free(agg_menc *c);
/* The encoded bytes of m (with a size prefix when prefixed), valid until
 * the next call, or NULL when m's shape is not cached: encode it otherwise. */
const uint8_t *agg_menc_encode(agg_menc *c, const Metric *m, int prefixed, size_t *len);
/* agg_menc_encode as a stream_encode_fn (stream.h). */
const uint8_t *agg_menc_stream(void *ctx, const void *rec, int prefixed, size_t *len);
/* Templates built / Metrics served from a template: for the tests. */
uint64_t agg_menc_built(const agg_menc *c);
uint64_t agg_menc_hits(const agg_menc *c);
#endif

/* flags.h — aggregate's command line: the flag table (--help) and the
 * engine's config built from it, with the usage checks between flags. */
#ifndef AGG_FLAGS_H
#define AGG_FLAGS_H
#include <stdint.h>
#include "cli.h"
#include "engine.h"
#include "features.h"

/* What main.c needs from the flags: the engine's config, the feature
 * store's, and the few the callbacks read themselves. */
typedef struct agg_flags {
    cli_common common;
    agg_config cfg;                     /* the flag table writes most of it directly */
    agg_fcfg features;                  /* --*-half-life, --max-features */
    int64_t max_future, checkpoint_every, crash_after;     /* µs, µs, records */
    int pass_through;
    int32_t in_part, in_parts;          /* --emit partials: --input-partition I/P */
    /* read by flags.c only: parsed into cfg and in_part above */
    cli_list window, hop, by, quantiles;
    int64_t topk;
    int merge;
    const char *in_part_text;
} agg_flags;

/* Parse argv into f, then cli_start (logging, metrics, signals). A usage
 * error prints "aggregate: reason" and exits 2; --help exits 0. */
void agg_flags_start(int argc, char **argv, agg_flags *f);

#endif

/* flags.h — drift's command line: the flag table (--help) and the
 * engine's config it fills, with the checks the table cannot make. */
#ifndef DRIFT_FLAGS_H
#define DRIFT_FLAGS_H
#include <stdint.h>
#include "cli.h"
#include "engine.h"

/* Everything the flags set: the engine's settings directly (the table
 * points at their members), and what only main.c reads. */
typedef struct drift_flags {
    cli_common common;
    drift_config cfg;
    const char *field;                  /* parsed into cfg.field, cfg.field_q */
    cli_list horizons;                  /* parsed into cfg.horizons */
    char horizon_names[DRIFT_MAX_HORIZONS][24];
    const char *changelog;              /* --changelog URI, or NULL */
    int64_t checkpoint_every, crash_after;
    int pass_through;
} drift_flags;

/* Parse argv, check the config, then cli_start (logging, metrics,
 * signals). A usage error prints "drift: reason" and exits 2; --help
 * exits 0. The flags live until drift_flags_free. */
const drift_flags *drift_flags_start(int argc, char **argv);
void drift_flags_free(void);
#endif

/* flags.h — the alerter's command line (alerter --rules FILE ...): the
 * flag table (--help), the rules files loaded, and --check. The `ack` and
 * `silence` subcommands have their own tables (admin.c). */
#ifndef ALERTER_FLAGS_H
#define ALERTER_FLAGS_H
#include <stdint.h>
#include "cli.h"
#include "rules.h"

typedef struct al_flags {
    cli_common common;
    cli_list rules;                       /* --rules, in order */
    int64_t max_alerts, retries, max_batch;
    int64_t backoff, backoff_max, exec_timeout, webhook_timeout;   /* µs */
    int check;
    const char *changelog;                /* --changelog URI, or NULL */
    int64_t crash_after;
} al_flags;

/* Parse argv and load the rules files into *cfg (a usage error or a bad
 * file: "alerter: reason", exit 2; --help exits 0). With --check, print
 * the summary and exit 0; else cli_start (logging, metrics, signals). The
 * flags live until al_flags_free. */
const al_flags *al_flags_start(int argc, char **argv, al_config *cfg);
void al_flags_free(void);
#endif

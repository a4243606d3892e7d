/* flags.h — the serving command line (`recommender [serve]`): the flag
 * table (--help) and the usage checks between flags. train and eval keep
 * their own tables (train.c, eval.c). */
#ifndef STREAMREC_REC_FLAGS_H
#define STREAMREC_REC_FLAGS_H
#include <stdint.h>
#include "cli.h"
#include "serve.h"

typedef struct rec_flags {
    cli_common common;
    const char *model, *rules, *users, *changelog;
    int64_t top, flush_us, max_batch, max_users, max_history, max_catalog, threads, state_max_age_us, score_cache_mb;
    int check;
    int events_in;      /* read Event records from --in: always, but with --users only if --in was given */
} rec_flags;

/* Parse argv into f, then cli_start (logging, metrics, signals). A usage
 * error prints "recommender: reason" and exits 2; --help exits 0. */
void rec_flags_start(int argc, char **argv, rec_flags *f);
/* The serving engine's settings from the flags. */
serve_conf rec_flags_serve_conf(const rec_flags *f);
#endif

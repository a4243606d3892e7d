/* flags.h — ingest's command line: the flag table (--help) and the parser's
 * config built from it, with the usage checks between flags. */
#ifndef INGEST_FLAGS_H
#define INGEST_FLAGS_H
#include <stdint.h>
#include "cli.h"
#include "ingest.h"

/* What main.c needs from the flags: the parser's config (its emit hook
 * set by main), and the few the loop reads itself. */
typedef struct ingest_flags {
    cli_common common;
    ingest_conf conf;                   /* the flag table writes some of it directly */
    int64_t max_line;                   /* bytes: the reader's bound too */
    int64_t max_partition_skew;         /* µs, Kafka input; 0: off */
    int64_t threads;                    /* resolved: 0 (auto) is the CPU count's choice */
    int64_t crash_after;                /* input lines; 0: never */
    /* read by flags.c only: parsed into conf */
    int64_t max_string, max_attrs, dedup_max, rate_users;
    cli_count_or_duration dedup_window;
    const char *rate_limit;
    double rate_burst;
    cli_list maps;
} ingest_flags;

/* Parse argv into f, build f->conf, then cli_start (logging, metrics,
 * signals). A usage error prints "ingest: reason" and exits 2; --help
 * exits 0. */
void ingest_flags_start(int argc, char **argv, ingest_flags *f);

/* A usage error found later (ingest_init's message): "ingest: msg" and a
 * hint on stderr, exit 2. */
void ingest_usage_error(const char *msg) __attribute__((noreturn));

/* What ingest_flags_start allocated. */
void ingest_flags_free(ingest_flags *f);

#endif

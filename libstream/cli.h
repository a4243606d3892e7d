/* cli.h — command-line flags from one table per stage: parsing, bounds,
 * --help text and the flags every stage shares (schemas/README.md).
 *
 * Errors in flags are usage errors: cli_parse prints "STAGE: --flag: reason"
 * and a hint to stderr and exits 2. --help prints usage (with every flag,
 * default and the stage's example) to stdout and exits 0; --version too. */
#ifndef STREAMREC_CLI_H
#define STREAMREC_CLI_H
#include <stddef.h>
#include <stdint.h>
#include "timefmt.h"

typedef enum {
    CLI_BOOL,      /* int*: set to 1 when present, takes no value */
    CLI_STR,       /* const char **: the argv string */
    CLI_INT,       /* int64_t*: decimal, bounds min..max */
    CLI_DOUBLE,    /* double*: bounds min..max */
    CLI_DURATION,  /* int64_t* microseconds: "250ms", "60s", "5m", "1h", "1d", bare = seconds */
    CLI_SIZE,      /* int64_t* bytes: "512", "64k", "16M", "1G" (binary units) */
    CLI_LIST,      /* cli_list*: every occurrence appended (and comma lists split) */
    CLI_COUNT_OR_DURATION,  /* cli_count_or_duration*: a bare integer is a count
                               (bounds min..max), a number with a unit a duration > 0 */
    CLI_ENUM,      /* int*: the value of one of names[] ("did you mean" for others) */
    CLI_ENUM_SET,  /* unsigned*: bit 1 << value of each name given (comma lists,
                      repeatable); given at all, it replaces the default */
} cli_type;

/* A name an enum flag accepts, and the value it stands for (two names may
 * share one: an alias). Tables end with {0}. */
typedef struct cli_name { const char *name; int value; } cli_name;

/* "100000" -> count 100000; "10m" -> us 600000000: one of the two is set. */
typedef struct cli_count_or_duration { int64_t count, us; } cli_count_or_duration;

typedef struct cli_list { const char **items; int n, cap; } cli_list;

typedef struct cli_opt {
    const char *name;      /* long name without dashes: "window" */
    char short_name;       /* 0 if none */
    cli_type type;
    void *target;
    const char *defval;    /* applied before parsing when non-NULL */
    const char *metavar;   /* "DURATION" in --help */
    const char *help;
    double min, max;       /* numeric bounds when min < max, in the target's
                              unit: µs for CLI_DURATION, bytes for CLI_SIZE */
    /* Named members from here on (the rows above are positional). */
    const cli_name *names; /* CLI_ENUM, CLI_ENUM_SET: what is accepted, listed in --help;
                              CLI_STR: the string must be one of them (the target stays the
                              string: "did you mean" for free, values never renumbered) */
    int required;          /* not given is a usage error ("--rules is required") */
    size_t off;            /* target NULL: the flag lives at offsetof(conf struct, member)
                              in spec->conf, so the table names each setting once */
    /* CLI_STR, CLI_LIST: a value the names cannot list (a pattern, a type
     * list generated elsewhere): called at parse time with the string (each
     * item of a list); nonzero refuses it, why (at most n bytes) saying why:
     * "STAGE: --flag: why", exit 2 */
    int (*check)(const char *val, char *why, size_t n);
} cli_opt;

/* In a positional row, the target and default slots for a member of the
 * stage's config struct (the row goes on positionally with the metavar):
 *   { "warmup", 0, CLI_INT, CLI_FIELD(drift_flags, cfg.warmup, "50"), "N", "help", 2, 1e9 } */
#define CLI_FIELD(type, member, dv) .target = NULL, .off = offsetof(type, member), .defval = (dv)

/* The flags every stage shares. */
typedef struct cli_common {
    const char *in, *out;          /* URIs, default "-" */
    const char *format;            /* "records" (default) or "json"; without
                                      --format, json when stdout is a terminal */
    const char *json_style;        /* "jq" (default) or "flatc": the form of --format json
                                      (fbjson.h, fb_json_style) */
    const char *compress;          /* NULL, "zstd" or "zstd:LEVEL" */
    const char *state;             /* --state PATH.db or NULL */
    const char *dead_letter;       /* --dead-letter URI or NULL */
    const char *log_level;         /* debug, info (default), warn, error */
    const char *metrics_file;      /* --metrics-file PATH or NULL */
    int strict;
    int64_t max_record;            /* --max-record, bytes, default 16M */
    int64_t connect_timeout;       /* --connect-timeout, µs, default 10s: how long
                                      Kafka or Redis may stay unreachable at start */
    int64_t idle_timeout;          /* --idle-timeout, µs: a Kafka partition at its end this
                                      long stops holding the event time back (stream.h) */
    cli_list kafka_conf;           /* -X key=value, in order */
} cli_common;

typedef struct cli_spec {
    const char *stage;      /* "aggregate" */
    const char *summary;    /* one line: what it does */
    const char *usage;      /* "aggregate [FLAGS]" */
    const char *example;    /* shown at the end of --help */
    const cli_opt *opts;    /* the stage's own flags, terminated by {0} */
    void *conf;             /* the struct that rows without a target write into (cli_opt.off) */
    int no_common;          /* 1: the stage does not take the shared flags */
    int kafka_in_groupless; /* 1: --in kafka://… without ?group= is the stage's own
                               business (fbcat peeks, libstream/kafkapeek.h) */
} cli_spec;

/* A stage flag named like a shared one ("format") replaces it: its own
 * default, help and target (point it at the cli_common member to keep the
 * shared meaning with another default).
 *
 * Parse argv[1..]. Fills *common (if not NULL) and the stage's targets.
 * Positional arguments are left in argv order: returns the index of the
 * first one (argc if none); "--" ends flags. */
int cli_parse(int argc, char **argv, const cli_spec *spec, cli_common *common);

/* Was the flag (long name, stage or shared) on the command line of the last
 * cli_parse of this spec? Not the same as "is it at its default": --in -
 * given is given. Aborts for a name the spec does not have (a typo is the
 * stage's bug, not a silent 0). */
int cli_given(const cli_spec *spec, const char *name);

/* Usage error from the stage's own checks: prints and exits 2. */
void cli_usage_error(const cli_spec *spec, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));


/* A mistake found after parsing that a person must fix (an address that
 * resolves nowhere; status 2), or a start that cannot go on (nothing
 * answers at the address; status 1): "STAGE: message" on stderr, one plain
 * line (no JSON, no hint), then exit(status). The stage is the one
 * cli_parse last saw. */
void cli_die(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
/* Durations are timefmt.h's (time_parse_duration); this name stays for the
 * stages' flag files until they call that. */
static inline int cli_parse_duration(const char *s, int64_t *us) { return time_parse_duration(s, us); }

/* Parser, exposed for config files and tests. 0 or -1. */
int cli_parse_size(const char *s, int64_t *bytes);

/* Edit distance (insert, delete, substitute), and the candidate closest to
 * word (or the only one it is a prefix of), NULL if none is close: for
 * "did you mean" in flags and config keys. */
int cli_edit_distance(const char *a, const char *b);
const char *cli_suggest(const char *word, const char *const *cands, int n);
/* Free what cli_parse allocated for lists (the strings and the array). */
void cli_list_free(cli_list *l);
void cli_common_free(cli_common *c);

/* Set up logging, metrics file, signals and systemd notification from the
 * shared flags: what every stage's main does right after cli_parse. */
void cli_start(const cli_spec *spec, const cli_common *common);

#define STREAMREC_VERSION "0.1.0"
#endif

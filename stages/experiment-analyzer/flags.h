/* flags.h — experiment-analyzer's command line: the flag tables of the run
 * and of the `assign` subcommand (--help), the experiments file they name,
 * and the usage checks between flags. */
#ifndef EA_FLAGS_H
#define EA_FLAGS_H
#include <stdint.h>
#include "cli.h"
#include "config.h"

typedef struct ea_flags {
    cli_common common;
    const char *config;                       /* --config FILE */
    const char *experiment;                   /* assign --experiment */
    int report;                               /* --report: EA_REPORT_* (report.h), -1 without */
    const char *report_file;
    int emit_partials, merge, mergeable;      /* --emit partials, --merge, --mergeable */
    cli_count_or_duration report_every, dedup_window;
    int64_t max_users, dedup_max, partition, partitions;
} ea_flags;

/* Parse argv into f, load the experiments into cfg, check the flags against
 * each other and against the experiments, then cli_start (logging, metrics,
 * signals). A usage error prints "experiment-analyzer: reason" and exits 2
 * (cfg freed); --help exits 0. */
void ea_flags_start(int argc, char **argv, ea_flags *f, ea_config *cfg);

/* The same for `experiment-analyzer assign` (argv[0] is "assign"): the
 * experiment to assign for (--experiment, or the only one) in *exp. */
void ea_assign_flags(int argc, char **argv, ea_flags *f, ea_config *cfg, const ea_experiment_cfg **exp);

#endif

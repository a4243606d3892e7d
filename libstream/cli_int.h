/* cli_int.h — the flag parser's insides (cli.c), shared with the files
 * that print --help (clihelp.c) and hold the flags every stage shares
 * (clicommon.c), and with nothing else: stages use cli.h. */
#ifndef STREAMREC_CLI_INT_H
#define STREAMREC_CLI_INT_H
#include <stddef.h>
#include "cli.h"

#define CLI_MAX_COMMON 16

/* One cli_parse: the stage's table, the shared flags it did not replace,
 * and which of them the command line named. */
typedef struct cli_ctx {
    const cli_spec *spec;
    cli_common *common;
    cli_opt copts[CLI_MAX_COMMON];
    int ncopts, nstage;
    unsigned char *seen;      /* nstage + ncopts */
} cli_ctx;

static inline const char *cli_stage(const cli_spec *spec) { return spec && spec->stage ? spec->stage : "streamrec"; }

/* cli.c: a bound in the flag's unit (a duration, a size, a number). */
void cli_fmt_bound(const cli_opt *o, double v, char *buf, size_t n);
/* cli.c: "a, b or c" from an enum's names, for messages. */
void cli_names_text(const cli_name *nm, const char *sep, const char *last, char *buf, size_t n);
/* clihelp.c: --help from the tables, on stdout. */
void cli_help(const cli_ctx *cx);
/* clicommon.c: the shared flags into cx->copts (those the stage's table
 * does not replace), and their values checked (a usage error, exit 2). */
void cli_build_common(cli_ctx *cx);
void cli_validate_common(const cli_spec *spec, const cli_common *c);
#endif

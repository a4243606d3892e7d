/* clihelp.c — --help, printed from the same flag tables cli_parse reads
 * (cli.h): the summary, the usage lines, one entry per flag with its
 * metavar, default and bounds, the shared flags, the examples; wrapped to
 * 80 columns for a terminal or help2man. A file of its own because it is
 * layout, not parsing: nothing here decides what a command line means. */
#include <stdio.h>
#include <string.h>
#include "cli.h"
#include "cli_int.h"

/* --help fits in 80 columns (a terminal, a man page from help2man): text
 * is wrapped at word boundaries to CLI_HELP_WIDTH characters, continuation
 * lines indented to `indent`. Widths count characters, not UTF-8 bytes. */
#define CLI_HELP_WIDTH 79
#define CLI_HELP_COL 32

static int cli_u8_width(const char *s, size_t n)
{
    int w = 0;
    for (size_t i = 0; i < n; i++) w += ((unsigned char)s[i] & 0xC0) != 0x80;
    return w;
}

/* Print text starting at column col (already reached), wrapping words; a
 * newline in text starts a new line at indent. A word longer than the room
 * left is printed whole on its own line: nothing is cut. */
static void cli_wrap(FILE *f, const char *text, int col, int indent)
{
    const char *p = text;
    int fresh = 1;   /* nothing printed on this line after the indent yet */
    while (*p) {
        if (*p == '\n') {
            fprintf(f, "\n%*s", indent, "");
            col = indent; fresh = 1; p++;
            continue;
        }
        if (*p == ' ') { p++; continue; }
        size_t n = strcspn(p, " \n");
        int w = cli_u8_width(p, n);
        if (!fresh && col + 1 + w > CLI_HELP_WIDTH) {
            fprintf(f, "\n%*s", indent, "");
            col = indent; fresh = 1;
        }
        if (fresh && col + w > CLI_HELP_WIDTH) {
            /* a list too long for any line (a default of many names) breaks after a comma */
            size_t cut = 0;
            for (size_t i = 0; i < n && col + cli_u8_width(p, i + 1) <= CLI_HELP_WIDTH; i++)
                if (p[i] == ',') cut = i + 1;
            if (cut) {
                fwrite(p, 1, cut, f);
                fprintf(f, "\n%*s", indent, "");
                col = indent; p += cut;
                continue;
            }
        }
        if (!fresh) { fputc(' ', f); col++; }
        fwrite(p, 1, n, f);
        col += w; fresh = 0; p += n;
    }
}

static void cli_print_opt(FILE *f, const cli_opt *o)
{
    static const char *const metas[] = { [CLI_BOOL] = NULL, [CLI_STR] = "STR", [CLI_INT] = "N",
        [CLI_DOUBLE] = "X", [CLI_DURATION] = "DURATION", [CLI_SIZE] = "SIZE", [CLI_LIST] = "A,B,...",
        [CLI_COUNT_OR_DURATION] = "N|DURATION", [CLI_ENUM] = "NAME", [CLI_ENUM_SET] = "NAME,..." };
    char left[96], names[600] = "", short_names[24];
    const char *mv = o->metavar ? o->metavar : metas[o->type];
    if (o->names) cli_names_text(o->names, "|", "|", names, sizeof names);
    /* a short enum shows its names as the metavar ("json|csv"); a long one,
     * or a set, in the parenthesis after the help */
    if (o->type == CLI_ENUM && !o->metavar && strlen(names) < sizeof short_names) {
        mv = memcpy(short_names, names, strlen(names) + 1);
        names[0] = 0;
    }
    else if (o->metavar) names[0] = 0;
    int n;
    if (o->short_name)
        n = snprintf(left, sizeof left, "  -%c, --%s", o->short_name, o->name);
    else
        n = snprintf(left, sizeof left, "      --%s", o->name);
    if (mv && n > 0 && (size_t)n < sizeof left) snprintf(left + n, sizeof left - (size_t)n, " %s", mv);
    fputs(left, f);
    int w = cli_u8_width(left, strlen(left));
    if (w < CLI_HELP_COL) fprintf(f, "%*s", CLI_HELP_COL - w, "");
    else fprintf(f, "\n%*s", CLI_HELP_COL, "");
    /* the help, then "(required, bounds or names, default: X)", wrapped as one text */
    char text[1536];
    size_t tl = (size_t)snprintf(text, sizeof text, "%s", o->help ? o->help : "");
    int bounded = o->min < o->max;
    char range[600] = "";
    if (names[0]) {
        snprintf(range, sizeof range, "%s", names);
    } else if (bounded) {
        char lo[32], hi[32];
        cli_fmt_bound(o, o->min, lo, sizeof lo);
        cli_fmt_bound(o, o->max, hi, sizeof hi);
        snprintf(range, sizeof range, "%s..%s", lo, hi);
    }
    int has_def = o->defval && o->type != CLI_BOOL;
    if (tl < sizeof text && (o->required || range[0] || has_def))
        snprintf(text + tl, sizeof text - tl, " (%s%s%s%s%s%s)", o->required ? "required" : "",
                 o->required && range[0] ? ", " : "", range,
                 (o->required || range[0]) && has_def ? ", " : "", has_def ? "default: " : "",
                 has_def ? (*o->defval ? o->defval : "''") : "");
    cli_wrap(f, text, CLI_HELP_COL, CLI_HELP_COL);
    fputc('\n', f);
}

/* Usage and example lines: a line too wide breaks at a word, continued
 * with " \" (still pasteable into a shell) and indented below. */
static void cli_print_cmdline(FILE *f, const char *prefix, const char *line, size_t n)
{
    int indent = cli_u8_width(prefix, strlen(prefix));
    int col = indent;
    fputs(prefix, f);
    const char *p = line, *end = line + n;
    int fresh = 1;
    while (p < end) {
        if (*p == ' ') { p++; continue; }
        const char *q = p;
        /* a quoted word ('...' or "...") stays whole: breaking it would change the command */
        while (q < end && *q != ' ') {
            if (*q == '\'' || *q == '"') {
                const char *c = memchr(q + 1, *q, (size_t)(end - q - 1));
                q = c ? c + 1 : end;
            } else {
                q++;
            }
        }
        int w = cli_u8_width(p, (size_t)(q - p));
        if (!fresh && col + 1 + w + 2 > CLI_HELP_WIDTH) {
            fprintf(f, " \\\n%*s", indent + 4, "");
            col = indent + 4; fresh = 1;
        }
        if (!fresh) { fputc(' ', f); col++; }
        fwrite(p, 1, (size_t)(q - p), f);
        col += w; fresh = 0; p = q;
    }
    fputc('\n', f);
}

void cli_help(const cli_ctx *cx)
{
    const cli_spec *sp = cx->spec;
    FILE *f = stdout;
    const char *stage = cli_stage(sp);
    if (sp->summary) {
        fprintf(f, "%s — ", stage);
        cli_wrap(f, sp->summary, cli_u8_width(stage, strlen(stage)) + 3, 2);
        fputs("\n\n", f);
    }
    const char *usage = sp->usage;
    char dflt[128];
    if (!usage) { snprintf(dflt, sizeof dflt, "%s [FLAGS]", stage); usage = dflt; }
    for (const char *p = usage, *pfx = "usage: ";; pfx = "       ") {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        while (n && *p == ' ') { p++; n--; }   /* the table's own alignment: ours replaces it */
        cli_print_cmdline(f, pfx, p, n);
        if (!nl) break;
        p = nl + 1;
    }
    if (cx->nstage) {
        fputs("\nflags:\n", f);
        for (int i = 0; i < cx->nstage; i++) cli_print_opt(f, &sp->opts[i]);
    }
    fputs(cx->ncopts ? "\nshared flags (every stage):\n" : "\n", f);
    for (int i = 0; i < cx->ncopts; i++) cli_print_opt(f, &cx->copts[i]);
    fprintf(f, "  -h, --help                    show this help and exit\n");
    fprintf(f, "      --version                 show the version and exit\n");
    if (cx->ncopts)
        fputs("\nexit status: 0 done, 1 runtime failure, 2 usage or configuration error,\n"
              "  141 the reader of stdout went away (as for a process killed by SIGPIPE)\n", f);
    if (sp->example) {
        fputs("\nexample:\n", f);
        const char *p = sp->example;
        while (*p) {
            const char *nl = strchr(p, '\n');
            size_t n = nl ? (size_t)(nl - p) : strlen(p);
            /* lines the stage indented itself (continuations) keep their indent */
            size_t lead = 0;
            while (lead < n && p[lead] == ' ') lead++;
            char pfx[40];
            snprintf(pfx, sizeof pfx, "  %*s", (int)(lead < 30 ? lead : 30), "");
            cli_print_cmdline(f, pfx, p + lead, n - lead);
            if (!nl) break;
            p = nl + 1;
        }
    }
    fflush(f);
}

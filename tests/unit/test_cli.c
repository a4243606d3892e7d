/* test_cli.c — flag parsing, values, bounds, --help/--version and usage
 * errors (run in a forked child: exit status and captured stdout/stderr). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "testhelp.h"
#include "timefmt.h"

static int64_t o_window, o_batch, o_buf;
static double o_threshold;
static int o_verbose;
static cli_list o_tags;
static const char *o_name;
static cli_common common;

static const cli_opt opts[] = {
    { "window", 'w', CLI_DURATION, &o_window, "60s", "DURATION", "window length", 1e6, 86400e6 },
    { "batch", 0, CLI_INT, &o_batch, "100", "N", "records per batch", 1, 1000 },
    { "threshold", 0, CLI_DOUBLE, &o_threshold, "2.5", "Z", "z-score threshold", 0, 0 },
    { "verbose", 'v', CLI_BOOL, &o_verbose, NULL, NULL, "say more", 0, 0 },
    { "tags", 't', CLI_LIST, &o_tags, NULL, "TAG,...", "tags to keep", 0, 0 },
    { "name", 'n', CLI_STR, &o_name, "anon", "NAME", "a name", 0, 0 },
    { "buffer", 0, CLI_SIZE, &o_buf, "64k", "SIZE", "buffer size", 1024, 1024.0 * 1024 * 1024 },
    { 0 },
};
static const cli_spec spec = {
    .stage = "tstage", .summary = "a stage for tests", .usage = "tstage [FLAGS]",
    .example = "tstage --window 5m < in.rec\n  | fbcat", .opts = opts,
};
static const cli_spec spec_pos = {
    .stage = "tstage", .summary = "takes files", .usage = "tstage [FLAGS] FILE...", .opts = opts,
};

static void reset(void)
{
    cli_list_free(&o_tags);
    cli_common_free(&common);
    o_window = o_batch = o_buf = 0; o_threshold = 0; o_verbose = 0; o_name = NULL;
}

static int argc_of(char **v) { int n = 0; while (v[n]) n++; return n; }

/* Run cli_parse in a child; collects exit status, stdout and stderr. */
typedef struct run { int status; char out[16384]; char err[4096]; } run;

static void slurp(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    ssize_t r;
    while (n + 1 < cap && (r = read(fd, buf + n, cap - 1 - n)) > 0) n += (size_t)r;
    buf[n] = 0;
}

static void run_child(const cli_spec *sp, char **argv, run *r, const char *metrics_path)
{
    char tout[] = "/tmp/test_cli_out.XXXXXX", terr[] = "/tmp/test_cli_err.XXXXXX";
    int fo = mkstemp(tout), fe = mkstemp(terr);
    fflush(stdout); fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fo, 1); dup2(fe, 2);
        cli_common c;
        cli_parse(argc_of(argv), argv, sp, &c);
        if (metrics_path) cli_start(sp, &c);
        printf("parsed\n");
        exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    lseek(fo, 0, SEEK_SET); lseek(fe, 0, SEEK_SET);
    slurp(fo, r->out, sizeof r->out);
    slurp(fe, r->err, sizeof r->err);
    close(fo); close(fe); unlink(tout); unlink(terr);
}

static void test_durations_sizes(void)
{
    int64_t v;
    CHECK(time_parse_duration("250ms", &v) == 0 && v == 250000);
    CHECK(time_parse_duration("60s", &v) == 0 && v == 60000000);
    CHECK(time_parse_duration("5m", &v) == 0 && v == 300000000);
    CHECK(time_parse_duration("1h", &v) == 0 && v == 3600000000LL);
    CHECK(time_parse_duration("1d", &v) == 0 && v == 86400000000LL);
    CHECK(time_parse_duration("90", &v) == 0 && v == 90000000);
    CHECK(time_parse_duration("1.5s", &v) == 0 && v == 1500000);
    CHECK(time_parse_duration("1h30m", &v) == 0 && v == 5400000000LL);
    CHECK(time_parse_duration("100us", &v) == 0 && v == 100);
    static const char *bad_d[] = { "", "abc", "5x", "-1s", "1h30", "s", "1e400s", "5 m" };
    for (size_t i = 0; i < sizeof bad_d / sizeof *bad_d; i++)
        CHECK_MSG(time_parse_duration(bad_d[i], &v) == -1, "duration '%s' accepted", bad_d[i]);

    CHECK(cli_parse_size("512", &v) == 0 && v == 512);
    CHECK(cli_parse_size("64k", &v) == 0 && v == 65536);
    CHECK(cli_parse_size("16M", &v) == 0 && v == 16777216);
    CHECK(cli_parse_size("1G", &v) == 0 && v == 1073741824);
    CHECK(cli_parse_size("1.5k", &v) == 0 && v == 1536);
    CHECK(cli_parse_size("64KiB", &v) == 0 && v == 65536);
    static const char *bad_s[] = { "", "1.3", "12q", "-5", "k", "16MM" };
    for (size_t i = 0; i < sizeof bad_s / sizeof *bad_s; i++)
        CHECK_MSG(cli_parse_size(bad_s[i], &v) == -1, "size '%s' accepted", bad_s[i]);
}

static void test_parse_values(void)
{
    reset();
    char *argv[] = { "tstage", "--window", "5m", "--batch=7", "-v", "-t", "a,b", "--tags", "c",
                     "--in", "/dev/null", "-X", "bootstrap.servers=a:1,b:2", "-Xacks=all",
                     "--threshold", "-2.5", "--strict", "--buffer", "1M", NULL };
    int first = cli_parse(argc_of(argv), argv, &spec, &common);
    CHECK_EQ_INT(first, argc_of(argv));
    CHECK_EQ_INT(o_window, 300000000);
    CHECK_EQ_INT(o_batch, 7);
    CHECK_EQ_INT(o_verbose, 1);
    CHECK_NEAR(o_threshold, -2.5, 0);
    CHECK_EQ_INT(o_buf, 1048576);
    CHECK_EQ_STR(o_name, "anon");
    CHECK_EQ_INT(o_tags.n, 3);
    if (o_tags.n == 3) {
        CHECK_EQ_STR(o_tags.items[0], "a");
        CHECK_EQ_STR(o_tags.items[1], "b");
        CHECK_EQ_STR(o_tags.items[2], "c");
    }
    CHECK_EQ_STR(common.in, "/dev/null");
    CHECK_EQ_STR(common.out, "-");
    CHECK_EQ_STR(common.format, "records");
    CHECK_EQ_STR(common.log_level, "info");
    CHECK(common.compress == NULL && common.state == NULL && common.metrics_file == NULL);
    CHECK_EQ_INT(common.strict, 1);
    CHECK_EQ_INT(common.max_record, 16 << 20);
    CHECK_EQ_INT(common.kafka_conf.n, 2);
    if (common.kafka_conf.n == 2) {
        CHECK_EQ_STR(common.kafka_conf.items[0], "bootstrap.servers=a:1,b:2");
        CHECK_EQ_STR(common.kafka_conf.items[1], "acks=all");
    }

    /* defaults only */
    reset();
    char *argv2[] = { "tstage", NULL };
    CHECK_EQ_INT(cli_parse(1, argv2, &spec, &common), 1);
    CHECK_EQ_INT(o_window, 60000000);
    CHECK_EQ_INT(o_batch, 100);
    CHECK_NEAR(o_threshold, 2.5, 0);
    CHECK_EQ_INT(o_buf, 65536);
    CHECK_EQ_INT(o_verbose, 0);
    CHECK_EQ_INT(o_tags.n, 0);
    reset();
}

static void test_positional(void)
{
    reset();
    char *argv[] = { "tstage", "f1", "--batch", "3", "f2", "-", "-v", "--", "--notaflag", NULL };
    int argc = argc_of(argv);
    int first = cli_parse(argc, argv, &spec_pos, &common);
    CHECK_EQ_INT(o_batch, 3);
    CHECK_EQ_INT(o_verbose, 1);
    CHECK_EQ_INT(argc - first, 4);
    if (argc - first == 4) {
        CHECK_EQ_STR(argv[first], "f1");
        CHECK_EQ_STR(argv[first + 1], "f2");
        CHECK_EQ_STR(argv[first + 2], "-");
        CHECK_EQ_STR(argv[first + 3], "--notaflag");
    }
    reset();
}

static void expect_usage_error(char **argv, const char *msg)
{
    run r;
    run_child(&spec, argv, &r, NULL);
    CHECK_EQ_INT(r.status, 2);
    CHECK_MSG(strstr(r.err, msg) != NULL, "stderr '%s' lacks '%s'", r.err, msg);
    CHECK_MSG(strstr(r.err, "try 'tstage --help'") != NULL, "no hint in '%s'", r.err);
    CHECK_EQ_STR(r.out, "");
}

/* A row's own validator (cli_opt.check): even digits only. */
static int even_check(const char *v, char *why, size_t n)
{
    if (v[0] >= '0' && v[0] <= '9' && !v[1] && (v[0] - '0') % 2 == 0) return 0;
    snprintf(why, n, "'%s' is not an even digit", v);
    return -1;
}
static const char *o_mode, *o_digit;
static cli_list o_digits;
static const cli_name speed_names[] = { { "fast", 0 }, { "slow", 1 }, { 0 } };
static const cli_opt checked_opts[] = {
    { "mode", 0, CLI_STR, &o_mode, "slow", "fast|slow", "a string from a list", 0, 0, .names = speed_names },
    { "digit", 0, CLI_STR, &o_digit, NULL, "D", "an even digit", 0, 0, .check = even_check },
    { "digits", 0, CLI_LIST, &o_digits, NULL, "D,...", "even digits", 0, 0, .check = even_check },
    { 0 },
};
static const cli_spec spec_checked = { .stage = "tstage", .summary = "checked strings", .usage = "tstage [FLAGS]",
                                       .opts = checked_opts };

/* CLI_STR with names (the target stays the string) and rows with a check:
 * refused at parse time as usage errors naming the flag; the shared
 * --format and --json-style are such rows. */
static void test_checked_strings(void)
{
    struct { char *argv[8]; const char *msg; } bad[] = {
        { { "tstage", "--mode", "fsat", NULL }, "tstage: --mode: 'fsat' is not fast or slow (did you mean fast?)" },
        { { "tstage", "--mode", "", NULL }, "tstage: --mode: '' is not fast or slow" },
        { { "tstage", "--digit", "3", NULL }, "tstage: --digit: '3' is not an even digit" },
        { { "tstage", "--digits", "2,4,7", NULL }, "tstage: --digits: '7' is not an even digit" },
        { { "tstage", "--digits", "2", "--digits", "x", NULL }, "tstage: --digits: 'x' is not an even digit" },
        { { "tstage", "--format", "jsn", NULL }, "tstage: --format: 'jsn' is not records or json (did you mean json?)" },
        { { "tstage", "--json-style", "flatcc", NULL }, "tstage: --json-style: 'flatcc' is not jq or flatc (did you mean flatc?)" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        run r;
        run_child(&spec_checked, bad[i].argv, &r, NULL);
        CHECK_EQ_INT(r.status, 2);
        CHECK_MSG(strstr(r.err, bad[i].msg) != NULL, "stderr '%s' lacks '%s'", r.err, bad[i].msg);
        CHECK_EQ_STR(r.out, "");
    }
    char *ok[] = { "tstage", "--mode", "fast", "--digit", "8", "--digits", "0,2", "--digits", "4", "--format", "json", NULL };
    cli_common c;
    CHECK_EQ_INT(cli_parse(argc_of(ok), ok, &spec_checked, &c), argc_of(ok));
    CHECK_EQ_STR(o_mode, "fast");
    CHECK_EQ_STR(o_digit, "8");
    CHECK_EQ_INT(o_digits.n, 3);
    if (o_digits.n == 3) CHECK_EQ_STR(o_digits.items[2], "4");
    CHECK_EQ_STR(c.format, "json");
    cli_list_free(&o_digits);
    cli_common_free(&c);
}

static void test_usage_errors(void)
{
    char *a1[] = { "tstage", "--windw", "5m", NULL };
    expect_usage_error(a1, "tstage: --windw: unknown flag; did you mean --window?");
    char *a2[] = { "tstage", "--batch", "0", NULL };
    expect_usage_error(a2, "tstage: --batch: 0 is out of range 1..1000");
    char *a3[] = { "tstage", "--batch", "5", "--batch=6", NULL };
    expect_usage_error(a3, "tstage: --batch: given twice");
    char *a4[] = { "tstage", "--window", NULL };
    expect_usage_error(a4, "tstage: --window: needs a value (DURATION)");
    char *a5[] = { "tstage", "--window", "2d", NULL };
    expect_usage_error(a5, "tstage: --window: 2d is out of range 1s..1d");
    char *a6[] = { "tstage", "--window", "soon", NULL };
    expect_usage_error(a6, "tstage: --window: 'soon' is not a duration");
    char *a7[] = { "tstage", "--format", "xml", NULL };
    expect_usage_error(a7, "tstage: --format: 'xml' is not records or json");
    char *a8[] = { "tstage", "--compress", "lz4", NULL };
    expect_usage_error(a8, "tstage: --compress: 'lz4' is not zstd or zstd:LEVEL");
    char *a9[] = { "tstage", "--compress", "zstd:99", NULL };
    expect_usage_error(a9, "tstage: --compress: level '99' is not in 1..22");
    char *a10[] = { "tstage", "--log-level", "loud", NULL };
    expect_usage_error(a10, "tstage: --log-level: 'loud' is not debug, info, warn or error");
    char *a11[] = { "tstage", "stray", NULL };
    expect_usage_error(a11, "tstage: unexpected argument 'stray'");
    char *a12[] = { "tstage", "--strict=1", NULL };
    expect_usage_error(a12, "tstage: --strict: takes no value");
    char *a13[] = { "tstage", "-X", "nokey", NULL };
    expect_usage_error(a13, "tstage: -X: 'nokey' is not KEY=VALUE");
    /* URIs and -X are checked before anything opens: usage errors too */
    char *u1[] = { "tstage", "-X", "no.such.property=1", NULL };
    expect_usage_error(u1, "tstage: -X no.such.property=1: No such configuration property");
    char *u2[] = { "tstage", "-X", "compression.type=lz5", NULL };
    expect_usage_error(u2, "tstage: -X compression.type=lz5: Invalid value");
    char *u3[] = { "tstage", "--in", "kafka://127.0.0.1:9/t", NULL };
    expect_usage_error(u3, "tstage: --in: kafka://127.0.0.1:9/t: Kafka input needs a consumer group");
    char *u4[] = { "tstage", "--in", "kafka://127.0.0.1:9/t?group=g&grp=x", NULL };
    expect_usage_error(u4, "tstage: --in: kafka://127.0.0.1:9/t?group=g&grp=x: unknown query key 'grp'");
    char *u5[] = { "tstage", "--out", "http://example/x", NULL };
    expect_usage_error(u5, "tstage: --out: unsupported URI scheme");
    char *u6[] = { "tstage", "--dead-letter", "kafka:///t", NULL };
    expect_usage_error(u6, "tstage: --dead-letter: kafka:///t: expected kafka://host:port");
    char *a14[] = { "tstage", "-q", NULL };
    expect_usage_error(a14, "tstage: -q: unknown flag");
    char *a15[] = { "tstage", "--batch", "12abc", NULL };
    expect_usage_error(a15, "tstage: --batch: '12abc' is not an integer");
    char *a16[] = { "tstage", "--metric-file", "x", NULL };
    expect_usage_error(a16, "did you mean --metrics-file?");
    char *a17[] = { "tstage", "--buffer", "12", NULL };
    expect_usage_error(a17, "tstage: --buffer: 12 is out of range 1K..1G");
    char *a18[] = { "tstage", "--completely-different", NULL };
    run r;
    run_child(&spec, a18, &r, NULL);
    CHECK_EQ_INT(r.status, 2);
    CHECK(strstr(r.err, "unknown flag") && !strstr(r.err, "did you mean"));
}

/* Which usage lines announce positionals (anything else refuses a stray word). */
static void test_positional_from_usage(void)
{
    static const struct { const char *usage; int takes; } cases[] = {
        { "tstage [FLAGS]", 0 },
        { "tstage --config FILE [FLAGS]", 0 },
        { "tstage --config FILE [--experiment NAME] [FLAGS] < user_ids > out", 0 },
        { "tstage [OPTIONS] --x=Y", 0 },
        { "tstage [FLAGS] FILE...", 1 },
        { "tstage --config FILE [FLAGS]\n       tstage assign --config FILE < ids", 1 },
        { "tstage train|eval [FLAGS]", 1 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cli_spec sp = { .stage = "tstage", .usage = cases[i].usage, .opts = opts };
        char *argv[] = { "tstage", "word", NULL };
        run r;
        run_child(&sp, argv, &r, NULL);
        CHECK_MSG(r.status == (cases[i].takes ? 0 : 2), "usage '%s': exit %d", cases[i].usage, r.status);
    }
}

static void test_help_version(void)
{
    run r;
    char *a1[] = { "tstage", "--bogus", "--help", NULL };
    run_child(&spec, a1, &r, NULL);
    CHECK_EQ_INT(r.status, 0);
    CHECK_EQ_STR(r.err, "");
    static const char *want[] = {
        "tstage — a stage for tests", "usage: tstage [FLAGS]",
        "  -w, --window DURATION", "window length (1s..1d, default: 60s)",
        "--batch N", "records per batch (1..1000, default: 100)", "  -v, --verbose", "say more",
        "--in URI", "(default: -)", "--metrics-file PATH", "--max-record SIZE",
        "-X, --kafka-conf KEY=VALUE", "--format records|json", "--dead-letter URI", "--strict",
        "--help", "--version", "example:\n  tstage --window 5m < in.rec\n    | fbcat\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        CHECK_MSG(strstr(r.out, want[i]) != NULL, "help lacks '%s'", want[i]);
    /* every flag of the table is in the help */
    for (const cli_opt *o = opts; o->name; o++) {
        char w[64];
        snprintf(w, sizeof w, "--%s", o->name);
        CHECK_MSG(strstr(r.out, w) != NULL, "help lacks %s", w);
    }
    char *a2[] = { "tstage", "--version", NULL };
    run_child(&spec, a2, &r, NULL);
    CHECK_EQ_INT(r.status, 0);
    CHECK_EQ_STR(r.out, "tstage (streamrec) " STREAMREC_VERSION "\n");
    char *a3[] = { "tstage", "-h", NULL };
    run_child(&spec, a3, &r, NULL);
    CHECK_EQ_INT(r.status, 0);
    CHECK(strstr(r.out, "usage: tstage") != NULL);
}

/* cli_start: logging, metrics written at exit with the shared series. */
static void test_start(void)
{
    char dir[] = "/tmp/test_cli_dir.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[128], arg[160];
    snprintf(path, sizeof path, "%s/m.prom", dir);
    snprintf(arg, sizeof arg, "--metrics-file=%s", path);
    char *argv[] = { "tstage", arg, "--log-level", "debug", NULL };
    run r;
    run_child(&spec, argv, &r, path);
    CHECK_EQ_INT(r.status, 0);
    CHECK_EQ_STR(r.out, "parsed\n");
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    if (f) {
        char buf[8192];
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = 0;
        fclose(f);
        CHECK(strstr(buf, "streamrec_records_in_total{stage=\"tstage\"} 0\n") != NULL);
        CHECK(strstr(buf, "# TYPE streamrec_records_out_total counter\n") != NULL);
    }
    unlink(path);
    rmdir(dir);
}

/* A stage flag named like a shared one replaces it (fbcat: JSON by default). */
static cli_common sh_common;
static const cli_opt sh_opts[] = {
    { "format", 0, CLI_STR, &sh_common.format, "json", "json|records", "output format", 0, 0 },
    { 0 },
};
static const cli_spec sh_spec = { .stage = "tstage", .usage = "tstage [FLAGS]", .opts = sh_opts };

static void test_shadow(void)
{
    char *argv[] = { "tstage", NULL };
    cli_parse(1, argv, &sh_spec, &sh_common);
    CHECK_EQ_STR(sh_common.format, "json");
    CHECK_EQ_STR(sh_common.in, "-");
    char *argv2[] = { "tstage", "--format", "records", NULL };
    cli_parse(3, argv2, &sh_spec, &sh_common);
    CHECK_EQ_STR(sh_common.format, "records");
    run r;
    char *argv3[] = { "tstage", "--help", NULL };
    run_child(&sh_spec, argv3, &r, NULL);
    CHECK_EQ_INT(r.status, 0);
    const char *first = strstr(r.out, "--format");
    CHECK(first && !strstr(first + 1, "--format"));
    CHECK(strstr(r.out, "output format (default: json)") != NULL);
    cli_common_free(&sh_common);
}

/* Manners towards a person: --help within 80 columns whatever the table
 * says, a count given a duration says so, a missing --in file is plain. */
static int64_t o_count;
static const cli_opt long_opts[] = {
    { "dedup-window", 0, CLI_INT, &o_count, "100", "N",
      "event ids remembered for dropping duplicates, a help text much longer than one line of a "
      "terminal could ever hold, with a very-long-word-that-cannot-be-broken-at-all-anywhere", 0, 1e9 },
    { "list", 0, CLI_LIST, &o_tags, "alpha.one,beta.two:count,gamma.three@20,delta.four@20,epsilon.five,zeta",
      "NAME,...", "names", 0, 0 },
    { 0 },
};
static const cli_spec long_spec = {
    .stage = "tstage",
    .summary = "a summary that goes on and on, longer than a terminal line, so that it must wrap somewhere",
    .usage = "tstage --config FILE [FLAGS]\n"
             "       tstage silence --state DB [--rule NAME] [--label K=V]... --starts TIME --ends TIME",
    .example = "gen | ingest | aggregate --window 60s --format json | jq 'select(.name==\"request.duration_ms\")' | head",
    .opts = long_opts,
};

static void test_manners(void)
{
    run r;
    char *a1[] = { "tstage", "--help", NULL };
    run_child(&long_spec, a1, &r, NULL);
    CHECK_EQ_INT(r.status, 0);
    /* no line wider than 80 characters (the em dash is one), except a word that cannot be cut */
    for (const char *p = r.out; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        int w = 0;
        for (size_t i = 0; i < n; i++) w += ((unsigned char)p[i] & 0xC0) != 0x80;
        CHECK_MSG(w <= 80 || memmem(p, n, "very-long-word", 14), "help line of %d columns: %.*s", w, (int)n, p);
        if (!nl) break;
        p = nl + 1;
    }
    /* nothing lost by wrapping: words, the quoted jq program whole, commands continued with a backslash */
    static const char *want[] = { "could ever hold", "(0..1000000000, default: 100)", "gamma.three@20,",
                                  "'select(.name==\"request.duration_ms\")'", " \\\n", "--ends TIME",
                                  "must wrap somewhere" };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        CHECK_MSG(strstr(r.out, want[i]) != NULL, "help lacks '%s':\n%s", want[i], r.out);

    char *a2[] = { "tstage", "--dedup-window", "10m", NULL };
    run_child(&long_spec, a2, &r, NULL);
    CHECK_EQ_INT(r.status, 2);
    CHECK_MSG(strstr(r.err, "tstage: --dedup-window: '10m' is a duration, but --dedup-window is a count") != NULL,
              "stderr: %s", r.err);

    char *a3[] = { "tstage", "--in", "/nonexistent/x.rec", NULL };
    run_child(&spec, a3, &r, NULL);
    CHECK_EQ_INT(r.status, 2);
    CHECK_EQ_STR(r.err, "tstage: /nonexistent/x.rec: No such file or directory\n");
    char *a4[] = { "tstage", "--in", "/", NULL };
    run_child(&spec, a4, &r, NULL);
    CHECK_EQ_INT(r.status, 2);
    CHECK_EQ_STR(r.err, "tstage: /: Is a directory\n");

    char buf[32];
    time_format_duration(5400000000LL, buf, sizeof buf);
    CHECK_EQ_STR(buf, "90m");
    time_format_duration(10000000LL, buf, sizeof buf);
    CHECK_EQ_STR(buf, "10s");
    cli_list_free(&o_tags);
}

/* N|DURATION: a bare integer is a count (bounded), with a unit a duration. */
static cli_count_or_duration o_cod;
static const cli_opt cod_opts[] = {
    { "window", 0, CLI_COUNT_OR_DURATION, &o_cod, "100", NULL, "ids or time", 0, 1000 },
    { 0 },
};
static const cli_spec cod_spec = { .stage = "tstage", .usage = "tstage [FLAGS]", .opts = cod_opts };

static void test_count_or_duration(void)
{
    char *a1[] = { "tstage", NULL };
    cli_parse(1, a1, &cod_spec, NULL);
    CHECK(o_cod.count == 100 && o_cod.us == 0);
    char *a2[] = { "tstage", "--window", "10m", NULL };
    cli_parse(3, a2, &cod_spec, NULL);
    CHECK(o_cod.count == 0 && o_cod.us == 600000000LL);
    char *a3[] = { "tstage", "--window=0", NULL };
    cli_parse(2, a3, &cod_spec, NULL);
    CHECK(o_cod.count == 0 && o_cod.us == 0);
    run r;
    char *a4[] = { "tstage", "--window", "2000", NULL };
    run_child(&cod_spec, a4, &r, NULL);
    CHECK_EQ_INT(r.status, 2);
    CHECK(strstr(r.err, "tstage: --window: 2000 is out of range 0..1000") != NULL);
    char *a5[] = { "tstage", "--window", "soon", NULL };
    run_child(&cod_spec, a5, &r, NULL);
    CHECK_EQ_INT(r.status, 2);
    CHECK(strstr(r.err, "'soon' is neither a count nor a duration") != NULL);
    char *a6[] = { "tstage", "--help", NULL };
    run_child(&cod_spec, a6, &r, NULL);
    CHECK(strstr(r.out, "--window N|DURATION") != NULL);
}

static void test_suggest(void)
{
    CHECK_EQ_INT(cli_edit_distance("window", "windw"), 1);
    CHECK_EQ_INT(cli_edit_distance("", "abc"), 3);
    CHECK_EQ_INT(cli_edit_distance("kitten", "sitting"), 3);
    const char *c[] = { "window", "hop", "allowed-lateness" };
    CHECK_EQ_STR(cli_suggest("windo", c, 3), "window");
    CHECK_EQ_STR(cli_suggest("allowed", c, 3), "allowed-lateness");
    CHECK(cli_suggest("zzzzzz", c, 3) == NULL);
}

/* ---- the table's newer parts: enums, required flags, the given bit, conf offsets ---- */

typedef struct tconf {
    int mode;
    unsigned kinds;
    int64_t limit;
    const char *rules;
    double ratio;
} tconf;
static tconf tc;
enum { K_ALPHA, K_BETA, K_GAMMA };
static const cli_name mode_names[] = { { "fast", 1 }, { "careful", 2 }, { "off", 0 }, { 0 } };
static const cli_name kind_names[] = { { "alpha", K_ALPHA }, { "a", K_ALPHA }, { "beta", K_BETA },
                                       { "gamma", K_GAMMA }, { 0 } };
static const cli_opt conf_opts[] = {
    { "mode", 'm', CLI_ENUM, CLI_FIELD(tconf, mode, "careful"), NULL, "how to go", .names = mode_names },
    { "kinds", 'k', CLI_ENUM_SET, CLI_FIELD(tconf, kinds, "alpha,gamma"), NULL, "kinds to keep", .names = kind_names },
    { "limit", 0, CLI_INT, CLI_FIELD(tconf, limit, "10"), "N", "most to keep", 1, 100 },
    { "rules", 'r', CLI_STR, CLI_FIELD(tconf, rules, NULL), "FILE", "the rules", .required = 1 },
    { "ratio", 0, CLI_DOUBLE, CLI_FIELD(tconf, ratio, "0.5"), "R", "a ratio", 0, 1 },
    { 0 },
};
static const cli_spec conf_spec = { .stage = "tstage", .usage = "tstage [FLAGS]", .opts = conf_opts, .conf = &tc };

static void test_conf_enum_required_given(void)
{
    /* defaults land in the conf struct, at each member's offset */
    memset(&tc, 0, sizeof tc);
    char *a1[] = { "tstage", "--rules", "r.yaml", NULL };
    cli_parse(argc_of(a1), a1, &conf_spec, &common);
    CHECK_EQ_INT(tc.mode, 2);
    CHECK_EQ_INT(tc.kinds, (1u << K_ALPHA) | (1u << K_GAMMA));
    CHECK_EQ_INT(tc.limit, 10);
    CHECK_EQ_STR(tc.rules, "r.yaml");
    CHECK_NEAR(tc.ratio, 0.5, 0);
    CHECK_EQ_INT(cli_given(&conf_spec, "rules"), 1);
    CHECK_EQ_INT(cli_given(&conf_spec, "mode"), 0);
    CHECK_EQ_INT(cli_given(&conf_spec, "in"), 0);
    cli_common_free(&common);

    /* given values: an enum by name, a set replacing its default, aliases,
     * repeats collecting; the given bit for stage and shared flags alike,
     * also when the value equals the default */
    memset(&tc, 0, sizeof tc);
    char *a2[] = { "tstage", "-m", "off", "--kinds", "beta", "-k", "a,beta", "--limit=10", "--rules=x",
                   "--in", "-", "--ratio", "0.25", NULL };
    cli_parse(argc_of(a2), a2, &conf_spec, &common);
    CHECK_EQ_INT(tc.mode, 0);
    CHECK_EQ_INT(tc.kinds, (1u << K_ALPHA) | (1u << K_BETA));
    CHECK_EQ_INT(tc.limit, 10);
    CHECK_NEAR(tc.ratio, 0.25, 0);
    CHECK_EQ_INT(cli_given(&conf_spec, "mode"), 1);
    CHECK_EQ_INT(cli_given(&conf_spec, "kinds"), 1);
    CHECK_EQ_INT(cli_given(&conf_spec, "limit"), 1);
    CHECK_EQ_INT(cli_given(&conf_spec, "in"), 1);
    CHECK_EQ_INT(cli_given(&conf_spec, "out"), 0);
    cli_common_free(&common);

    run r;
    /* a wrong enum name: the names and the closest one */
    char *a3[] = { "tstage", "--rules", "x", "--mode", "carefull", NULL };
    run_child(&conf_spec, a3, &r, NULL);
    CHECK_EQ_INT(r.status, 2);
    CHECK_MSG(strstr(r.err, "--mode: 'carefull' is not fast, careful or off (did you mean careful?)") != NULL,
              "stderr: %s", r.err);
    char *a4[] = { "tstage", "--rules", "x", "-k", "alpha,gama", NULL };
    run_child(&conf_spec, a4, &r, NULL);
    CHECK_EQ_INT(r.status, 2);
    CHECK_MSG(strstr(r.err, "-k: 'gama' is not alpha, a, beta or gamma (did you mean gamma?)") != NULL,
              "stderr: %s", r.err);
    char *a5[] = { "tstage", "--rules", "x", "--mode", "zzzzzzzz", NULL };
    run_child(&conf_spec, a5, &r, NULL);
    CHECK_EQ_INT(r.status, 2);
    CHECK_MSG(strstr(r.err, "'zzzzzzzz' is not fast, careful or off\n") != NULL, "stderr: %s", r.err);
    char *a5b[] = { "tstage", "--rules", "x", "--kinds", ",", NULL };
    run_child(&conf_spec, a5b, &r, NULL);
    CHECK_EQ_INT(r.status, 2);
    CHECK_MSG(strstr(r.err, "--kinds: give one or more of alpha, a, beta or gamma") != NULL, "stderr: %s", r.err);
    /* an enum given twice is an error like any single-valued flag */
    char *a6[] = { "tstage", "--rules", "x", "--mode", "off", "-m", "fast", NULL };
    run_child(&conf_spec, a6, &r, NULL);
    CHECK_EQ_INT(r.status, 2);
    CHECK(strstr(r.err, "-m: given twice") != NULL);

    /* a required flag missing */
    char *a7[] = { "tstage", "--mode", "fast", NULL };
    run_child(&conf_spec, a7, &r, NULL);
    CHECK_EQ_INT(r.status, 2);
    CHECK_MSG(strstr(r.err, "tstage: --rules is required\ntry 'tstage --help'") != NULL, "stderr: %s", r.err);
    CHECK_EQ_STR(r.out, "");
    /* ... but --help still works without it, and shows the names and "required" */
    char *a8[] = { "tstage", "--help", NULL };
    run_child(&conf_spec, a8, &r, NULL);
    CHECK_EQ_INT(r.status, 0);
    CHECK_MSG(strstr(r.out, "-m, --mode fast|careful|off   how to go (default: careful)") != NULL, "%s", r.out);
    CHECK_MSG(strstr(r.out, "-k, --kinds NAME,...") != NULL, "%s", r.out);
    CHECK_MSG(strstr(r.out, "(alpha|a|beta|gamma, default:\n") != NULL, "%s", r.out);
    CHECK_MSG(strstr(r.out, "the rules (required)") != NULL, "%s", r.out);
    CHECK_MSG(strstr(r.out, "most to keep (1..100, default: 10)") != NULL, "%s", r.out);
}

/* cli_given of a flag the spec lacks is the stage's bug: it aborts rather
 * than answering 0 for a typo forever. */
static void test_given_unknown_aborts(void)
{
    fflush(stdout); fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 2);
        char *a[] = { "tstage", "--rules", "x", NULL };
        cli_parse(argc_of(a), a, &conf_spec, &common);
        cli_given(&conf_spec, "rulez");
        exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
}

TEST_MAIN(test_durations_sizes, test_parse_values, test_positional, test_positional_from_usage, test_usage_errors, test_checked_strings,
          test_help_version, test_start, test_shadow, test_manners,
          test_count_or_duration, test_suggest, test_conf_enum_required_given, test_given_unknown_aborts)

/* test_metrics.c — the Prometheus text file: written atomically, parsed back
 * line by line (HELP/TYPE once per name, stage label, escaped label values),
 * values as set, shared series present at zero. */
#define _GNU_SOURCE
#include <dirent.h>
#include <unistd.h>

#include "metrics.h"
#include "testhelp.h"

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

/* Value of the sample line that starts with `series` followed by a space;
 * NAN if absent. A minimal exposition parser: the line is "SERIES VALUE". */
static double sample(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        if (!strncmp(p, series, n) && p[n] == ' ') return strtod(p + n + 1, NULL);
        p = nl ? nl + 1 : NULL;
    }
    return NAN;
}

static int count_lines_with(const char *text, const char *prefix)
{
    int c = 0;
    size_t n = strlen(prefix);
    for (const char *p = text; p && *p;) {
        if (!strncmp(p, prefix, n)) c++;
        const char *nl = strchr(p, '\n');
        p = nl ? nl + 1 : NULL;
    }
    return c;
}

static void test_file(void)
{
    char dir[] = "/tmp/test_metrics.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[128];
    snprintf(path, sizeof path, "%s/stage.prom", dir);
    metrics_init("agg\"x", path, 60000);

    /* the shared series exist at zero before anything happens */
    CHECK_EQ_INT(metrics_flush(), 0);
    char *t = read_all(path);
    CHECK(t != NULL);
    if (!t) return;
    CHECK_NEAR(sample(t, "streamrec_records_in_total{stage=\"agg\\\"x\"}"), 0, 0);
    CHECK_NEAR(sample(t, "streamrec_records_out_total{stage=\"agg\\\"x\"}"), 0, 0);
    CHECK_NEAR(sample(t, "streamrec_bytes_in_total{stage=\"agg\\\"x\"}"), 0, 0);
    CHECK_NEAR(sample(t, "streamrec_bytes_out_total{stage=\"agg\\\"x\"}"), 0, 0);

    metrics_add(metrics_records_in, 1000);
    metrics_add(metrics_records_in, 234);
    metrics_add(metrics_bytes_in, 1e6);
    metrics_series *g = metrics_gauge("streamrec_lag_seconds", "Lag.\nSecond line \\ too.");
    metrics_set(g, 2.5);
    CHECK(metrics_gauge("streamrec_lag_seconds", "Lag.") == g);
    metrics_series *a = metrics_counter_l("streamrec_windows_total", "Windows.", "kind", "tumbling");
    metrics_series *b = metrics_counter_l("streamrec_windows_total", "Windows.", "kind", "a\"b\\c\nd");
    CHECK(a != b);
    metrics_add(a, 3);
    metrics_add(b, 4);
    metrics_series *l0 = metrics_gauge_l2("streamrec_kafka_consumer_lag", "Lag.", "topic", "ev", "partition", "0");
    metrics_series *l1 = metrics_gauge_l2("streamrec_kafka_consumer_lag", "Lag.", "topic", "ev", "partition", "1");
    CHECK(l0 != l1);
    CHECK(metrics_gauge_l2("streamrec_kafka_consumer_lag", "Lag.", "topic", "ev", "partition", "1") == l1);
    metrics_set(l0, 7);
    metrics_set(l1, 9);
    metrics_invalid("bad_json");
    metrics_invalid("bad_json");
    metrics_invalid("too_long");
    CHECK_NEAR(metrics_get(metrics_records_in), 1234, 0);

    CHECK_EQ_INT(metrics_flush(), 0);
    t = read_all(path);
    CHECK(t != NULL);
    if (!t) return;
    CHECK_NEAR(sample(t, "streamrec_records_in_total{stage=\"agg\\\"x\"}"), 1234, 0);
    CHECK_NEAR(sample(t, "streamrec_bytes_in_total{stage=\"agg\\\"x\"}"), 1e6, 0);
    CHECK_NEAR(sample(t, "streamrec_lag_seconds{stage=\"agg\\\"x\"}"), 2.5, 0);
    CHECK_NEAR(sample(t, "streamrec_windows_total{stage=\"agg\\\"x\",kind=\"tumbling\"}"), 3, 0);
    CHECK_NEAR(sample(t, "streamrec_kafka_consumer_lag{stage=\"agg\\\"x\",topic=\"ev\",partition=\"0\"}"), 7, 0);
    CHECK_NEAR(sample(t, "streamrec_kafka_consumer_lag{stage=\"agg\\\"x\",topic=\"ev\",partition=\"1\"}"), 9, 0);
    CHECK_EQ_INT(count_lines_with(t, "# TYPE streamrec_kafka_consumer_lag gauge"), 1);
    CHECK_NEAR(sample(t, "streamrec_windows_total{stage=\"agg\\\"x\",kind=\"a\\\"b\\\\c\\nd\"}"), 4, 0);
    CHECK_NEAR(sample(t, "streamrec_records_invalid_total{stage=\"agg\\\"x\",reason=\"bad_json\"}"), 2, 0);
    CHECK_NEAR(sample(t, "streamrec_records_invalid_total{stage=\"agg\\\"x\",reason=\"too_long\"}"), 1, 0);
    CHECK(strstr(t, "# HELP streamrec_lag_seconds Lag.\\nSecond line \\\\ too.\n# TYPE streamrec_lag_seconds gauge\n") != NULL);
    CHECK_EQ_INT(count_lines_with(t, "# TYPE streamrec_windows_total counter"), 1);
    CHECK_EQ_INT(count_lines_with(t, "# HELP streamrec_records_invalid_total"), 1);
    /* every line is a comment or "NAME{...} VALUE" */
    int bad = 0;
    for (const char *p = t; *p;) {
        const char *nl = strchr(p, '\n');
        if (!nl) { bad++; break; }
        if (*p != '#') {
            const char *br = memchr(p, '}', (size_t)(nl - p));
            if (!br || br[1] != ' ') bad++;
        }
        p = nl + 1;
    }
    CHECK_EQ_INT(bad, 0);

    /* only the file itself remains: the temp file was renamed */
    DIR *d = opendir(dir);
    int files = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) if (e->d_name[0] != '.' || strstr(e->d_name, "tmp")) files++;
    if (d) closedir(d);
    CHECK_EQ_INT(files, 1);

    /* tick does not write before the interval */
    unlink(path);
    metrics_tick();
    CHECK(access(path, F_OK) != 0);

    metrics_shutdown();      /* flushes */
    CHECK(access(path, F_OK) == 0);
    unlink(path);
    rmdir(dir);
}

static void test_unwritable(void)
{
    metrics_init("s", "/nonexistent-dir/x.prom", 1000);
    CHECK_EQ_INT(metrics_flush(), -1);
    metrics_shutdown();
    /* without a path nothing is written but counts are kept */
    metrics_init("s", NULL, 1000);
    metrics_add(metrics_records_out, 5);
    CHECK_NEAR(metrics_get(metrics_records_out), 5, 0);
    CHECK_EQ_INT(metrics_flush(), 0);
    metrics_shutdown();
}

TEST_MAIN(test_file, test_unwritable)

/* test_yamlcfg.c — strict YAML onto structs: values of every field type, and
 * each kind of error with its exact FILE:LINE:COL (counted by hand from the
 * test documents below). */
#define _GNU_SOURCE
#include <stddef.h>
#include <unistd.h>

#include "testhelp.h"
#include "yamlcfg.h"

typedef struct t_match { char *type, *metric; yc_kv *labels; int nlabels; } t_match;
typedef struct t_rule {
    char *name; int name_line;
    t_match match;
    int cond;
    double threshold;
    int64_t for_us;
    int severity;
    char **channels; int nchannels;
    int enabled;
    int64_t repeat_count;
} t_rule;
typedef struct t_cfg { int64_t version; char *title; t_rule *rules; int nrules; } t_cfg;

static const char *const conds[] = { "gt", "ge", "lt", "le", "eq", "ne", NULL };
static const char *const sevs[] = { "info", "warning", "critical", "emergency", NULL };

static const yc_field match_fields[] = {
    { .key = "type", .type = YC_STR, .offset = offsetof(t_match, type) },
    { .key = "metric", .type = YC_STR, .offset = offsetof(t_match, metric), .required = 1 },
    { .key = "labels", .type = YC_STR_MAP, .offset = offsetof(t_match, labels), .count_offset = offsetof(t_match, nlabels) },
};
static const yc_struct match_st = { "match", match_fields, 3, sizeof(t_match) };

static const yc_field rule_fields[] = {
    { .key = "name", .type = YC_STR, .offset = offsetof(t_rule, name), .required = 1, .line_offset = offsetof(t_rule, name_line) },
    { .key = "match", .type = YC_STRUCT, .offset = offsetof(t_rule, match), .sub = &match_st },
    { .key = "condition", .type = YC_ENUM, .offset = offsetof(t_rule, cond), .enum_names = conds },
    { .key = "threshold", .type = YC_DOUBLE, .offset = offsetof(t_rule, threshold), .min = 0, .max = 100 },
    { .key = "for", .type = YC_DURATION, .offset = offsetof(t_rule, for_us), .min = 0, .max = 86400e6 },
    { .key = "severity", .type = YC_ENUM, .offset = offsetof(t_rule, severity), .enum_names = sevs },
    { .key = "channels", .type = YC_STR_LIST, .offset = offsetof(t_rule, channels), .count_offset = offsetof(t_rule, nchannels) },
    { .key = "enabled", .type = YC_BOOL, .offset = offsetof(t_rule, enabled) },
    { .key = "repeat_count", .type = YC_INT, .offset = offsetof(t_rule, repeat_count), .min = 1, .max = 10 },
};
static const yc_struct rule_st = { "rule", rule_fields, 9, sizeof(t_rule) };

static const yc_field cfg_fields[] = {
    { .key = "version", .type = YC_INT, .offset = offsetof(t_cfg, version), .required = 1 },
    { .key = "title", .type = YC_STR, .offset = offsetof(t_cfg, title) },
    { .key = "rules", .type = YC_LIST, .offset = offsetof(t_cfg, rules), .sub = &rule_st, .count_offset = offsetof(t_cfg, nrules) },
};
static const yc_struct cfg_st = { "config", cfg_fields, 3, sizeof(t_cfg) };

static const char *good =
    "# alert rules\n"
    "version: 2\n"
    "title: \"CPU & memory\"\n"
    "rules:\n"
    "  - name: cpu_high\n"
    "    match:\n"
    "      type: metric\n"
    "      metric: cpu_usage\n"
    "      labels: {host: web-1, dc: \"eu\"}\n"
    "    condition: gt\n"
    "    threshold: '90.5'\n"
    "    for: 5m\n"
    "    severity: critical\n"
    "    channels: [stdout, \"exec:mail ops\"]\n"
    "    enabled: yes\n"
    "    repeat_count: 3\n"
    "  - name: quiet\n"
    "    match: {metric: x}\n"
    "    channels: stdout\n"
    "    for: ~\n";

static void test_good(void)
{
    t_cfg c;
    char err[512];
    int rc = yc_load_string("t.yaml", good, strlen(good), &cfg_st, &c, err, sizeof err);
    CHECK_MSG(rc == 0, "%s", err);
    if (rc) return;
    CHECK_EQ_INT(c.version, 2);
    CHECK_EQ_STR(c.title, "CPU & memory");
    CHECK_EQ_INT(c.nrules, 2);
    if (c.nrules == 2) {
        t_rule *r = &c.rules[0];
        CHECK_EQ_STR(r->name, "cpu_high");
        CHECK_EQ_INT(r->name_line, 5);
        CHECK_EQ_STR(r->match.type, "metric");
        CHECK_EQ_STR(r->match.metric, "cpu_usage");
        CHECK_EQ_INT(r->match.nlabels, 2);
        if (r->match.nlabels == 2) {
            CHECK_EQ_STR(r->match.labels[0].key, "host");
            CHECK_EQ_STR(r->match.labels[0].value, "web-1");
            CHECK_EQ_STR(r->match.labels[1].key, "dc");
            CHECK_EQ_STR(r->match.labels[1].value, "eu");
        }
        CHECK_EQ_INT(r->cond, 0);
        CHECK_NEAR(r->threshold, 90.5, 0);
        CHECK_EQ_INT(r->for_us, 300000000);
        CHECK_EQ_INT(r->severity, 2);
        CHECK_EQ_INT(r->nchannels, 2);
        if (r->nchannels == 2) {
            CHECK_EQ_STR(r->channels[0], "stdout");
            CHECK_EQ_STR(r->channels[1], "exec:mail ops");
        }
        CHECK_EQ_INT(r->enabled, 1);
        CHECK_EQ_INT(r->repeat_count, 3);
        r = &c.rules[1];
        CHECK_EQ_STR(r->name, "quiet");
        CHECK_EQ_INT(r->name_line, 17);
        CHECK_EQ_STR(r->match.metric, "x");
        CHECK(r->match.type == NULL && r->match.nlabels == 0);
        CHECK_EQ_INT(r->nchannels, 1);
        if (r->nchannels == 1) CHECK_EQ_STR(r->channels[0], "stdout");
        CHECK_EQ_INT(r->for_us, 0);               /* null: not given */
        CHECK_EQ_INT(r->enabled, 0);
    }
    yc_free(&cfg_st, &c);
    CHECK(c.rules == NULL && c.nrules == 0 && c.title == NULL);
}

static void expect_err(const char *doc, const char *want)
{
    t_cfg c;
    char err[512];
    memset(&c, 0x55, sizeof c);
    int rc = yc_load_string("t.yaml", doc, strlen(doc), &cfg_st, &c, err, sizeof err);
    CHECK_MSG(rc == -1, "accepted: %s", doc);
    CHECK_MSG(!strncmp(err, want, strlen(want)), "\n   got: %s\n  want: %s", err, want);
    /* on error the output is left zeroed (nothing to free, nothing stale) */
    CHECK(c.rules == NULL && c.title == NULL && c.version == 0);
}

static void test_errors(void)
{
    expect_err("version: 1\nrules:\n  - name: cpu\n    treshold: 3\n",
               "t.yaml:4:5: unknown key 'treshold' in rule (did you mean 'threshold'?); valid keys: name, match, "
               "condition, threshold, for, severity, channels, enabled, repeat_count");
    expect_err("version: 1\nzzz: 2\n",
               "t.yaml:2:1: unknown key 'zzz' in config; valid keys: version, title, rules");
    expect_err("version: 1\ntitle: a\nversion: 2\n", "t.yaml:3:1: duplicate key 'version' (first at line 1)");
    expect_err("version: abc\n", "t.yaml:1:10: version: 'abc' is not an integer");
    expect_err("version: 1\nrules:\n- name: a\n  threshold: 150\n",
               "t.yaml:4:14: threshold: 150 is out of range 0..100");
    expect_err("version: 1\nrules:\n- name: a\n  repeat_count: 0\n",
               "t.yaml:4:17: repeat_count: 0 is out of range 1..10");
    expect_err("version: 1\nrules:\n  - name: a\n    severity: fatal\n",
               "t.yaml:4:15: severity: 'fatal' is not one of: info, warning, critical, emergency");
    expect_err("version: 1\nrules:\n  - threshold: 1\n    for: 1m\n",
               "t.yaml:3:5: missing required key 'name' in rule");
    expect_err("version: 1\nrules:\n  - name: a\n    match:\n      type: metric\n",
               "t.yaml:5:7: missing required key 'metric' in match");
    expect_err("title: x\n", "t.yaml:1:1: missing required key 'version' in config");
    expect_err("", "t.yaml:1:1: missing required key 'version' in config");
    expect_err("version: 1\nrules:\n  - name: a\n    for: 5 minutes\n",
               "t.yaml:4:10: for: '5 minutes' is not a duration");
    expect_err("version: 1\nrules:\n  - name: a\n    enabled: maybe\n",
               "t.yaml:4:14: enabled: 'maybe' is not true or false");
    expect_err("version: 1\nrules: 5\n", "t.yaml:2:8: rules: expected a list, got a scalar");
    expect_err("version: 1\nrules:\n  - just a string\n",
               "t.yaml:3:5: expected a mapping (rule), got a scalar 'just a string'");
    expect_err("version: 1\nrules:\n  - name:\n", "t.yaml:3:10: name: needs a value");
    expect_err("version: 1\ntitle: [a]\n", "t.yaml:2:8: title: expected a string, got a list");
    expect_err("version: 1\nrules:\n  - name: a\n    match: {metric: x, labels: {a: 1, a: 2}}\n",
               "t.yaml:4:39: labels: duplicate key 'a' (first at line 4)");
    expect_err("version: &v 1\n", "t.yaml:1:10: anchors (&v) are not supported");
    expect_err("version: 1\ntitle: *t\n", "t.yaml:2:8: aliases (*t) are not supported");
    expect_err("version: !!int 1\n", "t.yaml:1:10: tags (tag:yaml.org,2002:int) are not supported");
    expect_err("version: 1\n---\nversion: 2\n", "t.yaml:2:1: only one YAML document is allowed");
    expect_err("- 1\n- 2\n", "t.yaml:1:1: expected a mapping (config), got a list");
    /* a syntax error from libyaml keeps its position */
    expect_err("version: 1\nrules: [a, b\n", "t.yaml:3:1: ");
    expect_err("version: 1\n  title: x\n", "t.yaml:2:8: ");
}

static void test_file(void)
{
    char path[] = "/tmp/test_yamlcfg.XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK(write(fd, good, strlen(good)) == (ssize_t)strlen(good));
    close(fd);
    t_cfg c;
    char err[512];
    CHECK_EQ_INT(yc_load(path, &cfg_st, &c, err, sizeof err), 0);
    CHECK_EQ_INT(c.nrules, 2);
    yc_free(&cfg_st, &c);
    unlink(path);
    CHECK_EQ_INT(yc_load("/nonexistent/rules.yaml", &cfg_st, &c, err, sizeof err), -1);
    CHECK_EQ_STR(err, "/nonexistent/rules.yaml: cannot open: No such file or directory");
}

TEST_MAIN(test_good, test_errors, test_file)

/* test_engine.c — the alerter's pieces without I/O: the fingerprint
 * (against FNV-1a computed by hand in Python), the summary template,
 * condition boundaries, quantile fields, label order independence,
 * --max-alerts (refused and counted), ack (no repeat, no escalation), and
 * save/load through a real SQLite state database, and the clock from a
 * time source (per-partition event time), and --changelog's tombstones
 * leaving with their partition. */
#include "../testhelp.h"
#include <unistd.h>
#include "../../../stages/alerter/engine.h"
#include "../../../stages/alerter/engine_int.h"
#include "../../../stages/alerter/mread.h"
#include "../../../stages/alerter/rules.h"
#include "../../../stages/alerter/store.h"
#include "state.h"

#define MIN 60000000LL

typedef struct sink { int n; char last[256]; int status[64]; int sev[64]; int64_t starts[64], ends[64]; } sink;

static int emit(void *ctx, const al_rule *r, const Alert *a)
{
    sink *s = ctx;
    if (s->n < 64) {
        s->status[s->n] = a->status; s->sev[s->n] = a->severity;
        s->starts[s->n] = a->starts_at; s->ends[s->n] = a->ends_at;
    }
    snprintf(s->last, sizeof s->last, "%s %.*s %.*s", r->name, (int)a->fingerprint.len, a->fingerprint.ptr,
             (int)a->summary.len, a->summary.ptr);
    s->n++;
    return 0;
}

static int load(const char *yaml, al_config *c)
{
    char err[512];
    int rc = al_config_load_string("t.yaml", yaml, strlen(yaml), c, err, sizeof err);
    if (rc < 0) fprintf(stderr, "config: %s\n", err);
    return rc;
}

static int feed(al_engine *e, const char *name, const char *host, int64_t t, double v)
{
    KeyValue kv[1] = { { FB_STR("host"), FB_STR(host) } };
    AnyRecord r;
    Metric_init(&r.metric);
    r.metric.name = FB_STR(name);
    r.metric.labels = kv; r.metric.labels_count = 1;
    r.metric.window_end = t;
    r.metric.value = v;
    const char *bad = NULL;
    return al_engine_record(e, &Metric_desc, &r, &bad);
}

/* A fresh name for a state database (the file itself is not created),
 * and the removal of the database with its WAL files. */
static void tmp_db_name(char *path)
{
    int fd = mkstemp(path);
    if (fd >= 0) close(fd);
    unlink(path);
}

static void tmp_db_remove(const char *path)
{
    char p2[64];
    unlink(path);
    snprintf(p2, sizeof p2, "%s-wal", path); unlink(p2);
    snprintf(p2, sizeof p2, "%s-shm", path); unlink(p2);
}

static void test_fingerprint(void)
{
    KeyValue kv[2] = { { FB_STR("host"), FB_STR("a") }, { FB_STR("metric"), FB_STR("cpu") } };
    char hex[17];
    al_fp_hex(al_fingerprint("cpu", kv, 2), hex);
    CHECK_EQ_STR(hex, "7492a3e57243a0f7");   /* FNV-1a 64, by hand in Python */
    uint64_t fp;
    CHECK(al_fp_parse(hex, &fp) == 0 && fp == al_fingerprint("cpu", kv, 2));
    /* 16 digits always: leading zeros kept */
    al_fp_hex(0x00000000000abcdeULL, hex);
    CHECK_EQ_STR(hex, "00000000000abcde");
    al_fp_hex(UINT64_MAX, hex);
    CHECK_EQ_STR(hex, "ffffffffffffffff");
    CHECK(al_fp_parse("7492A3E57243A0F7", &fp) < 0);
    CHECK(al_fp_parse("7492a3e5", &fp) < 0);
    /* the rule is part of it; so is every label byte */
    CHECK(al_fingerprint("cpu2", kv, 2) != al_fingerprint("cpu", kv, 2));
    KeyValue kv2[2] = { { FB_STR("host"), FB_STR("a\0") }, { FB_STR("metric"), FB_STR("cpu") } };
    kv2[0].value.len = 2;
    CHECK(al_fingerprint("cpu", kv2, 2) != al_fingerprint("cpu", kv, 2));
}

static void test_conditions_and_summary(void)
{
    al_config c;
    CHECK(load("rules:\n"
               "  - {name: o, metric: m, condition: outside, threshold: 10, threshold_high: 20,\n"
               "     summary: \"{{ $rule }} {{$value}} vs {{ $threshold }} on {{ $labels.host }}{{ $labels.none }} ({{ $severity }})\"}\n"
               "  - {name: q, metric: m, field: p999, condition: ge, threshold: 5}\n", &c) == 0);
    const al_rule *o = &c.rules[0];
    CHECK(!al_cond_holds(o, 10) && !al_cond_holds(o, 20) && al_cond_holds(o, 9.999) && al_cond_holds(o, 20.5));
    CHECK(!al_cond_holds(o, NAN));
    KeyValue kv[1] = { { FB_STR("host"), FB_STR("web-1") } };
    char buf[256];
    CHECK_EQ_STR(al_render_summary(o, kv, 1, 21.5, Severity_critical, buf, sizeof buf),
                 "o 21.5 vs 10 on web-1 (critical)");
    char tiny[8];
    CHECK_EQ_STR(al_render_summary(o, kv, 1, 21.5, 0, tiny, sizeof tiny), "o 21.5 ");
    /* quantile field: exact q, absent -> no value */
    Quantile qs[2] = { { 0.99, 7 }, { 0.999, 9 } };
    AnyRecord r;
    Metric_init(&r.metric);
    r.metric.name = FB_STR("m");
    r.metric.quantiles = qs; r.metric.quantiles_count = 2;
    al_view v;
    CHECK(al_view_make(&v, &Metric_desc, &r) == 1);
    double x = 0;
    CHECK(al_rule_value(&c.rules[1], &v, &x) == 1 && x == 9);
    r.metric.quantiles_count = 1;
    CHECK(al_rule_value(&c.rules[1], &v, &x) == 0);
    al_config_free(&c);
}

static void test_label_order(void)
{
    KeyValue ab[2] = { { FB_STR("a"), FB_STR("1") }, { FB_STR("b"), FB_STR("2") } };
    KeyValue ba[2] = { ab[1], ab[0] };
    AnyRecord r1, r2;
    Metric_init(&r1.metric); Metric_init(&r2.metric);
    r1.metric.name = r2.metric.name = FB_STR("m");
    r1.metric.labels = ab; r2.metric.labels = ba;
    r1.metric.labels_count = r2.metric.labels_count = 2;
    al_view v1, v2;
    al_view_make(&v1, &Metric_desc, &r1);
    al_view_make(&v2, &Metric_desc, &r2);
    CHECK_EQ_INT(v1.nlabels, 3);    /* + metric=m */
    CHECK(al_fingerprint("r", v1.labels, v1.nlabels) == al_fingerprint("r", v2.labels, v2.nlabels));
}

/* The view is filled field by field (not cleared: its label array is 130
 * KiB): one made over garbage must equal one made over zeros. */
static void test_view_reused(void)
{
    static al_view dirty, clean;
    KeyValue kv[1] = { { FB_STR("host"), FB_STR("a") } };
    AnyRecord d, m;
    Drift_init(&d.drift);
    d.drift.series = FB_STR("lat"); d.drift.ts = 7; d.drift.kind = DriftKind_recovery;
    d.drift.labels = kv; d.drift.labels_count = 1;
    Metric_init(&m.metric);
    m.metric.name = FB_STR("cpu"); m.metric.window_end = 9;
    const AnyRecord *recs[2] = { &d, &m };
    const fbrec_desc *descs[2] = { &Drift_desc, &Metric_desc };
    for (int k = 0; k < 2; k++) {
        memset(&dirty, 0xA5, sizeof dirty);
        memset(&clean, 0, sizeof clean);
        CHECK(al_view_make(&dirty, descs[k], recs[k]) == 1 && al_view_make(&clean, descs[k], recs[k]) == 1);
        CHECK_EQ_INT(dirty.type, clean.type);
        CHECK_EQ_INT(dirty.recovery, clean.recovery);
        CHECK_EQ_INT(dirty.nlabels, clean.nlabels);
        CHECK(dirty.ts == clean.ts && dirty.rec == clean.rec);
        CHECK(dirty.name.len == clean.name.len && dirty.name.ptr == clean.name.ptr);
        CHECK(dirty.nlabels == clean.nlabels &&
              al_fingerprint("r", dirty.labels, dirty.nlabels) == al_fingerprint("r", clean.labels, clean.nlabels));
    }
    /* a type rules do not look at leaves nothing behind either */
    memset(&dirty, 0xA5, sizeof dirty);
    AnyRecord e;
    Event_init(&e.event);
    CHECK(al_view_make(&dirty, &Event_desc, &e) == 0);
    CHECK(dirty.nlabels == 0 && dirty.recovery == 0 && dirty.name.ptr == NULL);
}

/* The engine hashes each rule's name and prints its threshold once (per
 * config): after a reload that reorders the rules, adds one and changes a
 * threshold, every alert still carries al_fingerprint(its rule, its labels)
 * and its rule's threshold. */
typedef struct fp_sink { int n; char rule[8][32]; uint64_t fp[8]; char summary[8][64]; } fp_sink;
static int fp_emit(void *ctx, const al_rule *r, const Alert *a)
{
    fp_sink *s = ctx;
    char hex[17];
    snprintf(hex, sizeof hex, "%.*s", (int)a->fingerprint.len, a->fingerprint.ptr);
    if (s->n < 8) {
        snprintf(s->rule[s->n], sizeof s->rule[0], "%s", r->name);
        CHECK(al_fp_parse(hex, &s->fp[s->n]) == 0);
        snprintf(s->summary[s->n], sizeof s->summary[0], "%.*s", (int)a->summary.len, a->summary.ptr);
    }
    s->n++;
    return 0;
}

static void test_fp_after_reload(void)
{
    al_config a, b;
    CHECK(load("rules:\n  - {name: x, metric: m, condition: gt, threshold: 0}\n"
               "  - {name: y, metric: m, condition: gt, threshold: 0}\n", &a) == 0);
    CHECK(load("rules:\n  - {name: zz, metric: m, condition: gt, threshold: 0}\n"
               "  - {name: y, metric: m, condition: gt, threshold: 0}\n"
               "  - {name: x, metric: m, condition: gt, threshold: 0.125}\n", &b) == 0);
    fp_sink s = { 0 };
    al_engine *e = al_engine_new(&a, 100, fp_emit, &s);
    CHECK(feed(e, "m", "h1", MIN, 1) == AL_OK);
    CHECK_EQ_INT(s.n, 2);
    al_engine_set_config(e, &b);
    CHECK(feed(e, "m", "h2", 2 * MIN, 1) == AL_OK);
    CHECK_EQ_INT(s.n, 5);
    KeyValue h1[2] = { { FB_STR("host"), FB_STR("h1") }, { FB_STR("metric"), FB_STR("m") } };
    KeyValue h2[2] = { { FB_STR("host"), FB_STR("h2") }, { FB_STR("metric"), FB_STR("m") } };
    for (int i = 0; i < s.n && i < 8; i++) {
        CHECK(s.fp[i] == al_fingerprint(s.rule[i], i < 2 ? h1 : h2, 2));
        char want[64];
        snprintf(want, sizeof want, "%s: value 1 gt %s", s.rule[i], i >= 2 && !strcmp(s.rule[i], "x") ? "0.125" : "0");
        CHECK_EQ_STR(s.summary[i], want);
    }
    al_engine_free(e);
    al_config_free(&a);
    al_config_free(&b);
}

/* A record that matches N rules gets their N fingerprints in one pass over
 * its labels (four at a time, then three, two or one): with 1 to 8 rules,
 * every alert still carries al_fingerprint(its rule, its labels). */
static void test_fp_many_rules(void)
{
    const char *names[8] = { "a", "rule_b", "c3", "dddd", "e", "ffffff_long_rule_name", "g", "hh" };
    for (int n = 1; n <= 8; n++) {
        char yaml[1024] = "rules:\n";
        for (int i = 0; i < n; i++)
            snprintf(yaml + strlen(yaml), sizeof yaml - strlen(yaml),
                     "  - {name: %s, metric: m, condition: gt, threshold: 0}\n", names[i]);
        al_config c;
        CHECK(load(yaml, &c) == 0);
        fp_sink s = { 0 };
        al_engine *e = al_engine_new(&c, 100, fp_emit, &s);
        CHECK(feed(e, "m", "host-with-a-longer-name-7", MIN, 1) == AL_OK);
        CHECK_EQ_INT(s.n, n);
        KeyValue kv[2] = { { FB_STR("host"), FB_STR("host-with-a-longer-name-7") }, { FB_STR("metric"), FB_STR("m") } };
        for (int i = 0; i < s.n && i < 8; i++) CHECK(s.fp[i] == al_fingerprint(s.rule[i], kv, 2));
        for (int i = 1; i < s.n && i < 8; i++) CHECK(s.fp[i] != s.fp[0]);
        al_engine_free(e);
        al_config_free(&c);
    }
}

/* {{ $value }} and the default summary print the value as snprintf
 * "%.6g" does (the engine writes most values by hand): the same text for
 * values of every size, with six-digit halves, carries into a seventh digit
 * (999999.5, 9.999995), the range's edges, negatives, NaN and infinities. */
static void test_value_text(void)
{
    al_rule r;
    memset(&r, 0, sizeof r);
    r.name = "r";
    r.cond = AL_GT;
    char templ[] = "{{ $value }}";
    uint64_t seed = 12345;
    int bad = 0;
    for (int i = 0; i < 300000; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        uint64_t u = seed >> 11;
        double v;
        switch (i % 6) {
        case 0: v = ldexp((double)u / 9007199254740992.0, (int)(seed % 60) - 20); break;       /* any size */
        case 1: v = (double)(u % 100000000) / 1000.0; break;                                     /* three decimals, like the bench */
        case 2: v = ((double)(u % 9000000) + 1000000 + 0.5) / pow(10, (double)(seed % 14)); break; /* halves at the seventh digit */
        case 3: v = (double)(u % 2000001) - 1000000; break;                                      /* integers around 1e6 */
        case 4: v = (double)(u % 1000) * pow(10, (double)(seed % 12) - 8); break;                /* few digits, trailing zeros */
        default: v = -ldexp((double)u / 9007199254740992.0, (int)(seed % 40) - 16); break;      /* negatives */
        }
        char want[64], got[128];
        snprintf(want, sizeof want, "%.6g", v);
        r.summary = templ;
        al_render_summary(&r, NULL, 0, v, 0, got, sizeof got);
        if (strcmp(got, want) && bad++ < 5) fprintf(stderr, "value %.17g: got %s, want %s\n", v, got, want);
    }
    const double edge[] = { 999999.5, 999999.49999, 999999.4, 9.999995, 9.9999949, 0.0001, 0.000099999995, 0.00009999994,
                            1e-4, 1e6, 123456.5, 0.5, 1, -1, 0, -0.0, 100000, 1e-5, 1e300, -1e-300,
                            NAN, INFINITY, -INFINITY, 0.1 + 0.2, 85.0001, 4.99999949 };
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) {
        char want[64], got[128];
        snprintf(want, sizeof want, "%.6g", edge[i]);
        r.summary = templ;
        al_render_summary(&r, NULL, 0, edge[i], 0, got, sizeof got);
        if (strcmp(got, want) && bad++ < 10) fprintf(stderr, "value %.17g: got %s, want %s\n", edge[i], got, want);
        r.summary = NULL;   /* the default: "r: value V gt 0" */
        al_render_summary(&r, NULL, 0, edge[i], 0, got, sizeof got);
        char want2[128];
        snprintf(want2, sizeof want2, "r: value %s gt 0", want);
        if (strcmp(got, want2) && bad++ < 10) fprintf(stderr, "default summary: got %s, want %s\n", got, want2);
    }
    CHECK_EQ_INT(bad, 0);
    /* a short buffer cuts the default summary as snprintf would */
    char small[12];
    r.summary = NULL;
    al_render_summary(&r, NULL, 0, 97.25, 0, small, sizeof small);
    CHECK_EQ_STR(small, "r: value 97");
}

static void test_max_alerts_and_ack(void)
{
    al_config c;
    CHECK(load("rules:\n  - {name: r, metric: m, condition: gt, threshold: 1, repeat_interval: 1m,\n"
               "     escalate_after: 2m, escalate_to: critical}\n", &c) == 0);
    sink s = {0};
    al_engine *e = al_engine_new(&c, 2, emit, &s);
    CHECK(feed(e, "m", "a", MIN, 5) == AL_OK);
    CHECK(feed(e, "m", "b", MIN, 5) == AL_OK);
    CHECK(feed(e, "m", "c", MIN, 5) == AL_OK);      /* third: refused */
    CHECK_EQ_INT(al_engine_active(e), 2);
    CHECK_EQ_INT(al_engine_counters(e)->dropped, 1);
    CHECK_EQ_INT(s.n, 2);
    KeyValue kv[2] = { { FB_STR("host"), FB_STR("a") }, { FB_STR("metric"), FB_STR("m") } };
    CHECK(al_engine_ack(e, al_fingerprint("r", kv, 2)) == 1);
    CHECK(al_engine_ack(e, 12345) == 0);
    /* at 2m b repeats, a is acked; at 3m b escalates, a does not */
    feed(e, "m", "b", 2 * MIN, 5);
    feed(e, "m", "a", 2 * MIN, 5);
    CHECK_EQ_INT(s.n, 3);
    feed(e, "m", "b", 3 * MIN, 5);
    CHECK_EQ_INT(s.n, 4);
    CHECK_EQ_INT(s.sev[3], Severity_critical);
    CHECK_EQ_INT(al_engine_counters(e)->escalations, 1);

    /* save, load into a fresh engine: the same alerts; resolving a gives its first starts_at */
    char path[] = "/tmp/alerter-unit-XXXXXX";
    tmp_db_name(path);
    state *st = state_open(path, "alerter", AL_STATE_VERSION, al_state_schema);
    CHECK(st != NULL);
    if (st) {
        CHECK(state_begin(st) == 0 && al_engine_save(e, state_db(st)) == 0 && state_commit(st) == 0);
        sink s2 = {0};
        al_engine *e2 = al_engine_new(&c, 2, emit, &s2);
        CHECK(al_engine_load(e2, state_db(st)) == 0);
        CHECK_EQ_INT(al_engine_active(e2), 2);
        CHECK_EQ_INT(al_engine_firing(e2), 2);
        CHECK_EQ_INT(al_engine_clock(e2), 3 * MIN);
        feed(e2, "m", "a", 3 * MIN, 0);
        CHECK_EQ_INT(s2.n, 1);
        CHECK(s2.status[0] == AlertStatus_resolved && s2.starts[0] == MIN && s2.ends[0] == 3 * MIN);
        /* the incremental save deletes the resolved row and keeps the other */
        CHECK(state_begin(st) == 0 && al_engine_save(e2, state_db(st)) == 0 && state_commit(st) == 0);
        sink s3 = {0};
        al_engine *e3 = al_engine_new(&c, 2, emit, &s3);
        CHECK(al_engine_load(e3, state_db(st)) == 0);
        CHECK_EQ_INT(al_engine_active(e3), 1);
        feed(e3, "m", "b", 3 * MIN, 0);   /* same time as the clock: no sweep, so no repeat first */
        CHECK_EQ_INT(s3.n, 1);
        CHECK(s3.status[0] == AlertStatus_resolved && s3.sev[0] == Severity_critical);
        al_engine_free(e3);
        al_engine_free(e2);
        state_close(st);
    }
    tmp_db_remove(path);
    al_engine_free(e);
    al_config_free(&c);
}

static void test_bad_value(void)
{
    al_config c;
    CHECK(load("rules:\n  - {name: r, metric: m, condition: lt, threshold: 1}\n", &c) == 0);
    sink s = {0};
    al_engine *e = al_engine_new(&c, 10, emit, &s);
    CHECK(feed(e, "m", "a", MIN, NAN) == AL_BAD_VALUE);
    CHECK(feed(e, "m", "a", MIN, INFINITY) == AL_BAD_VALUE);
    CHECK(feed(e, "other", "a", MIN, NAN) == AL_OK);   /* no rule looks at it */
    CHECK_EQ_INT(al_engine_counters(e)->ignored, 1);
    CHECK_EQ_INT(al_engine_active(e), 0);
    al_engine_free(e);
    al_config_free(&c);
}

/* The inhibition index follows firing, resolving and other label values. */
static void test_inhibit_index(void)
{
    al_config c;
    CHECK(load("rules:\n  - {name: w, metric: m, condition: gt, threshold: 1, repeat_interval: 1m}\n"
               "  - {name: c, metric: m, condition: gt, threshold: 10, severity: critical}\n"
               "inhibit:\n  - {source_severity: critical, target_severity: warning, equal: [host]}\n", &c) == 0);
    sink s = {0};
    al_engine *e = al_engine_new(&c, 100, emit, &s);
    feed(e, "m", "a", 1 * MIN, 5);        /* w/a fires */
    CHECK_EQ_INT(s.n, 1);
    feed(e, "m", "a", 2 * MIN, 20);       /* sweep: w/a repeats (c not firing yet); then c/a fires */
    CHECK_EQ_INT(s.n, 3);
    CHECK_EQ_INT(s.sev[2], Severity_critical);
    feed(e, "m", "a", 3 * MIN, 20);       /* w/a's repeat inhibited by c/a */
    CHECK_EQ_INT(s.n, 3);
    CHECK_EQ_INT(al_engine_counters(e)->inhibited, 1);
    feed(e, "m", "b", 3 * MIN, 5);        /* w/b: another host, not inhibited */
    CHECK_EQ_INT(s.n, 4);
    feed(e, "m", "a", 4 * MIN, 5);        /* sweep: w/a still inhibited, w/b repeats; then c/a resolves */
    CHECK_EQ_INT(s.n, 6);
    CHECK(s.status[5] == AlertStatus_resolved && s.sev[5] == Severity_critical);
    feed(e, "m", "a", 5 * MIN, 5);        /* c/a gone: w/a repeats again, and w/b */
    CHECK_EQ_INT(s.n, 8);
    CHECK_EQ_INT(al_engine_counters(e)->inhibited, 1);
    al_engine_free(e);
    al_config_free(&c);
}

static int count_deletes(unsigned type, void *ctx, void *p, void *x)
{
    (void)type; (void)x;
    if (!strncmp(sqlite3_sql((sqlite3_stmt *)p), "DELETE FROM alerts WHERE", 24)) (*(int *)ctx)++;
    return 0;
}

/* Alerts that come and go before any save have no row to delete: the list
 * of removed fingerprints must not grow with them (without --state it was
 * never emptied, so it grew for the whole run). */
static void test_gone_bounded(void)
{
    al_config c;
    CHECK(load("rules:\n  - {name: r, metric: m, condition: gt, threshold: 1}\n", &c) == 0);
    sink s = {0};
    al_engine *e = al_engine_new(&c, 100, emit, &s);
    char host[16];
    for (int i = 0; i < 1000; i++) {
        snprintf(host, sizeof host, "h%d", i);
        feed(e, "m", host, MIN + i, 5);
        feed(e, "m", host, MIN + i, 0);
    }
    CHECK_EQ_INT(al_engine_counters(e)->resolved, 1000);
    CHECK_EQ_INT(al_engine_active(e), 0);
    char path[] = "/tmp/alerter-unit-XXXXXX";
    tmp_db_name(path);
    state *st = state_open(path, "alerter", AL_STATE_VERSION, al_state_schema);
    CHECK(st != NULL);
    if (st) {
        int deletes = 0;
        sqlite3_trace_v2(state_db(st), SQLITE_TRACE_STMT, count_deletes, &deletes);
        CHECK(state_begin(st) == 0 && al_engine_save(e, state_db(st)) == 0 && state_commit(st) == 0);
        CHECK_EQ_INT(deletes, 0);
        sqlite3_trace_v2(state_db(st), 0, NULL, NULL);
        state_close(st);
    }
    tmp_db_remove(path);
    al_engine_free(e);
    al_config_free(&c);
}

/* --changelog: a partition that leaves (or is read back as stale) takes
 * the tombstones still due there with it: written later they would land
 * in a partition another instance writes, after its state. Another
 * partition's stay due. */
static void test_drop_part_tombstones(void)
{
    al_config c;
    CHECK(load("rules:\n  - {name: r, metric: m, condition: gt, threshold: 1}\n", &c) == 0);
    sink s = {0};
    al_engine *e = al_engine_new(&c, 10, emit, &s);
    al_engine_track(e);
    al_engine_set_part(e, 3);
    CHECK(feed(e, "m", "a", MIN, 5) == AL_OK);
    al_engine_set_part(e, 4);
    CHECK(feed(e, "m", "b", MIN, 5) == AL_OK);
    CHECK_EQ_INT(al_engine_active(e), 2);
    for (uint32_t i = 0; i < e->n; i++) e->v[i].cl_saved = 1;    /* as a checkpoint leaves them */
    al_engine_set_part(e, 3);
    CHECK(feed(e, "m", "a", MIN + 1, 0) == AL_OK);
    al_engine_set_part(e, 4);
    CHECK(feed(e, "m", "b", MIN + 1, 0) == AL_OK);
    CHECK_EQ_INT(e->nclgone, 2);
    CHECK_EQ_INT(al_engine_drop_part(e, 3), 0);
    CHECK_EQ_INT(e->nclgone, 1);
    CHECK_EQ_INT(e->clgone[0].part, 4);
    al_engine_free(e);
    al_config_free(&c);
}

/* Times far apart must not overflow the engine's time differences: a
 * matched record outside +-2^61 us is refused and changes nothing. */
static void test_bad_time(void)
{
    al_config c;
    CHECK(load("rules:\n  - {name: r, metric: m, condition: gt, threshold: 1, for: 5m}\n", &c) == 0);
    sink s = {0};
    al_engine *e = al_engine_new(&c, 100, emit, &s);
    CHECK_EQ_INT(feed(e, "m", "a", -9000000000000000000LL, 5), AL_BAD_TIME);
    CHECK_EQ_INT(feed(e, "m", "a", 9000000000000000000LL, 5), AL_BAD_TIME);
    CHECK_EQ_INT(feed(e, "x", "a", 9000000000000000000LL, 5), AL_OK);   /* no rule looks at it */
    CHECK_EQ_INT(al_engine_active(e), 0);
    CHECK(al_engine_clock(e) == INT64_MIN);
    CHECK_EQ_INT(feed(e, "m", "a", -AL_TLIM, 5), AL_OK);
    CHECK_EQ_INT(feed(e, "m", "a", AL_TLIM, 5), AL_OK);             /* fires: for 5m has passed */
    CHECK_EQ_INT(s.n, 1);
    al_engine_free(e);
    al_config_free(&c);
}

/* A time source that answers the minimum over two "partitions" (series
 * host=a on one, host=b on the other), as stream_in_event_time does. */
typedef struct two_parts { int64_t t[2]; const char *host; } two_parts;
static int64_t two_parts_time(void *ctx, int64_t ts)
{
    two_parts *p = ctx;
    int i = p->host[0] == 'b';
    if (ts > p->t[i]) p->t[i] = ts;
    return p->t[0] < p->t[1] ? p->t[0] : p->t[1];
}

/* host=b's partition read ahead (to 30 min) while host=a's is still at
 * 1 min: a's alert must not resolve as silent (resolve_after 5m) on b's
 * time; with the clock taken from each record's time it did. */
static void test_time_source(void)
{
    al_config c;
    CHECK(load("rules:\n  - {name: r, metric: m, condition: gt, threshold: 1, resolve_after: 5m}\n", &c) == 0);
    for (int with_source = 0; with_source < 2; with_source++) {
        sink s = {0};
        two_parts p = { { INT64_MIN, INT64_MIN }, "a" };
        al_engine *e = al_engine_new(&c, 10, emit, &s);
        if (with_source) al_engine_set_time_source(e, two_parts_time, &p);
        CHECK(feed(e, "m", "a", MIN, 5) == AL_OK);
        p.host = "b";
        for (int64_t t = MIN; t <= 30 * MIN; t += MIN) CHECK(feed(e, "m", "b", t, 5) == AL_OK);
        int resolved = 0;
        for (int i = 0; i < s.n && i < 64; i++) resolved += s.status[i] == AlertStatus_resolved;
        CHECK_EQ_INT(resolved, with_source ? 0 : 1);
        CHECK_EQ_INT(al_engine_clock(e), with_source ? MIN : 30 * MIN);
        al_engine_free(e);
    }
    al_config_free(&c);
}

/* A Metric read in place (mread.c) equals fbrec_decode's, for every field
 * set to a value of its own (a wrong slot reads another field), for every
 * field absent (defaults), for empty strings and for labels around the
 * engine's cap (over it: no labels, the true count). */
static void metric_read_check(const Metric *src, const char *what)
{
    static al_mread mr;
    fb_builder b;
    fb_builder_init(&b);
    fbrec_encode(&b, &Metric_desc, src, 0);
    size_t len;
    const uint8_t *buf = fb_data(&b, &len);
    arena a;
    arena_init(&a, 0);
    Metric dec, got;
    char err[200];
    CHECK_MSG(fbrec_decode(&Metric_desc, buf, len, 0, &dec, &a, err, sizeof err) == 0, "%s: %s", what, err);
    memset(&got, 0xA5, sizeof got);
    CHECK(al_metric_read(&mr, buf, len, &got) == 0);
    if (dec.labels_count > AL_MAX_LABELS) {
        CHECK_MSG(got.labels == NULL && got.labels_count == dec.labels_count, "%s: labels over the cap", what);
        dec.labels_count = got.labels_count = 0;
    }
    CHECK_MSG(al_metric_same(&dec, &got), "%s: al_metric_read differs from fbrec_decode", what);
    arena_free(&a);
    fb_builder_free(&b);
    al_mread_free(&mr);
}

static void test_metric_read(void)
{
    static KeyValue kv[AL_MAX_LABELS + 1];
    char names[64][8];
    for (int i = 0; i < AL_MAX_LABELS + 1; i++) {
        snprintf(names[i % 64], sizeof names[0], "k%d", i % 64);
        kv[i] = (KeyValue){ FB_STRN(names[i % 64], strlen(names[i % 64])), FB_STR("v") };
    }
    kv[1].key = (fb_str){ NULL, 0 };       /* absent key */
    kv[2].value = FB_STRN("", 0);          /* empty value */
    Quantile q[3] = { { 0.5, 1.5 }, { 0.99, -2.25 }, { 0.999, NAN } };
    Metric m;
    Metric_init(&m);
    metric_read_check(&m, "every field absent");
    m.name = FB_STRN("", 0);
    metric_read_check(&m, "empty name");
    m.name = FB_STR("request.duration_ms");
    m.labels = kv; m.labels_count = 3;
    m.window_start = -7; m.window_end = INT64_MAX; m.count = UINT64_MAX - 3;
    m.sum = 1.25; m.min = -0.0; m.max = INFINITY; m.mean = 3.5; m.stddev = 4.75; m.value = 5e-310;
    m.quantiles = q; m.quantiles_count = 3;
    metric_read_check(&m, "every field set");
    m.quantiles_count = 0;
    m.labels_count = 0;
    metric_read_check(&m, "empty vectors");
    const uint32_t counts[] = { AL_MAX_LABELS - 1, AL_MAX_LABELS, AL_MAX_LABELS + 1 };
    for (int i = 0; i < 3; i++) {
        m.labels_count = counts[i];
        metric_read_check(&m, "labels at the cap");
    }
}

TEST_MAIN(test_metric_read, test_time_source, test_inhibit_index, test_fingerprint, test_conditions_and_summary, test_label_order, test_view_reused, test_fp_after_reload, test_fp_many_rules, test_value_text, test_max_alerts_and_ack, test_bad_value,
          test_gone_bounded, test_drop_part_tombstones, test_bad_time)

/* test_analyze.c — the engine on hand-built events: first-variant exposure,
 * users in two variants, attribution after exposure and within the window,
 * per-user sums/means/durations folded into per-variant moments (checked
 * against a direct computation), hash assignment, result rows against
 * stats.c on the same counts, config errors naming lines, and a state
 * save/load round trip that does not double count. */
#include <stdio.h>
#include <unistd.h>
#include "../testhelp.h"
#include "../../../stages/experiment-analyzer/analyze.h"
#include "../../../stages/experiment-analyzer/assign.h"
#include "../../../stages/experiment-analyzer/config.h"
#include "../../../stages/experiment-analyzer/stats.h"
#include "state.h"

static const char *CFG =
    "experiments:\n"
    "  - name: exp1\n"
    "    control: control\n"
    "    variants:\n"
    "      - {name: control, allocation: 0.5}\n"
    "      - {name: treatment, allocation: 0.5}\n"
    "    min_sample_size: 2\n"
    "    metrics:\n"
    "      - {name: buy, type: conversion, event: purchase, window: 1h, primary: true}\n"
    "      - {name: revenue, type: numeric, event: purchase, aggregate: sum, tau: 5}\n"
    "      - {name: avg_rating, type: numeric, event: rating, aggregate: mean, tau: 1}\n"
    "      - {name: ttc, type: duration, event: click, goal: minimize, tau: 10}\n";

static Event mk(double ts_s, const char *user, int type, double value, const char *exp, const char *variant)
{
    Event e;
    Event_init(&e);
    e.ts = (int64_t)(ts_s * 1e6);
    e.user_id = FB_STR(user);
    e.type = (EventType)type;
    e.value = value;
    if (exp) e.experiment = FB_STR(exp);
    if (variant) e.variant = FB_STR(variant);
    return e;
}

static void feed(ea_engine *ea, Event e) { CHECK_EQ_INT(ea_event(ea, &e), EA_OK); }

static void scenario(ea_engine *ea)
{
    feed(ea, mk(0, "u1", EventType_exposure, 0, "exp1", "control"));
    feed(ea, mk(0, "u2", EventType_exposure, 0, "exp1", "treatment"));
    feed(ea, mk(100, "u3", EventType_exposure, 0, "exp1", "control"));
    feed(ea, mk(0, "u4", EventType_exposure, 0, "exp1", "treatment"));
    feed(ea, mk(0, "u5", EventType_exposure, 0, "exp1", "control"));
    feed(ea, mk(10, "u1", EventType_purchase, 5, NULL, NULL));
    feed(ea, mk(20, "u1", EventType_purchase, 7, "exp1", "control"));
    feed(ea, mk(7200, "u2", EventType_purchase, 3, NULL, NULL));      /* after the window */
    feed(ea, mk(30, "u6", EventType_purchase, 9, NULL, NULL));        /* never exposed */
    feed(ea, mk(50, "u3", EventType_purchase, 9, NULL, NULL));        /* before its exposure */
    feed(ea, mk(60, "u1", EventType_click, 0, "exp1", "treatment"));   /* second variant */
    feed(ea, mk(61, "u1", EventType_click, 0, "exp1", "treatment"));
    feed(ea, mk(5, "u4", EventType_rating, 4, NULL, NULL));
    feed(ea, mk(6, "u4", EventType_rating, 2, NULL, NULL));
    feed(ea, mk(6, "u5", EventType_rating, 5, NULL, NULL));
    feed(ea, mk(30, "u2", EventType_click, 0, NULL, NULL));
    feed(ea, mk(40, "u2", EventType_click, 0, NULL, NULL));
    feed(ea, mk(1, "u7", EventType_view, 0, "exp1", NULL));          /* hash-assigned */
    feed(ea, mk(2, "u7", EventType_purchase, 4, NULL, NULL));
}

static void moments(const double *x, int n, double *mean, double *var)
{
    double s = 0, ss = 0;
    for (int i = 0; i < n; i++) s += x[i];
    *mean = s / n;
    for (int i = 0; i < n; i++) ss += (x[i] - *mean) * (x[i] - *mean);
    *var = n > 1 ? ss / (n - 1) : 0;
}

static void check_arm(const ea_arm *a, const double *x, int n)
{
    double mean, var;
    moments(x, n, &mean, &var);
    CHECK_NEAR(a->n, n, 0);
    CHECK_NEAR(a->mean, mean, 1e-12);
    CHECK_NEAR(a->n > 1 ? a->m2 / (a->n - 1) : 0, var, 1e-12);
}

static void check_scenario(ea_engine *ea, int u7v)
{
    const ea_exp_stats *st = ea_stats(ea, 0);
    int c = 0, t = 1;
    CHECK_EQ_INT(st->users[c], 3 + (u7v == c));
    CHECK_EQ_INT(st->users[t], 2 + (u7v == t));
    CHECK_EQ_INT(st->mixed, 1);
    /* buy: u1 (control) and u7 converted; u2 outside the window; u3 before exposure */
    CHECK_EQ_INT(st->arm[c][0].conversions, 1 + (u7v == c));
    CHECK_EQ_INT(st->arm[t][0].conversions, (u7v == t));
    /* revenue (sum over every exposed user): control u1=12,u3=0,u5=0 (+u7=4) */
    double rc[] = { 12, 0, 0, 4 }, rt[] = { 3, 0, 4 };
    if (u7v == c) { check_arm(&st->arm[c][1], rc, 4); check_arm(&st->arm[t][1], rt, 2); }
    else { check_arm(&st->arm[c][1], rc, 3); double rt2[] = { 3, 0, 4 }; check_arm(&st->arm[t][1], rt2, 3); }
    /* avg_rating (mean over users who rated): treatment u4 = 3, control u5 = 5 */
    double at[] = { 3 }, ac[] = { 5 };
    check_arm(&st->arm[t][2], at, 1);
    check_arm(&st->arm[c][2], ac, 1);
    /* ttc: u2 first click 30 s after exposure; u1's clicks count in control (60 s) */
    double tt[] = { 30 }, tc[] = { 60 };
    check_arm(&st->arm[t][3], tt, 1);
    check_arm(&st->arm[c][3], tc, 1);
}

static void test_engine(void)
{
    ea_config cfg;
    char err[256];
    CHECK(ea_config_load_string("test.yaml", CFG, &cfg, err, sizeof err) == 0);
    ea_engine *ea = ea_new(&cfg, 0);
    scenario(ea);
    int u7v = ea_assign(&cfg.experiments[0], "u7", 2);
    check_scenario(ea, u7v);
    CHECK_EQ_INT(ea_users(ea), 6);
    /* an unknown variant is refused, not counted */
    Event bad = mk(1, "u9", EventType_exposure, 0, "exp1", "nope");
    CHECK_EQ_INT(ea_event(ea, &bad), EA_UNKNOWN_VARIANT);
    Event other = mk(1, "u9", EventType_exposure, 0, "other_exp", "a");
    CHECK_EQ_INT(ea_event(ea, &other), EA_OK);
    CHECK_EQ_INT(ea_events_unknown_experiment(ea), 1);
    CHECK_EQ_INT(ea_users(ea), 6);

    /* result rows: the conversion row equals stats.c on the same counts */
    const ea_row *rows;
    int n = ea_results(ea, &rows);
    CHECK_EQ_INT(n, 8);
    const ea_exp_stats *st = ea_stats(ea, 0);
    st_prop_test pt;
    CHECK(st_prop_test_run(st->arm[1][0].conversions, st->users[1], st->arm[0][0].conversions,
                           st->users[0], 0.05, &pt) == 0);
    const ea_row *r = &rows[1];
    CHECK(r->metric == 0 && r->variant == 1 && !r->is_control);
    CHECK_NEAR(r->p_value, pt.p_value, 1e-15);
    CHECK_NEAR(r->lift, pt.diff, 1e-15);
    CHECK(rows[0].is_control);
    CHECK(r->decision == 0);   /* keep running: p large */
    CHECK(strlen(r->reason) > 10);
    ea_free(ea);
    ea_config_free(&cfg);
}

static void test_state_roundtrip(void)
{
    ea_config cfg;
    char err[256], path[] = "/tmp/ea_test_stateXXXXXX";
    CHECK(ea_config_load_string("test.yaml", CFG, &cfg, err, sizeof err) == 0);
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    unlink(path);
    state *s = state_open(path, "experiment-analyzer", 1, ea_state_schema);
    CHECK(s != NULL);
    ea_engine *a = ea_new(&cfg, 0);
    CHECK(ea_state_load(a, s) == 0);
    scenario(a);
    CHECK(state_begin(s) == 0 && ea_state_save(a, s) == 0 && state_commit(s) == 0);
    state_close(s);

    s = state_open(path, "experiment-analyzer", 1, ea_state_schema);
    ea_engine *b = ea_new(&cfg, 0);
    CHECK(ea_state_load(b, s) == 0);
    CHECK(memcmp(ea_stats(a, 0), ea_stats(b, 0), sizeof(ea_exp_stats)) == 0);
    CHECK_EQ_INT(ea_users(b), 6);
    /* more events after the restart: re-exposure and mixed are not counted
     * again; a purchase adds to the stored per-user sum */
    feed(b, mk(70, "u1", EventType_exposure, 0, "exp1", "treatment"));
    feed(b, mk(71, "u1", EventType_purchase, 1, NULL, NULL));
    feed(a, mk(70, "u1", EventType_exposure, 0, "exp1", "treatment"));
    feed(a, mk(71, "u1", EventType_purchase, 1, NULL, NULL));
    CHECK_EQ_INT(ea_stats(b, 0)->mixed, 1);
    CHECK_NEAR(ea_stats(b, 0)->arm[0][1].mean, ea_stats(a, 0)->arm[0][1].mean, 1e-12);
    CHECK_EQ_INT(ea_stats(b, 0)->users[0], ea_stats(a, 0)->users[0]);
    /* incremental save of the changed user, then load again */
    CHECK(state_begin(s) == 0 && ea_state_save(b, s) == 0 && state_commit(s) == 0);
    state_close(s);
    s = state_open(path, "experiment-analyzer", 1, ea_state_schema);
    ea_engine *c = ea_new(&cfg, 0);
    CHECK(ea_state_load(c, s) == 0);
    CHECK(memcmp(ea_stats(b, 0), ea_stats(c, 0), sizeof(ea_exp_stats)) == 0);
    state_close(s);
    ea_free(c);

    /* a changed definition is refused */
    ea_config cfg2;
    char *text = strdup(CFG), *p = strstr(text, "allocation: 0.5}\n      - {name: treatment, allocation: 0.5");
    CHECK(p != NULL);
    memcpy(p, "allocation: 0.4", 15);
    p = strstr(p + 20, "allocation: 0.5");
    memcpy(p, "allocation: 0.6", 15);
    CHECK(ea_config_load_string("t2.yaml", text, &cfg2, err, sizeof err) == 0);
    s = state_open(path, "experiment-analyzer", 1, ea_state_schema);
    ea_engine *d = ea_new(&cfg2, 0);
    CHECK_EQ_INT(ea_state_load(d, s), -2);
    state_close(s);
    ea_free(d);
    ea_config_free(&cfg2);
    free(text);
    ea_free(a);
    ea_free(b);
    ea_config_free(&cfg);
    char side[300];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path); unlink(side);
    snprintf(side, sizeof side, "%s-shm", path); unlink(side);
}

static void expect_error(const char *yaml, const char *needle)
{
    ea_config cfg;
    char err[512] = "";
    int rc = ea_config_load_string("bad.yaml", yaml, &cfg, err, sizeof err);
    CHECK_MSG(rc < 0 && strstr(err, needle), "want error containing \"%s\", got rc=%d \"%s\"", needle, rc, err);
    if (rc == 0) ea_config_free(&cfg);
}

static void test_config_errors(void)
{
    expect_error("experiments:\n  - name: e\n    control: a\n    variants:\n"
                 "      - {name: a, allocation: 0.5}\n      - {name: b, allocation: 0.6}\n"
                 "    metrics:\n      - {name: m, type: conversion, event: purchase}\n",
                 "bad.yaml:4:");   /* names the variants line */
    expect_error("experiments:\n  - name: e\n    control: z\n    variants:\n"
                 "      - {name: a, allocation: 0.5}\n      - {name: b, allocation: 0.5}\n"
                 "    metrics:\n      - {name: m, type: conversion, event: purchase}\n",
                 "control \"z\"");
    expect_error("experiments:\n  - name: e\n    control: a\n    variants:\n"
                 "      - {name: a, allocation: 0.5}\n      - {name: b, allocation: 0.5}\n"
                 "    metrics:\n      - {name: m, type: numeric, event: purchase}\n",
                 "set tau");
    expect_error("experiments:\n  - name: e\n    control: a\n    variants:\n"
                 "      - {name: a, allocation: 0.5}\n      - {name: b, allocation: 0.5}\n"
                 "    metrics:\n      - {name: m, type: conversion, event: purchase, primary: true}\n"
                 "      - {name: n, type: conversion, event: click, primary: true}\n",
                 "more than one primary");
    expect_error("experiments:\n  - name: e\n    control: a\n    colour: red\n    variants:\n"
                 "      - {name: a, allocation: 0.5}\n      - {name: b, allocation: 0.5}\n"
                 "    metrics:\n      - {name: m, type: conversion, event: purchase}\n",
                 "colour");
    expect_error("experiments:\n  - name: e\n    control: a\n    start: yesterday\n    variants:\n"
                 "      - {name: a, allocation: 0.5}\n      - {name: b, allocation: 0.5}\n"
                 "    metrics:\n      - {name: m, type: conversion, event: purchase}\n",
                 "bad.yaml:4:");
}

TEST_MAIN(test_engine, test_state_roundtrip, test_config_errors)

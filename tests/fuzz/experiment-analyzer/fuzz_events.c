/* fuzz_events.c — experiment-analyzer's record path on well-formed Events
 * (fzrec.h): every field, user ids from empty to 1 MiB (NUL, invalid
 * UTF-8), experiment and variant names the config knows and others,
 * NaN/inf/denormal values, times at +-2^62 and the int64 limits, thousands
 * of attrs; two experiments with conversion, numeric (sum, mean), duration
 * and custom-name metrics, windows, exposure: any and exposure-only, a
 * third with CUPED covariates, ratios and quantiles; in
 * the default mode and the mergeable one (exact sums, analyze.h).
 *
 * Properties (abort on violation, the sanitizers catch the rest): ea_event
 * answers one of its documented codes; the result rows name experiments,
 * metrics and variants in range, and their user counts add up to at most
 * the exposed users. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../../../stages/experiment-analyzer/analyze.h"
#include "../../../stages/experiment-analyzer/config.h"
#include "../fzrec.h"
#include "log.h"

static const char yaml[] =
    "experiments:\n"
    "  - name: exp\n"
    "    control: control\n"
    "    variants:\n"
    "      - {name: control, allocation: 0.5}\n"
    "      - {name: b, allocation: 0.5}\n"
    "    metrics:\n"
    "      - {name: purchase_rate, type: conversion, event: purchase, window: 1d, primary: true, tau: 0.02}\n"
    "      - {name: revenue, type: numeric, event: purchase, aggregate: sum, tau: 2}\n"
    "      - {name: rating, type: numeric, event: rating, aggregate: mean, tau: 0.5}\n"
    "      - {name: time_to_click, type: duration, event: click, goal: minimize, tau: 30}\n"
    "      - {name: wished, type: conversion, event: wishlist, tau: 0.01}\n"
    "  - name: treatment\n"
    "    control: control\n"
    "    exposure: exposure\n"
    "    sequential: off\n"
    "    variants:\n"
    "      - {name: control, allocation: 0.3}\n"
    "      - {name: b, allocation: 0.3}\n"
    "      - {name: treatment, allocation: 0.4}\n"
    "    metrics:\n"
    "      - {name: clicked, type: conversion, event: click, primary: true}\n"
    /* CUPED (a named and a typed covariate), ratios, quantiles */
    "  - name: kinds\n"
    "    control: control\n"
    "    min_sample_size: 2\n"
    "    variants:\n"
    "      - {name: control, allocation: 0.5}\n"
    "      - {name: b, allocation: 0.5}\n"
    "    metrics:\n"
    "      - {name: rev, type: numeric, event: purchase, covariate: pre, tau: 2}\n"
    "      - {name: buy, type: conversion, event: purchase, covariate: rating, window: 1h, tau: 0.1}\n"
    "      - {name: ctr, type: ratio, event: click, aggregate: count, denominator: view, tau: 0.1}\n"
    "      - {name: rps, type: ratio, event: purchase, denominator: session, window: 1d, tau: 1}\n"
    "      - {name: ttc90, type: duration, event: click, quantile: 0.9}\n"
    "      - {name: rating50, type: numeric, event: rating, aggregate: mean, quantile: 0.5}\n"
    "      - {name: clicks, type: numeric, event: click, aggregate: count, quantile: 0.99}\n";

static const char *const words[] = {
    "exp", "treatment", "control", "b", "c", "u1", "u2", "u3", "wishlist", "purchase", "click", "i1", "",
    "kinds", "pre", "session",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ea_config cfg;
    static int init;
    if (!init) {
        log_init("experiment-analyzer", "error");
        char err[300];
        if (ea_config_load_string("fuzz.yaml", yaml, &cfg, err, sizeof err) != 0) {
            fprintf(stderr, "fuzz_events: %s\n", err);
            abort();
        }
        fzrec_words = words;
        fzrec_nwords = (int)(sizeof words / sizeof *words);
        init = 1;
    }
    fz_in in = fz_in_make(data, size);
    uint8_t mode = fz_u8(&in);
    ea_engine *ea = ea_new(&cfg, (mode & 1) ? 3 : 100000);
    /* the mode of --emit partials / --merge: exact sums, looks on demand */
    if ((mode & 2) && ea_set_mergeable(ea) < 0) abort();
    arena a;
    arena_init(&a, 0);
    fb_builder b;
    fb_builder_init(&b);
    for (int i = 0; i < 64 && in.n; i++) {
        int rc = ea_event(ea, fzrec_make(&in, &a, &b, &Event_desc));
        if (rc != EA_OK && rc != EA_UNKNOWN_VARIANT && rc != EA_NO_USER && rc != EA_BAD_USER) abort();
    }
    ea_look_all(ea);
    const ea_row *rows;
    int n = ea_results(ea, &rows);
    uint64_t users = 0;
    for (int i = 0; i < n; i++) {
        const ea_row *r = &rows[i];
        if (r->exp < 0 || r->exp >= cfg.nexperiments) abort();
        const ea_experiment_cfg *e = &cfg.experiments[r->exp];
        if (r->metric < 0 || r->metric >= e->nmetrics || r->variant < 0 || r->variant >= e->nvariants) abort();
        if (r->metric == 0) users += r->users;
    }
    if (users > ea_users(ea) * (uint64_t)cfg.nexperiments) abort();
    ea_free(ea);
    fb_builder_free(&b);
    arena_free(&a);
    return 0;
}

/* fuzz_config.c — libFuzzer target for experiment-analyzer's YAML config
 * (yamlcfg.h field tables + the cross-field checks of config.c).
 *
 * Any input: loading must not crash, leak or read out of bounds; a refusal
 * must carry a message "NAME:LINE..." naming the file. An accepted config
 * must satisfy what the rest of the stage relies on (2..16 variants,
 * allocations summing to 1, cumulative bucket bounds ending at 10000, a
 * control and a primary metric in range, alpha in (0, 0.5), tau > 0 under
 * msprt), and must run: a few events through the engine, the result rows,
 * and the assignment of a user id, all on the accepted config. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../../../stages/experiment-analyzer/analyze.h"
#include "../../../stages/experiment-analyzer/assign.h"
#include "../../../stages/experiment-analyzer/config.h"

#define FZ_CHECK(c) do { if (!(c)) abort(); } while (0)

static void fz_check_config(const ea_config *cfg)
{
    FZ_CHECK(cfg->nexperiments >= 1);
    for (int x = 0; x < cfg->nexperiments; x++) {
        const ea_experiment_cfg *e = &cfg->experiments[x];
        FZ_CHECK(e->name && e->name[0]);
        FZ_CHECK(e->nvariants >= 2 && e->nvariants <= EA_MAX_VARIANTS);
        FZ_CHECK(e->nmetrics >= 1 && e->nmetrics <= EA_MAX_METRICS);
        FZ_CHECK(e->control_idx >= 0 && e->control_idx < e->nvariants);
        FZ_CHECK(e->primary_idx >= 0 && e->primary_idx < e->nmetrics);
        FZ_CHECK(e->alpha > 0 && e->alpha < 0.5);
        double sum = 0;
        for (int v = 0; v < e->nvariants; v++) {
            sum += e->variants[v].allocation;
            FZ_CHECK(v == 0 || e->bound[v] >= e->bound[v - 1]);
        }
        FZ_CHECK(fabs(sum - 1) <= 1e-6);
        FZ_CHECK(e->bound[e->nvariants - 1] == EA_BUCKETS);
        for (int m = 0; m < e->nmetrics; m++) {
            const ea_metric_cfg *mc = &e->metrics[m];
            FZ_CHECK(mc->name && mc->event);
            FZ_CHECK(mc->window >= 0);
            if (e->sequential == EA_SEQ_MSPRT) FZ_CHECK(mc->tau > 0);
        }
        int v = ea_assign(e, "fuzz-user", 9);
        FZ_CHECK(v >= 0 && v < e->nvariants);
    }
}

static void fz_run_engine(const ea_config *cfg)
{
    ea_engine *ea = ea_new(cfg, 64);
    FZ_CHECK(ea != NULL);
    const ea_experiment_cfg *e = &cfg->experiments[0];
    static const char *const users[] = { "u1", "u2", "u3", "u4" };
    for (int i = 0; i < 4; i++) {
        Event ev;
        Event_init(&ev);
        ev.ts = 1795000000000000LL + i;
        ev.user_id = FB_STR(users[i]);
        ev.type = EventType_exposure;
        ev.experiment = FB_STR(e->name);
        if (i & 1) ev.variant = FB_STR(e->variants[i % e->nvariants].name);
        FZ_CHECK(ea_event(ea, &ev) == EA_OK);
        for (int m = 0; m < e->nmetrics; m++) {
            Event me;
            Event_init(&me);
            me.ts = ev.ts + 1000000;
            me.user_id = ev.user_id;
            me.value = i + 0.5;
            if (e->metrics[m].event_type >= 0) me.type = (EventType)e->metrics[m].event_type;
            else { me.type = EventType_custom; me.name = FB_STR(e->metrics[m].event); }
            FZ_CHECK(ea_event(ea, &me) == EA_OK);
        }
    }
    ea_look_all(ea);
    const ea_row *rows;
    int n = ea_results(ea, &rows), want = 0;
    for (int x = 0; x < cfg->nexperiments; x++)
        want += cfg->experiments[x].nvariants * cfg->experiments[x].nmetrics;
    FZ_CHECK(n == want);
    for (int i = 0; i < n; i++) {
        FZ_CHECK(!isnan(rows[i].p_value) && rows[i].p_value >= 0 && rows[i].p_value <= 1);
        FZ_CHECK(!isnan(rows[i].srm_p));
    }
    ea_free(ea);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 16) return 0;
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0;                       /* an embedded NUL just ends the text */
    ea_config cfg;
    char err[512] = "";
    if (ea_config_load_string("fuzz.yaml", text, &cfg, err, sizeof err) == 0) {
        fz_check_config(&cfg);
        fz_run_engine(&cfg);
        ea_config_free(&cfg);
    } else {
        FZ_CHECK(strncmp(err, "fuzz.yaml", 9) == 0);
    }
    free(text);
    return 0;
}

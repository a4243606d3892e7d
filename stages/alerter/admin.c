/* admin.c — `alerter ack` and `alerter silence` (admin.h): flags, checks
 * and messages; the rows they write are store.c's. */
#include "admin.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "engine.h"
#include "log.h"
#include "state.h"
#include "store.h"
#include "timefmt.h"

static cli_common ack_common;
static const cli_opt ack_opts[] = {
    { "state", 0, CLI_STR, &ack_common.state, NULL, "PATH.db", "the alerter's state database", 0, 0, .required = 1 },
    { 0 }
};
static const cli_spec ack_spec = {
    .stage = "alerter",
    .summary = "acknowledge a firing alert: it stops repeating and escalating until it resolves",
    .usage = "alerter ack FINGERPRINT... --state DB",
    .example = "alerter ack 3f2a9c0d11e4b7a5 --state /var/lib/streamrec/prod/alerter.db",
    .opts = ack_opts,
};

int al_ack_main(int argc, char **argv)
{
    int first = cli_parse(argc, argv, &ack_spec, &ack_common);
    if (first >= argc) cli_usage_error(&ack_spec, "give the FINGERPRINT of a firing alert");
    for (int i = first; i < argc; i++) {
        uint64_t fp;
        if (al_fp_parse(argv[i], &fp) < 0)
            cli_usage_error(&ack_spec, "'%s' is not a fingerprint (16 lower-case hex digits)", argv[i]);
    }
    cli_start(&ack_spec, &ack_common);
    state *st = state_open(ack_common.state, "alerter", AL_STATE_VERSION, al_state_schema);
    if (!st) return 1;
    int status = 0;
    sqlite3 *db = state_db(st);
    for (int i = first; i < argc; i++) {
        int k = al_store_ack(db, argv[i]);
        if (k == 0) {
            log_error("%s: no firing alert with this fingerprint in %s", argv[i], ack_common.state);
            status = 1;
        } else if (k < 0) {
            log_error("%s: %s", ack_common.state, sqlite3_errmsg(db));
            status = 1;
        } else {
            log_info("acknowledged %s", argv[i]);
        }
    }
    state_close(st);
    return status;
}

static const char *sil_rule, *sil_starts, *sil_ends, *sil_comment;
static cli_list sil_labels;
static cli_common sil_common;
static const cli_opt sil_opts[] = {
    { "state", 0, CLI_STR, &sil_common.state, NULL, "PATH.db", "the alerter's state database", 0, 0, .required = 1 },
    { "rule", 0, CLI_STR, &sil_rule, NULL, "NAME", "silence this rule's alerts (default: any rule)", 0, 0 },
    { "label", 'l', CLI_LIST, &sil_labels, NULL, "KEY=VALUE,...", "alerts whose labels have these values", 0, 0 },
    { "starts", 0, CLI_STR, &sil_starts, NULL, "TIME", "event time it starts (ISO 8601)", 0, 0, .required = 1 },
    { "ends", 0, CLI_STR, &sil_ends, NULL, "TIME", "event time it ends (ISO 8601, exclusive)", 0, 0, .required = 1 },
    { "comment", 0, CLI_STR, &sil_comment, NULL, "TEXT", "why (kept in the database)", 0, 0 },
    { 0 }
};
static const cli_spec sil_spec = {
    .stage = "alerter",
    .summary = "add a silence to the state database: matching alerts are not notified between --starts and --ends "
               "(event time); the running alerter reads it within a second",
    .usage = "alerter silence --state DB [--rule NAME] [--label K=V]... --starts TIME --ends TIME [--comment TEXT]",
    .example = "alerter silence --state alerter.db --label host=web-3 --starts 2026-11-23T10:00Z --ends 2026-11-23T12:00Z",
    .opts = sil_opts,
};

int al_silence_main(int argc, char **argv)
{
    int first = cli_parse(argc, argv, &sil_spec, &sil_common);
    if (first < argc) cli_usage_error(&sil_spec, "unexpected argument '%s'", argv[first]);
    int64_t starts, ends;
    if (time_parse_iso(sil_starts, strlen(sil_starts), &starts) < 0)
        cli_usage_error(&sil_spec, "--starts: give an ISO 8601 time");
    if (time_parse_iso(sil_ends, strlen(sil_ends), &ends) < 0)
        cli_usage_error(&sil_spec, "--ends: give an ISO 8601 time");
    if (ends <= starts) cli_usage_error(&sil_spec, "--ends is not after --starts");
    if (!sil_rule && !sil_labels.n) cli_usage_error(&sil_spec, "give --rule or --label (a silence of everything is a mistake)");
    size_t cap = 1;
    for (int i = 0; i < sil_labels.n; i++) cap += strlen(sil_labels.items[i]) + 1;
    char *lb = malloc(cap);
    if (!lb) log_fatal("out of memory");
    size_t o = 0;
    for (int i = 0; i < sil_labels.n; i++) {
        const char *kv = sil_labels.items[i], *eq = strchr(kv, '=');
        if (!eq || eq == kv || strpbrk(kv, "\x1e\x1f"))
            cli_usage_error(&sil_spec, "--label: '%s' is not KEY=VALUE", kv);
        memcpy(lb + o, kv, (size_t)(eq - kv)); o += (size_t)(eq - kv); lb[o++] = 0x1f;
        memcpy(lb + o, eq + 1, strlen(eq + 1)); o += strlen(eq + 1); lb[o++] = 0x1e;
    }
    cli_start(&sil_spec, &sil_common);
    state *st = state_open(sil_common.state, "alerter", AL_STATE_VERSION, al_state_schema);
    if (!st) { free(lb); return 1; }
    sqlite3 *db = state_db(st);
    int64_t id;
    int status = al_store_add_silence(db, sil_rule, lb, o, starts, ends, sil_comment, &id) < 0;
    if (status == 0) log_kv(LOG_INFO, "silence added", "\"id\":%lld", (long long)id);
    else log_error("%s: %s", sil_common.state, sqlite3_errmsg(db));
    state_close(st);
    free(lb);
    return status;
}

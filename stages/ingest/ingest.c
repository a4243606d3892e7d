/* ingest.c — the front of ingest.h: the member names ingest understands,
 * a refusal's reason and sentence, and the life cycle (init, free, one
 * line to the JSON-lines reader in jsonl.c or the CSV reader in csv.c).
 * Fields become records in record.c. */
#include "ingest.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"

/* ---- field table ---------------------------------------------------------- */

/* Order matters to nobody but this table; names are the JSON member names. */
const char *const ingest_field_names[ING_NFIELDS] = {
    [F_EVENT_ID] = "event_id", [F_TS] = "ts", [F_TIMESTAMP] = "timestamp",
    [F_USER_ID] = "user_id", [F_ITEM_ID] = "item_id", [F_SESSION_ID] = "session_id",
    [F_EVENT_TYPE] = "event_type", [F_VALUE] = "value", [F_SOURCE] = "source",
    [F_POSITION] = "position", [F_EXPERIMENT] = "experiment", [F_VARIANT] = "variant",
    [F_METADATA] = "metadata", [F_LABELS] = "labels", [F_METRIC_NAME] = "metric_name",
    [F_METRIC] = "metric", [F_MODEL_ID] = "model_id", [F_MODEL_VERSION] = "model_version",
    [F_METRICS] = "metrics", [F_ENDPOINT] = "endpoint", [F_DURATION_MS] = "duration_ms",
    [F_STATUS] = "status", [F_SAMPLE_ID] = "sample_id",
};

const char *const ingest_reasons[] = {
    "bad_json", "not_an_object", "bad_utf8", "bad_csv", "missing_field", "wrong_type", "too_long",
    "bad_timestamp", "implausible_timestamp", "line_too_long", "rate_limited", NULL,
};

_Static_assert(ING_NFIELDS <= 32, "fields present on a line are a uint32_t bitmask");

void ingest_fields_init(ing_val *f)
{
    static ing_val tmpl[ING_NFIELDS];
    if (!tmpl[0].name)
        for (int i = 0; i < ING_NFIELDS; i++) tmpl[i].name = ingest_field_names[i];
    memcpy(f, tmpl, sizeof tmpl);
}

int ingest_field_index(const char *name, size_t len)
{
    return ing_field_index(name, len);
}

/* ---- refusal ---------------------------------------------------------------- */

int ing_bad(ingest *g, const char *reason, const char *fmt, ...)
{
    g->reason = reason;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->detail, sizeof g->detail, fmt, ap);
    va_end(ap);
    g->n_bad++;
    return ING_BAD;
}

int ingest_rate_limited(ingest *g, const char *user_id)
{
    return ing_bad(g, "rate_limited", "user_id %.60s is over --rate-limit (%g events/s, burst %g)",
                   user_id, g->c.rate_per_s, g->c.rate_burst);
}

/* ---- lifecycle --------------------------------------------------------------------- */

int ingest_init(ingest *g, const ingest_conf *c, char *err, size_t errlen)
{
    memset(g, 0, sizeof *g);
    g->c = *c;
    ingest_fields_init(g->jf);   /* its template is built now, before any parser thread reads it */
    if (!g->c.max_string) g->c.max_string = 1024;
    if (!g->c.max_attrs) g->c.max_attrs = 64;
    json_doc_init(&g->doc);
    jw_init(&g->jw);
    arena_init(&g->ar, 0);
    g->kv = calloc(g->c.max_attrs + ING_BUILTIN_LABELS, sizeof *g->kv);
    g->extra = calloc(g->c.max_attrs, sizeof *g->extra);
    if (!g->kv || !g->extra || dedup_init(&g->dd, g->c.dedup_window) || dedup_set_span(&g->dd, g->c.dedup_span_us)
        || ratelimit_init(&g->rl, g->c.rate_per_s, g->c.rate_burst, g->c.rate_users)) {
        snprintf(err, errlen, "out of memory (dedup window %llu ids, rate-limit table %u users)",
                 (unsigned long long)g->c.dedup_window, g->c.rate_users);
        ingest_free(g);
        return -1;
    }
    for (int i = 0; i < g->c.nmap; i++)
        if (ingest_field_index(g->c.map[i].field, strlen(g->c.map[i].field)) < 0) {
            snprintf(err, errlen, "--map %s=%s: '%s' is not a field ingest knows", g->c.map[i].field,
                     g->c.map[i].column, g->c.map[i].field);
            ingest_free(g);
            return -1;
        }
    return 0;
}

void ingest_free(ingest *g)
{
    json_doc_free(&g->doc);
    jw_free(&g->jw);
    arena_free(&g->ar);
    dedup_free(&g->dd);
    ratelimit_free(&g->rl);
    free(g->kv);
    free(g->extra);
    free(g->samples);
    ingest_csv_free(g);
    memset(g, 0, sizeof *g);
}

int ingest_line(ingest *g, const char *line, size_t len, int64_t now)
{
    arena_reset(&g->ar);
    g->nkv = 0;
    g->nkv_builtin = 0;
    g->id_hash_ok = 0;
    g->no_nul = 0;
    g->now_line = now;
    g->reason = NULL;
    g->detail[0] = 0;
    g->sample_id = (fb_str){ 0 };
    if (!(g->c.csv && g->csv_open)) g->rec_no++;
    int rc = g->c.csv ? ingest_csv_line(g, line, len, now) : ing_json_line(g, line, len, now);
    if (rc == ING_OUT) g->n_lines_ok++;
    return rc;
}

/* fuzz_line.c — libFuzzer target for ingest's line parser. The first byte
 * picks JSON or CSV (with a fixed header and mapping); the rest is split at
 * newlines and fed line by line, as stream_in_next_line would. Every line
 * must come back as records, a refusal with a known reason (ingest_reasons)
 * and a detail, a duplicate, or (CSV) a header / continuation; emitted
 * records must encode. */
#include "fzingest.h"

static fb_builder fz_b;

static int fz_emit(void *ctx, const fbrec_desc *d, const void *rec, const void *key, size_t keylen)
{
    (void)ctx;
    fbrec_encode(&fz_b, d, rec, 1);
    size_t len;
    if (!fb_data(&fz_b, &len) || len < 8) abort();
    if (!key && keylen) abort();
    return 0;
}

/* A refusal reason must be one of the documented ones (the metrics list). */
static int fz_known(const char *reason)
{
    for (int i = 0; ingest_reasons[i]; i++)
        if (!strcmp(reason, ingest_reasons[i])) return 1;
    return 0;
}

typedef struct fz_run { ingest *g; int64_t now; } fz_run;

static void fz_line(void *ctx, const char *line, size_t len)
{
    fz_run *r = ctx;
    int rc = ingest_line(r->g, line, len, r->now);
    if (rc == ING_BAD && (!r->g->reason || !r->g->detail[0] || !fz_known(r->g->reason))) abort();
    if (rc == ING_FAIL) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    if (!init) { fb_builder_init(&fz_b); init = 1; }
    if (size < 1) return 0;
    ingest_conf c;
    memset(&c, 0, sizeof c);
    c.csv = data[0] & 1;
    c.max_line = 4096;
    c.max_string = 128;
    c.max_attrs = 16;
    c.max_skew_us = 86400000000LL;
    c.dedup_window = 8;
    c.rate_per_s = (data[0] & 2) ? 1 : 0;
    c.rate_arrival = (data[0] & 4) != 0;
    c.rate_burst = 2;
    c.rate_users = 16;
    c.emit = fz_emit;
    char err[200];
    if (c.csv) {
        c.event_type = "rating";
        ingest_map_add(&c, "user_id=u", err, sizeof err);
        ingest_map_add(&c, "value=v", err, sizeof err);
    }
    static ingest g;
    if (ingest_init(&g, &c, err, sizeof err)) abort();
    if (c.csv) ingest_line(&g, "u,v,ts,x", 8, 1795428000000000LL);
    /* a fixed arrival time, or 0: the clock read when a line needs it */
    fz_run r = { &g, (data[0] & 8) ? 0 : 1795428000000000LL };
    fz_lines(data + 1, size - 1, fz_line, &r);
    if (ingest_finish(&g) == ING_BAD && (!g.reason || !fz_known(g.reason))) abort();
    ingest_free(&g);
    return 0;
}

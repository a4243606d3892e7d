/* fbcat — the record stream's cat: records to JSON lines (the default),
 * JSON lines to records (--encode TYPE), counts per type (--count), and a
 * filter by type (--type). See README.md. This file is the stage on the
 * runner (runner.h): decoding reads records, encoding lines. flags.c holds
 * the flags; two modes keep loops of their own: a Kafka topic read without
 * a group and kcat's output (peek.c), and the verified copy of records
 * between byte streams (pass.c), which writes runs of records at once. */
#include <stdio.h>
#include <string.h>
#include "flags.h"
#include "json.h"
#include "pass.h"
#include "peek.h"
#include "runner.h"
#include "sdnotify.h"

static fbcat_flags fl;

typedef struct fbcat_main {
    stream_in *in;
    stream_out *out;
    json_doc doc;           /* --encode: the line parsed, */
    arena a;                /* and the record built from it */
    int counted;            /* --count: the counts were printed */
} fbcat_main;

static int fbcat_init(void *ctx, runner *r)
{
    fbcat_main *m = ctx;
    m->in = runner_in(r);
    m->out = runner_out(r);
    /* Counting, or copying records between byte streams, never looks inside
     * a record: verify each one (same checks, same rejects), skip decoding. */
    if (!fl.encode && (fl.count || (!strcmp(fl.common.format, "records") && !stream_in_is_kafka(m->in) &&
                                    strncmp(fl.common.out, "kafka://", 8) != 0)))
        stream_in_set_verify_only(m->in, 1);
    json_doc_init(&m->doc);
    arena_init(&m->a, 0);
    return RUNNER_OK;
}

static int fbcat_decode(void *ctx, runner *r, stream_rec *rec)
{
    fbcat_main *m = ctx;
    if (!fbcount_wanted(&fl.fc, rec->type))
        return RUNNER_SKIP;
    if (fl.count)
        fbcount_add(&fl.fc, rec->type);
    else if (stream_write_rec(m->out, rec) < 0)
        return RUNNER_FAIL;
    return RUNNER_OK;
}

static int fbcat_encode(void *ctx, runner *r, stream_line *l)
{
    fbcat_main *m = ctx;
    AnyRecord rec;
    char err[256];
    size_t k = 0;
    while (k < l->len && (l->ptr[k] == ' ' || l->ptr[k] == '\t'))
        k++;
    if (k == l->len)
        return RUNNER_SKIP;   /* blank line */
    if (l->too_long) {
        stream_reject(m->in, &l->pos, "too_long", "line longer than --max-record", l->ptr, l->len);
        return RUNNER_SKIP;
    }
    if (json_parse(&m->doc, l->ptr, l->len) < 0) {
        char msg[220];
        snprintf(msg, sizeof msg, "column %zu: %s", m->doc.err_offset + 1, m->doc.err);
        stream_reject(m->in, &l->pos, "bad_json", msg, l->ptr, l->len);
        return RUNNER_SKIP;
    }
    arena_reset(&m->a);
    if (fb_from_json(fl.encode, &m->doc, json_root(&m->doc), &rec, &m->a, err, sizeof err) < 0) {
        stream_reject(m->in, &l->pos, "bad_record", err, l->ptr, l->len);
        return RUNNER_SKIP;
    }
    return stream_write(m->out, fl.encode, &rec, NULL, 0) < 0 ? RUNNER_FAIL : RUNNER_OK;
}

/* --count: the counts, before the last sync (fini prints them after a
 * failed read: what was read before an error is counted too) */
static int fbcat_finish(void *ctx, runner *r)
{
    fbcat_main *m = ctx;
    if (!fl.count)
        return 0;
    m->counted = 1;
    return fbcount_print(&fl.fc, m->out, fl.json_counts);
}

static void fbcat_fini(void *ctx, runner *r)
{
    fbcat_main *m = ctx;
    if (m->in && m->out && fl.count && !m->counted)
        (void)fbcount_print(&fl.fc, m->out, fl.json_counts);
    if (m->in)
        sd_stopping();
    arena_free(&m->a);
    json_doc_free(&m->doc);
}

int main(int argc, char **argv)
{
    fbcat_flags_start(argc, argv, &fl);
    if (fl.peek || fl.kcat)
        return fbcat_peek_main(&fl.pc, &fl.fc, fl.peek, fl.json_counts);
    if (fbcat_pass_applies(&fl.common, fl.encode != NULL, fl.count, fl.types.n))
        return fbcat_pass(&fl.common);
    fbcat_main m = { 0 };
    const runner_def def = {
        .stage = "fbcat",
        /* a quiet input flushes --out (stream.h) and commits at the next sync point */
        .quiet_sync_us = INT64_MAX,
        .record = fbcat_decode, .line = fl.encode ? fbcat_encode : NULL,
        .max_line = fl.common.max_record > 0 ? (size_t)fl.common.max_record : 16u << 20,
        .init = fbcat_init, .finish = fbcat_finish, .fini = fbcat_fini,
    };
    return runner_main(&def, &fl.common, &m);
}

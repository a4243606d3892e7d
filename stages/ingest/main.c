/* ingest — JSON lines or CSV from stdin, files (.zst) or Kafka into Event and
 * Sample records; refusals go to --dead-letter with a reason (ingest.h). */
#include <signal.h>
#include "flags.h"
#include "log.h"
#include "metrics.h"
#include "par.h"
#include "sdnotify.h"
#include "sig.h"
#include "stream.h"
#include "timefmt.h"

static ingest_flags fl;

/* Where the sequential loop's records go, and the line they come from. */
typedef struct emit_ctx {
    stream_out *out;
    stream_in *in;
    const stream_pos *pos;      /* the line's, when its time is noted (Kafka with --max-partition-skew) */
} emit_ctx;

static int emit(void *ctx, const fbrec_desc *d, const void *rec, const void *key, size_t keylen)
{
    emit_ctx *e = ctx;
    int64_t ts = d == &Event_desc ? ((const Event *)rec)->ts : d == &Sample_desc ? ((const Sample *)rec)->ts : 0;
    /* its input is text: the freshness gauge follows what it writes (metrics.h) */
    if (ts) metrics_note_event_time(ts);
    /* an input partition's event time is known only once its line is
     * parsed: noted per partition, it decides which partition is read next */
    if (ts && e->pos) stream_in_note_time(e->in, e->pos, ts);
    return stream_write(e->out, d, rec, key, keylen);
}

/* A quiet Kafka input: what was read is delivered and committed now, not
 * when the next line comes. Else a rebalance meanwhile (its own commit can
 * be refused: "rebalance in progress") hands the partitions on at the last
 * commit, and their new owner writes again, late, what this one wrote. */
static uint64_t quiet_synced;
static void quiet_tick(void *ctx)
{
    ingest_run *r = ctx;
    if (r->failed || stream_in_count(r->in) == quiet_synced) return;
    if (stream_sync(r->in, r->out)) { r->failed = 1; sig_request_stop(); return; }
    quiet_synced = stream_in_count(r->in);
}

int main(int argc, char **argv)
{
    ingest_flags_start(argc, argv, &fl);
    ingest_conf *c = &fl.conf;
    cli_common *common = &fl.common;
    stream_in *in = stream_in_open(common->in, common);
    if (!in) return 1;
    stream_out *out = stream_out_open(common->out, common);
    if (!out) { stream_in_close(in); return 1; }
    stream_line line;
    static emit_ctx ectx;
    ectx.out = out;
    ectx.in = in;
    if (stream_in_is_kafka(in) && fl.max_partition_skew > 0) {
        stream_in_set_max_partition_skew(in, fl.max_partition_skew);
        ectx.pos = &line.pos;   /* the sequential loop's: Kafka input is never threaded (par.c) */
    }
    c->emit = emit;
    c->emit_ctx = &ectx;
    stream_out_set_encoder(out, &Event_desc, ingest_event_encoder, NULL);   /* evenc.c: the same bytes, faster */
    static ingest g;
    char err[320];
    if (ingest_init(&g, c, err, sizeof err)) ingest_usage_error(err);
    /* every reason at zero from the start, so alerts on them exist before the first */
    for (int i = 0; ingest_reasons[i]; i++)
        metrics_counter_l("streamrec_records_invalid_total", "Records refused as invalid, by reason.", "reason",
                          ingest_reasons[i]);
    metrics_series *m_dups = metrics_counter("streamrec_ingest_duplicates_total", "Events dropped as duplicates (--dedup-window)");
    metrics_series *m_events = metrics_counter("streamrec_ingest_events_total", "Event records written");
    metrics_series *m_samples = metrics_counter("streamrec_ingest_samples_total", "Sample records written");
    sd_ready();

    stream_pos first_pos = { 0 };
    int rc = 0, par = 0;
    ingest_run run = { .in = in, .out = out, .g = &g, .max_line = c->max_line, .strict = common->strict,
                       .m_dups = m_dups, .m_events = m_events, .m_samples = m_samples,
                       .every_line = stream_in_is_kafka(in) };
    if (stream_in_is_kafka(in)) stream_in_set_tick(in, 500, quiet_tick, &run);
    /* Kafka to Kafka: several instances in one group write into each
     * output partition; watermark marks tell its readers how far each
     * input partition is (schemas/README.md "Watermark marks") */
    if (stream_in_is_kafka(in) && !stream_out_is_json(out) && stream_in_set_marks(in, out) == 0)
        log_kv(LOG_INFO, "watermark marks on", "\"producer\":\"%s\"", stream_in_marks_producer(in));
    if (fl.threads >= 2 && ingest_par_ok(c, in, common->out) && ingest_run_par(&run, c, (int)fl.threads) == 0) {
        par = 1;
        rc = run.rc;
    }
    while (!par && (rc = stream_in_next_line(in, &line, c->max_line)) > 0) {
        if (line.too_long) {
            ingest_run_too_long(&run, &line.pos, line.ptr, line.len);
            continue;
        }
        if (!g.csv_open) {
            first_pos = line.pos;
            ingest_set_pos(&g, line.pos.topic, line.pos.partition, line.pos.offset);
        }
        uint64_t ev0 = g.n_events, sm0 = g.n_samples;
        int r = ingest_line(&g, line.ptr, line.len, 0);   /* the clock only if the line needs it */
        size_t rl = line.len;
        const char *raw = r == ING_BAD && c->csv ? ingest_csv_raw(&g, &rl) : line.ptr;
        /* before the outcome, which may commit: at least this line's records come again */
        if (fl.crash_after && stream_in_count(in) >= (uint64_t)fl.crash_after) {
            (void)stream_flush(out);   /* every record since the last commit is out: all of them come again */
            raise(SIGKILL);
        }
        if (ingest_run_outcome(&run, r, &first_pos, g.reason, g.detail, raw, rl, ev0, sm0)) break;
    }
    int failed = run.failed, usage = run.usage;
    uint64_t too_long = run.too_long;
    if (!failed && rc >= 0 && ingest_finish(&g) == ING_BAD) {
        size_t rl;
        const char *raw = ingest_csv_raw(&g, &rl);
        ingest_run_reject(&run, &first_pos, g.reason, g.detail, raw, rl);
    }
    if (!failed && stream_sync(in, out)) failed = 1;
    stream_align_stats al;
    stream_in_align_stats(in, &al);
    log_kv(LOG_INFO, "done", "\"lines\":%llu,\"ok\":%llu,\"refused\":%llu,\"duplicates\":%llu,"
           "\"events\":%llu,\"samples\":%llu,\"rate_limit_untracked\":%llu,\"dedup_left_early\":%llu,"
           "\"held_back\":%llu,\"pauses\":%llu,\"marks\":%llu,\"threads\":%d",
           (unsigned long long)stream_in_count(in), (unsigned long long)g.n_lines_ok,
           (unsigned long long)(g.n_bad + too_long), (unsigned long long)g.n_dups,
           (unsigned long long)g.n_events, (unsigned long long)g.n_samples,
           (unsigned long long)g.rl.untracked, (unsigned long long)g.dd.early,
           (unsigned long long)al.held, (unsigned long long)al.pauses,
           (unsigned long long)stream_in_marks_written(in), par ? (int)fl.threads : 1);
    sd_stopping();
    ingest_free(&g);
    stream_in_close(in);
    int oc = stream_out_close(out);
    ingest_flags_free(&fl);
    if (usage) return 2;
    return (failed || rc < 0 || oc) ? 1 : 0;
}

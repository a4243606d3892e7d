/* stream.c — record and line streams over byte streams (io.c + frame.c) and
 * Kafka (kafka.c), behind stream.h.
 *
 * Input: a byte stream is read through a frame_reader; Kafka messages come
 * from a kafka_src. Either way each buffer is checked (length, identifier)
 * and decoded by fbrec_decode into an arena that is reset per record; what
 * fails is handed to stream_reject and reading goes on.
 *
 * Output: records are encoded into a builder owned by the stream_out and
 * written size-prefixed (byte streams) or as one Kafka message each; with
 * --format json, fb_to_json plus a newline (Kafka: no newline).
 *
 * Every open stream_out is on a list so that (1) an input about to wait for
 * more data flushes them first — a trickle of input never leaves results
 * sitting in a buffer — and (2) a Kafka rebalance can flush them before it
 * commits the partitions it is about to lose. */
#include "stream.h"

#include <errno.h>
#if defined(__SSE2__) && defined(__x86_64__)
#include <emmintrin.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "deadletter.h"
#include "frame.h"
#include "fbjson.h"
#include "io.h"
#include "json.h"
#include "kafka.h"
#include "log.h"
#include "metrics.h"
#include "reckey.h"
#include "sig.h"
#include "timefmt.h"
#include "wmark.h"

#define STREAM_SYNC_RECORDS 10000
#define STREAM_SYNC_US      1000000
#define STREAM_KAFKA_POLL_MS 200
#define STREAM_FLUSH_MS     60000      /* Kafka acks: give up (exit 1, no commit) after a minute */

struct stream_in {
    io_reader *io;              /* byte stream, or NULL */
    frame_reader fr;
    kafka_src *ks;              /* Kafka, or NULL */
    arena arena;                /* decoded vectors of the current record */
    deadletter *dl;
    int dl_reported;            /* the dead letter's failure was logged: once is enough */
    int strict;
    int line_mode;              /* set by stream_in_next_line: dead letters as text */
    int skip_rest;              /* line mode: discard up to the next '\n' first */
    int failed;                 /* a fatal error was reported: keep returning -1 */
    int ended;
    uint64_t count, line_no;
    uint64_t sync_count;
    int64_t sync_us;
    int64_t beat_us;            /* coarse clock at stream_sync_due's last heartbeat */
    char *kline; size_t kline_cap;   /* Kafka line mode: NUL-terminated copy */
    int verify_only;            /* records verified, not decoded (r->as unset) */
    void (*tick)(void *); void *tick_ctx; int tick_ms;   /* stream_in_set_tick */
    int (*before_commit)(void *); void *before_commit_ctx; /* stream_in_set_before_revoke */
    int no_commit;                 /* stream_in_set_no_commit */
    int64_t max_ts;             /* byte streams: largest event time noted */
    int64_t idle_ms;            /* --idle-timeout */
    int64_t lag_us;             /* when it was last updated */
    struct stream_marks *marks; /* stream_in_set_marks: this input's progress goes there */
};

struct stream_out {
    io_writer *io;              /* byte stream, or NULL */
    kafka_sink *ks;             /* Kafka, or NULL */
    int json;
    fb_json_style json_style;   /* --json-style */
    int failed;                 /* an error was logged already */
    fb_builder b;
    const fbrec_desc *enc_d;       /* stream_out_set_encoder */
    stream_encode_fn enc;
    void *enc_ctx;
    json_writer jw;
    stream_out *next;           /* the open-outputs list */
};

static stream_out *stream_outs;

/* Watermark marks written (stream_in_set_marks): what was said last, to
 * say it again only when it changed or a second passed. Memory: 48 bytes
 * per input partition owned (now, last, ip grow with the assignment), at
 * most STREAM_MARK_MAX of them (a reader refuses a mark naming more). */
#define STREAM_MARK_MAX WMARK_MAX_PARTITIONS
#define STREAM_MARK_REPEAT_US 1000000
typedef struct stream_marks {
    stream_out *out;
    char producer[96];
    fb_builder b;
    kafka_progress *now, *last;
    InputProgress *ip;          /* the mark's inputs, built from now */
    int cap;                    /* entries of now, last and ip */
    int nlast;
    int32_t last_partitions;
    int64_t at_us;              /* when marks last went out; 0 never */
    uint64_t written;           /* messages */
    metrics_series *m_written;
} stream_marks;
static metrics_series *stream_m_marks_read, *stream_m_marks_bad;
static int stream_marks_write(stream_in *in, int force);
static int stream_marks_grow(struct stream_marks *mk, int cap);
static int stream_marks_busy(stream_in *in);
static int stream_out_fail(stream_out *o, const char *what);
static void stream_note_mark(stream_in *in, const kafka_msg *m, const stream_pos *pos);

const char *stream_pos_str(const stream_pos *p, char *buf, size_t n)
{
    if (!p) snprintf(buf, n, "?");
    else if (p->topic) snprintf(buf, n, "%s/%d@%lld", p->topic, (int)p->partition, (long long)p->offset);
    else snprintf(buf, n, "%s %lld", p->is_line ? "line" : "byte", (long long)p->offset);
    return buf;
}

static int stream_is_kafka_uri(const char *uri) { return strncmp(uri, "kafka://", 8) == 0; }

int stream_uri_check(const char *uri, char *err, size_t n)
{
    if (!uri || !*uri) { snprintf(err, n, "empty URI (use - for stdin/stdout)"); return -1; }
    if (stream_is_kafka_uri(uri)) {
        char brokers[512], topic[256], group[256];
        int eof;
        return kafka_uri_parse(uri, brokers, sizeof brokers, topic, sizeof topic,
                               group, sizeof group, &eof, err, n);
    }
    const char *colon = strstr(uri, "://");
    if (colon) {
        snprintf(err, n, "unsupported URI scheme in \"%s\" (-, a path, or kafka://host:port/topic)", uri);
        return -1;
    }
    return 0;
}

/* ---- the open-outputs list ---- */

/* The reader went away: end quietly (stream.h, STREAM_EXIT_PIPE). */
static void stream_out_pipe_check(const stream_out *o)
{
    if (o->io && io_werrno(o->io) == EPIPE) {
        log_debug("%s: the reader went away, stopping", io_werror(o->io));
        exit(STREAM_EXIT_PIPE);
    }
}

static int stream_out_flush_io(stream_out *o)
{
    if (!o->io) return 0;
    if (io_flush(o->io) == 0) return 0;
    stream_out_pipe_check(o);
    if (!o->failed) { o->failed = 1; log_error("%s", io_werror(o->io)); }
    return -1;
}

/* Input is about to wait: push out what is buffered (byte streams only;
 * Kafka producers send on their own). */
static void stream_idle(void *ctx)
{
    stream_in *in = ctx;
    for (stream_out *o = stream_outs; o; o = o->next) (void)stream_out_flush_io(o);
    if (in && in->dl) (void)deadletter_flush(in->dl);
}

/* Kafka is taking partitions away: flush everything derived so far, then
 * commit, so the next owner starts right after what we delivered. */
static void stream_revoke(void *ctx)
{
    stream_in *in = ctx;
    int rc = 0;
    /* the stage first delivers what it still holds (a batch, unacknowledged writes) */
    if (in->before_commit && in->before_commit(in->before_commit_ctx)) rc = -1;
    for (stream_out *o = stream_outs; o; o = o->next)
        if (stream_flush(o)) rc = -1;
    if (in->dl && deadletter_flush(in->dl)) rc = -1;
    if (rc == 0) { if (!in->no_commit) (void)kafka_src_commit(in->ks); }
    else log_warn("rebalance: output not flushed, offsets not committed (records will be read again)");
}

/* A Kafka address nothing answers at, at start: one plain line instead of
 * retrying forever. Exit 2 for a name that resolves nowhere (a wrong
 * address, which no restart fixes: the units' RestartPreventExitStatus=2);
 * 1 when the brokers did not answer within --connect-timeout (Kafka may be
 * starting: systemd restarts us). Once running, outages are retried. */
static void stream_kafka_reachable(const char *flag, const char *uri, const char *brokers,
                                   const cli_common *c)
{
    if (!c || c->connect_timeout <= 0) return;
    char err[512], t[32];
    int rc = kafka_reachable(brokers, &c->kafka_conf, c->connect_timeout / 1000, err, sizeof err);
    if (!rc) return;
    if (rc == KAFKA_UNRESOLVED) cli_die(2, "%s %s: %s", flag, uri, err);
    time_format_duration(c->connect_timeout, t, sizeof t);
    cli_die(1, "%s %s: no Kafka broker answered within %s (--connect-timeout): %s", flag, uri, t, err);
}

/* ---- input ---- */

stream_in *stream_in_open(const char *uri, const cli_common *c)
{
    char err[512];
    if (!uri) uri = "-";
    if (stream_uri_check(uri, err, sizeof err)) { log_error("--in %s: %s", uri, err); return NULL; }
    stream_in *in = calloc(1, sizeof *in);
    if (!in) { log_error("--in %s: out of memory", uri); return NULL; }
    in->strict = c ? c->strict : 0;
    in->max_ts = INT64_MIN;
    in->idle_ms = c && c->idle_timeout > 0 ? c->idle_timeout / 1000 : 0;
    arena_init(&in->arena, 0);
    if (c && c->dead_letter) {
        in->dl = deadletter_open(c->dead_letter, &c->kafka_conf, err, sizeof err);
        if (!in->dl) { log_error("--dead-letter %s: %s", c->dead_letter, err); goto fail; }
    }
    if (stream_is_kafka_uri(uri)) {
        char brokers[512], topic[256], group[256];
        int eof = 0;
        if (kafka_uri_parse(uri, brokers, sizeof brokers, topic, sizeof topic,
                            group, sizeof group, &eof, err, sizeof err)) {
            log_error("--in %s: %s", uri, err); goto fail;
        }
        if (!group[0]) { log_error("--in %s: Kafka input needs ?group=NAME", uri); goto fail; }
        stream_kafka_reachable("--in", uri, brokers, c);
        in->ks = kafka_src_open(brokers, topic, group, eof, c ? &c->kafka_conf : NULL, err, sizeof err);
        if (!in->ks) { log_error("--in %s: %s", uri, err); goto fail; }
        kafka_src_set_revoke(in->ks, stream_revoke, in);
    } else {
        in->io = io_reader_open(uri, err, sizeof err);
        if (!in->io) { log_error("--in: %s", err); goto fail; }
        frame_reader_init(&in->fr, in->io, c && c->max_record > 0 ? (uint64_t)c->max_record : 0);
        io_reader_set_idle(in->io, stream_idle, in);
    }
    in->sync_us = mono_coarse_us();
    return in;
fail:
    deadletter_close(in->dl, NULL, 0);
    arena_free(&in->arena);
    free(in);
    return NULL;
}

/* Printable form of a 4-byte identifier for messages. */
static void stream_ident_str(const uint8_t *p, char *out)
{
    char *o = out;
    for (int i = 0; i < 4; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\') *o++ = (char)p[i];
        else o += sprintf(o, "\\x%02x", p[i]);
    }
    *o = 0;
}

/* Every stage's freshness gauge (metrics_note_event_time): the record's
 * own event time, where its type has one. */
void stream_rec_note_event_time(const stream_rec *r)
{
    const fbrec_desc *d = r->type;
    if (d == &Event_desc) metrics_note_event_time(r->as.event.ts);
    else if (d == &Sample_desc) metrics_note_event_time(r->as.sample.ts);
    else if (d == &Metric_desc) {
        /* drift's forecasts are stamped at a time still to come: not a time seen */
        const Metric *m = &r->as.metric;
        if (!(m->name.len >= 9 && m->name.ptr && !memcmp(m->name.ptr, "forecast.", 9)))
            metrics_note_event_time(m->window_end);
    }
    else if (d == &Drift_desc) metrics_note_event_time(r->as.drift.ts);
    else if (d == &ExperimentResult_desc) metrics_note_event_time(r->as.experiment_result.ts);
    else if (d == &ExperimentPartial_desc) metrics_note_event_time(r->as.experiment_partial.last_ts);
    else if (d == &Recommendation_desc) metrics_note_event_time(r->as.recommendation.ts);
    /* Alert: no event time of its own */
}

/* Check and decode one buffer into *r: 1 ok, 0 rejected. */
static int stream_decode(stream_in *in, const uint8_t *data, uint32_t len, int prefixed,
                         const stream_pos *pos, stream_rec *r)
{
    char err[256];
    if (len < 8) {
        snprintf(err, sizeof err, "record of %u bytes is too short for a FlatBuffer (at least 8)", len);
        stream_reject(in, pos, "bad_record", err, data, len);
        return 0;
    }
    char ident[5];
    memcpy(ident, data + 4, 4); ident[4] = 0;
    const fbrec_desc *d = fbrec_desc_by_ident(ident);
    if (!d) {
        char shown[20];
        stream_ident_str(data + 4, shown);
        snprintf(err, sizeof err, "unknown record identifier \"%s\"", shown);
        stream_reject(in, pos, "unknown_type", err, data, len);
        return 0;
    }
    void *as = in->verify_only ? NULL : &r->as;   /* NULL: fbrec_decode only verifies */
    if (as) arena_reset(&in->arena);              /* a verify allocates nothing */
    int bad = fbrec_decode(d, data, len, prefixed, as, &in->arena, err, sizeof err);
    if (bad && !prefixed) {
        /* A Kafka message cut out of a size-prefixed stream (kcat -P of our
         * frames) is aligned as if the prefix were still there: accept it. */
        char err2[256];
        arena_reset(&in->arena);
        bad = fbrec_decode(d, data, len, 1, as, &in->arena, err2, sizeof err2);
    }
    if (bad) {
        char msg[320];
        snprintf(msg, sizeof msg, "%s: %s", fbrec_desc_name(d), err);
        stream_reject(in, pos, "bad_record", msg, data, len);
        return 0;
    }
    r->type = d;
    r->data = data;
    r->len = len;
    r->pos = *pos;
    if (as) stream_rec_note_event_time(r);
    return 1;
}

static int stream_in_fail(stream_in *in)
{
    in->failed = 1;
    return -1;
}

static void stream_lag_set(void *ctx, const char *topic, int32_t partition, int64_t lag)
{
    (void)ctx;
    char p[16];
    snprintf(p, sizeof p, "%d", (int)partition);
    metrics_series *m = metrics_gauge_l2("streamrec_kafka_consumer_lag",
                                         "Kafka input: messages between the consumer position and the high "
                                         "watermark, per topic and partition.", "topic", topic, "partition", p);
    if (lag >= 0) metrics_set(m, (double)lag);
}

/* Refresh the consumer-lag gauges, at most once a second unless forced
 * (at close, so the metrics written at exit show the final lag). */
static void stream_lag_refresh(stream_in *in, int force)
{
    if (!in->ks) return;
    int64_t now = mono_coarse_us();
    if (!force && now - in->lag_us < STREAM_SYNC_US) return;
    in->lag_us = now;
    kafka_src_lag_each(in->ks, stream_lag_set, NULL);
}

/* Next Kafka message: 1, 0 end/stop, -1 fatal. Waits in short polls so a
 * stop request is seen; flushes outputs once before waiting. */
static int stream_kafka_next(stream_in *in, kafka_msg *m)
{
    int idle = 0;
    for (;;) {
        if (sig_stop_requested()) return 0;
        int slice = in->tick && in->tick_ms < STREAM_KAFKA_POLL_MS ? in->tick_ms : STREAM_KAFKA_POLL_MS;
        int rc = kafka_src_poll(in->ks, idle ? slice : 0, m);
        if (rc == 1) {
            if (m->ts_ms >= 0) metrics_note_kafka_message_time(m->ts_ms * 1000);
            /* our marks say its partition is busy before anything read from it is written */
            if (in->marks && kafka_src_mark_wanted(in->ks) && stream_marks_busy(in)) return stream_in_fail(in);
            return 1;
        }
        if (rc == 2) return 0;
        if (rc < 0) return stream_in_fail(in);
        if (!idle) { idle = 1; stream_idle(in); }
        else if (in->tick) in->tick(in->tick_ctx);   /* each quiet slice */
        /* a partition gone idle is said at once; the rest at least every second */
        if (in->marks && stream_marks_write(in, 0) < 0) return stream_in_fail(in);
        stream_lag_refresh(in, 0);
        metrics_tick();
    }
}

/* A failing dead letter (a full disk) is reported once, however many
 * places notice it afterwards (the next read, the next sync, the close). */
static void stream_dl_report(stream_in *in, const char *msg)
{
    if (in->dl_reported) return;
    in->dl_reported = 1;
    log_error("%s", msg);
}

static int stream_check_dl(stream_in *in)
{
    if (in->dl && deadletter_error(in->dl)) {
        stream_dl_report(in, deadletter_error(in->dl));
        return stream_in_fail(in);
    }
    return 0;
}

int stream_in_next(stream_in *in, stream_rec *r)
{
    if (in->failed) return -1;
    if (in->ended) return 0;
    for (;;) {
        if (stream_check_dl(in)) return -1;
        if (sig_stop_requested()) return 0;
        r->key = NULL; r->keylen = 0;   /* the rest is set on success (no memset: hot path) */
        if (in->ks) {
            kafka_msg m;
            int rc = stream_kafka_next(in, &m);
            if (rc <= 0) { if (rc == 0) in->ended = 1; return rc; }
            stream_pos pos = { m.topic, m.partition, m.offset, 0 };
            metrics_add(metrics_bytes_in, (double)m.len);   /* kafka.c does not count bytes */
            if (m.len > UINT32_MAX) {
                stream_reject(in, &pos, "bad_record", "message larger than 4 GiB", NULL, 0);
                continue;
            }
            if (wmark_is_mark(m.val, m.len)) {   /* the partition's progress, not a record (wmark.h) */
                stream_note_mark(in, &m, &pos);
                continue;
            }
            if (!stream_decode(in, m.val, (uint32_t)m.len, 0, &pos, r)) continue;
            r->key = m.key; r->keylen = m.keylen;
        } else {
            const uint8_t *data; uint32_t len; uint64_t off;
            int rc = frame_next(&in->fr, &data, &len, &off);
            if (rc == IO_STOP) return 0;
            if (rc == 0) { in->ended = 1; return 0; }
            if (rc < 0) {
                log_error("%s: %s", io_rname(in->io), in->fr.err);
                return stream_in_fail(in);
            }
            stream_pos pos = { NULL, 0, (int64_t)off, 0 };
            if (!stream_decode(in, data, len, 1, &pos, r)) continue;
        }
        in->count++;
        metrics_add(metrics_records_in, 1);
        return 1;
    }
}

/* A watermark mark read from Kafka: noted by the source, never returned;
 * counted; a bad one refused as any bad record is. */
static void stream_note_mark(stream_in *in, const kafka_msg *m, const stream_pos *pos)
{
    char err[256], msg[300];
    AnyRecord rec;
    if (!stream_m_marks_read)
        stream_m_marks_read = metrics_counter("streamrec_watermark_marks_read_total",
                                              "Watermark marks read from Kafka input partitions (not records)");
    arena_reset(&in->arena);
    int bad = fbrec_decode(&Watermark_desc, m->val, m->len, 0, &rec, &in->arena, err, sizeof err);
    if (!bad) bad = kafka_src_note_mark(in->ks, m->topic, m->partition, &rec.watermark, err, sizeof err);
    if (bad) {
        if (!stream_m_marks_bad)
            stream_m_marks_bad = metrics_counter("streamrec_watermark_marks_refused_total",
                                                 "Watermark marks refused (also in records_invalid_total)");
        metrics_add(stream_m_marks_bad, 1);
        snprintf(msg, sizeof msg, "Watermark: %s", err);
        stream_reject(in, pos, "bad_record", msg, m->val, m->len);
        return;
    }
    metrics_add(stream_m_marks_read, 1);
}

/* The tail of a line too long, returned last time: discarded. 1 done (or
 * nothing to skip), 0 end of input or stop, -1 read error. */
static int stream_skip_rest(stream_in *in)
{
    io_reader *io = in->io;
    if (!in->skip_rest) return 1;
    for (;;) {
        ssize_t n = io_fill(io, 1);
        if (n == IO_STOP) return 0;
        if (n < 0) return -1;
        if (n == 0) { in->skip_rest = 0; return 0; }
        uint8_t *nl = memchr(io_rptr(io), '\n', (size_t)n);
        if (nl) { io_consume(io, (size_t)(nl - io_rptr(io)) + 1); break; }
        io_consume(io, (size_t)n);
    }
    in->skip_rest = 0;
    return 1;
}

/* Byte-stream line: 1, 0 end, -1 fatal. */
static int stream_byte_line(stream_in *in, stream_line *l, size_t max_line)
{
    io_reader *io = in->io;
    ssize_t n;
    int sk = stream_skip_rest(in);
    if (sk < 0) goto ioerr;
    if (sk == 0) return 0;
    size_t window = max_line + 2;   /* room for "\r\n" after a line of exactly max_line */
    size_t scanned = 0;
    n = io_fill(io, 1);
    for (;;) {
        if (n == IO_STOP) return 0;
        if (n < 0) goto ioerr;
        if (n == 0) return 0;
        size_t avail = (size_t)n, lim = avail < window ? avail : window;
        uint8_t *p = io_rptr(io);
        uint8_t *nl = scanned < lim ? memchr(p + scanned, '\n', lim - scanned) : NULL;
        if (nl) {
            size_t len = (size_t)(nl - p), used = len + 1;
            if (len > 0 && p[len - 1] == '\r') len--;
            l->too_long = len > max_line;
            if (l->too_long) len = max_line;
            p[len] = 0;
            l->ptr = (const char *)p; l->len = len;
            io_consume(io, used);
            break;
        }
        if (avail >= window) {   /* no newline within reach: return a prefix */
            p[max_line] = 0;   /* not '\n' (memchr saw it), part of the skipped tail */
            l->ptr = (const char *)p; l->len = max_line; l->too_long = 1;
            io_consume(io, max_line + 1);
            in->skip_rest = 1;
            break;
        }
        scanned = lim;
        ssize_t m = io_fill(io, avail + 1);
        if (m >= 0 && (size_t)m == avail) {   /* end of input: last line has no newline */
            size_t len = avail;
            p = io_rptr(io);
            if (len > 0 && p[len - 1] == '\r') len--;
            l->too_long = len > max_line;   /* max_line + 1 bytes: as if a '\n' followed */
            if (l->too_long) len = max_line;
            p[len] = 0;   /* io guarantees a spare byte after the data */
            l->ptr = (const char *)p; l->len = len;
            io_consume(io, avail);
            break;
        }
        n = m;
    }
    in->line_no++;
    l->pos = (stream_pos){ NULL, 0, (int64_t)in->line_no, 1 };
    return 1;
ioerr:
    log_error("%s: line %llu: %s", io_rname(io), (unsigned long long)in->line_no + 1,
              io_rerror(io) ? io_rerror(io) : "read error");
    return stream_in_fail(in);
}

/* Kafka line: each message value is one line (a trailing newline dropped). */
static int stream_kafka_line(stream_in *in, stream_line *l, size_t max_line)
{
    kafka_msg m;
    int rc = stream_kafka_next(in, &m);
    if (rc <= 0) return rc;
    size_t len = m.len;
    const char *v = m.val;
    if (len > 0 && v[len - 1] == '\n') len--;
    if (len > 0 && v[len - 1] == '\r') len--;
    l->too_long = len > max_line;
    if (l->too_long) len = max_line;
    if (len + 1 > in->kline_cap) {
        size_t cap = in->kline_cap ? in->kline_cap : 4096;
        while (cap < len + 1) cap *= 2;
        char *nb = realloc(in->kline, cap);
        if (!nb) { log_error("out of memory for a %zu-byte line", len); return stream_in_fail(in); }
        in->kline = nb; in->kline_cap = cap;
    }
    if (len) memcpy(in->kline, v, len);
    in->kline[len] = 0;
    l->ptr = in->kline; l->len = len;
    l->pos = (stream_pos){ m.topic, m.partition, m.offset, 0 };
    return 1;
}

int stream_in_next_line(stream_in *in, stream_line *l, size_t max_line)
{
    if (in->failed) return -1;
    if (in->ended) return 0;
    in->line_mode = 1;
    if (stream_check_dl(in)) return -1;
    if (sig_stop_requested()) return 0;
    if (max_line == 0) max_line = 1;
    memset(l, 0, sizeof *l);
    int rc = in->ks ? stream_kafka_line(in, l, max_line) : stream_byte_line(in, l, max_line);
    if (rc == 1) { in->count++; metrics_add(metrics_records_in, 1); }
    else if (rc == 0 && !sig_stop_requested()) in->ended = 1;
    return rc;
}

/* The length of p[0..n) up to and including its max-th '\n' (all of it
 * when it has fewer), and in *count how many '\n' that takes: counted three
 * vector instructions per 16 bytes, in pieces of 4,032 bytes (byte counters
 * summed before they can wrap); the piece holding the max-th is walked.
 * With dst, the bytes are copied there on the way (n bytes of room; past
 * the cut, what it copies is garbage). */
static inline __attribute__((always_inline)) size_t stream_nl_cut(const uint8_t *p, size_t n, uint64_t max,
                                                                  uint64_t *count, uint8_t *dst)
{
    uint64_t c = 0;
    size_t i = 0;
#if defined(__SSE2__) && defined(__x86_64__)
    const __m128i nl = _mm_set1_epi8('\n'), zero = _mm_setzero_si128();
    while (n - i >= 64) {
        size_t rounds = (n - i) / 64, k;
        if (rounds > 63) rounds = 63;
        __m128i acc = zero;
        for (k = 0; k < rounds; k++) {
            const uint8_t *q = p + i + 64 * k;
            __m128i v0 = _mm_loadu_si128((const __m128i *)(const void *)q);
            __m128i v1 = _mm_loadu_si128((const __m128i *)(const void *)(q + 16));
            __m128i v2 = _mm_loadu_si128((const __m128i *)(const void *)(q + 32));
            __m128i v3 = _mm_loadu_si128((const __m128i *)(const void *)(q + 48));
            if (dst) {
                uint8_t *d = dst + (q - p);
                _mm_storeu_si128((__m128i *)(void *)d, v0);
                _mm_storeu_si128((__m128i *)(void *)(d + 16), v1);
                _mm_storeu_si128((__m128i *)(void *)(d + 32), v2);
                _mm_storeu_si128((__m128i *)(void *)(d + 48), v3);
            }
            acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(v0, nl));
            acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(v1, nl));
            acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(v2, nl));
            acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(v3, nl));
        }
        __m128i sum = _mm_sad_epu8(acc, zero);
        uint64_t piece = (uint64_t)_mm_cvtsi128_si64(sum) + (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(sum, sum));
        if (c + piece >= max) break;   /* the max-th is in this piece: walked below */
        c += piece;
        i += 64 * rounds;
    }
#endif
    if (dst)
        for (; i < n && c < max; i++) c += (dst[i] = p[i]) == '\n';
    else
        for (; i < n && c < max; i++) c += p[i] == '\n';
    *count = c;
    return i;
}

/* stream_in_next_lines_to's copy of a single line. */
static const char *stream_lines_copy(const uint8_t *p, size_t len, char *(*room)(void *ctx, size_t len, int alone),
                                     void *ctx, int alone)
{
    char *dst = room(ctx, len, alone);
    if (dst) memcpy(dst, p, len);
    return dst;
}

int stream_in_next_lines(stream_in *in, stream_lines *ls, size_t max_line, size_t max_bytes, uint32_t max_lines)
{
    return stream_in_next_lines_to(in, ls, max_line, max_bytes, max_lines, NULL, NULL);
}

int stream_in_next_lines_to(stream_in *in, stream_lines *ls, size_t max_line, size_t max_bytes, uint32_t max_lines,
                            char *(*room)(void *ctx, size_t len, int alone), void *ctx)
{
    memset(ls, 0, sizeof *ls);
    if (in->failed) return -1;
    if (in->ended) return 0;
    if (in->ks) { log_error("stream_in_next_lines: not for Kafka input"); return stream_in_fail(in); }
    in->line_mode = 1;
    if (stream_check_dl(in)) return -1;
    if (sig_stop_requested()) return 0;
    if (max_line == 0) max_line = 1;
    if (max_lines == 0) max_lines = 1;
    io_reader *io = in->io;
    int rc = stream_skip_rest(in);
    if (rc < 0) goto ioerr;
    if (rc == 0) goto end;
    size_t window = max_line + 2;   /* as stream_byte_line: room for "\r\n" after max_line bytes */
    size_t scanned = 0;
    ssize_t n = io_fill(io, 1);
    const uint8_t *p, *nl;
    for (;;) {   /* until the first line is whole, or known too long */
        if (n == IO_STOP) return 0;
        if (n < 0) goto ioerr;
        if (n == 0) goto end;
        size_t avail = (size_t)n, lim = avail < window ? avail : window;
        p = io_rptr(io);
        nl = scanned < lim ? memchr(p + scanned, '\n', lim - scanned) : NULL;
        if (nl) break;
        if (avail >= window) {   /* a line over max_line: its prefix, the rest skipped later */
            if (max_line > max_bytes) { ls->len = max_line; return 2; }
            ls->ptr = (const char *)p; ls->len = max_line; ls->too_long = 1; ls->n = 1;
            if (room && !(ls->ptr = stream_lines_copy(p, max_line, room, ctx, 1))) return -1;
            io_consume(io, max_line + 1);   /* p[max_line] is not '\n': part of the tail */
            in->skip_rest = 1;
            goto counted;
        }
        scanned = lim;
        ssize_t m = io_fill(io, avail + 1);
        if (m >= 0 && (size_t)m == avail) {   /* end of input: the last line has no '\n' */
            if (avail > max_bytes) { ls->len = avail; return 2; }
            ls->ptr = (const char *)io_rptr(io); ls->len = avail; ls->n = 1;
            if (room && !(ls->ptr = stream_lines_copy(io_rptr(io), avail, room, ctx, 0))) return -1;
            io_consume(io, avail);
            goto counted;
        }
        n = m;
    }
    size_t avail = (size_t)n, first = (size_t)(nl - p) + 1;
    if (first > max_bytes) { ls->len = first; return 2; }
    /* every whole line within max_bytes (what is there: no waiting), at
     * most max_lines of them */
    size_t lim = avail < max_bytes ? avail : max_bytes;
    const uint8_t *last = p + lim - 1;
    while (*last != '\n') last--;   /* back at most one line: stops at nl */
    size_t len = (size_t)(last - p) + 1;
    uint64_t cnt;
    if (room) {   /* copied as counted: one pass */
        char *dst = room(ctx, len, 0);
        if (!dst) return -1;
        len = stream_nl_cut(p, len, max_lines, &cnt, (uint8_t *)dst);
        ls->ptr = dst;
    } else {
        len = first + stream_nl_cut(p + first, len - first, max_lines - 1, &cnt, NULL);
        cnt++;
        ls->ptr = (const char *)p;
    }
    ls->len = len; ls->n = (uint32_t)cnt;
    io_consume(io, len);
counted:
    ls->first = (int64_t)in->line_no + 1;
    in->line_no += ls->n;
    in->count += ls->n;
    metrics_add(metrics_records_in, (double)ls->n);
    return 1;
end:
    if (!sig_stop_requested()) in->ended = 1;
    return 0;
ioerr:
    log_error("%s: line %llu: %s", io_rname(io), (unsigned long long)in->line_no + 1,
              io_rerror(io) ? io_rerror(io) : "read error");
    return stream_in_fail(in);
}

void stream_reject(stream_in *in, const stream_pos *pos, const char *reason,
                   const char *detail, const void *raw, size_t rawlen)
{
    char ps[160];
    stream_pos_str(pos, ps, sizeof ps);
    if (!reason) reason = "invalid";
    if (!detail) detail = "";
    metrics_invalid(reason);
    if (in && in->dl)   /* a failure here is reported by the next stream_in_next */
        (void)deadletter_write(in->dl, pos, reason, detail, raw, rawlen, !in->line_mode);
    if (in && in->strict) {
        log_error("%s: %s: %s (--strict: stopping at the first bad input)", ps, reason, detail);
        char err[256];
        if (in->dl && deadletter_close(in->dl, err, sizeof err)) stream_dl_report(in, err);
        in->dl = NULL;
        /* what came before the bad input is delivered (offsets are not
         * committed: a restart reads the bad input again and stops again) */
        for (stream_out *o = stream_outs; o; o = o->next) (void)stream_flush(o);
        exit(1);
    }
    log_warn("%s: %s: %s", ps, reason, detail);
}

void stream_in_set_verify_only(stream_in *in, int on) { in->verify_only = on != 0; }

void stream_in_set_no_commit(stream_in *in) { in->no_commit = 1; }

void stream_in_set_before_revoke(stream_in *in, int (*fn)(void *ctx), void *ctx)
{
    in->before_commit = fn;
    in->before_commit_ctx = ctx;
}

void stream_in_set_tick(stream_in *in, int interval_ms, void (*fn)(void *ctx), void *ctx)
{
    in->tick = fn;
    in->tick_ctx = ctx;
    in->tick_ms = interval_ms > 0 ? interval_ms : STREAM_KAFKA_POLL_MS;
    if (in->io) io_reader_set_tick(in->io, in->tick_ms, fn, ctx);
}

void stream_in_note_time(stream_in *in, const stream_pos *pos, int64_t ts)
{
    if (in->ks) { if (pos->topic) kafka_src_note_time(in->ks, pos->topic, pos->partition, ts); }
    else if (ts > in->max_ts) in->max_ts = ts;
}

int64_t stream_in_event_time(stream_in *in)
{
    return in->ks ? kafka_src_event_time(in->ks, in->idle_ms) : in->max_ts;
}

void stream_in_set_max_partition_skew(stream_in *in, int64_t max_skew)
{
    if (in->ks) kafka_src_set_align(in->ks, max_skew, in->idle_ms, 0);
}

void stream_in_align_stats(stream_in *in, stream_align_stats *st)
{
    memset(st, 0, sizeof *st);
    if (in->ks) kafka_src_align_stats(in->ks, st);
}

int stream_in_owned(stream_in *in, int i, stream_part *out)
{
    return in->ks ? kafka_src_owned(in->ks, i, in->idle_ms, out) : 0;
}

void stream_in_set_commit_limit(stream_in *in, stream_commit_limit_fn fn, void *ctx)
{
    if (in->ks) kafka_src_set_commit_limit(in->ks, fn, ctx);
}

uint64_t stream_in_count(const stream_in *in) { return in->count; }
int stream_in_is_kafka(const stream_in *in) { return in->ks != NULL; }
int stream_in_quiet(const stream_in *in) { return in->io && io_reader_quiet(in->io); }
int stream_in_partition_count(stream_in *in) { return in->ks ? kafka_src_partition_count(in->ks, 10000) : 1; }
struct deadletter *stream_in_dead_letter(stream_in *in) { return in->dl; }

void stream_in_close(stream_in *in)
{
    if (!in) return;
    char err[256];
    if (in->dl && deadletter_close(in->dl, err, sizeof err)) stream_dl_report(in, err);
    io_reader_close(in->io);
    stream_lag_refresh(in, 1);
    kafka_src_close(in->ks);
    arena_free(&in->arena);
    free(in->kline);
    if (in->marks) {
        fb_builder_free(&in->marks->b);
        free(in->marks->now);
        free(in->marks->last);
        free(in->marks->ip);
    }
    free(in->marks);
    free(in);
}

/* ---- watermark marks (wmark.h) ---- */

int stream_in_set_marks(stream_in *in, stream_out *out)
{
    if (!in->ks || !out->ks || out->json || in->marks) return in->marks ? 0 : -1;
    stream_marks *mk = calloc(1, sizeof *mk);
    if (!mk) { log_error("out of memory"); return -1; }
    char host[64] = "";
    if (gethostname(host, sizeof host - 1)) snprintf(host, sizeof host, "?");
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    /* (pid and clock: a restarted instance is another producer) */
    snprintf(mk->producer, sizeof mk->producer, "%s/%ld/%08lx", host, (long)getpid(),
             (unsigned long)((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20)) & 0xffffffffUL);
    mk->out = out;
    if (stream_marks_grow(mk, 16)) {   /* grown later to the partitions owned */
        free(mk->now); free(mk->last); free(mk->ip); free(mk);
        log_error("out of memory");
        return -1;
    }
    fb_builder_init(&mk->b);
    mk->m_written = metrics_counter("streamrec_watermark_marks_written_total",
                                    "Watermark marks written into the output topic's partitions");
    in->marks = mk;
    return 0;
}

const char *stream_in_marks_producer(const stream_in *in) { return in->marks ? in->marks->producer : NULL; }
uint64_t stream_in_marks_written(const stream_in *in) { return in->marks ? in->marks->written : 0; }

static int stream_marks_grow(stream_marks *mk, int cap)
{
    if (cap <= mk->cap) return 0;
    kafka_progress *now = realloc(mk->now, (size_t)cap * sizeof *now);
    if (now) mk->now = now;
    kafka_progress *last = realloc(mk->last, (size_t)cap * sizeof *last);
    if (last) mk->last = last;
    InputProgress *ip = realloc(mk->ip, (size_t)cap * sizeof *ip);
    if (ip) mk->ip = ip;
    if (!now || !last || !ip) return -1;
    mk->cap = cap;
    return 0;
}

/* Say where this input's partitions are, into every partition of the
 * output: when forced (before records of a partition not named busy),
 * when it changed, or a second after the last time. 0 (written, or not
 * due), 1 not written: the input or output topic's partition count is not
 * known (the next call tries again), or -1 (the output failed: logged). */
static int stream_marks_write(stream_in *in, int force)
{
    stream_marks *mk = in->marks;
    int64_t now = mono_coarse_us();
    int32_t partitions;
    int n = kafka_src_progress(in->ks, in->idle_ms, mk->now, mk->cap, &partitions);
    if (n > mk->cap) {   /* more partitions owned than named before: room for them, then again */
        int cap = n < STREAM_MARK_MAX ? n : STREAM_MARK_MAX;
        if (stream_marks_grow(mk, cap)) return stream_out_fail(mk->out, "out of memory for watermark marks");
        n = kafka_src_progress(in->ks, in->idle_ms, mk->now, mk->cap, &partitions);
        if (n > mk->cap) n = mk->cap;
    }
    if (!force && mk->at_us && now - mk->at_us < STREAM_MARK_REPEAT_US && n == mk->nlast &&
        partitions == mk->last_partitions && !memcmp(mk->now, mk->last, (size_t)n * sizeof *mk->now))
        return 0;
    int outp = kafka_sink_partitions(mk->out->ks);
    if (partitions < 1 || outp < 1) return 1;   /* metadata unknown: later */
    InputProgress *ip = mk->ip;
    for (int i = 0; i < n; i++) {
        memset(&ip[i], 0, sizeof ip[i]);
        ip[i].partition = mk->now[i].partition;
        ip[i].idle = (int8_t)mk->now[i].idle;
        ip[i].time = mk->now[i].time;
    }
    Watermark w;
    Watermark_init(&w);
    w.producer = FB_STR(mk->producer);
    w.topic = FB_STR(kafka_src_topic(in->ks));
    w.partitions = partitions;
    w.inputs = ip;
    w.inputs_count = (uint32_t)n;
    w.ts = now_us();
    fbrec_encode(&mk->b, &Watermark_desc, &w, 0);
    size_t len;
    const uint8_t *p = fb_data(&mk->b, &len);
    for (int32_t q = 0; q < outp; q++)
        if (kafka_sink_produce_to(mk->out->ks, q, p, len)) return stream_out_fail(mk->out, "kafka: produce failed");
    mk->written += (uint64_t)outp;
    metrics_add(mk->m_written, outp);
    kafka_src_progress_sent(in->ks, mk->now, n);
    memcpy(mk->last, mk->now, (size_t)n * sizeof *mk->now);
    mk->nlast = n;
    mk->last_partitions = partitions;
    mk->at_us = now;
    return 0;
}

/* The record just read comes from a partition our last marks did not
 * name busy (newly assigned, or idle before): the mark saying it is busy
 * goes out before the record can, or a reader that heard it idle would let
 * windows pass its records. While a topic's partition count is unknown
 * (metadata not answered, the output topic not there yet) it is asked
 * again, a second at a time, for as long as a flush waits for acks
 * (STREAM_FLUSH_MS); past that, or on a stop request, the input fails: the
 * record was neither handed on nor committed, so it is read again. */
static int stream_marks_busy(stream_in *in)
{
    int64_t since = mono_coarse_us();
    for (int waited = 0;; waited++) {
        int rc = stream_marks_write(in, 1);
        if (rc <= 0) {
            if (waited)
                log_kv(LOG_INFO, "watermark mark written after waiting for topic metadata", "\"seconds\":%.1f",
                       (double)(mono_coarse_us() - since) / 1e6);
            return rc;
        }
        if (!waited)
            log_kv(LOG_WARN, "watermark mark waits for topic metadata (partition counts unknown)",
                   "\"in\":\"%s\"", kafka_src_topic(in->ks));
        if (sig_stop_requested() || mono_coarse_us() - since >= (int64_t)STREAM_FLUSH_MS * 1000) {
            log_error("a watermark mark could not be written before the records of a newly busy partition "
                      "(topic metadata unknown): stopping without committing them");
            return -1;
        }
        int64_t t0 = mono_coarse_us();
        kafka_sink_partitions_ask(in->marks->out->ks, 1000);
        int64_t spent = mono_coarse_us() - t0;
        if (spent < 200000) usleep((useconds_t)(200000 - spent));   /* an answer that came at once: no spin */
    }
}

int64_t stream_in_note_part_time(stream_in *in, const stream_pos *pos, int64_t ts)
{
    if (!in->ks) {
        if (ts > in->max_ts) in->max_ts = ts;
        return in->max_ts;
    }
    if (!pos->topic) return INT64_MIN;
    return kafka_src_note_part_time(in->ks, pos->topic, pos->partition, ts, in->idle_ms);
}

int64_t stream_in_part_time(stream_in *in, const stream_pos *pos)
{
    if (!in->ks) return in->max_ts;
    if (!pos->topic) return INT64_MIN;
    return kafka_src_part_time(in->ks, pos->topic, pos->partition, in->idle_ms, NULL);
}

int stream_in_offsets(stream_in *in, stream_offset *out, int max)
{
    return in->ks ? kafka_src_offsets(in->ks, out, max) : 0;
}

void stream_in_set_start(stream_in *in, stream_start_fn fn, void *ctx)
{
    if (in->ks) kafka_src_set_start(in->ks, fn, ctx);
}

/* ---- output ---- */

stream_out *stream_out_open(const char *uri, const cli_common *c)
{
    char err[512];
    if (!uri) uri = "-";
    if (stream_uri_check(uri, err, sizeof err)) { log_error("--out %s: %s", uri, err); return NULL; }
    int zlevel = 0;
    if (io_compress_parse(c ? c->compress : NULL, &zlevel, err, sizeof err)) {
        log_error("--compress: %s", err);
        return NULL;
    }
    stream_out *o = calloc(1, sizeof *o);
    if (!o) { log_error("--out %s: out of memory", uri); return NULL; }
    o->json = c && c->format && strcmp(c->format, "json") == 0;
    if (c && c->json_style && fb_json_style_parse(c->json_style, &o->json_style) < 0)
        o->json_style = FB_JSON_JQ;   /* cli_parse refused anything else */
    if (stream_is_kafka_uri(uri)) {
        char brokers[512], topic[256], group[256];
        int eof;
        if (kafka_uri_parse(uri, brokers, sizeof brokers, topic, sizeof topic,
                            group, sizeof group, &eof, err, sizeof err) == 0) {
            stream_kafka_reachable("--out", uri, brokers, c);
            o->ks = kafka_sink_open(brokers, topic, c ? &c->kafka_conf : NULL, err, sizeof err);
        }
        if (!o->ks) { log_error("--out %s: %s", uri, err); free(o); return NULL; }
    } else {
        o->io = io_writer_open(uri, zlevel, 0, err, sizeof err);
        if (!o->io) { log_error("--out: %s", err); free(o); return NULL; }
    }
    fb_builder_init(&o->b);
    jw_init(&o->jw);
    o->next = stream_outs;
    stream_outs = o;
    return o;
}

static int stream_out_fail(stream_out *o, const char *what)
{
    stream_out_pipe_check(o);
    if (!o->failed) {
        o->failed = 1;
        log_error("%s", what);
    }
    return -1;
}

/* Hand one encoded buffer (or JSON text) to the transport. */
static int stream_emit(stream_out *o, const void *p, size_t n, const void *key, size_t keylen)
{
    if (o->ks) {
        if (kafka_sink_produce(o->ks, p, n, key, keylen)) return stream_out_fail(o, "kafka: produce failed");
        metrics_add(metrics_bytes_out, (double)n);
    } else if (io_write(o->io, p, n)) {
        return stream_out_fail(o, io_werror(o->io));
    }
    metrics_add(metrics_records_out, 1);
    return 0;
}

static int stream_emit_json(stream_out *o, const fbrec_desc *d, const void *rec,
                            const void *key, size_t keylen)
{
    jw_reset(&o->jw);
    fb_to_json_style(d, rec, &o->jw, o->json_style);
    if (!o->ks) jw_newline(&o->jw);   /* a Kafka message is one JSON document */
    return stream_emit(o, o->jw.buf, o->jw.len, key, keylen);
}

int stream_write(stream_out *o, const fbrec_desc *d, const void *rec, const void *key, size_t keylen)
{
    if (o->failed) return -1;
    char kbuf[512];
    if (o->ks && !key) {   /* one key always lands on one partition */
        keylen = record_key(d, rec, kbuf, sizeof kbuf);
        if (keylen) key = kbuf;
    }
    if (o->json) return stream_emit_json(o, d, rec, key, keylen);
    size_t len;
    if (o->enc && d == o->enc_d) {
        const uint8_t *p = o->enc(o->enc_ctx, rec, o->ks == NULL, &len);
        if (p) return stream_emit(o, p, len, key, keylen);
    }
    fbrec_encode(&o->b, d, rec, o->ks == NULL);
    const uint8_t *p = fb_data(&o->b, &len);
    return stream_emit(o, p, len, key, keylen);
}

void stream_out_set_encoder(stream_out *o, const fbrec_desc *d, stream_encode_fn fn, void *ctx)
{
    o->enc_d = d;
    o->enc = fn;
    o->enc_ctx = ctx;
}

int stream_write_rec(stream_out *o, const stream_rec *r)
{
    if (o->failed) return -1;
    /* through stream_write: JSON to Kafka is keyed by the record's own key too */
    if (o->json) return stream_write(o, r->type, &r->as, r->key, r->keylen);
    /* A buffer's alignment counts from its size prefix when it has one, so
     * moving a record between a byte stream and Kafka (adding or dropping
     * the prefix) means building it again; same-kind moves copy the bytes. */
    int from_kafka = r->pos.topic != NULL;
    if (from_kafka != (o->ks != NULL)) return stream_write(o, r->type, &r->as, r->key, r->keylen);
    if (o->ks) {
        if (r->key) return stream_emit(o, r->data, r->len, r->key, r->keylen);
        char kbuf[512];
        size_t kl = record_key(r->type, &r->as, kbuf, sizeof kbuf);
        return stream_emit(o, r->data, r->len, kl ? kbuf : NULL, kl);
    }
    uint8_t pre[FRAME_PREFIX];
    frame_put_len(pre, r->len);
    if (io_write(o->io, pre, sizeof pre)) return stream_out_fail(o, io_werror(o->io));
    return stream_emit(o, r->data, r->len, NULL, 0);
}

int stream_write_framed(stream_out *o, const void *p, size_t len, uint64_t nrec)
{
    if (o->failed) return -1;
    if (o->json || o->ks) return stream_out_fail(o, "stream_write_framed: the output is not a byte stream of records");
    if (io_write(o->io, p, len)) return stream_out_fail(o, io_werror(o->io));
    metrics_add(metrics_records_out, (double)nrec);
    return 0;
}

int stream_write_line(stream_out *o, const char *s, size_t len)
{
    if (o->failed) return -1;
    if (o->ks) return stream_emit(o, s, len, NULL, 0);
    if (io_write(o->io, s, len)) return stream_out_fail(o, io_werror(o->io));
    return stream_emit(o, "\n", 1, NULL, 0);
}

int stream_flush(stream_out *o)
{
    if (!o) return 0;
    if (o->failed) return -1;
    if (o->ks) {
        if (kafka_sink_flush(o->ks, STREAM_FLUSH_MS))
            return stream_out_fail(o, "kafka: not every record was acknowledged by the broker");
        return 0;
    }
    return stream_out_flush_io(o);
}

int stream_out_close(stream_out *o)
{
    if (!o) return 0;
    for (stream_out **pp = &stream_outs; *pp; pp = &(*pp)->next)
        if (*pp == o) { *pp = o->next; break; }
    int rc = o->failed ? -1 : 0;
    char err[256];
    if (o->ks) {
        if (kafka_sink_close(o->ks)) {
            rc = -1;
            if (!o->failed) log_error("kafka: not every record was delivered");
        }
    } else {
        /* flush first: a reader gone at the very end is told apart while the errno is at hand */
        if (!o->failed && stream_out_flush_io(o)) rc = -1;
        if (io_writer_close(o->io, err, sizeof err)) {
            rc = -1;
            if (!o->failed) log_error("%s", err);
        }
    }
    fb_builder_free(&o->b);
    jw_free(&o->jw);
    free(o);
    return rc;
}

int stream_out_is_json(const stream_out *o) { return o->json; }
fb_json_style stream_out_json_style(const stream_out *o) { return o->json_style; }

/* ---- at-least-once bookkeeping ---- */

int stream_sync(stream_in *in, stream_out *out)
{
    int rc = 0;
    if (out && stream_flush(out)) rc = -1;
    if (in) {
        if (in->dl && deadletter_flush(in->dl)) {
            stream_dl_report(in, deadletter_error(in->dl));
            in->failed = 1;
            rc = -1;
        }
        /* commit only what is safely downstream */
        if (rc == 0 && in->ks && !in->no_commit && kafka_src_commit(in->ks)) rc = -1;
        /* then say how far that commit goes */
        if (rc == 0 && in->marks && stream_marks_write(in, 0) < 0) rc = -1;
        stream_lag_refresh(in, 0);
        in->sync_count = in->count;
        in->sync_us = mono_coarse_us();
    }
    return rc;
}

int stream_sync_due(stream_in *in)
{
    /* Called per record. The heartbeat (metrics file, watchdog: both in
     * seconds) reads the precise clock up to twice (~70 ns each on kvm-clock);
     * once per step of the coarse clock (a few ms) is as good. */
    int64_t now = mono_coarse_us();
    if (now != in->beat_us) {
        in->beat_us = now;
        metrics_tick();
    }
    if (in->count - in->sync_count >= STREAM_SYNC_RECORDS) return 1;
    return now - in->sync_us >= STREAM_SYNC_US;
}

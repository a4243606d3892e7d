/* peek.c — fbcat on one FlatBuffer per message (peek.h): a Kafka topic
 * without a group, or kcat's `-f '%R%s'` stream. */
#include "peek.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "arena.h"
#include "deadletter.h"
#include "fbjson.h"
#include "io.h"
#include "json.h"
#include "kafka.h"
#include "log.h"
#include "metrics.h"
#include "sdnotify.h"
#include "sig.h"
#include "timefmt.h"

#define PEEK_POLL_MS 200   /* a stop signal is seen within this */

typedef struct peek_run {
    const fbcat_peek_conf *c;
    fbcount *fc;
    stream_out *out;
    deadletter *dl;
    int json;
    fb_json_style style;
    size_t max_record;
    arena a;
    uint8_t *copy; size_t copy_cap;   /* the aligned copy of a message */
    json_writer jw;
    AnyRecord rec;
} peek_run;

static int peek_init(peek_run *r, const fbcat_peek_conf *c, fbcount *fc, stream_out *out)
{
    memset(r, 0, sizeof *r);
    r->c = c;
    r->fc = fc;
    r->out = out;
    r->json = stream_out_is_json(out);
    r->style = stream_out_json_style(out);
    r->max_record = c->common->max_record > 0 ? (size_t)c->common->max_record : 16u << 20;
    arena_init(&r->a, 0);
    jw_init(&r->jw);
    if (c->common->dead_letter) {
        char err[512];
        r->dl = deadletter_open(c->common->dead_letter, &c->common->kafka_conf, err, sizeof err);
        if (!r->dl) {
            log_error("--dead-letter %s: %s", c->common->dead_letter, err);
            return -1;
        }
    }
    return 0;
}

static int peek_free(peek_run *r)
{
    char err[512];
    int rc = 0;
    if (r->dl && deadletter_close(r->dl, err, sizeof err)) {
        log_error("--dead-letter: %s", err);
        rc = -1;
    }
    arena_free(&r->a);
    jw_free(&r->jw);
    free(r->copy);
    return rc;
}

/* As stream_reject, with this reader's dead letter: 0 go on, -1 --strict. */
static int peek_reject(peek_run *r, const stream_pos *pos, const char *reason, const char *detail,
                       const void *raw, size_t n)
{
    if (r->dl && deadletter_write(r->dl, pos, reason, detail, raw, n, 1) < 0)
        log_error("--dead-letter: %s", deadletter_error(r->dl));
    if (r->c->common->strict) {
        char ps[160];
        metrics_invalid(reason);
        log_error("%s: %s: %s (--strict: stopping at the first bad input)",
                  stream_pos_str(pos, ps, sizeof ps), reason, detail);
        return -1;
    }
    stream_reject(NULL, pos, reason, detail, raw, n);   /* counts and logs */
    return 0;
}

/* "_kafka":{...} inside the record's JSON object (before its closing brace). */
static void peek_meta_json(json_writer *w, const kafka_msg *m)
{
    w->len--;                                   /* the record's '}' */
    w->need_comma = w->buf[w->len - 1] != '{';
    jw_key(w, "_kafka");
    jw_obj_begin(w);
    jw_key(w, "topic"); jw_cstr(w, m->topic);
    jw_key(w, "partition"); jw_int(w, m->partition);
    jw_key(w, "offset"); jw_int(w, m->offset);
    jw_key(w, "key");
    if (!m->key) {
        jw_null(w);
    } else if (json_utf8_valid(m->key, m->keylen)) {
        jw_str(w, m->key, m->keylen);
    } else {   /* not text: base64, said so beside it */
        char *b = malloc(4 * ((m->keylen + 2) / 3) + 1);
        if (!b)
            abort();
        jw_str(w, b, deadletter_base64(m->key, m->keylen, b));
        free(b);
        jw_key(w, "key_encoding"); jw_cstr(w, "base64");
    }
    jw_key(w, "ts_ms");
    if (m->ts_ms < 0) {
        jw_null(w);
        jw_key(w, "ts_iso"); jw_null(w);
    } else {
        char iso[48];
        jw_int(w, m->ts_ms);
        jw_key(w, "ts_iso"); jw_str(w, iso, (size_t)time_format_iso(m->ts_ms * 1000, iso));
        jw_key(w, "ts_type"); jw_cstr(w, m->ts_is_log_append ? "log_append" : "create");
    }
    jw_obj_end(w);
    jw_obj_end(w);
}

/* One unprefixed FlatBuffer: 0 done (written, counted, filtered or
 * rejected), -1 stop (output failed, or --strict). */
static int peek_one(peek_run *r, const uint8_t *val, size_t len, const stream_pos *pos,
                    const kafka_msg *km)
{
    char err[320];
    metrics_add(metrics_bytes_in, (double)len);
    if (len < 8 || len > r->max_record) {
        snprintf(err, sizeof err, len < 8 ? "record of %zu bytes is too short for a FlatBuffer (at least 8)"
                                          : "record of %zu bytes is over --max-record", len);
        return peek_reject(r, pos, len < 8 ? "bad_record" : "too_long", err, val, len < 8 ? len : 0);
    }
    /* aligned for 8-byte fields at the buffer's start, wherever the bytes were */
    if (len > r->copy_cap) {
        free(r->copy);
        r->copy_cap = len < 4096 ? 4096 : len;
        r->copy = malloc(r->copy_cap);   /* malloc: aligned for any scalar */
        if (!r->copy)
            abort();
    }
    memcpy(r->copy, val, len);
    const uint8_t *buf = r->copy;
    char ident[5];
    memcpy(ident, buf + 4, 4);
    ident[4] = 0;
    const fbrec_desc *d = fbrec_desc_by_ident(ident);
    if (!d) {
        char shown[20], *o = shown;
        for (int i = 0; i < 4; i++)
            o += buf[4 + i] >= 0x20 && buf[4 + i] < 0x7f && buf[4 + i] != '"' && buf[4 + i] != '\\'
                     ? sprintf(o, "%c", buf[4 + i]) : sprintf(o, "\\x%02x", buf[4 + i]);
        snprintf(err, sizeof err, "unknown record identifier \"%s\"", shown);
        return peek_reject(r, pos, "unknown_type", err, val, len);
    }
    if (!fbcount_wanted(r->fc, d))
        return 0;
    char derr[256];
    arena_reset(&r->a);
    int bad = fbrec_decode(d, buf, len, 0, &r->rec, &r->a, derr, sizeof derr);
    if (bad) {
        /* a message cut out of a size-prefixed stream (kcat -P of our
         * frames) is aligned as if the prefix were still there */
        char err2[256];
        arena_reset(&r->a);
        bad = fbrec_decode(d, buf, len, 1, &r->rec, &r->a, err2, sizeof err2);
    }
    if (bad) {
        snprintf(err, sizeof err, "%s: %s", fbrec_desc_name(d), derr);
        return peek_reject(r, pos, "bad_record", err, val, len);
    }
    metrics_add(metrics_records_in, 1);
    if (r->c->count_mode) {
        fbcount_add(r->fc, d);
        return 0;
    }
    if (r->json) {
        jw_reset(&r->jw);
        fb_to_json_style(d, &r->rec, &r->jw, r->style);
        if (r->c->meta && km)
            peek_meta_json(&r->jw, km);
        return stream_write_line(r->out, r->jw.buf, r->jw.len);
    }
    return stream_write(r->out, d, &r->rec, km ? km->key : NULL, km ? km->keylen : 0);
}

int fbcat_peek_kafka(const fbcat_peek_conf *c, fbcount *fc, stream_out *out)
{
    char err[512];
    int64_t timeout_ms = c->common->connect_timeout > 0 ? c->common->connect_timeout / 1000 : 10000;
    kafka_peek *k = kafka_peek_open(c->brokers, c->topic, c->partition, c->start, c->stop_at_eof,
                                    &c->common->kafka_conf, timeout_ms, err, sizeof err);
    if (!k) {
        log_error("--in kafka://%s/%s: %s", c->brokers, c->topic, err);
        return -1;
    }
    peek_run r;
    if (peek_init(&r, c, fc, out) < 0) {
        kafka_peek_close(k);
        return -1;
    }
    sd_ready();
    int rc = 0, waited = 0;
    while (!sig_stop_requested()) {
        kafka_msg m;
        int got = kafka_peek_poll(k, waited ? PEEK_POLL_MS : 0, &m, err, sizeof err);
        if (got == 2)
            break;
        if (got < 0) {
            log_error("--in kafka://%s/%s: %s", c->brokers, c->topic, err);
            rc = -1;
            break;
        }
        if (got == 0) {
            /* nothing right now: what was written reaches the reader before we wait */
            if (!waited && stream_flush(out) < 0) {
                rc = -1;
                break;
            }
            waited = 1;
            sd_watchdog_tick();
            continue;
        }
        waited = 0;
        stream_pos pos = { m.topic, m.partition, m.offset, 0 };
        if (peek_one(&r, m.val, m.len, &pos, &m) < 0) {
            rc = -1;
            break;
        }
        sd_watchdog_tick();
    }
    if (peek_free(&r) < 0)
        rc = -1;
    kafka_peek_close(k);
    return rc;
}

int fbcat_peek_kcat(const fbcat_peek_conf *c, fbcount *fc, stream_out *out)
{
    char err[512];
    io_reader *in = io_reader_open(c->common->in, err, sizeof err);
    if (!in) {
        log_error("--in %s: %s", c->common->in, err);
        return -1;
    }
    peek_run r;
    if (peek_init(&r, c, fc, out) < 0) {
        io_reader_close(in);
        return -1;
    }
    sd_ready();
    int rc = 0;
    for (;;) {
        uint64_t off = io_roffset(in);
        ssize_t n = io_fill(in, 4);
        if (n == IO_STOP || n == 0)
            break;
        if (n < 0) {
            log_error("%s: %s", io_rname(in), io_rerror(in));
            rc = -1;
            break;
        }
        if (n < 4) {
            log_error("%s: byte %llu: the stream ends inside a length (kcat -f '%%R%%s' writes 4 bytes, "
                      "big-endian, before each message)", io_rname(in), (unsigned long long)off);
            rc = -1;
            break;
        }
        const uint8_t *p = io_rptr(in);
        uint64_t len = (uint64_t)p[0] << 24 | (uint64_t)p[1] << 16 | (uint64_t)p[2] << 8 | p[3];
        if (len > r.max_record) {
            /* no markers to find the next message by: the stream ends here */
            log_error("%s: byte %llu: length %llu is over --max-record (%zu): not kcat -f '%%R%%s' output?",
                      io_rname(in), (unsigned long long)off, (unsigned long long)len, r.max_record);
            rc = -1;
            break;
        }
        n = io_fill(in, 4 + (size_t)len);
        if (n < 0 && n != IO_STOP) {
            log_error("%s: %s", io_rname(in), io_rerror(in));
            rc = -1;
            break;
        }
        if (n == IO_STOP)
            break;
        if ((uint64_t)n < 4 + len) {
            log_error("%s: byte %llu: the stream ends inside a message of %llu bytes (truncated)",
                      io_rname(in), (unsigned long long)off, (unsigned long long)len);
            rc = -1;
            break;
        }
        stream_pos pos = { NULL, 0, (int64_t)off, 0 };
        int bad = peek_one(&r, io_rptr(in) + 4, (size_t)len, &pos, NULL);
        io_consume(in, 4 + (size_t)len);
        if (bad < 0) {
            rc = -1;
            break;
        }
        sd_watchdog_tick();
    }
    if (peek_free(&r) < 0)
        rc = -1;
    io_reader_close(in);
    return rc;
}

int fbcat_peek_main(const fbcat_peek_conf *c, fbcount *fc, int kafka, int json_counts)
{
    const cli_common *cm = c->common;
    char err[256];
    if (kafka && cm->connect_timeout > 0) {   /* as stream.c does for every Kafka URI */
        int rr = kafka_reachable(c->brokers, &cm->kafka_conf, cm->connect_timeout / 1000, err, sizeof err);
        if (rr == KAFKA_UNRESOLVED)
            cli_die(2, "--in %s: %s", cm->in, err);
        if (rr)
            cli_die(1, "--in %s: no Kafka broker answered within --connect-timeout: %s", cm->in, err);
    }
    stream_out *out = stream_out_open(cm->out, cm);
    if (!out)
        return 1;
    int rc = kafka ? fbcat_peek_kafka(c, fc, out) : fbcat_peek_kcat(c, fc, out);
    if (c->count_mode && fbcount_print(fc, out, json_counts) < 0)
        rc = -1;
    if (rc >= 0 && stream_flush(out) < 0)
        rc = -1;
    sd_stopping();
    int orc = stream_out_close(out);
    return rc < 0 || orc < 0 ? 1 : 0;
}

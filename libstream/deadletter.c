/* deadletter.c — JSON-lines writer for rejected input (deadletter.h). */
#include "deadletter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"
#include "json.h"
#include "kafka.h"
#include "timefmt.h"

struct deadletter {
    io_writer *io;          /* stderr or a file */
    kafka_sink *ks;         /* or a Kafka topic */
    json_writer jw;
    char *b64; size_t b64_cap;
    uint64_t count;
    int err;
    char errmsg[256];
};

deadletter *deadletter_open(const char *uri, const cli_list *conf, char *err, size_t errlen)
{
    deadletter *d = calloc(1, sizeof *d);
    if (!d) { snprintf(err, errlen, "out of memory"); return NULL; }
    jw_init(&d->jw);
    if (strcmp(uri, "-") == 0 || strcmp(uri, "stderr") == 0) {
        d->io = io_writer_fdopen(2, 0, "stderr (dead letter)", 0);
        if (!d->io) snprintf(err, errlen, "out of memory");
    } else if (strncmp(uri, "kafka://", 8) == 0) {
        char brokers[512], topic[256], group[256], e[256];
        int eof;
        if (kafka_uri_parse(uri, brokers, sizeof brokers, topic, sizeof topic,
                            group, sizeof group, &eof, e, sizeof e) == 0)
            d->ks = kafka_sink_open(brokers, topic, conf, e, sizeof e);
        if (!d->ks) snprintf(err, errlen, "%s: %s", uri, e);
    } else {
        d->io = io_writer_open(uri, 0, 1, err, errlen);
    }
    if (!d->io && !d->ks) { jw_free(&d->jw); free(d); return NULL; }
    return d;
}

size_t deadletter_base64(const void *p, size_t n, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const uint8_t *s = p;
    char *o = out;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
        *o++ = tab[v >> 18]; *o++ = tab[(v >> 12) & 63]; *o++ = tab[(v >> 6) & 63]; *o++ = tab[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)s[i] << 16;
        *o++ = tab[v >> 18]; *o++ = tab[(v >> 12) & 63]; *o++ = '='; *o++ = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;
        *o++ = tab[v >> 18]; *o++ = tab[(v >> 12) & 63]; *o++ = tab[(v >> 6) & 63]; *o++ = '=';
    }
    *o = 0;
    return (size_t)(o - out);
}

static int deadletter_fail(deadletter *d, const char *msg)
{
    if (!d->err) {
        d->err = 1;
        snprintf(d->errmsg, sizeof d->errmsg, "dead letter: %s", msg ? msg : "write failed");
    }
    return -1;
}

int deadletter_write(deadletter *d, const stream_pos *pos, const char *reason,
                     const char *detail, const void *raw, size_t rawlen, int binary)
{
    if (d->err) return -1;
    json_writer *w = &d->jw;
    char ps[128], ts[40];
    if (!reason) reason = "invalid";
    if (!detail) detail = "";
    jw_reset(w);
    jw_obj_begin(w);
    jw_key(w, "pos"); jw_cstr(w, stream_pos_str(pos, ps, sizeof ps));
    if (pos->topic) {
        jw_key(w, "topic"); jw_cstr(w, pos->topic);
        jw_key(w, "partition"); jw_int(w, pos->partition);
        jw_key(w, "offset"); jw_int(w, pos->offset);
    } else {
        jw_key(w, pos->is_line ? "line" : "offset"); jw_int(w, pos->offset);
    }
    /* "reason: detail" without building a temporary: one raw string */
    size_t rl = strlen(reason), dl = strlen(detail);
    char *e = malloc(rl + dl + 3);
    if (!e) return deadletter_fail(d, "out of memory");
    memcpy(e, reason, rl);
    size_t el = rl;
    if (dl) { memcpy(e + el, ": ", 2); memcpy(e + el + 2, detail, dl); el += 2 + dl; }
    jw_key(w, "error"); jw_str(w, e, el);
    free(e);
    jw_key(w, "reason"); jw_cstr(w, reason);
    if (dl) { jw_key(w, "detail"); jw_str(w, detail, dl); }
    time_format_iso(now_us(), ts);
    jw_key(w, "ts"); jw_cstr(w, ts);
    if (!raw) rawlen = 0;
    if (!binary && json_utf8_valid(raw ? raw : "", rawlen)) {
        jw_key(w, "raw"); jw_str(w, raw ? raw : "", rawlen);
    } else {
        size_t need = 4 * ((rawlen + 2) / 3) + 1;
        if (need > d->b64_cap) {
            char *nb = realloc(d->b64, need);
            if (!nb) return deadletter_fail(d, "out of memory");
            d->b64 = nb; d->b64_cap = need;
        }
        size_t bl = deadletter_base64(raw, rawlen, d->b64);
        jw_key(w, "raw"); jw_str(w, d->b64, bl);
        jw_key(w, "raw_encoding"); jw_cstr(w, "base64");
    }
    jw_obj_end(w);
    int rc;
    if (d->ks) {
        rc = kafka_sink_produce(d->ks, w->buf, w->len, NULL, 0);
    } else {
        jw_newline(w);
        rc = io_write(d->io, w->buf, w->len);
    }
    if (rc) return deadletter_fail(d, d->io ? io_werror(d->io) : "kafka produce failed");
    d->count++;
    return 0;
}

int deadletter_flush(deadletter *d)
{
    if (!d) return 0;
    if (d->err) return -1;
    if (d->ks ? kafka_sink_flush(d->ks, 60000) : io_flush(d->io))
        return deadletter_fail(d, d->io ? io_werror(d->io) : "kafka delivery failed");
    return 0;
}

const char *deadletter_error(const deadletter *d) { return d && d->err ? d->errmsg : NULL; }
uint64_t deadletter_count(const deadletter *d) { return d ? d->count : 0; }

int deadletter_close(deadletter *d, char *err, size_t errlen)
{
    if (!d) return 0;
    char e[256] = "";
    int rc = d->ks ? kafka_sink_close(d->ks) : io_writer_close(d->io, e, sizeof e);
    if (rc) deadletter_fail(d, d->io ? e : "kafka delivery failed");
    rc = d->err ? -1 : 0;
    if (rc && err) snprintf(err, errlen, "%s", d->errmsg);
    jw_free(&d->jw);
    free(d->b64);
    free(d);
    return rc;
}

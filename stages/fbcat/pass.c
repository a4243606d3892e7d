/* pass.c — fbcat --records between byte streams: the frames already in the
 * read buffer are verified where they lie and written out as runs (one
 * io_write per run of good frames, not two per record), with the checks,
 * messages and counts of stream_in_next + stream_write_rec. See pass.h. */
#include "pass.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fbrec.h"
#include "frame.h"
#include "io.h"
#include "log.h"
#include "metrics.h"
#include "sdnotify.h"
#include "sig.h"
#include "stream.h"
#include "timefmt.h"

/* as stream_sync_due: what was read goes downstream at least once a second
 * even while input never waits (the idle hook covers the waits) */
#define PASS_FLUSH_US 1000000

int fbcat_pass_applies(const cli_common *c, int encode, int count, int ntypes)
{
    const char *in = c->in ? c->in : "-", *out = c->out ? c->out : "-";
    return !encode && !count && !ntypes && !c->strict && !c->dead_letter && c->format &&
           !strcmp(c->format, "records") && strncmp(in, "kafka://", 8) && strncmp(out, "kafka://", 8) &&
           !getenv("STREAMREC_FBCAT_GENERIC");
}

typedef struct pass {
    io_reader *io;
    io_writer *w;
    int failed;              /* a write failed (logged once) */
} pass;

/* stream.c's handling of a failed write: a reader gone away ends quietly. */
static int pass_wfail(pass *p)
{
    if (io_werrno(p->w) == EPIPE) {
        log_debug("%s: the reader went away, stopping", io_werror(p->w));
        exit(STREAM_EXIT_PIPE);
    }
    if (!p->failed) { p->failed = 1; log_error("%s", io_werror(p->w)); }
    return -1;
}

static int pass_flush(pass *p) { return io_flush(p->w) ? pass_wfail(p) : 0; }

/* input is about to wait: what came so far goes downstream */
static void pass_idle(void *ctx) { (void)pass_flush(ctx); }

/* An identifier as stream.c prints it in messages. */
static void pass_ident_str(const uint8_t *q, char *out)
{
    char *o = out;
    for (int i = 0; i < 4; i++) {
        if (q[i] >= 0x20 && q[i] < 0x7f && q[i] != '"' && q[i] != '\\') *o++ = (char)q[i];
        else o += sprintf(o, "\\x%02x", q[i]);
    }
    *o = 0;
}

/* stream_decode's checks on one frame's buffer (len bytes at data, its
 * prefix at byte off): 1 good, 0 rejected (logged and counted). */
static int pass_check(const uint8_t *data, uint32_t len, uint64_t off)
{
    char err[256];
    stream_pos pos = { NULL, 0, (int64_t)off, 0 };
    if (len < 8) {
        snprintf(err, sizeof err, "record of %u bytes is too short for a FlatBuffer (at least 8)", len);
        stream_reject(NULL, &pos, "bad_record", err, data, len);
        return 0;
    }
    char ident[5];
    memcpy(ident, data + 4, 4); ident[4] = 0;
    const fbrec_desc *d = fbrec_desc_by_ident(ident);
    if (!d) {
        char shown[20];
        pass_ident_str(data + 4, shown);
        snprintf(err, sizeof err, "unknown record identifier \"%s\"", shown);
        stream_reject(NULL, &pos, "unknown_type", err, data, len);
        return 0;
    }
    if (fbrec_verify(d, data, len, 1, err, sizeof err)) {
        char msg[320];
        snprintf(msg, sizeof msg, "%s: %s", fbrec_desc_name(d), err);
        stream_reject(NULL, &pos, "bad_record", msg, data, len);
        return 0;
    }
    return 1;
}

static int pass_write(pass *p, const uint8_t *run, size_t n, uint64_t records)
{
    if (!n) return 0;
    if (io_write(p->w, run, n)) return pass_wfail(p);
    metrics_add(metrics_records_out, (double)records);
    return 0;
}

/* The whole frames already buffered (none longer than max): each checked,
 * the good ones written in runs, consumed. Returns the bytes consumed (0:
 * no whole frame buffered) or -1 (write failed). */
static ssize_t pass_block(pass *p, uint32_t max)
{
    const uint8_t *b = io_rptr(p->io);
    size_t avail = io_ravail(p->io), at = 0, run = 0;
    uint64_t base = io_roffset(p->io), good = 0, ok = 0;   /* good: in the run; ok: in the block */
    while (avail - at >= FRAME_PREFIX) {
        uint32_t len = frame_get_len(b + at);
        if (len > max || avail - at - FRAME_PREFIX < len) break;   /* frame_next's to handle */
        if (pass_check(b + at + FRAME_PREFIX, len, base + at)) {
            good++;
            ok++;
        } else {   /* the run before the bad frame goes out; the next starts after it */
            if (pass_write(p, b + run, at - run, good) < 0) return -1;
            good = 0;
            run = at + FRAME_PREFIX + len;
        }
        at += FRAME_PREFIX + (size_t)len;
    }
    if (pass_write(p, b + run, at - run, good) < 0) return -1;
    metrics_add(metrics_records_in, (double)ok);   /* as stream_in_next: the good ones */
    io_consume(p->io, at);
    return (ssize_t)at;
}

int fbcat_pass(const cli_common *c)
{
    char err[512];
    const char *in_uri = c->in ? c->in : "-", *out_uri = c->out ? c->out : "-";
    if (stream_uri_check(in_uri, err, sizeof err)) { log_error("--in %s: %s", in_uri, err); return 1; }
    if (stream_uri_check(out_uri, err, sizeof err)) { log_error("--out %s: %s", out_uri, err); return 1; }
    int zlevel = 0;
    if (io_compress_parse(c->compress, &zlevel, err, sizeof err)) { log_error("--compress: %s", err); return 1; }
    pass p = { 0 };
    p.io = io_reader_open(in_uri, err, sizeof err);
    if (!p.io) { log_error("--in: %s", err); return 1; }
    p.w = io_writer_open(out_uri, zlevel, 0, err, sizeof err);
    if (!p.w) { log_error("--out: %s", err); io_reader_close(p.io); return 1; }
    io_reader_set_idle(p.io, pass_idle, &p);
    frame_reader fr;
    frame_reader_init(&fr, p.io, c->max_record > 0 ? (uint64_t)c->max_record : 0);
    log_debug("pass-through: records verified in the read buffer, written in runs");
    sd_ready();
    int rc = 0;
    int64_t flushed = mono_us();
    for (;;) {
        if (sig_stop_requested()) break;
        ssize_t used = pass_block(&p, fr.max);
        if (used < 0) { rc = -1; break; }
        metrics_tick();
        if (mono_us() - flushed >= PASS_FLUSH_US) {
            if (pass_flush(&p) < 0) { rc = -1; break; }
            flushed = mono_us();
        }
        if (used > 0) continue;
        /* no whole frame buffered: frame_next reads (and names a bad
         * length or a truncated stream as it does for every stage) */
        const uint8_t *data; uint32_t len; uint64_t off;
        int fr_rc = frame_next(&fr, &data, &len, &off);
        if (fr_rc == IO_STOP || fr_rc == 0) break;
        if (fr_rc < 0) { log_error("%s: %s", io_rname(p.io), fr.err); rc = -1; break; }
        if (pass_check(data, len, off)) {
            metrics_add(metrics_records_in, 1);
            uint8_t pre[FRAME_PREFIX];
            frame_put_len(pre, len);
            if (io_write(p.w, pre, sizeof pre) || io_write(p.w, data, len)) { rc = pass_wfail(&p); break; }
            metrics_add(metrics_records_out, 1);
        }
    }
    if (!p.failed && pass_flush(&p) < 0) rc = -1;
    sd_stopping();
    io_reader_close(p.io);
    if (io_writer_close(p.w, err, sizeof err)) {
        if (!p.failed) log_error("%s", err);
        rc = -1;
    }
    return rc < 0 ? 1 : 0;
}

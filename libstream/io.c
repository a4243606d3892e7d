/* io.c — buffered fd/memory reader and writer with transparent zstd (io.h).
 *
 * Reader buffer layout: buf[0..cap), live bytes at buf[start..end); the
 * stream offset of buf[start] is `offset`. io_fill compacts (moves the live
 * bytes to the front) only when the free tail is small, and grows the
 * buffer when one request is larger than it (a record up to --max-record).
 *
 * The encoding is decided on the first fill: raw bytes are read into `head`
 * until there are 4 of them (or the input ends); the zstd magic switches to
 * decompression, anything else is copied to the main buffer and later
 * reads go straight there. */
#define _GNU_SOURCE   /* F_SETPIPE_SZ, preadv2 */
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zstd.h>

#include "metrics.h"
#include "sig.h"

#define IO_POLL_MS     200            /* how often a blocked read checks the stop flag */
#define IO_MIN_READ    (64u << 10)    /* compact rather than read into less room than this */
#define IO_ZIN_SIZE    (256u << 10)
/* A pipe in front of us is grown to this (when the system allows): each
 * read takes more, and the writer and we wake each other up less often. */
#define IO_PIPE_SIZE   (1 << 20)

enum { IO_MODE_UNKNOWN, IO_MODE_PLAIN, IO_MODE_ZSTD };

struct io_reader {
    int fd, own, is_reg;
    int nowait;                       /* -1: the fd refused RWF_NOWAIT reads */
    const uint8_t *mem; size_t mem_len, mem_pos;   /* memory source when mem != NULL */
    char name[256];
    uint8_t *buf; size_t cap, start, end;
    uint64_t offset;
    int mode, eof, err;               /* eof: the source has no more bytes */
    char errmsg[640];
    uint8_t head[4]; size_t head_len; /* first bytes, read to choose the mode */
    uint8_t *zin; size_t zin_len, zin_pos; uint64_t zraw;   /* compressed input */
    ZSTD_DStream *zd;
    size_t zlast;                     /* last ZSTD_decompressStream result: 0 at frame end */
    void (*idle)(void *); void *idle_ctx;
    void (*tick)(void *); void *tick_ctx; int tick_ms;
};

static void io_count_in(size_t n)
{ if (metrics_bytes_in) metrics_add(metrics_bytes_in, (double)n); }
static void io_count_out(size_t n)
{ if (metrics_bytes_out) metrics_add(metrics_bytes_out, (double)n); }

static void *io_xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) { fprintf(stderr, "io: out of memory (%zu bytes)\n", n); abort(); }
    return p;
}

static ssize_t io_rfail(io_reader *r, const char *fmt, const char *a)
{
    if (!r->err) {
        r->err = 1;
        snprintf(r->errmsg, sizeof r->errmsg, fmt, r->name, a);
    }
    return IO_ERR;
}

/* size_hint: the input's size when known (0: unknown); small inputs get a
 * small first buffer, which grows on demand anyway. */
static io_reader *io_reader_new(const char *name, size_t size_hint)
{
    io_reader *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->fd = -1;
    snprintf(r->name, sizeof r->name, "%s", name ? name : "input");
    r->cap = IO_BUF_SIZE;
    if (size_hint > 0 && size_hint < IO_BUF_SIZE / 2)
        r->cap = size_hint < IO_MIN_READ / 2 ? IO_MIN_READ : 2 * size_hint;
    r->buf = io_xmalloc(r->cap);
    return r;
}

io_reader *io_reader_fdopen(int fd, int own, const char *name)
{
    struct stat st;
    int st_ok = fstat(fd, &st) == 0;
    int is_reg = st_ok && S_ISREG(st.st_mode);
    io_reader *r = io_reader_new(name, is_reg ? (size_t)st.st_size : 0);
    if (!r) return NULL;
    r->fd = fd; r->own = own;
    if (is_reg) {
        r->is_reg = 1;
        (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    }
#ifdef F_SETPIPE_SZ
    /* failure (an unprivileged user over its pipe quota) just keeps the size */
    if (st_ok && S_ISFIFO(st.st_mode) && fcntl(fd, F_GETPIPE_SZ) < IO_PIPE_SIZE)
        (void)fcntl(fd, F_SETPIPE_SZ, IO_PIPE_SIZE);
#endif
    return r;
}

io_reader *io_reader_open(const char *path, char *err, size_t errlen)
{
    if (strcmp(path, "-") == 0) return io_reader_fdopen(0, 0, "stdin");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    io_reader *r = io_reader_fdopen(fd, 1, path);
    if (!r) { close(fd); snprintf(err, errlen, "%s: out of memory", path); }
    return r;
}

io_reader *io_reader_mem(const void *data, size_t len, const char *name)
{
    io_reader *r = io_reader_new(name ? name : "memory", len + 1);
    if (!r) return NULL;
    r->mem = data ? data : (const uint8_t *)"";
    r->mem_len = len;
    r->is_reg = 1;
    return r;
}

void io_reader_set_idle(io_reader *r, void (*fn)(void *), void *ctx)
{ r->idle = fn; r->idle_ctx = ctx; }

void io_reader_set_tick(io_reader *r, int interval_ms, void (*fn)(void *), void *ctx)
{ r->tick = fn; r->tick_ctx = ctx; r->tick_ms = interval_ms > 0 ? interval_ms : IO_POLL_MS; }

int io_reader_quiet(const io_reader *r)
{
    if (r->is_reg || r->mem || r->fd < 0) return 0;
    struct pollfd p = { .fd = r->fd, .events = POLLIN };
    return poll(&p, 1, 0) == 0;   /* readable, hung up, or error: a read will not wait */
}

/* Wait until the fd is readable: 0, IO_STOP or IO_ERR. Regular files and
 * memory never wait. The idle hook runs once, just before the first real
 * wait, so outputs get flushed while input is quiet. */
static int io_wait(io_reader *r)
{
    if (r->is_reg) return 0;
    int waited = 0;
    for (;;) {
        if (sig_stop_requested()) return IO_STOP;
        struct pollfd p = { .fd = r->fd, .events = POLLIN };
        int slice = r->tick && r->tick_ms < IO_POLL_MS ? r->tick_ms : IO_POLL_MS;
        int n = poll(&p, 1, waited ? slice : 0);
        if (n > 0) return 0;          /* readable, or HUP/ERR that read() reports */
        if (n < 0 && errno != EINTR) return (int)io_rfail(r, "%s: poll: %s", strerror(errno));
        if (n == 0) {
            if (!waited && r->idle) r->idle(r->idle_ctx);   /* once per idle spell */
            else if (waited && r->tick) r->tick(r->tick_ctx); /* each quiet slice */
            waited = 1;
            /* every poll timeout: an idle stage keeps its metrics file fresh
             * and keeps telling systemd's watchdog it is alive */
            if (metrics_bytes_in) metrics_tick();
        }
    }
}

/* Read up to n raw bytes from the source: >0, 0 at end, IO_ERR or IO_STOP. */
static ssize_t io_raw_read(io_reader *r, uint8_t *dst, size_t n)
{
    if (r->mem) {
        size_t k = r->mem_len - r->mem_pos;
        if (k > n) k = n;
        memcpy(dst, r->mem + r->mem_pos, k);
        r->mem_pos += k;
        return (ssize_t)k;
    }
#ifdef RWF_NOWAIT
    /* Bytes already waiting are taken without a poll() first: one system
     * call per read on a busy pipe. Nothing there (EAGAIN): wait below, as
     * always. An fd that does not support it is not asked again. */
    if (!r->is_reg && r->nowait >= 0 && !sig_stop_requested()) {
        struct iovec iov = { dst, n };
        ssize_t k = preadv2(r->fd, &iov, 1, -1, RWF_NOWAIT);
        if (k >= 0) { io_count_in((size_t)k); return k; }
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) r->nowait = -1;
    }
#endif
    for (;;) {
        int w = io_wait(r);
        if (w) return w;
        ssize_t k = read(r->fd, dst, n);
        if (k >= 0) { io_count_in((size_t)k); return k; }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            /* a non-blocking fd inherited from the parent: wait properly */
            struct pollfd p = { .fd = r->fd, .events = POLLIN };
            (void)poll(&p, 1, IO_POLL_MS);
            continue;
        }
        return io_rfail(r, "read from %s: %s", strerror(errno));
    }
}

/* Room for at least `want` more bytes after end (want includes the spare
 * byte for a NUL terminator). */
static int io_make_room(io_reader *r, size_t want)
{
    size_t live = r->end - r->start;
    if (r->cap - r->end >= want && r->cap - r->end >= IO_MIN_READ) return 0;
    if (r->start > 0) {
        memmove(r->buf, r->buf + r->start, live);
        r->start = 0; r->end = live;
    }
    if (r->cap - r->end >= want) return 0;
    size_t ncap = r->cap;
    while (ncap - live < want) {
        if (ncap > SIZE_MAX / 2) return (int)io_rfail(r, "%s: %s", "buffer too large");
        ncap *= 2;
    }
    uint8_t *nb = realloc(r->buf, ncap);
    if (!nb) return (int)io_rfail(r, "%s: %s", "out of memory");
    r->buf = nb; r->cap = ncap;
    return 0;
}

/* Decide plain or zstd from the first 4 bytes: 0, IO_ERR or IO_STOP (then
 * called again; the bytes read so far are kept in head). The 256 KiB
 * compressed-input buffer is allocated only for zstd. */
static int io_detect(io_reader *r)
{
    while (r->head_len < 4) {
        ssize_t k = io_raw_read(r, r->head + r->head_len, 4 - r->head_len);
        if (k < 0) return (int)k;
        if (k == 0) { r->eof = 1; break; }
        r->head_len += (size_t)k;
    }
    static const uint8_t magic[4] = { 0x28, 0xB5, 0x2F, 0xFD };
    if (r->head_len >= 4 && memcmp(r->head, magic, 4) == 0) {
        r->mode = IO_MODE_ZSTD;
        r->zin = io_xmalloc(IO_ZIN_SIZE);
        memcpy(r->zin, r->head, r->head_len);
        r->zin_len = r->head_len;
        r->zd = ZSTD_createDStream();
        if (!r->zd) return (int)io_rfail(r, "%s: %s", "zstd: out of memory");
        ZSTD_initDStream(r->zd);
        r->zlast = 1;
        return 0;
    }
    r->mode = IO_MODE_PLAIN;
    if (io_make_room(r, r->head_len + 1)) return IO_ERR;
    memcpy(r->buf + r->end, r->head, r->head_len);
    r->end += r->head_len;
    r->head_len = 0;
    return 0;
}

/* One step of input into the buffer: >0 bytes added, 0 end, IO_ERR/IO_STOP. */
static ssize_t io_step(io_reader *r)
{
    if (r->mode == IO_MODE_PLAIN) {
        if (r->eof) return 0;
        ssize_t k = io_raw_read(r, r->buf + r->end, r->cap - r->end - 1);
        if (k == 0) r->eof = 1;
        if (k > 0) r->end += (size_t)k;
        return k;
    }
    for (;;) {   /* zstd */
        if (r->zin_pos == r->zin_len) {
            if (r->eof) {
                if (r->zlast != 0) {
                    char at[48];
                    snprintf(at, sizeof at, "%llu", (unsigned long long)r->zraw);
                    return io_rfail(r, "%s: truncated zstd stream (input ends inside a frame at compressed byte %s)", at);
                }
                return 0;
            }
            ssize_t k = io_raw_read(r, r->zin, IO_ZIN_SIZE);
            if (k < 0) return k;
            if (k == 0) { r->eof = 1; continue; }
            r->zin_len = (size_t)k; r->zin_pos = 0;
        }
        ZSTD_inBuffer in = { r->zin, r->zin_len, r->zin_pos };
        ZSTD_outBuffer out = { r->buf + r->end, r->cap - r->end - 1, 0 };
        size_t ret = ZSTD_decompressStream(r->zd, &out, &in);
        r->zraw += in.pos - r->zin_pos;
        r->zin_pos = in.pos;
        if (ZSTD_isError(ret)) {
            char at[160];
            snprintf(at, sizeof at, "%s near compressed byte %llu", ZSTD_getErrorName(ret),
                     (unsigned long long)r->zraw);
            return io_rfail(r, "%s: zstd: %s", at);
        }
        r->zlast = ret;
        if (out.pos > 0) { r->end += out.pos; return (ssize_t)out.pos; }
    }
}

ssize_t io_fill(io_reader *r, size_t need)
{
    if (r->err) return IO_ERR;
    if (r->mode == IO_MODE_UNKNOWN && need > 0) {
        int d = io_detect(r);
        if (d) return d;
    }
    while (r->end - r->start < need) {
        if (io_make_room(r, need - (r->end - r->start) + 1)) return IO_ERR;
        ssize_t k = io_step(r);
        if (k < 0) return k;
        if (k == 0) break;
    }
    return (ssize_t)(r->end - r->start);
}

uint8_t *io_rptr(io_reader *r) { return r->buf + r->start; }
size_t io_ravail(const io_reader *r) { return r->end - r->start; }
void io_consume(io_reader *r, size_t n)
{
    if (n > r->end - r->start) n = r->end - r->start;
    r->start += n; r->offset += n;
    if (r->start == r->end) r->start = r->end = 0;   /* cheap reset: no memmove later */
}
uint64_t io_roffset(const io_reader *r) { return r->offset; }
const char *io_rerror(const io_reader *r) { return r->err ? r->errmsg : NULL; }
const char *io_rname(const io_reader *r) { return r->name; }
int io_reader_is_zstd(const io_reader *r) { return r->mode == IO_MODE_ZSTD; }

void io_reader_close(io_reader *r)
{
    if (!r) return;
    if (r->own && r->fd >= 0) close(r->fd);
    if (r->zd) ZSTD_freeDStream(r->zd);
    free(r->zin);
    free(r->buf);
    free(r);
}

/* ---- writer ---- */

struct io_writer {
    int fd, own;
    char name[256];
    uint8_t *buf; size_t cap, len;
    uint64_t accepted;
    int err;
    char errmsg[640];
    ZSTD_CStream *zc;
    uint8_t *zout; size_t zout_cap;
};

static int io_wfail(io_writer *w, const char *what, int e)
{
    if (!w->err) {
        w->err = e > 0 ? e : EIO;   /* the errno: EPIPE is told apart (io_werrno) */
        snprintf(w->errmsg, sizeof w->errmsg, "%s %s: %.200s", what, w->name, strerror(e));
    }
    return -1;
}

int io_compress_parse(const char *spec, int *level, char *err, size_t errlen)
{
    *level = 0;
    if (!spec || !*spec || strcmp(spec, "none") == 0) return 0;
    if (strcmp(spec, "zstd") == 0) { *level = IO_ZSTD_LEVEL; return 0; }
    if (strncmp(spec, "zstd:", 5) == 0) {
        char *end;
        errno = 0;
        long l = strtol(spec + 5, &end, 10);
        if (errno == 0 && end != spec + 5 && *end == 0 && l >= 1 && l <= 22) {
            *level = (int)l;
            return 0;
        }
        snprintf(err, errlen, "bad zstd level in \"%s\" (1..22)", spec);
        return -1;
    }
    snprintf(err, errlen, "unknown compression \"%s\" (none, zstd, zstd:LEVEL)", spec);
    return -1;
}

io_writer *io_writer_fdopen(int fd, int own, const char *name, int zlevel)
{
    io_writer *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->fd = fd; w->own = own;
    snprintf(w->name, sizeof w->name, "%s", name ? name : "output");
    w->cap = IO_MIN_READ;   /* grows to IO_BUF_SIZE as output comes */
    w->buf = io_xmalloc(w->cap);
    if (zlevel > 0) {
        w->zc = ZSTD_createCStream();
        if (!w->zc) { free(w->buf); free(w); return NULL; }
        ZSTD_CCtx_setParameter(w->zc, ZSTD_c_compressionLevel, zlevel);
        ZSTD_CCtx_setParameter(w->zc, ZSTD_c_checksumFlag, 1);
        w->zout_cap = ZSTD_CStreamOutSize();
        w->zout = io_xmalloc(w->zout_cap);
    }
    return w;
}

static int io_has_suffix(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

io_writer *io_writer_open(const char *path, int zlevel, int append, char *err, size_t errlen)
{
    if (zlevel <= 0 && io_has_suffix(path, ".zst")) zlevel = IO_ZSTD_LEVEL;
    if (strcmp(path, "-") == 0) {
        io_writer *w = io_writer_fdopen(1, 0, "stdout", zlevel);
        if (!w) snprintf(err, errlen, "stdout: out of memory");
        return w;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND | O_NOFOLLOW : O_TRUNC),
                  append ? 0640 : 0666);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, append && errno == ELOOP ? "is a symbolic link (refused)" : strerror(errno));
        return NULL;
    }
    io_writer *w = io_writer_fdopen(fd, 1, path, zlevel);
    if (!w) { close(fd); snprintf(err, errlen, "%s: out of memory", path); }
    return w;
}

/* Hand p[0..n) to the kernel, blocking while the pipe is full. */
static int io_write_all(io_writer *w, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(w->fd, p, n > (size_t)SSIZE_MAX ? (size_t)SSIZE_MAX : n);
        if (k > 0) { io_count_out((size_t)k); p += k; n -= (size_t)k; continue; }
        if (k < 0 && errno == EINTR) continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd pf = { .fd = w->fd, .events = POLLOUT };
            (void)poll(&pf, 1, IO_POLL_MS);
            continue;
        }
        return io_wfail(w, "write to", k < 0 ? errno : EIO);
    }
    return 0;
}

/* Compress p[0..n) with the given end directive and write what comes out. */
static int io_zstd_push(io_writer *w, const uint8_t *p, size_t n, ZSTD_EndDirective mode)
{
    ZSTD_inBuffer in = { p, n, 0 };
    for (;;) {
        ZSTD_outBuffer out = { w->zout, w->zout_cap, 0 };
        size_t rem = ZSTD_compressStream2(w->zc, &out, &in, mode);
        if (ZSTD_isError(rem)) {
            if (!w->err) {
                w->err = 1;
                snprintf(w->errmsg, sizeof w->errmsg, "zstd compress %s: %s", w->name, ZSTD_getErrorName(rem));
            }
            return -1;
        }
        if (out.pos && io_write_all(w, w->zout, out.pos)) return -1;
        if (mode == ZSTD_e_continue ? in.pos == in.size : rem == 0) return 0;
    }
}

/* Empty the buffer: 0 or -1. */
static int io_drain(io_writer *w, ZSTD_EndDirective mode)
{
    int rc;
    if (w->zc) rc = io_zstd_push(w, w->buf, w->len, mode);
    else rc = io_write_all(w, w->buf, w->len);
    w->len = 0;
    return rc;
}

int io_write(io_writer *w, const void *p, size_t n)
{
    if (w->err) return -1;
    w->accepted += n;
    if (n <= w->cap - w->len) {
        memcpy(w->buf + w->len, p, n);
        w->len += n;
        return 0;
    }
    if (w->cap < IO_BUF_SIZE) {   /* still small: grow rather than write out */
        size_t ncap = w->cap;
        while (ncap < IO_BUF_SIZE && ncap - w->len < n) ncap *= 2;
        uint8_t *nb = realloc(w->buf, ncap);
        if (nb) {
            w->buf = nb; w->cap = ncap;
            if (n <= w->cap - w->len) {
                memcpy(w->buf + w->len, p, n);
                w->len += n;
                return 0;
            }
        }
    }
    if (io_drain(w, ZSTD_e_continue)) return -1;
    if (n >= w->cap) {   /* large: skip the copy */
        return w->zc ? io_zstd_push(w, p, n, ZSTD_e_continue) : io_write_all(w, p, n);
    }
    memcpy(w->buf, p, n);
    w->len = n;
    return 0;
}

int io_flush(io_writer *w)
{
    if (w->err) return -1;
    return io_drain(w, ZSTD_e_flush);
}

uint64_t io_woffset(const io_writer *w) { return w->accepted; }
const char *io_werror(const io_writer *w) { return w->err ? w->errmsg : NULL; }
int io_werrno(const io_writer *w) { return w->err; }
const char *io_wname(const io_writer *w) { return w->name; }

int io_writer_close(io_writer *w, char *err, size_t errlen)
{
    if (!w) return 0;
    if (!w->err) io_drain(w, ZSTD_e_end);
    if (w->own && close(w->fd) != 0) io_wfail(w, "close", errno);
    int rc = w->err ? -1 : 0;
    if (rc && err) snprintf(err, errlen, "%s", w->errmsg);
    if (w->zc) ZSTD_freeCStream(w->zc);
    free(w->zout);
    free(w->buf);
    free(w);
    return rc;
}

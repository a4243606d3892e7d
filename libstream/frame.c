/* frame.c — size-prefixed frame reader and writer (wire spec in frame.h). */
#include "frame.h"

#include <stdio.h>

void frame_reader_init(frame_reader *f, io_reader *io, uint64_t max)
{
    f->io = io;
    f->max = max == 0 ? FRAME_MAX_DEFAULT : max > UINT32_MAX ? UINT32_MAX : (uint32_t)max;
    f->err[0] = 0;
}

static int frame_io_error(frame_reader *f, uint64_t off)
{
    snprintf(f->err, sizeof f->err, "offset %llu: %s", (unsigned long long)off,
             io_rerror(f->io) ? io_rerror(f->io) : "read error");
    return -1;
}

int frame_next(frame_reader *f, const uint8_t **data, uint32_t *len, uint64_t *offset)
{
    uint64_t off = io_roffset(f->io);
    ssize_t n = io_fill(f->io, FRAME_PREFIX);
    if (n == IO_STOP) return IO_STOP;
    if (n < 0) return frame_io_error(f, off);
    if (n == 0) return 0;
    if (n < FRAME_PREFIX) {
        snprintf(f->err, sizeof f->err,
                 "offset %llu: truncated stream: %zd byte(s) at the end, too few for a length prefix",
                 (unsigned long long)off, n);
        return -1;
    }
    uint32_t l = frame_get_len(io_rptr(f->io));
    if (l > f->max) {
        snprintf(f->err, sizeof f->err,
                 "offset %llu: record length %u exceeds the maximum %u (corrupt stream, or raise --max-record)",
                 (unsigned long long)off, l, f->max);
        return -1;
    }
    n = io_fill(f->io, (size_t)FRAME_PREFIX + l);
    if (n == IO_STOP) return IO_STOP;
    if (n < 0) return frame_io_error(f, off);
    if ((size_t)n < (size_t)FRAME_PREFIX + l) {
        snprintf(f->err, sizeof f->err,
                 "offset %llu: truncated stream: record length %u but only %zd byte(s) follow",
                 (unsigned long long)off, l, n - FRAME_PREFIX);
        return -1;
    }
    *data = io_rptr(f->io) + FRAME_PREFIX;
    *len = l;
    *offset = off;
    io_consume(f->io, (size_t)FRAME_PREFIX + l);   /* bytes stay put until the next fill */
    return 1;
}

int frame_write(io_writer *w, const void *data, uint32_t len)
{
    uint8_t p[FRAME_PREFIX];
    frame_put_len(p, len);
    if (io_write(w, p, sizeof p)) return -1;
    return io_write(w, data, len);
}

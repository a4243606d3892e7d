/* frame.h — size-prefixed records on a byte stream (pipe, file, .zst).
 *
 * Wire format (schemas/README.md "Framing"), repeated until the end of the stream:
 *
 *   offset 0   uint32 little-endian LEN    length of the buffer that follows
 *   offset 4   LEN bytes                   one FlatBuffer: root offset (4),
 *                                          file identifier (4), tables...
 *
 * exactly what `flatc --size-prefixed` reads and writes. There is no
 * padding between frames, no stream header, no trailer: `cat a b` of two
 * streams is a stream. A record's position is the byte offset of its length
 * prefix in the (decompressed) stream.
 *
 * Limits: LEN may not exceed the reader's maximum (--max-record, default
 * 16 MiB): such a length is taken as corruption — the reader cannot resync
 * on a stream without markers — and ends the stream with an error, as does a
 * LEN that runs past the end of the input (a truncated stream). Frames whose
 * content is bad (failing verification) are the caller's to reject; the
 * framing itself stays intact, so reading goes on after them.
 *
 * Errors name the offset: "offset 1024: record length 4294967295 exceeds
 * the maximum 16777216". */
#ifndef STREAMREC_FRAME_H
#define STREAMREC_FRAME_H
#include <stddef.h>
#include <stdint.h>
#include "io.h"

#define FRAME_PREFIX 4
#define FRAME_MAX_DEFAULT (16u << 20)

typedef struct frame_reader {
    io_reader *io;
    uint32_t max;          /* largest LEN accepted */
    char err[256];         /* set when frame_next returns -1 */
} frame_reader;

/* max 0: FRAME_MAX_DEFAULT. The reader does not own io. */
void frame_reader_init(frame_reader *f, io_reader *io, uint64_t max);
/* 1: a frame, *data and *len (the buffer without prefix, valid until the next
 * call) and *offset (of the prefix); 0: clean end of stream (at a frame
 * boundary); -1: error in f->err (bad length, truncation, read or zstd
 * error); IO_STOP: stop requested while waiting for input. */
int frame_next(frame_reader *f, const uint8_t **data, uint32_t *len, uint64_t *offset);

static inline void frame_put_len(uint8_t p[4], uint32_t len)
{ p[0] = (uint8_t)len; p[1] = (uint8_t)(len >> 8); p[2] = (uint8_t)(len >> 16); p[3] = (uint8_t)(len >> 24); }
static inline uint32_t frame_get_len(const uint8_t p[4])
{ return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

/* Write prefix + data (data without prefix). 0 or -1 (io_werror). */
int frame_write(io_writer *w, const void *data, uint32_t len);

#endif

/* io.h — buffered byte I/O over file descriptors (or memory), with
 * transparent zstd: the one byte-level layer under frames and lines.
 *
 * Reader: large reads into a growable buffer (no system call per record);
 * the caller asks for "at least N bytes" (io_fill) and walks them in place.
 * The first bytes decide the encoding: a stream that starts with the zstd
 * magic number 28 B5 2F FD is decompressed on the fly (concatenated frames
 * included), anything else is passed through. Reads on pipes, sockets and
 * terminals wait in poll() with a timeout, so a stop request
 * (sig_stop_requested) ends a blocked read within ~200 ms; regular files
 * are read straight. Bytes already waiting are read without a poll()
 * (RWF_NOWAIT), and a pipe is grown to 1 MiB where the system allows,
 * so a busy pipe costs one read per up to 1 MiB.
 *
 * Writer: appends into a large buffer and writes it out when full, on
 * io_flush and on close; with zstd, each flush ends a zstd block so a reader
 * downstream sees everything written so far. A full pipe blocks
 * (backpressure); nothing is dropped.
 *
 * Errors are sticky: after the first failure every call returns -1 and
 * io_rerror/io_werror give the reason ("write to stdout: Broken pipe").
 * Bytes that cross the file descriptor are added to metrics_bytes_in/out.
 *
 * Ownership: readers and writers own their buffers; they close the fd on
 * close only when they opened it (a path), never stdin/stdout. */
#ifndef STREAMREC_IO_H
#define STREAMREC_IO_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define IO_BUF_SIZE   (1u << 20)   /* read and write buffers: 1 MiB */
#define IO_ERR        (-1)
#define IO_STOP       (-2)         /* stop requested while waiting for input */
#define IO_ZSTD_LEVEL 3            /* default for --compress zstd and .zst paths */

/* ---- reader ---- */
typedef struct io_reader io_reader;

/* "-" is stdin. NULL on failure with the reason in err. */
io_reader *io_reader_open(const char *path, char *err, size_t errlen);
/* An already open fd; own: close it on io_reader_close. name is for errors. */
io_reader *io_reader_fdopen(int fd, int own, const char *name);
/* Read from memory (tests, fuzzing); data must outlive the reader. */
io_reader *io_reader_mem(const void *data, size_t len, const char *name);

/* Make at least `need` bytes available at io_rptr. Returns the number
 * available: >= need, or fewer only at end of input; IO_ERR (see
 * io_rerror) or IO_STOP. need 0 returns what is buffered without reading.
 * Pointers from io_rptr stay valid until the next io_fill. There is always
 * one writable byte after the available ones (for a NUL terminator). */
ssize_t io_fill(io_reader *r, size_t need);
uint8_t *io_rptr(io_reader *r);
size_t io_ravail(const io_reader *r);
void io_consume(io_reader *r, size_t n);          /* n <= io_ravail */
uint64_t io_roffset(const io_reader *r);          /* decoded stream offset of io_rptr */
const char *io_rerror(const io_reader *r);        /* NULL if no error */
const char *io_rname(const io_reader *r);
int io_reader_is_zstd(const io_reader *r);        /* known after the first io_fill */
/* Called once each time the reader is about to wait for input (e.g. to flush
 * outputs so a slow trickle of input does not hold results back). */
void io_reader_set_idle(io_reader *r, void (*fn)(void *), void *ctx);
/* Called every interval_ms (<= 0: every 200 ms) while the reader waits for
 * input that does not come (after the idle hook; never while data flows;
 * regular files never wait). fn may write outputs or request a stop. */
void io_reader_set_tick(io_reader *r, int interval_ms, void (*fn)(void *), void *ctx);
/* Nothing ready on a descriptor that can keep a reader waiting (a pipe,
 * socket or terminal) at this moment: 1; 0 when bytes (or an end or an
 * error) are there, and always for regular files and memory. Bytes already
 * buffered are not counted: a caller that queues work elsewhere sends it
 * whenever the source itself is quiet. */
int io_reader_quiet(const io_reader *r);
void io_reader_close(io_reader *r);

/* ---- writer ---- */
typedef struct io_writer io_writer;

/* Parse a --compress value: NULL or "none" -> 0 (plain); "zstd" ->
 * IO_ZSTD_LEVEL; "zstd:LEVEL" with LEVEL 1..22 -> LEVEL. -1 with err. */
int io_compress_parse(const char *spec, int *level, char *err, size_t errlen);
/* "-" is stdout. zlevel 0: compress only if the path ends in ".zst" (at
 * IO_ZSTD_LEVEL); > 0: zstd at that level. append: O_APPEND instead of
 * truncating, for files a service creates unattended in its directories
 * (dead letters): created 0640, as they hold other people's input, and
 * never through a symlink (O_NOFOLLOW), so a link planted in their place
 * cannot make the service append to a file of the attacker's choice. (A
 * truncating --out is a path the user names and may well be a symlink, such
 * as /dev/stdout.) NULL on failure with the reason in err. */
io_writer *io_writer_open(const char *path, int zlevel, int append, char *err, size_t errlen);
io_writer *io_writer_fdopen(int fd, int own, const char *name, int zlevel);
/* 0 or -1 (sticky). Data may sit in the buffer until io_flush. */
int io_write(io_writer *w, const void *p, size_t n);
int io_flush(io_writer *w);          /* everything handed to the kernel; 0 or -1 */
uint64_t io_woffset(const io_writer *w);   /* bytes accepted by io_write */
const char *io_werror(const io_writer *w);
int io_werrno(const io_writer *w);   /* the errno of the first failure (EIO if none known), 0 none */
const char *io_wname(const io_writer *w);
/* Flush, end the zstd frame, close the fd if owned, free. 0, or -1 if any
 * write (or the close) ever failed, with the reason in err (may be NULL).
 * NULL is a no-op returning 0. */
int io_writer_close(io_writer *w, char *err, size_t errlen);

#endif

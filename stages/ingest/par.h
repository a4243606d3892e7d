/* par.h — the line loop of ingest on parser threads (--threads N >= 2).
 *
 * The main thread reads whole runs of lines as they are there
 * (stream_in_next_lines: line numbers, signals and .zst as in the
 * sequential loop; a vector count of the newlines, nothing per line) into
 * blocks of up to PAR_BLOCK_LINES lines / PAR_BLOCK_BYTES bytes; N worker
 * threads each split whole blocks into their lines (par_split_lines: the
 * lines stream_in_next_line returns, --max-line applied), parse and encode
 * them with their own ingest (no dedup, no rate limit) into the block's
 * output buffer and a per-line result table. The main thread takes the
 * blocks back in input order and applies what depends on order: the dedup
 * window, the rate limiter, counters, metrics, dead letters,
 * --strict, sync cadence; then writes the records. Output, dead letters,
 * metrics and exit codes are those of the sequential loop.
 *
 * Memory: 2N+2 blocks, allocated as they are first used and reused: each
 * holds up to PAR_BLOCK_BYTES (+64 KiB) of input or one line up to
 * --max-line, the results of its lines, and at most 4 MiB of encoded
 * records (past that the main thread parses the rest of the block itself).
 * Typically ~0.6 MiB per block: ~4 MiB more than --threads 1 with N = 2.
 *
 * A quiet input: the main thread's tick (every 10 ms while it holds lines)
 * hands over the partial block and writes everything out, so a trickle of
 * lines is delivered as in the sequential loop, 10 ms later at most.
 *
 * For JSON lines from a byte stream to a byte stream (records or --format
 * json): CSV (records spanning lines, the header), Kafka input (offsets
 * committed after delivery) and Kafka output (keys) stay sequential. */
#ifndef INGEST_PAR_H
#define INGEST_PAR_H
#include <stdint.h>
#include "ingest.h"
#include "metrics.h"
#include "stream.h"

#define PAR_BLOCK_LINES 1024
#define PAR_BLOCK_BYTES (256u << 10)
/* Lines between the checks that read the clock (sync due, metrics file,
 * watchdog): ~1 s or 10,000 records still decide, at most this many late. */
#define INGEST_TICK_LINES 64

typedef struct ingest_run {
    stream_in *in;
    stream_out *out;
    ingest *g;                  /* order-dependent state: dedup, rate limiter, counters */
    size_t max_line;
    int strict;
    metrics_series *m_dups, *m_events, *m_samples;
    int every_line;             /* sync checks after every line (Kafka: commits), not every INGEST_TICK_LINES */
    void (*before_strict)(void *ctx);   /* --strict is about to stop: e.g. halt the parser threads */
    void *before_strict_ctx;
    uint64_t ticks;             /* lines whose outcome was applied */
    uint64_t too_long;          /* out: lines refused as line_too_long */
    int failed;                 /* out: a write or sync failed */
    int usage;                  /* out: the failure was a usage error (exit 2) */
    int rc;                     /* out: the last stream_in_next_line result (<0: read error) */
} ingest_run;

/* Refuse a line (stream_reject); with --strict, what came before is
 * delivered first (and the parser threads stopped), then it exits. */
void ingest_run_reject(ingest_run *r, const stream_pos *pos, const char *reason, const char *detail,
                       const char *raw, size_t len);
/* A line over --max-line: refused (line_too_long), counted. */
void ingest_run_too_long(ingest_run *r, const stream_pos *pos, const char *raw, size_t len);
/* A line's outcome (ING_OUT, ING_BAD, ING_DUP, ING_FAIL, from ingest_line or
 * the threaded path): refuse (with --strict: deliver what came before, then
 * exit), count, add the events/samples written since ev0/sm0 to the metrics,
 * and on the tick cadence sync, report status and ping the watchdog.
 * 0, or -1 when the loop must stop (r->failed set). */
int ingest_run_outcome(ingest_run *r, int rc, const stream_pos *pos, const char *reason, const char *detail,
                       const char *raw, size_t rawlen, uint64_t ev0, uint64_t sm0);

/* A line of a block: its text at off, NUL-terminated. */
typedef struct par_line {
    size_t off;
    uint32_t len;
    int too_long;               /* over max_line: the text is its first max_line bytes */
    int64_t lineno;
} par_line;
/* The main thread hands the workers whole runs of lines as read
 * (stream_in_next_lines_to: read into the block), completed with
 * par_copy_lines: dst gets ls's bytes (unless ls->ptr is dst already) and a
 * '\n' after a last line without one (the input's end, or a too-long
 * prefix); returns the bytes written, at most ls->len + 1.
 * A worker splits the block in place with par_split_lines: buf[0..len)
 * holds n lines each ending in '\n'; out[i] is line first + i, without its
 * '\n' or "\r\n", cut to max_line bytes and too_long when longer (as
 * stream_in_next_line returns it); with prefix, the one line is such a cut
 * already (kept as is, too_long). */
size_t par_copy_lines(char *dst, const stream_lines *ls);
void par_split_lines(char *buf, size_t len, uint32_t n, size_t max_line, int64_t first, int prefix,
                     par_line *out);

/* 1 when this input and output can take the threaded loop, 0 when they
 * stay sequential (CSV, Kafka in or out). */
int ingest_par_ok(const ingest_conf *c, stream_in *in, const char *out_uri);
/* Runs the line loop to the end of the input on `threads` parser threads.
 * 0, or -1 when the threads could not be started (nothing was read: the
 * caller can run the sequential loop instead). */
int ingest_run_par(ingest_run *r, const ingest_conf *c, int threads);
#endif

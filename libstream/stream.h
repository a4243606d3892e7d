/* stream.h — where records come from and go to: stdin/stdout, files (.zst
 * transparently), and Kafka topics, behind one interface.
 *
 * URIs (schemas/README.md): "-" (stdin/stdout), a path ("x.zst" compresses on output;
 * input detects the zstd magic), kafka://host:port[,host:port]/topic?group=G
 * (extra query keys: eof=1 ends the input when every assigned partition is
 * at its end; key=… nothing else). -X key=value from cli_common go to librdkafka.
 *
 * Byte streams carry size-prefixed FlatBuffers (frame format below); Kafka
 * messages carry one FlatBuffer each, no prefix, keyed by the record's
 * partition key. Line mode (ingest) reads text lines instead of records.
 *
 * Bad input never crashes a stage and is never lost silently: a frame that
 * fails verification, or has an unknown identifier, is counted
 * (metrics_invalid), logged with its position and reason, written to
 * --dead-letter, and skipped — or, with --strict, ends the stage with exit 1.
 * A length prefix that cannot be right (over --max-record, or past the end of
 * a truncated stream) ends the input: stream_in_next returns -1 after logging
 * "offset N: …".
 *
 * Delivery is at least once: stream_sync(in, out) flushes the output and
 * waits until it is acknowledged (pipe written, Kafka producer acked), then
 * commits the input position of every record returned so far. Stages call it
 * periodically (stream_sync_due) and at the end. Stages whose state keeps
 * input offsets (--state) read them with stream_in_offsets and give them back
 * on restart through stream_in_set_start. */
#ifndef STREAMREC_STREAM_H
#define STREAMREC_STREAM_H
#include <stddef.h>
#include <stdint.h>
#include "cli.h"
#include "fbjson.h"
#include "fbrec.h"

/* Where a record or line came from: for byte streams a byte offset (records)
 * or 1-based line number (lines); for Kafka topic/partition/offset. */
typedef struct stream_pos {
    const char *topic;      /* NULL for byte streams */
    int32_t partition;
    int64_t offset;         /* byte offset, line number or Kafka offset */
    int is_line;            /* offset counts lines */
} stream_pos;
/* "line 12", "byte 1024", "events.raw/3@1234"; buf of 96 bytes is enough. */
const char *stream_pos_str(const stream_pos *p, char *buf, size_t n);

typedef struct stream_rec {
    const fbrec_desc *type;        /* decoded type, never NULL for returned records */
    const uint8_t *data;        /* the FlatBuffer, without size prefix */
    uint32_t len;
    const void *key; size_t keylen;   /* Kafka message key (NULL otherwise) */
    stream_pos pos;
    AnyRecord as;               /* decoded; valid until the next call */
} stream_rec;

typedef struct stream_line {
    const char *ptr; size_t len;   /* without the newline; NUL-terminated */
    stream_pos pos;
    int too_long;                  /* line exceeded max_line: ptr holds a prefix */
} stream_line;

typedef struct stream_in stream_in;
typedef struct stream_out stream_out;

/* NULL on failure after logging why (the caller exits 1; a bad URI is a
 * usage error the caller may check first with stream_uri_check). */
stream_in *stream_in_open(const char *uri, const cli_common *c);
stream_out *stream_out_open(const char *uri, const cli_common *c);
int stream_uri_check(const char *uri, char *err, size_t n);   /* 0 or -1 */

/* 1: a verified, decoded record in *r; 0: end of input (or stop requested by
 * signal); -1: fatal error (logged). Unknown types and bad records are
 * rejected (see above) and skipped unless accept_unknown. */
int stream_in_next(stream_in *in, stream_rec *r);
/* Line mode: 1 a line, 0 end, -1 fatal. max_line bounds memory; longer
 * lines come back with too_long set (and are consumed to their end). */
int stream_in_next_line(stream_in *in, stream_line *l, size_t max_line);
/* Line mode, many lines a call (a byte stream, not Kafka): the whole
 * lines already read — at least one, at most max_bytes bytes and max_lines
 * lines — without waiting for more once one is there. ls->ptr holds them
 * as read, each with its '\n' but the input's last line when it has none
 * (a '\r' before the '\n' is the caller's to drop, as is cutting a line
 * over max_line to max_line bytes: stream_in_next_line's rules); with
 * ls->too_long, one line over max_line whose newline was not within
 * max_line + 2 bytes: its first max_line bytes, no '\n', the rest skipped.
 * Valid until the next read. Lines count as stream_in_next_line's (line
 * numbers from ls->first, stream_in_count, records_in). 1 lines, 0 end,
 * -1 fatal, 2 the next line is over max_bytes (ls->len bytes; nothing
 * taken: call again with that room). */
typedef struct stream_lines {
    const char *ptr; size_t len;
    int64_t first;                 /* the first line's number */
    uint32_t n;
    int too_long;
} stream_lines;
int stream_in_next_lines(stream_in *in, stream_lines *ls, size_t max_line, size_t max_bytes, uint32_t max_lines);
/* The same, the lines copied on the way (one pass over them, not a count
 * then a copy): once the input holds them (after any wait, so after any
 * tick), room(ctx, len, alone) gives where to put len bytes (at most
 * max_bytes; alone: a too-long prefix) and ls->ptr is that copy. room
 * returning NULL: -1, nothing taken (the caller says why). */
int stream_in_next_lines_to(stream_in *in, stream_lines *ls, size_t max_line, size_t max_bytes, uint32_t max_lines,
                            char *(*room)(void *ctx, size_t len, int alone), void *ctx);
/* Refuse something the stage could not use: counts metrics_invalid(reason),
 * logs "pos: reason: detail" (rate-limited), dead-letters raw; with --strict
 * logs and exits 1. raw may be binary (dead letter then uses base64). */
void stream_reject(stream_in *in, const stream_pos *pos, const char *reason,
                   const char *detail, const void *raw, size_t rawlen);
/* Pass-through readers that never look inside a record (fbcat --records):
 * on, stream_in_next verifies each record exactly as before (same checks,
 * same rejects) but does not decode it, so r->as is left unset. */
void stream_in_set_verify_only(stream_in *in, int on);
/* What stream_in_next does for a decoded record, for a verify-only reader
 * that fills r->as itself: note its event time in the freshness gauge
 * (metrics_note_event_time). */
void stream_rec_note_event_time(const stream_rec *r);
/* Kafka is about to take partitions away (a rebalance): before the offsets
 * read so far are committed, fn(ctx) must deliver everything derived from
 * the records already returned (send a pending batch, wait for Redis to
 * acknowledge) and return 0; nonzero: nothing is committed, and the next
 * owner reads those records again (at least once). Called from inside
 * stream_in_next*. */
void stream_in_set_before_revoke(stream_in *in, int (*fn)(void *ctx), void *ctx);
/* Never commit Kafka offsets (stream_sync and rebalances still flush the
 * output): for a stage that rebuilds its state by reading each partition
 * it is given from the start (stream_in_set_start), which a committed
 * offset would skip past (experiment-analyzer --emit partials, --merge). */
void stream_in_set_no_commit(stream_in *in);
/* While the input waits for data that does not come (a quiet pipe or
 * topic), call fn(ctx) every interval_ms (<= 0: 200 ms), from inside
 * stream_in_next*: a stage can flush a due batch, stream_write and
 * stream_sync (its at-least-once duty as usual), or sig_request_stop().
 * Never called while records flow, nor for regular files (they never
 * wait). */
void stream_in_set_tick(stream_in *in, int interval_ms, void (*fn)(void *ctx), void *ctx);
/* Event time. A stage with a watermark notes the event time of each record
 * it uses (stream_in_note_time) and takes stream_in_event_time as the time
 * up to which its input is complete (its watermark is that minus its
 * allowed lateness). For Kafka it is the minimum, over the partitions this
 * instance owns, of each one's largest noted time, or of what the
 * watermark marks read from it say when it carries any (wmark.h; a
 * partition at its end for --idle-timeout, or whose marks say idle, is
 * left out: kafka.h), so one partition read ahead of
 * the others never closes their windows; the same records on one partition
 * or many, read by one instance or several, give the same windows. For
 * byte streams it is the largest time noted. INT64_MIN: not known yet. It
 * can go back (a partition handed over starts unknown): stages keep their
 * own watermark monotonic. */
void stream_in_note_time(stream_in *in, const stream_pos *pos, int64_t ts);
int64_t stream_in_event_time(stream_in *in);
/* The event time of the partition a record came from (a stage that keeps
 * windows per input partition): the largest noted for it, or what the
 * watermark marks read from it say (stream_in_set_marks); INT64_MIN
 * unknown. Byte streams: stream_in_event_time. */
int64_t stream_in_part_time(stream_in *in, const stream_pos *pos);
/* stream_in_note_time, then stream_in_part_time of that partition, in one
 * look-up: per record, for a stage keeping windows per partition. */
int64_t stream_in_note_part_time(stream_in *in, const stream_pos *pos, int64_t ts);
/* Watermark marks (wmark.h, schemas/watermark.fbs), the writer's side: a
 * stage reading Kafka and writing Kafka (ingest) says into every partition
 * of out how far its input partitions are committed, in event time: after
 * each stream_sync that committed, when a partition goes idle, at least
 * every second while quiet, and before anything read from a partition it
 * has not named busy (newly assigned, or idle before) is returned. Every
 * Kafka input reads them (never returned as records; counted in
 * streamrec_watermark_marks_read_total). 0, or -1: not Kafka to Kafka
 * records (nothing done). */
int stream_in_set_marks(stream_in *in, stream_out *out);
const char *stream_in_marks_producer(const stream_in *in);   /* NULL: no marks */
uint64_t stream_in_marks_written(const stream_in *in);         /* messages */
/* Reading a backlog from several Kafka partitions in step (watermark
 * alignment, Flink's FLIP-182/217): a partition whose event time (as noted
 * by stream_in_note_time, per partition) is more than max_skew (µs; 0:
 * off, the default) ahead of the slowest partition owned is not read from
 * until that one catches up, so what the stage writes goes back in event
 * time by at most max_skew plus the input partitions' own disorder. A
 * partition at its end for 1 s (or --idle-timeout if shorter), or from
 * which nothing came for --idle-timeout (at least 1 s), does not hold the
 * others back. Byte streams: nothing to do.
 * Details, costs and bounds: kafka.h (kafka_src_set_align). */
void stream_in_set_max_partition_skew(stream_in *in, int64_t max_skew);
typedef struct stream_align_stats {
    uint64_t held;          /* messages held back so far (read later, in order) */
    uint64_t pauses, resumes;   /* partitions paused in librdkafka (a full hold) and resumed */
    uint64_t held_now;      /* held at this moment */
    int paused_now;         /* partitions paused at this moment */
} stream_align_stats;
/* Zeros for byte streams. */
void stream_in_align_stats(stream_in *in, stream_align_stats *st);
/* Records or lines returned so far by stream_in_next*(). */
uint64_t stream_in_count(const stream_in *in);
int stream_in_is_kafka(const stream_in *in);
/* A byte-stream input whose pipe, socket or terminal has nothing ready right
 * now (io_reader_quiet): a stage that queues work downstream sends it before
 * the read that may wait (cache-writer's Redis commands). 0 for files and
 * Kafka (whose quiet ticks run the runner's idle). */
int stream_in_quiet(const stream_in *in);
/* Partitions of the input: the Kafka topic's (from the brokers, up to 10 s),
 * 1 for a byte stream; -1 unknown. */
int stream_in_partition_count(stream_in *in);
/* The --dead-letter this input writes to (NULL without one), for what a
 * stage refuses that is not an input record (e.g. a notification that
 * failed): one handle per destination, so lines never interleave. Closed
 * by stream_in_close. */
struct deadletter *stream_in_dead_letter(stream_in *in);
void stream_in_close(stream_in *in);

/* The reader of a byte-stream output went away (EPIPE: `stage | head`):
 * the stage ends at once and quietly (a debug log line only), as a process
 * killed by SIGPIPE would, but with its exit handlers run (the metrics
 * file), with this status: 128 + SIGPIPE, what a shell reports for
 * `yes | head`. Nothing is committed (Kafka input is read again from the
 * last sync). SIGPIPE itself stays ignored (sig.h): a Redis or webhook
 * socket that closes is an error to handle, not a death. */
#define STREAM_EXIT_PIPE 141

/* Write a record: encodes (or, with --format json, prints a JSON line).
 * key/keylen: the Kafka partitioning key (ignored for byte streams); NULL:
 * the record's own (record_key in reckey.h), which every stage uses so
 * that all agree on partitions. Blocks when downstream is slow
 * (backpressure), never drops.
 * 0 or -1 (logged; the stage exits 1). */
int stream_write(stream_out *out, const fbrec_desc *d, const void *rec,
                 const void *key, size_t keylen);
/* A stage's own encoder for records of type d, tried by stream_write before
 * fbrec_encode: it returns the bytes fbrec_encode would write (with a size prefix
 * when prefixed), valid until its next call, or NULL to fall back. */
typedef const uint8_t *(*stream_encode_fn)(void *ctx, const void *rec, int prefixed, size_t *len);
void stream_out_set_encoder(stream_out *out, const fbrec_desc *d, stream_encode_fn fn, void *ctx);
/* Pass a record through unchanged. */
int stream_write_rec(stream_out *out, const stream_rec *r);
/* nrec records already encoded as a byte stream carries them (each with
 * its size prefix), back to back in p[0..len): written in one go. Only for
 * a byte stream of records (not JSON, not Kafka: -1 and the output fails). */
int stream_write_framed(stream_out *out, const void *p, size_t len, uint64_t nrec);
/* Raw text line (fbcat --format json of foreign input, or tools): appends '\n'. */
int stream_write_line(stream_out *out, const char *s, size_t len);
int stream_flush(stream_out *out);      /* written and acknowledged downstream */
/* Close: flush; returns -1 if any write failed or was not acknowledged. */
int stream_out_close(stream_out *out);
int stream_out_is_json(const stream_out *out);
/* The form of that JSON (--json-style). */
fb_json_style stream_out_json_style(const stream_out *out);

/* At-least-once bookkeeping. */
int stream_sync(stream_in *in, stream_out *out);   /* flush out, then commit in */
int stream_sync_due(stream_in *in);               /* 1 every ~1 s or 10,000 records */

/* A Kafka partition this instance owns (stream_in_owned). */
typedef struct stream_part {
    const char *topic;
    int32_t partition;
    uint32_t epoch;         /* changes each time it is assigned (again): its reading restarts */
    int idle;               /* at its end for --idle-timeout */
    int eof;                /* at its end now (nothing unread as of the last fetch) */
    int32_t partitions;     /* the topic's partition count (metadata); -1 unknown */
} stream_part;
/* The i-th partition owned (0-based): 1 and *out, or 0 past the last
 * (byte streams: always 0). Valid until the next stream_in_next. */
int stream_in_owned(stream_in *in, int i, stream_part *out);
/* Commit no further than fn(ctx, topic, partition) on each partition (a
 * stage whose open state needs older records: the next owner re-reads
 * them); without: everything returned so far. */
typedef int64_t (*stream_commit_limit_fn)(void *ctx, const char *topic, int32_t partition);
void stream_in_set_commit_limit(stream_in *in, stream_commit_limit_fn fn, void *ctx);

/* Kafka offsets, for stages that store them with their state. */
typedef struct stream_offset { char topic[128]; int32_t partition; int64_t next; } stream_offset;
int stream_in_offsets(stream_in *in, stream_offset *out, int max);   /* count */
/* Called on partition assignment: return the offset to resume from, or -1
 * to use the committed one. */
typedef int64_t (*stream_start_fn)(void *ctx, const char *topic, int32_t partition);
void stream_in_set_start(stream_in *in, stream_start_fn fn, void *ctx);

#endif

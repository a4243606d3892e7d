/* deadletter.h — the --dead-letter writer: every rejected record or line,
 * one JSON object per line, so nothing bad is ever lost silently.
 *
 *   {"pos":"byte 1024","offset":1024,"error":"bad_record: offset 12: …",
 *    "reason":"bad_record","detail":"offset 12: …","ts":"2026-…Z",
 *    "raw":"BAAAAEVW…","raw_encoding":"base64"}
 *
 * pos is the human form (stream_pos_str: "line 12", "byte 1024",
 * "events.raw/3@1234"), with the numbers beside it: "line" for line input,
 * "offset" for byte offsets, "topic"+"partition"+"offset" for Kafka.
 * error is "reason: detail" (schemas/README.md's field); reason alone is the
 * metrics label. raw is the rejected input itself: a JSON string when it is
 * text (valid UTF-8 and not flagged binary), else base64 with
 * "raw_encoding":"base64" (records are always binary).
 *
 * URI: "-" or "stderr" writes to stderr (beside the logs: stdout carries the
 * record stream); a path is appended to (O_APPEND: restarts never clobber
 * earlier rejects; ".zst" compresses, appending a new zstd frame);
 * kafka://brokers/topic produces each line as one message (no newline).
 *
 * Delivery: stream_sync flushes the dead letter before it commits input
 * offsets, so a rejected record is never committed before it is stored. */
#ifndef STREAMREC_DEADLETTER_H
#define STREAMREC_DEADLETTER_H
#include <stddef.h>
#include "cli.h"
#include "stream.h"

typedef struct deadletter deadletter;

/* conf: -X pairs for a Kafka dead letter (may be NULL). NULL on error. */
deadletter *deadletter_open(const char *uri, const cli_list *conf, char *err, size_t errlen);
/* binary: raw is not text (always base64). 0 or -1 (reason in deadletter_error). */
int deadletter_write(deadletter *d, const stream_pos *pos, const char *reason,
                     const char *detail, const void *raw, size_t rawlen, int binary);
int deadletter_flush(deadletter *d);
const char *deadletter_error(const deadletter *d);
uint64_t deadletter_count(const deadletter *d);
/* Flush and free; 0, or -1 if any write failed (err may be NULL). NULL: 0. */
int deadletter_close(deadletter *d, char *err, size_t errlen);

/* Helper, exposed for tests. */
/* Standard base64 with padding; out needs 4*((n+2)/3)+1 bytes; NUL-terminated. */
size_t deadletter_base64(const void *p, size_t n, char *out);

#endif

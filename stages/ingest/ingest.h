/* ingest.h — turning one input line (JSON or CSV) into Event/Sample records.
 *
 * The logic is independent of the transport: ingest_line() parses, validates
 * and classifies a line and hands finished records to conf.emit; a refused
 * line comes back as ING_BAD with a stable machine reason (g->reason) and a
 * sentence naming the field (g->detail), which main.c passes to
 * stream_reject. A line is all-or-nothing: either every record it yields is
 * emitted, or none is (ING_BAD / ING_DUP).
 *
 * Reasons (stable, used as the metrics label and in the dead letter):
 *   bad_json, not_an_object, bad_utf8, bad_csv, missing_field, wrong_type,
 *   too_long, bad_timestamp, implausible_timestamp, line_too_long (main.c),
 *   rate_limited. Duplicates are not errors: ING_DUP, counted, dropped.
 *
 * Memory: per line nothing is malloc'ed once buffers have grown to the
 * largest line; strings built for a line (dotted keys, attrs) live in an
 * arena reset per line. Long-lived state is the dedup window (dedup.h) and
 * the rate-limit table (ratelimit.h), both fixed-size. */
#ifndef INGEST_INGEST_H
#define INGEST_INGEST_H
#include <stddef.h>
#include <stdint.h>
#include "arena.h"
#include "dedup.h"
#include "fbrec.h"
#include "json.h"
#include "ratelimit.h"

enum { ING_OUT = 0, ING_BAD = 1, ING_DUP = 2, ING_MORE = 3, ING_HEADER = 4, ING_FAIL = -1 };

/* Where a record goes; returns 0, or -1 when the output failed (fatal). */
typedef int (*ingest_emit_fn)(void *ctx, const fbrec_desc *d, const void *rec,
                              const void *key, size_t keylen);

/* Labels ingest adds itself at most per line (endpoint + status_class,
 * model_id + model_version), beyond --max-attrs. */
#define ING_BUILTIN_LABELS 4

/* Column mapping of --map: target field name -> CSV column name. */
#define INGEST_MAX_MAP 32
typedef struct ingest_map { char field[32]; char column[128]; } ingest_map;

/* The member names ingest understands (ingest_field_names[F_...]). */
enum { F_EVENT_ID, F_TS, F_TIMESTAMP, F_USER_ID, F_ITEM_ID, F_SESSION_ID, F_EVENT_TYPE,
       F_VALUE, F_SOURCE, F_POSITION, F_EXPERIMENT, F_VARIANT, F_METADATA, F_LABELS,
       F_METRIC_NAME, F_METRIC, F_MODEL_ID, F_MODEL_VERSION, F_METRICS, F_ENDPOINT,
       F_DURATION_MS, F_STATUS, F_SAMPLE_ID, ING_NFIELDS };
extern const char *const ingest_field_names[ING_NFIELDS];
/* Every refusal reason (NULL-terminated): the metrics start them at zero. */
extern const char *const ingest_reasons[];
int ingest_field_index(const char *name, size_t len);   /* -1 if unknown */

typedef struct ingest_conf {
    int csv;                    /* --in-format csv */
    size_t max_line;            /* CSV: a record spanning lines is bounded by this */
    size_t max_string;          /* longest accepted string value, bytes */
    uint32_t max_attrs;         /* attrs/labels per record */
    size_t max_record;          /* largest record to write: --max-record less room for what later
                                   stages add (sizes.h); 0: no check */
    int64_t max_skew_us;        /* how far in the future ts may be */
    uint64_t dedup_window;      /* ids remembered (with a span: at most); 0 disables dedup */
    int64_t dedup_span_us;      /* > 0: the window is this much event time (dedup.h) */
    double rate_per_s;          /* per-user token refill; 0 disables */
    double rate_burst;          /* bucket size (tokens) */
    uint32_t rate_users;        /* rate-limit table capacity */
    int rate_arrival;           /* --rate-clock arrival: buckets refill with arrival time, not ts */
    const char *event_type;     /* CSV: --event-type for every row */
    ingest_map map[INGEST_MAX_MAP];
    int nmap;
    int json_general;           /* testing: every JSON line through json_parse (flat.c's reader off) */
    ingest_emit_fn emit;
    void *emit_ctx;
} ingest_conf;

/* One field's value as it came in, from JSON or CSV (text only). */
typedef struct ing_val {
    const json_node *n;         /* JSON: the node; NULL for CSV text or absent */
    const char *s;              /* CSV text (NUL-terminated), or NULL */
    uint32_t len;
    const char *name;           /* field name for messages, e.g. "metadata.position" */
} ing_val;

typedef struct ing_kv { const char *key; uint32_t keylen; const char *val; uint32_t vallen; } ing_kv;

typedef struct ingest {
    ingest_conf c;
    json_doc doc;
    arena ar;
    dedup dd;
    ratelimit rl;
    KeyValue *kv;               /* max_attrs + ING_BUILTIN_LABELS: attrs or labels of the line */
    uint32_t nkv;
    uint32_t nkv_builtin;       /* labels ingest derived (model_id, endpoint...): not user attrs */
    const json_node **extra;    /* max_attrs: unknown top-level members of the line */
    Sample *samples;            /* model metrics: one Sample per entry */
    uint32_t samples_cap;
    json_writer jw;             /* arrays kept as JSON text; Sample keys */
    /* CSV */
    int csv_have_header;
    int csv_ncols;
    char **csv_cols;            /* header names */
    char **csv_names;           /* per column, for messages: "value (column rating)" */
    int *csv_target;            /* per column: field index, or -1 (attrs) */
    int csv_open;               /* a quoted field goes on in the next line */
    uint64_t csv_scanned;       /* bytes the CSV reader looked at: linear in the input (tests) */
    char *csv_buf; size_t csv_len, csv_cap;    /* a record spanning lines */
    char *csv_fields; size_t csv_fields_cap;   /* unquoted field text */
    const char **csv_fv; uint32_t *csv_fl; int csv_fcap;
    /* a JSON line's fields: kept across lines, named once (ingest_fields_init);
     * a line resets their values and the names metadata changed (bit F_...) */
    ing_val jf[ING_NFIELDS];
    uint32_t jf_renamed;
    uint64_t id_hash;           /* hash_table of the line's event_id, when id_hash_ok */
    int id_hash_ok;
    int no_nul;                 /* the line's strings cannot hold NUL (JSON without a backslash) */
    int64_t now_line;           /* the line's arrival time (µs); 0: not read yet (ingest_now) */
    int64_t now_seen;           /* the last clock reading: a lower bound of now */
    /* a Sample's id: the line's sample_id, else made from where the record
     * started in the input and its bytes (ing_emit_sample) */
    const char *pos_topic;      /* where the line is (ingest_set_pos): hashed when a sample needs it */
    int32_t pos_partition;
    int64_t pos_offset;
    int pos_set;                /* else the position is rec_no */
    uint64_t rec_no;            /* records started (CSV: a record spanning lines is one) */
    const char *raw; size_t raw_len;   /* the record's text: the line, or the CSV record */
    fb_str sample_id;           /* the line's sample_id (ptr NULL: none) */
    uint32_t sample_seq;        /* samples of this line so far */
    /* last refusal */
    const char *reason;
    char detail[320];
    /* counters */
    uint64_t n_events, n_samples, n_dups, n_bad, n_lines_ok;
} ingest;

/* 0, or -1 with a message in err (a usage error: bad --map). */
int ingest_init(ingest *g, const ingest_conf *c, char *err, size_t errlen);
void ingest_free(ingest *g);

/* Process one line (without its newline). now: arrival time, µs, or 0:
 * the clock is read when the line needs it (a missing ts, --rate-clock
 * arrival, a ts beyond --max-skew of an earlier reading), which spares a
 * clock reading per line.
 * ING_OUT records emitted; ING_BAD refused (g->reason, g->detail);
 * ING_DUP duplicate dropped; ING_HEADER (CSV header consumed);
 * ING_MORE (CSV: a quoted field goes on in the next line: call again with
 * it; the record's raw text is then ingest_csv_raw); ING_FAIL emit failed. */
int ingest_line(ingest *g, const char *line, size_t len, int64_t now);
/* Where the next record starts in the input: a Kafka topic (NULL for a
 * byte stream), partition and offset, or the line number. A generated
 * sample_id depends on it, so a replay of the same input gives the same ids
 * and two identical lines at two places two ids. Without a call, ingest
 * numbers the records itself. */
void ingest_set_pos(ingest *g, const char *topic, int32_t partition, int64_t offset);
/* The current line's arrival time: as given to ingest_line, else read now. */
int64_t ingest_now(ingest *g);
/* The text of the CSV record last returned (spans lines after ING_MORE). */
const char *ingest_csv_raw(const ingest *g, size_t *len);
/* End of input: a CSV record still open is refused (ING_BAD) or nothing (ING_OUT). */
int ingest_finish(ingest *g);

/* An Event as fbrec_encode writes it, by evenc.c's direct path: the hook for
 * stream_out_set_encoder(out, &Event_desc, ...) of the sequential loop
 * (one static buffer: the main thread only). NULL: fbrec_encode does it. */
const uint8_t *ingest_event_encoder(void *ctx, const void *rec, int prefixed, size_t *len);

/* --- pieces, exposed for tests ------------------------------------------ */
/* Event type name -> enum (exact names; anything else EventType_custom). */
EventType ingest_event_type(const char *s, size_t len);
/* Epoch number -> µs by magnitude: < 1e11 seconds, < 1e14 milliseconds,
 * < 1e17 microseconds; larger is -1 (not a plausible epoch). */
int ingest_epoch_us(double v, int64_t *us);
/* ts from a string: ISO 8601 with zone (or a bare date, UTC), or an epoch
 * number in text. 0; -1 neither; -2 a number out of range; -3 ISO 8601
 * date-time without a zone. */
int ingest_ts_text(const char *s, size_t len, int64_t *us);
/* Refuse the line as rate_limited (g->reason, g->detail, counted): ING_BAD.
 * The one message for the sequential and the threaded loop. */
int ingest_rate_limited(ingest *g, const char *user_id);
/* CSV: split one record (RFC 4180) into fields. Returns the field count,
 * -1 when a quote is still open at the end (needs the next line), -2 on a
 * stray quote (err set). Unquoted text is written to out (size >= len+1 per
 * call), field i is fv[i] (NUL-terminated) with length fl[i]. */
int ingest_csv_split(const char *s, size_t len, char *out, const char **fv, uint32_t *fl,
                     int maxf, size_t *err_at);
/* Shared by the JSON and CSV paths (record.c): fields -> records.
 * ingest_fields_init: every field absent, named for messages. */
void ingest_fields_init(ing_val *f);
int ingest_build_event(ingest *g, const ing_val *f, int64_t now, const char *raw, size_t rawlen);
int ingest_build_sample(ingest *g, const ing_val *f, int64_t now);
int ingest_kv_add(ingest *g, const char *key, uint32_t keylen, const char *val, uint32_t vallen,
                  const char *what);
int ingest_csv_line(ingest *g, const char *line, size_t len, int64_t now);   /* csv.c */
void ingest_csv_free(ingest *g);
/* --map "a=b,c=d" items. 0 or -1 (err). */
int ingest_map_add(ingest_conf *c, const char *item, char *err, size_t errlen);

#endif

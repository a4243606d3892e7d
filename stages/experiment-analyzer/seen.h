/* seen.h — the event_ids experiment-analyzer has counted: a copy of one of
 * the last N events that concern an experiment (an upstream stage replays
 * what it had not committed when it crashed) is dropped, so no per-user
 * value (revenue, mean rating, ...), look or report moves.
 *
 * A window of the last N ids as 64-bit hashes (libstream/dedup.h: FIFO
 * ring + set at most half full, 24 to 40 bytes per id; N = 100,000: 2.9 MB).
 * Two different ids collide with probability about N / 2^64 per lookup
 * (5.4e-15 at N = 100,000). With --state the ids added since the last save
 * go to the table ea_seen(seq, id), the rows older than the window are
 * deleted, and the counters to the blob "experiment-analyzer.dedup", in the
 * checkpoint's transaction: a restart holds the same window. A window of
 * event time (--dedup-window DURATION) keeps each id's event time too
 * (ea_seen_at), so a restart evicts exactly what one run would. */
#ifndef EA_SEEN_H
#define EA_SEEN_H
#include <stddef.h>
#include <stdint.h>
#include "dedup.h"

struct state;

typedef struct ea_seen {
    dedup d;
    uint64_t seq;          /* ids added since the state began */
    uint64_t saved_seq;    /* seq at the last save */
    uint64_t duplicates;   /* events dropped */
} ea_seen;

/* ea_seen_at: with a window of event time, each id's event time (same seq) */
#define EA_SEEN_SCHEMA "CREATE TABLE IF NOT EXISTS ea_seen(seq INTEGER PRIMARY KEY, id INTEGER NOT NULL);" \
    "CREATE TABLE IF NOT EXISTS ea_seen_at(seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL);"

/* n: window size (with span_us > 0: the most ids held), 0: off. span_us:
 * a window of event time instead of a count (dedup_set_span), 0: a count.
 * 0, or -1 out of memory. */
int ea_seen_init(ea_seen *s, uint64_t n, int64_t span_us);
/* With a span: the event time of the event about to be checked and added. */
static inline void ea_seen_at(ea_seen *s, int64_t ts) { dedup_at(&s->d, ts); }
void ea_seen_free(ea_seen *s);
uint64_t ea_seen_hash(const char *id, size_t len);
/* 1 when h is in the window (counted as a duplicate). */
int ea_seen_check(ea_seen *s, uint64_t h);
void ea_seen_add(ea_seen *s, uint64_t h);
/* 0 or -1 (logged). */
int ea_seen_load(ea_seen *s, struct state *st);
int ea_seen_save(ea_seen *s, struct state *st);
#endif

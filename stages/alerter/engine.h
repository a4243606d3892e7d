/* engine.h — alert state: one entry per fingerprint (rule + labels), moved
 * through pending -> firing -> resolved by event time, with repeat,
 * escalation, silences, inhibition and acknowledgements. The engine decides
 * what to notify; the caller (main.c) delivers through the rule's channels.
 *
 * Time is event time only (Metric window_end, Drift ts, ExperimentResult
 * ts): "for" compares a series' own record times; repeat, escalation,
 * resolve_after and silences use the engine clock, the largest event time
 * seen so far. Replaying the same input decides the same way. */
#ifndef ALERTER_ENGINE_H
#define ALERTER_ENGINE_H
#include <stdint.h>
#include "fbrec.h"
#include "rules.h"

typedef struct al_engine al_engine;

/* Called for each notification to deliver (silenced and inhibited ones are
 * not): a firing or resolved Alert. Returns 0, or -1 to stop (fatal). */
typedef int (*al_emit_fn)(void *ctx, const al_rule *rule, const Alert *a);

typedef struct al_counters {
    uint64_t matched, ignored, fired, resolved, notified, repeats, escalations;
    uint64_t silenced, inhibited, dropped, stale;
} al_counters;

enum { AL_OK = 0, AL_BAD_VALUE = 1, AL_TOO_MANY_LABELS = 2, AL_BAD_TIME = 3, AL_ERR = -1 };
/* Event times are accepted within +-AL_TLIM (about 73,000 years in µs), so
 * differences of two of them never overflow. */
#define AL_TLIM ((int64_t)1 << 61)

al_engine *al_engine_new(const al_config *cfg, int64_t max_alerts, al_emit_fn emit, void *ctx);
void al_engine_free(al_engine *e);
/* One input record. AL_OK (also for records no rule looks at: counted as
 * ignored), AL_BAD_VALUE (a matched field is NaN/infinite: nothing changed,
 * *bad_rule names the rule), AL_TOO_MANY_LABELS, AL_BAD_TIME (a matched
 * record's time is outside +-AL_TLIM: nothing changed), AL_ERR (emit failed). */
int al_engine_record(al_engine *e, const fbrec_desc *d, const AnyRecord *rec, const char **bad_rule);
/* Where the clock (sweeps: resolve_after, repeats, escalation, delivery)
 * comes from. Without this it moves to each matched record's time: one
 * ordered input. With it, fn(ctx, ts) is told each matched record's time
 * and returns the time the input is complete up to (stream_in_event_time:
 * over Kafka partitions their minimum), so a partition read ahead of the
 * others never resolves or escalates the alerts of series on another.
 * INT64_MIN: unknown, the clock stays. */
typedef int64_t (*al_time_fn)(void *ctx, int64_t ts);
void al_engine_set_time_source(al_engine *e, al_time_fn fn, void *ctx);
/* --changelog (follow.h): the input partition of the records that come
 * next (-1: not Kafka); a new alert belongs to its record's partition. */
void al_engine_set_part(al_engine *e, int32_t part);
/* Keep the tombstones of removed alerts until al_follow writes them. */
void al_engine_track(al_engine *e);
/* Forget partition part's alerts (no notification, no tombstone: they
 * moved on with it), and the tombstones still due there. How many alerts. */
uint64_t al_engine_drop_part(al_engine *e, int32_t part);
/* Switch to another config (SIGHUP reload): alerts keep their state under
 * the rule of the same name; alerts of rules that are gone are dropped
 * (no notification). Returns how many were dropped. cfg must outlive e. */
uint64_t al_engine_set_config(al_engine *e, const al_config *cfg);
/* Silences from the state database (`alerter silence`), checked besides
 * the config's: the array is the caller's and must stay valid until the
 * next call (n 0: none). */
void al_engine_set_extra_silences(al_engine *e, const al_silence *s, int n);
/* Mark an alert acknowledged (no repeat, no escalation until it resolves).
 * 1 found and firing, 0 not. */
int al_engine_ack(al_engine *e, uint64_t fp);
const al_counters *al_engine_counters(const al_engine *e);
uint64_t al_engine_active(const al_engine *e);    /* pending + firing */
uint64_t al_engine_firing(const al_engine *e);
int64_t al_engine_clock(const al_engine *e);      /* INT64_MIN before the first record */

/* Fingerprint: FNV-1a 64 of rule name, 0xff, then each label (sorted by
 * key) as key 0x00 value 0x00; printed as 16 lower-case hex digits. */
uint64_t al_fingerprint(const char *rule, const KeyValue *labels, int n);
void al_fp_hex(uint64_t fp, char out[17]);
int al_fp_parse(const char *s, uint64_t *fp);      /* 0 or -1 */

/* The labels column of the alerts and silences tables: key 0x1f value
 * 0x1e, repeated. Reads the pair at *p (before end): 1 with *p moved past
 * it, 0 at the end (or where the rest is not a whole pair). */
int al_labels_next(const char **p, const char *end, fb_str *key, fb_str *value);

#endif

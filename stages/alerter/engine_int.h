/* engine_int.h — the alert engine's insides (engine.c), shared with the
 * files that save and load them (store.c: --state; follow.c: --changelog)
 * and with nothing else: callers use engine.h. */
#ifndef ALERTER_ENGINE_INT_H
#define ALERTER_ENGINE_INT_H
#include "engine.h"

enum { AL_PENDING = 0, AL_FIRING = 1 };
/* al_alert.dirty: changed since the last save to --state, to --changelog */
enum { AL_DIRTY_DB = 1, AL_DIRTY_CL = 2, AL_DIRTY_ALL = 3 };

typedef struct al_alert {
    uint64_t fp;
    int rule;
    int state;
    int severity;
    int notified;           /* the current firing (at this severity) was delivered */
    int acked;
    int suppressed;         /* silenced or inhibited: counted once per firing */
    uint32_t src_mask;      /* inhibit rules this alert counts as a source for */
    int dirty;              /* AL_DIRTY_*: changed since the last save (--state, --changelog) */
    int saved;              /* has a row in the state table (saved or loaded) */
    int cl_saved;           /* has a state record in --changelog (written or restored) */
    int32_t part;           /* the input partition its records come on (-1: not Kafka) */
    int64_t starts_at, fired_at, last_seen, last_sent;
    double value;
    KeyValue *labels; int nlabels;   /* one malloc block: array then strings */
} al_alert;

struct al_engine {
    const al_config *cfg;
    int64_t max_alerts;
    al_emit_fn emit; void *ctx;
    al_alert *v; uint32_t n, cap;
    int32_t *idx; uint32_t icap, itomb;   /* slot: 0 empty, -1 tombstone, i+1 */
    int64_t clock, last_sweep;
    al_time_fn time_fn; void *time_ctx;      /* al_engine_set_time_source */
    uint64_t nfiring;
    uint64_t *due; uint32_t ndue, capdue;
    int *hit; double *hitval; uint64_t *hitfp; int caphit;   /* per record: matching rules, their values, their alerts' fingerprints */
    uint64_t *rule_fp; int nrule_fp;         /* per rule: the fingerprint's hash of its name (al_fp_seed) */
    char (*rule_thr)[AL_THRESHOLD_TEXT];     /* per rule: its threshold as summaries print it */
    const al_silence *xsil; int nxsil;       /* silences from the state database */
    uint64_t *gone; uint32_t ngone, capgone; /* removed since the last save */
    int full_save;                           /* the table holds rows memory does not: rewrite it */
    /* --changelog (al_engine_track): the partition of the record being
     * handled, and the alerts removed since the last al_engine_changed
     * that the changelog holds (their tombstones are due) */
    int track_cl;
    int32_t cur_part;
    struct al_gone_cl { uint64_t fp; int32_t part; } *clgone; uint32_t nclgone, capclgone;
    /* --changelog: each input partition keeps its own clock (the largest
     * event time of its records) and sweeps only its alerts, so what
     * resolve_after, repeats, escalation and silences decide for a series
     * does not depend on which partitions an instance owns: each
     * partition's records are in event-time order, as one process reads
     * the same series from a file. e->clock stays the minimum the input
     * gives (silences read from --state end by it). */
    struct al_pclock { int64_t clock, last_sweep; } *pclock; uint32_t npclock;
    /* Inhibition index: per inhibit rule, how many firing alerts at or
     * above its source severity carry each key (a 64-bit hash of the
     * `equal` label values, or of all labels), so a check is O(rules). */
    const al_inhibit *inh; int ninh;
    struct al_cmap { uint64_t *key; uint32_t *cnt; uint32_t cap, used; } *cmap;
    al_counters c;
};

/* engine.c's alert table, for store.c's load */
al_alert *al_find(al_engine *e, uint64_t fp);
al_alert *al_insert(al_engine *e, uint64_t fp);
int al_copy_labels(al_alert *a, const KeyValue *kv, int n);
/* count a (present 1) or uncount it (0) in the inhibition index */
void al_inh_set(al_engine *e, al_alert *a, int present);
/* take a out of the table (no notification); a's tombstone is due if
 * the changelog holds it */
void al_remove(al_engine *e, al_alert *a);
#endif

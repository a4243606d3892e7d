/* engine_int.h — the alert engine's insides (engine.c), shared with the
 * file that saves and loads them (store.c) and with nothing else: callers
 * use engine.h. */
#ifndef ALERTER_ENGINE_INT_H
#define ALERTER_ENGINE_INT_H
#include "engine.h"

enum { AL_PENDING = 0, AL_FIRING = 1 };

typedef struct al_alert {
    uint64_t fp;
    int rule;
    int state;
    int severity;
    int notified;           /* the current firing (at this severity) was delivered */
    int acked;
    int suppressed;         /* silenced or inhibited: counted once per firing */
    uint32_t src_mask;      /* inhibit rules this alert counts as a source for */
    int dirty;              /* changed since the last al_engine_save */
    int saved;              /* has a row in the state table (saved or loaded) */
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
#endif

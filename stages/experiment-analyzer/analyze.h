/* analyze.h — the experiment engine: exposures, per-user metric values,
 * per-variant sufficient statistics, sequential looks, and the result rows.
 *
 * Users: one open-addressing table keyed by user_id holds every exposed
 * user; each user has one contiguous block with its id and one slot per
 * experiment it was exposed to, holding the variant, the exposure time and
 * its per-metric values (layout in store.h). Only exposed users are
 * stored: events of users never exposed cost a lookup and nothing else.
 * Memory per exposed user: see ea_bytes_per_user; the number of users is
 * bounded by max_users.
 *
 * Per variant and metric the engine keeps sufficient statistics: converted
 * users (conversion), or the count, mean and M2 (Welford) of the per-user
 * values (numeric, duration), updated in place when a user's value changes. */
#ifndef EA_ANALYZE_H
#define EA_ANALYZE_H
#include <stddef.h>
#include <stdint.h>
#include "config.h"
#include "fbrec.h"
#include "xsum.h"

typedef struct ea_arm {           /* one variant, one metric */
    uint64_t conversions;         /* conversion: users who converted */
    double n, mean, m2;           /* numeric/duration: per-user values */
} ea_arm;

typedef struct ea_seq {           /* sequential state, one treatment, one metric */
    double p_min;                 /* always-valid p: running min of 1/Lambda (1 before any look) */
    double ci_low, ci_high;       /* conversion: running intersection of the always-valid
                                     intervals; numeric/duration: the last look's (ea_look) */
    uint64_t looks;
    int64_t side;                 /* +1/-1: the lift's sign at the first look whose interval
                                     excluded 0 (p < alpha there); 0 before. A win's side */
} ea_seq;

typedef struct ea_exp_stats {
    uint64_t users[EA_MAX_VARIANTS];
    uint64_t mixed;               /* users seen in a second variant */
    uint64_t dropped;             /* exposures refused at --max-users */
    ea_arm arm[EA_MAX_VARIANTS][EA_MAX_METRICS];
    ea_seq seq[EA_MAX_VARIANTS][EA_MAX_METRICS];
    uint64_t updates;             /* since the last look */
    /* always-valid sample-ratio p: running min over looks of 1/BF
     * (st_srm_seq_p; 1 before any look) */
    double srm_p_min;
} ea_exp_stats;

/* One output row: one metric of one variant (the control included). */
typedef struct ea_row {
    int exp, metric, variant;
    int is_control;
    uint64_t users, conversions;
    double rate, mean, sd, ci_low, ci_high;
    double lift, lift_ci_low, lift_ci_high, rel_lift;
    double p_value, p_adj, av_p, av_p_adj, av_ci_low, av_ci_high;
    int av_side;                  /* ea_seq.side */
    const char *test;
    int significant, decision, srm_flag;
    double srm_p;
    uint64_t mixed;
    char reason[256];
    double lift_se;               /* standard error of lift (0 where the test has none) */
    double quantile;              /* quantile metrics: the level; mean holds the quantile */
    double theta, var_reduction, lift_plain;   /* CUPED (treatments): θ, 1 - Var(adjusted
                                                  lift)/Var(plain lift), the plain lift */
    double numerator, denominator;             /* ratio: the arm's sums; mean = their ratio */
} ea_row;

/* An experiment is flagged for a sample-ratio mismatch once its always-valid
 * SRM p-value falls below this: a fair split is flagged with probability at
 * most 0.001 over its whole life, however many reports are read. */
#define EA_SRM_ALPHA 0.001

typedef struct ea_engine ea_engine;

/* max_users bounds memory: exposures of new users beyond it are counted
 * (ea_exp_stats.dropped) and ignored. */
ea_engine *ea_new(const ea_config *cfg, uint64_t max_users);
void ea_free(ea_engine *ea);

enum { EA_OK = 0, EA_UNKNOWN_VARIANT = 1, EA_NO_USER = 2, EA_BAD_USER = 3, EA_DUPLICATE = 4 };
/* Feed one event. Returns EA_OK, or EA_UNKNOWN_VARIANT / EA_NO_USER /
 * EA_BAD_USER (user id over 16 MiB: sizes.h) for an event that names an
 * experiment (the caller rejects the record; nothing was counted), or
 * EA_DUPLICATE: its event_id is among the last counted (ea_set_dedup;
 * dropped and counted in ea_duplicates, not an error). */
int ea_event(ea_engine *ea, const Event *ev);
/* Drop copies of counted events: remember the event_ids of the last n
 * events that may change a statistic (those naming a configured experiment
 * or matching a metric's event, with a user_id): seen.h. 0 (the default):
 * off. span_us > 0: the ids of events within span_us of event time of the
 * newest instead, n of them at most (dedup.h). Call before ea_state_load.
 * 0, or -1 out of memory. */
int ea_set_dedup(ea_engine *ea, uint64_t n, int64_t span_us);
/* 1 when ea_event would return EA_DUPLICATE for ev (then counted), without
 * feeding it: lets the caller leave copies out of its report cadence. When
 * 0, an ea_event call right after, on the same unchanged ev, skips the
 * lookup. */
int ea_is_duplicate(ea_engine *ea, const Event *ev);
uint64_t ea_duplicates(const ea_engine *ea);
/* exposures of new users refused at max_users, over every experiment */
uint64_t ea_users_dropped(const ea_engine *ea);
/* Take a sequential look at every experiment now. ea_event does one per
 * experiment every 16 updates (exposures or metric changes); results show
 * the state as of the last look. */
void ea_look_all(ea_engine *ea);

/* Mergeable mode (--emit partials, --merge, --mergeable): no look every 16
 * updates, only the ones the caller takes (ea_look_all, at each report),
 * and the moments of numeric and duration arms come from exact sums of the
 * per-user values and their squares (ea_xarm) instead of Welford's
 * order-dependent updates. Results are then a function of which events each
 * report covers, not of the order users' events interleave in, and partials
 * of any number of partitions merge into exactly them. Call before any
 * event or ea_state_load. 0, or -1 out of memory. */
typedef struct ea_xarm {
    xsum s1, s2;                  /* Σ x and Σ x² of the per-user values, exact */
    double in1, in2;              /* the same for values outside xsum's range, rounded */
    uint64_t inexact;             /* values that went there */
} ea_xarm;
int ea_set_mergeable(ea_engine *ea);
int ea_is_mergeable(const ea_engine *ea);
/* The exact sums of variant v, metric m of experiment x (NULL unless
 * mergeable), and the statistics, writable: what a merge overwrites with
 * the sums of partials before ea_look_all and ea_results. */
ea_xarm *ea_xarm_of(ea_engine *ea, int x, int v, int m);
ea_exp_stats *ea_stats_mut(ea_engine *ea, int x);
/* Per arm of a CUPED or ratio metric: exact sums of the per-user pairs
 * (y, x) (y the metric or numerator, x the covariate or denominator), so
 * that the moments do not depend on the order users' values changed in, a
 * reloaded state rebuilds them exactly and partials merge into them
 * exactly (in any mode, not only mergeable). 1,048 bytes. */
typedef struct ea_psum {
    double n;
    xsum y, x, yy, xx, xy;
    double in_y, in_x, in_yy, in_xx, in_xy;   /* values outside xsum's range, rounded */
} ea_psum;
/* The pair sums of variant v, metric m of experiment x, writable (what a
 * merge overwrites); NULL unless metric m is a CUPED or ratio metric. */
ea_psum *ea_psum_of(ea_engine *ea, int x, int v, int m);
/* The fingerprint of an experiment's definition (variants, allocations,
 * salt, metrics): 16 hex digits and a NUL. */
void ea_fingerprint(const ea_experiment_cfg *e, char out[17]);

/* Compute the result rows of every experiment. *rows is owned by the engine,
 * valid until the next call. Returns the count. */
int ea_results(ea_engine *ea, const ea_row **rows);

const char *ea_metric_type_name(int type);   /* "conversion", ... */
const ea_config *ea_cfg(const ea_engine *ea);
const ea_exp_stats *ea_stats(const ea_engine *ea, int exp);
uint64_t ea_users(const ea_engine *ea);          /* distinct exposed users */
uint64_t ea_events_unknown_experiment(const ea_engine *ea);
size_t ea_memory(const ea_engine *ea);           /* bytes held for users */
/* Upper bound of the bytes held per exposed user whose id has key_len bytes
 * and who was exposed to experiments whose slots total slot_bytes (16 + 16
 * per metric and per CUPED covariate, each): table entries, its block, and its share of the free
 * blocks. E.g. a 10-byte id in 10 experiments of 3 metrics needs 672
 * bytes, in a 768-byte block: at most 3104 bytes held per user, about 850
 * in practice (users keep arriving and reuse the free blocks). */
size_t ea_bytes_per_user(size_t key_len, size_t slot_bytes);

/* State (--state): load everything at start; save what changed since the
 * last save. The caller wraps save in a transaction with the offsets.
 * 0 or -1 (logged); load returns -2 when the state was written for a
 * different definition of an experiment (a configuration error). */
struct state;
int ea_state_load(ea_engine *ea, struct state *st);
int ea_state_save(ea_engine *ea, struct state *st);
extern const char ea_state_schema[];

#endif

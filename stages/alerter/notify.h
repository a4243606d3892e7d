/* notify.h — the exec: and webhook: channels. Alerts are grouped per
 * channel and group key (the values of the config's group_by labels;
 * "alertname" means the rule) and each group goes out as one JSON payload:
 *
 *   {"channel":"webhook:http://…","group_labels":{"host":"web-1"},
 *    "status":"firing","alerts":[{"fingerprint":"…","rule":"…",
 *    "status":"firing","severity":"critical","summary":"…",
 *    "labels":{"host":"web-1"},"value":97.5,"threshold":90,
 *    "starts_at":1795428060000000,"ends_at":0}, …]}
 *
 * exec:COMMAND runs /bin/sh -c COMMAND with the payload on stdin (its
 * stdout goes to our stderr, never into the record stream); success is
 * exit 0 within the timeout. webhook:URL POSTs it (Content-Type
 * application/json); success is a 2xx answer. Failures (exit != 0, timeout,
 * 5xx, 429, connection errors) are retried with exponential backoff and
 * jitter, at most `retries` times; a 4xx other than 429 is not retried.
 * A payload that still fails is logged, counted and dead-lettered, and the
 * stream goes on: a dead receiver never blocks the stage for longer than
 * (retries + 1) * timeout + the backoff sum. */
#ifndef ALERTER_NOTIFY_H
#define ALERTER_NOTIFY_H
#include <stdint.h>
#include "deadletter.h"
#include "fbrec.h"

typedef struct al_notify al_notify;

typedef struct al_notify_cfg {
    char **group_by; int ngroup_by;
    int retries;
    int64_t backoff_us, backoff_max_us;
    int64_t exec_timeout_us, webhook_timeout_us;
    int max_batch;              /* a group is sent when it holds this many alerts */
    deadletter *dl;             /* may be NULL */
} al_notify_cfg;

typedef struct al_notify_counters {
    uint64_t sent, failed, retries;
} al_notify_counters;

al_notify *al_notify_new(const al_notify_cfg *cfg);
void al_notify_free(al_notify *n);
/* New group_by labels (a rules reload); queued groups keep their keys. */
void al_notify_set_group_by(al_notify *n, char **group_by, int ngroup_by);
/* Queue one alert for channel ("exec:…" or "webhook:…"). 0 or -1 (memory). */
int al_notify_add(al_notify *n, const char *channel, const Alert *a);
/* Send every queued group. Returns the number of payloads that failed for
 * good (already logged, counted and dead-lettered). */
int al_notify_flush(al_notify *n);
int al_notify_pending(const al_notify *n);   /* groups queued */
const al_notify_counters *al_notify_counts(const al_notify *n);
/* The URL of a webhook: channel's target (what follows "webhook:"): the
 * target itself, or for "@FILE" / "@NAME" the URL kept in that file or
 * systemd credential (secret.h), so a token in the URL is in neither the
 * rules file nor the logs, dead letters and payloads, which name the channel
 * as written. Read at every send: a rotated file is picked up. 0, or -1
 * with err. */
#define AL_WEBHOOK_URL_MAX 4096
int al_webhook_url(const char *target, char *url, size_t cap, char *err, size_t errlen);
#endif

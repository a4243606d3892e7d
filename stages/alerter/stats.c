/* stats.c — the alerter's counter table and its snapshot (stats.h). */
#include "stats.h"
#include <stddef.h>

void al_stats_take(al_stats *s, const al_engine *e, const al_notify *nt, const al_follow *fw)
{
    s->c = *al_engine_counters(e);
    if (nt) s->n = *al_notify_counts(nt);
    if (fw) s->f = *al_follow_stats_get(fw);
    s->active = al_engine_active(e);
    s->firing = al_engine_firing(e);
}

#define C(f) offsetof(al_stats, c.f)
#define N(f) offsetof(al_stats, n.f)
#define F(x) offsetof(al_stats, f.x)
#define PAYLOAD "exec:/webhook: payloads "
const counter_def al_counter_table[] = {
    { COUNTER_GAUGE, "streamrec_alerter_alerts", "alerts held (pending + firing)", offsetof(al_stats, active), NULL,
      "alerts" },
    { COUNTER_DONE_ONLY, NULL, NULL, C(matched), "matched", NULL },
    { COUNTER_TOTAL, "streamrec_alerter_ignored_total", "records no rule looks at", C(ignored), "ignored", NULL },
    { COUNTER_TOTAL, "streamrec_alerter_fired_total", "alerts that went from pending to firing", C(fired), "fired", NULL },
    { COUNTER_TOTAL, "streamrec_alerter_resolved_total", "firing alerts resolved", C(resolved), "resolved", NULL },
    { COUNTER_TOTAL, "streamrec_alerter_notifications_total", "firing/resolved notifications delivered to channels",
      C(notified), "notifications", NULL },
    { COUNTER_TOTAL, "streamrec_alerter_escalations_total", "alerts raised to their escalate_to severity",
      C(escalations), NULL, NULL },
    { COUNTER_TOTAL, "streamrec_alerter_silenced_total", "firing alerts held back by a silence", C(silenced),
      "silenced", NULL },
    { COUNTER_TOTAL, "streamrec_alerter_inhibited_total", "firing alerts held back by an inhibit rule", C(inhibited),
      "inhibited", NULL },
    { COUNTER_TOTAL, "streamrec_alerter_alerts_dropped_total", "new alerts refused past --max-alerts", C(dropped),
      "dropped", NULL },
    { COUNTER_TOTAL, "streamrec_alerter_stale_total", "records older than their alert's last record, skipped",
      C(stale), "stale", NULL },
    { COUNTER_GAUGE, "streamrec_alerter_alerts_firing", "alerts firing", offsetof(al_stats, firing), "firing",
      "firing" },
    { COUNTER_TOTAL, "streamrec_alerter_payloads_sent_total", PAYLOAD "delivered", N(sent), "payloads_sent", NULL },
    { COUNTER_TOTAL, "streamrec_alerter_payloads_failed_total", PAYLOAD "that failed after every retry (dead-lettered)",
      N(failed), "payloads_failed", NULL },
    { COUNTER_TOTAL, "streamrec_alerter_payload_retries_total", "exec:/webhook: retries", N(retries), NULL, NULL },
    { COUNTER_TOTAL, "streamrec_alerter_partitions_restored_total",
      "input partitions whose alerts were read from --changelog", F(restored_partitions), NULL, NULL },
    { COUNTER_TOTAL, "streamrec_alerter_changelog_alerts_total",
      "alert states applied from --changelog (an alert may count more than once)", F(restored_alerts), NULL, NULL },
    { COUNTER_TOTAL, "streamrec_alerter_changelog_bad_total",
      "--changelog records not understood (logged), left out: their alerts start again from their records",
      F(bad), NULL, NULL },
    { COUNTER_TOTAL, "streamrec_alerter_alerts_moved_total",
      "alerts dropped because their partition went to another member (it restores them)", F(dropped_alerts), NULL,
      NULL },
    { 0 }
};
#undef C
#undef N
#undef F

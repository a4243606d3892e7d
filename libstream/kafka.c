/* kafka.c — Kafka source and sink on librdkafka (contract in kafka.h).
 *
 * Everything librdkafka reports (errors, logs, rebalances, delivery reports)
 * is served on the caller's thread inside poll/produce/flush: logs go through
 * the log queue (log.queue=true) so log.h is never called from librdkafka's
 * own threads.
 *
 * Offsets: each partition this member owns has an entry with the position
 * after the last message returned ("next") and what was last committed.
 * Commits send only entries whose next moved, for owned partitions. */
#include "kafka.h"
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <librdkafka/rdkafka.h>
#include "log.h"
#include "secret.h"
#include "sig.h"
#include "timefmt.h"
#include "wmark.h"

/* Our own -X key (not librdkafka's): give up when no broker has been
 * reachable for this long, so a wrong address ends with an error instead of
 * retrying forever. 0 disables. */
#define KAFKA_DOWN_KEY "streamrec.down.timeout.ms"
#define KAFKA_DOWN_DEFAULT_MS 60000
/* Offset-commit metadata of a partition that carried watermark marks
 * (wmark.h): whoever is assigned it next, a restart from the committed
 * offset or another member, holds its time unknown until marks come, as
 * this member would, instead of taking the records before the first mark
 * at their own time (schemas/README.md, "Watermark marks"). */
#define KAFKA_MARKS_TAG "streamrec:wmark"
/* Offset-commit metadata of a partition without marks (read also beside
 * the tag, space separated): the largest event time (µs) of the records
 * before the committed offset, as this member names it in its marks
 * (kafka_src_progress). A partition handed to
 * a member that reads nothing new on it (a rebalance, a restart) is named
 * at that time at once instead of "none yet", which readers ignore: their
 * windows would wait for new records on it (schemas/README.md). */
#define KAFKA_TIME_KEY "streamrec:time="

typedef struct kafka_part {
    char topic[128];
    int32_t partition;
    int64_t next;        /* after the last returned message; -1 none yet */
    int64_t committed;   /* last next committed by us; -1 none */
    int assigned, eof;
    int64_t eof_ms;      /* when eof was last set (monotonic ms) */
    int64_t max_ts;      /* largest event time noted (kafka_src_note_time); INT64_MIN none */
    uint32_t epoch;      /* assignment it belongs to (kafka_src_owned) */
    int32_t partitions;  /* of its topic; 0 not asked yet, -1 unknown */
    /* alignment (kafka_src_set_align): messages polled while the partition
     * was ahead, kept in order (a ring) until it may be read again */
    rd_kafka_message_t **held;
    int held_n, held_head;
    size_t held_bytes;
    int paused;          /* paused in librdkafka by us (its APP_PAUSE flag) */
    int64_t polled_next; /* after the last message polled (held or returned); -1 none */
    int64_t last_msg_ms; /* when a message of it was last polled, or it was assigned */
    /* watermark marks read from it (wmark.h); NULL: none yet */
    wmark_table *marks;
    /* what this member, as a producer, says of it in its marks
     * (kafka_src_progress): max_ts when next was last committed */
    int64_t committed_ts;
    int reported;        /* in the last marks: 0 not named, 1 not idle, 2 idle */
} kafka_part;

/* Alignment holds at most this many messages (or bytes of payload) per
 * partition, then pauses the partition in librdkafka (kafka_src_set_align
 * may give fewer messages). */
#define KAFKA_HOLD_MAX 4096
#define KAFKA_HOLD_BYTES (4u << 20)
/* The slowest partition is looked for again at least this often while
 * messages are held (a partition going idle frees the others). */
#define KAFKA_ALIGN_RECHECK_MS 100

struct kafka_src {
    rd_kafka_t *rk;
    char topic[128];               /* the input topic (kafka_src_partition_count) */
    int stop_at_eof;
    kafka_part *parts; int nparts, capparts;
    rd_kafka_message_t *cur;       /* returned by the last poll */
    stream_start_fn start_fn; void *start_ctx;
    kafka_revoke_fn revoke_fn; void *revoke_ctx;
    int closing, fatal;
    uint64_t count;
    int64_t down_since_ms, down_timeout_ms;
    uint32_t epochs;
    stream_commit_limit_fn limit_fn; void *limit_ctx;
    int64_t now_ms;                /* the clock as kafka_src_poll last read it */
    /* alignment (kafka_src_set_align); align_lo: the slowest partition's
     * time (INT64_MAX: none holds the others back) */
    int64_t align_skew, align_idle_ms, align_lo, align_at_ms;
    int hold_max;                  /* ring size per partition */
    int64_t last_polled_ms;        /* when a message was last polled (any partition) */
    int64_t wake_ms;               /* when messages came again after a quiet spell */
    int align_dirty;
    uint64_t held_now;             /* messages held over all partitions */
    stream_align_stats st;
    int mark_wanted;               /* a message came from a partition our last marks did not name as busy */
    int last_find;                 /* kafka_part_find's last answer (an index: parts may move) */
};

struct kafka_sink {
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    char topic[128];
    uint64_t produced, acked, failed;
    int fatal;
    int64_t down_since_ms, down_timeout_ms;
    int32_t partitions;            /* kafka_sink_partitions; 0 not asked */
    int64_t partitions_at_ms;
};

static int32_t topic_partition_count(rd_kafka_t *rk, const char *topic, int timeout_ms);

/* ---- configuration --------------------------------------------------------- */

static int kafka_conf_set(rd_kafka_conf_t *conf, const char *k, const char *v, char *err, size_t n)
{
    char e[512];
    if (rd_kafka_conf_set(conf, k, v, e, sizeof e) != RD_KAFKA_CONF_OK) {
        snprintf(err, n, "-X %s=%s: %s", k, v, e);
        return -1;
    }
    return 0;
}

/* Apply -X key=value items after our defaults so the user's win (kafka.h). */
int kafka_conf_apply(rd_kafka_conf_t *conf, const cli_list *l, int64_t *down_ms, char *err, size_t n)
{
    for (int i = 0; l && i < l->n; i++) {
        const char *item = l->items[i], *eq = strchr(item, '=');
        if (!eq || eq == item) {
            snprintf(err, n, "-X %s: expected key=value", item);
            return -1;
        }
        char key[256];
        size_t kl = (size_t)(eq - item);
        if (kl >= sizeof key) { snprintf(err, n, "-X %s: key too long", item); return -1; }
        memcpy(key, item, kl); key[kl] = 0;
        if (!strcmp(key, KAFKA_DOWN_KEY)) {
            char *end; errno = 0;
            long long v = strtoll(eq + 1, &end, 10);
            if (errno || *end || end == eq + 1 || v < 0) {
                snprintf(err, n, "-X %s: expected milliseconds >= 0", item);
                return -1;
            }
            if (down_ms) *down_ms = v;
            continue;
        }
        /* KEY=@FILE or KEY=@NAME: the value is a secret kept in a file or a
         * systemd credential (secret.h), never in argv or the logs:
         * -X sasl.password=@kafka-password */
        const char *val = eq + 1;
        char secret[1024];
        if (val[0] == '@') {
            char e[512];
            if (secret_read(val + 1, secret, sizeof secret, e, sizeof e)) {
                snprintf(err, n, "-X %s: %s", item, e);
                return -1;
            }
            val = secret;
        }
        int bad = kafka_conf_set(conf, key, val, err, n);
        if (val == secret) {
            if (bad) snprintf(err, n, "-X %s: librdkafka refuses the value in that file", item);
            memset(secret, 0, sizeof secret);
        }
        if (bad) return -1;
    }
    return 0;
}

int kafka_conf_check(const cli_list *conf, char *err, size_t n)
{
    if (!conf || !conf->n) return 0;
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    int rc = kafka_conf_apply(c, conf, NULL, err, n);
    rd_kafka_conf_destroy(c);
    return rc;
}

/* librdkafka's text may hold quotes or backslashes; make it JSON-safe. */
static const char *kafka_json_safe(const char *s, char *buf, size_t n)
{
    size_t j = 0;
    for (; *s && j + 2 < n; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') { buf[j++] = '\\'; buf[j++] = (char)c; }
        else buf[j++] = c < 0x20 ? ' ' : (char)c;
    }
    buf[j] = 0;
    return buf;
}

static void kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    /* syslog levels: 0-3 error, 4 warning, 5-6 info, 7 debug */
    log_level l = level <= 3 ? LOG_ERROR : level == 4 ? LOG_WARN : level <= 6 ? LOG_INFO : LOG_DEBUG;
    char f[64], d[512];
    if (log_enabled(l))
        log_kv(l, "kafka", "\"facility\":\"%s\",\"detail\":\"%s\"",
               kafka_json_safe(fac, f, sizeof f), kafka_json_safe(buf, d, sizeof d));
}

static void kafka_note_error(int64_t *down_since, int *fatal, rd_kafka_t *rk, int err,
                             const char *reason)
{
    char safe[512], fbuf[512];
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
        if (!*down_since) *down_since = mono_ms();
    }
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        rd_kafka_fatal_error(rk, fbuf, sizeof fbuf);
        log_kv(LOG_ERROR, "kafka fatal error", "\"error\":\"%s\"", kafka_json_safe(fbuf, safe, sizeof safe));
        *fatal = 1;
        return;
    }
    log_kv(LOG_WARN, "kafka error", "\"code\":\"%s\",\"error\":\"%s\"",
           rd_kafka_err2name((rd_kafka_resp_err_t)err), kafka_json_safe(reason, safe, sizeof safe));
}

/* When brokers have been down past the limit, ask for metadata once: if that
 * works they are back (librdkafka has no "broker up" event); else give up. */
static int kafka_down_check(rd_kafka_t *rk, int64_t *down_since, int64_t limit)
{
    if (!*down_since || !limit || mono_ms() - *down_since < limit) return 0;
    const struct rd_kafka_metadata *md;
    if (rd_kafka_metadata(rk, 0, NULL, &md, 2000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_metadata_destroy(md);
        *down_since = 0;
        return 0;
    }
    log_kv(LOG_ERROR, "no kafka broker reachable, giving up", "\"seconds\":%lld,\"hint\":\"-X %s=MS\"",
           (long long)(limit / 1000), KAFKA_DOWN_KEY);
    return -1;
}

/* ---- source ---------------------------------------------------------------- */

/* The source's clock (now_ms, eof_ms, last_msg_ms): read per message, and
 * what it times is 100 ms and more (alignment, idleness, poll slices), so
 * the coarse clock (a few ms steps) does: on this VM a precise read
 * (kvm-clock) cost ~3% of ingest's CPU over Kafka (perf). */
static int64_t kafka_src_clock_ms(void) { return mono_coarse_us() / 1000; }

static kafka_part *kafka_part_find(kafka_src *s, const char *topic, int32_t p, int create)
{
    /* per message and then per record, mostly of the partition asked last;
     * a record's position names the topic by our own copy (kafka_msg.topic) */
    kafka_part *hit = s->last_find < s->nparts ? &s->parts[s->last_find] : NULL;
    if (hit && hit->partition == p && (hit->topic == topic || !strcmp(hit->topic, topic))) return hit;
    for (int i = 0; i < s->nparts; i++)
        if (s->parts[i].partition == p && !strcmp(s->parts[i].topic, topic)) {
            s->last_find = i;
            return &s->parts[i];
        }
    if (!create) return NULL;
    if (s->nparts == s->capparts) {
        int cap = s->capparts ? s->capparts * 2 : 16;
        kafka_part *np = realloc(s->parts, (size_t)cap * sizeof *np);
        if (!np) return NULL;
        s->parts = np; s->capparts = cap;
    }
    kafka_part *e = &s->parts[s->nparts++];
    memset(e, 0, sizeof *e);
    snprintf(e->topic, sizeof e->topic, "%s", topic);
    e->partition = p;
    e->next = e->committed = e->polled_next = -1;
    e->max_ts = e->committed_ts = INT64_MIN;
    return e;
}

static int32_t kafka_topic_partitions(kafka_src *s, const char *topic);

/* ---- alignment (kafka_src_set_align) ------------------------------------------
 * A partition more than the skew ahead of the slowest one is not read from
 * until the others catch up (Flink's split-level watermark alignment).
 * How: a message polled from such a partition is held, in order, in the
 * partition's ring; only a full ring pauses the partition in librdkafka,
 * and it is resumed once the ring is half read. Why not pause at once:
 * in librdkafka 2.0.2 a pause (rd_kafka_toppar_pause_resume) raises the
 * partition's version barrier, so every message it has fetched for the
 * partition and not yet handed out is dropped, and fetched again after the
 * resume from the position after the last message handed out
 * (rktp_app_offset, which rd_kafka_consumer_poll sets; held messages were
 * handed out, so nothing is skipped and nothing comes twice). Pausing at
 * every bound crossed would fetch a batch (up to max.partition.fetch.bytes)
 * to use a bound's worth of it. Why not per-partition queues
 * (rd_kafka_queue_get_partition, un-forwarded): each queue then fills up to
 * queued.max.messages.kbytes on its own (memory times partitions), and the
 * wait on several queues needs io events; the consumer queue keeps one
 * wait and one prefetch budget. The pause flag (APP_PAUSE) outlives an
 * unassignment in 2.0.2 (only librdkafka's own LIB_PAUSE is reset on
 * assign), so a revoked partition is resumed before it goes: a partition
 * handed back later is never left paused. */

static int kafka_part_at_end(const kafka_part *kp) { return kp->eof && !kp->held_n; }
/* At its end, with nothing new, for idle_ms: it holds no event time back. */
static int kafka_part_quiet(const kafka_part *kp, int64_t now_ms, int64_t idle_ms)
{
    return kafka_part_at_end(kp) && now_ms - kp->eof_ms >= idle_ms;
}

/* A partition from which nothing came for this long, though not at its
 * end, stops holding the others back (a stalled fetch, a partition whose
 * leader is away): never a wait for ever. */
static int64_t kafka_align_stall_ms(const kafka_src *s) { return s->align_idle_ms > 1000 ? s->align_idle_ms : 1000; }

/* A partition at its end holds the others back this long, counted from
 * when it got there or from when messages came again after the whole input
 * was quiet for as long (a burst produced to every partition reaches them
 * a fetch or two apart: the first must not run ahead of the rest). Shorter
 * than the skew (of event time, in step with the clock when live), it
 * delays nothing in a live stream: a quiet partition is past it before the
 * others are the skew ahead. */
static int64_t kafka_align_grace_ms(const kafka_src *s) { return s->align_idle_ms < 1000 ? s->align_idle_ms : 1000; }

/* Does this partition's time bound the others'? Held messages are unread
 * data; at its end (nothing unread) past the grace it does not: whatever
 * comes later is new, and waiting for it would stop a live stream. */
static int kafka_part_holds_back(const kafka_src *s, const kafka_part *kp)
{
    if (!kp->assigned) return 0;
    if (kp->held_n) return 1;
    if (kp->eof) return s->now_ms - (kp->eof_ms > s->wake_ms ? kp->eof_ms : s->wake_ms) < kafka_align_grace_ms(s);
    return s->now_ms - kp->last_msg_ms < kafka_align_stall_ms(s);
}

static void kafka_align_update(kafka_src *s)
{
    int64_t lo = INT64_MAX;
    for (int i = 0; i < s->nparts; i++) {
        const kafka_part *kp = &s->parts[i];
        if (kafka_part_holds_back(s, kp) && kp->max_ts < lo) lo = kp->max_ts;
    }
    s->align_lo = lo;
    s->align_at_ms = s->now_ms;
    s->align_dirty = 0;
}

/* More than the skew ahead of the slowest partition: not to be read now.
 * A partition without a time yet is never ahead, and one with a time is
 * ahead of one without (its first record may be old). */
static int kafka_part_ahead(const kafka_src *s, const kafka_part *kp)
{
    if (kp->max_ts == INT64_MIN || s->align_lo == INT64_MAX) return 0;
    if (s->align_lo == INT64_MIN) return 1;
    int64_t limit;
    if (__builtin_add_overflow(s->align_lo, s->align_skew, &limit)) return 0;
    return kp->max_ts > limit;
}

static void kafka_part_pause(kafka_src *s, kafka_part *kp, int pause)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, kp->topic, kp->partition);
    rd_kafka_resp_err_t re = pause ? rd_kafka_pause_partitions(s->rk, l) : rd_kafka_resume_partitions(s->rk, l);
    if (!re) re = l->elems[0].err;
    rd_kafka_topic_partition_list_destroy(l);
    if (re) {
        /* unknown to librdkafka (gone with its assignment): nothing to undo */
        log_kv(LOG_WARN, pause ? "kafka pause failed" : "kafka resume failed",
               "\"topic\":\"%s\",\"partition\":%d,\"error\":\"%s\"", kp->topic, (int)kp->partition,
               rd_kafka_err2str(re));
        if (!pause) kp->paused = 0;
        return;
    }
    kp->paused = pause;
    if (pause) s->st.pauses++;
    else s->st.resumes++;
}

/* 0 held; -1 no memory for the ring (alignment is then off: the caller
 * hands the message out rather than lose it). */
static int kafka_part_hold(kafka_src *s, kafka_part *kp, rd_kafka_message_t *msg)
{
    if (!kp->held && !(kp->held = malloc((size_t)s->hold_max * sizeof *kp->held))) {
        log_error("kafka: out of memory holding a message back; reading on without alignment");
        s->align_skew = 0;
        return -1;
    }
    kp->held[(kp->held_head + kp->held_n) % s->hold_max] = msg;
    if (!kp->held_n++) s->align_dirty = 1;
    kp->held_bytes += msg->len;
    s->held_now++;
    s->st.held++;
    if (!kp->paused && (kp->held_n == s->hold_max || kp->held_bytes >= KAFKA_HOLD_BYTES))
        kafka_part_pause(s, kp, 1);
    return 0;
}

static rd_kafka_message_t *kafka_part_unhold(kafka_src *s, kafka_part *kp)
{
    rd_kafka_message_t *msg = kp->held[kp->held_head];
    kp->held_head = (kp->held_head + 1) % s->hold_max;
    if (!--kp->held_n) {
        kp->held_head = 0;
        s->align_dirty = 1;
        if (kp->eof) kp->eof_ms = s->now_ms;   /* at its end from now: nothing unread */
    }
    kp->held_bytes -= msg->len;
    s->held_now--;
    if (kp->paused && kp->held_n <= s->hold_max / 2 && kp->held_bytes < KAFKA_HOLD_BYTES / 2)
        kafka_part_pause(s, kp, 0);
    return msg;
}

/* The partition is no longer ours (or the source closes): its held
 * messages go (never returned, so never committed: its next owner reads
 * them), and a pause of ours is lifted. */
static void kafka_part_release(kafka_src *s, kafka_part *kp, int resume)
{
    while (kp->held_n) {
        rd_kafka_message_destroy(kp->held[kp->held_head]);
        kp->held_head = (kp->held_head + 1) % s->hold_max;
        kp->held_n--;
        s->held_now--;
    }
    kp->held_head = 0;
    kp->held_bytes = 0;
    if (kp->paused && resume) kafka_part_pause(s, kp, 0);
    kp->paused = 0;
    kp->polled_next = -1;
    s->align_dirty = 1;
}

/* A held message of a partition that may be read now, the slowest first;
 * NULL when none. */
static kafka_part *kafka_align_pick(kafka_src *s)
{
    if (s->align_dirty || s->now_ms - s->align_at_ms >= KAFKA_ALIGN_RECHECK_MS) kafka_align_update(s);
    kafka_part *best = NULL;
    for (int i = 0; i < s->nparts; i++) {
        kafka_part *kp = &s->parts[i];
        if (!kp->held_n || !kp->assigned || kafka_part_ahead(s, kp)) continue;
        if (!best || kp->max_ts < best->max_ts) best = kp;
    }
    return best;
}

static void kafka_src_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    kafka_src *s = opaque;
    kafka_note_error(&s->down_since_ms, &s->fatal, rk, err, reason);
}

/* A stage's stored offset (its --state, saved with the state built from
 * the records before it) is where it resumes, unless the group's committed
 * offset is further: a stage commits only what its state has saved, so a
 * committed offset past the stored one means another member read on from
 * there and counted those records (the partition moved while this one was
 * away, or it was handed back); reading them again would count them twice.
 * A committed offset behind the stored one is a crash between saving and
 * committing: the stored one is right. Unknown (the broker did not answer):
 * the stored one, logged. */
static void kafka_src_start_after_others(kafka_src *s, rd_kafka_topic_partition_list_t *parts,
                                         const rd_kafka_topic_partition_list_t *c, rd_kafka_resp_err_t re)
{
    for (int i = 0; i < parts->cnt && i < c->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &parts->elems[i], *ct = &c->elems[i];
        if (tp->offset < 0) continue;
        if (re || ct->err) {
            log_kv(LOG_WARN, "kafka committed offset unknown: resuming from the stored one",
                   "\"topic\":\"%s\",\"partition\":%d,\"stored\":%lld,\"error\":\"%s\"", tp->topic,
                   (int)tp->partition, (long long)tp->offset, rd_kafka_err2str(re ? re : ct->err));
        } else if (ct->offset > tp->offset) {
            log_kv(LOG_INFO, "kafka partition read on by another member: resuming from the committed offset",
                   "\"topic\":\"%s\",\"partition\":%d,\"stored\":%lld,\"committed\":%lld", tp->topic,
                   (int)tp->partition, (long long)tp->offset, (long long)ct->offset);
            tp->offset = ct->offset;
        }
    }
}

/* The offset committed for this partition, read from its metadata: did it
 * come with our tag (it carried watermark marks, KAFKA_MARKS_TAG), and the
 * time of the records before it (KAFKA_TIME_KEY; INT64_MIN: not said).
 * Other tokens (another writer's) are skipped. */
static int kafka_committed_meta(const rd_kafka_topic_partition_t *ct, int64_t *time)
{
    *time = INT64_MIN;
    if (ct->err || !ct->metadata) return 0;
    const char *p = ct->metadata, *end = p + ct->metadata_size;
    int tagged = 0;
    while (p < end) {
        const char *sp = memchr(p, ' ', (size_t)(end - p));
        size_t n = (size_t)((sp ? sp : end) - p);
        size_t kn = sizeof KAFKA_TIME_KEY - 1;
        if (n == sizeof KAFKA_MARKS_TAG - 1 && !memcmp(p, KAFKA_MARKS_TAG, n)) {
            tagged = 1;
        } else if (n > kn && n - kn < 24 && !memcmp(p, KAFKA_TIME_KEY, kn)) {
            char num[24], *e;
            memcpy(num, p + kn, n - kn);
            num[n - kn] = 0;
            errno = 0;
            long long v = strtoll(num, &e, 10);
            if (!*e && !errno && e != num) *time = v;
        }
        p += n + 1;
    }
    return tagged;
}

static void kafka_src_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                                   rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    kafka_src *s = opaque;
    /* NULL while the group is left (a rebalance served inside
     * rd_kafka_consumer_close, e.g. when two members stop at once):
     * strcmp(NULL) was the segfault after "done" */
    const char *proto = rd_kafka_rebalance_protocol(rk);
    int coop = proto && !strcmp(proto, "COOPERATIVE");
    rd_kafka_error_t *e = NULL;
    rd_kafka_resp_err_t re = RD_KAFKA_RESP_ERR_NO_ERROR;
    s->down_since_ms = 0;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        int stored = 0;
        for (int i = 0; i < parts->cnt; i++) {
            rd_kafka_topic_partition_t *tp = &parts->elems[i];
            int64_t off = s->start_fn ? s->start_fn(s->start_ctx, tp->topic, tp->partition) : -1;
            tp->offset = off >= 0 ? off : RD_KAFKA_OFFSET_INVALID;
            stored += off >= 0;
        }
        /* the committed offsets and their metadata, to know which partitions
         * carried marks (even with no stored offset to compare) */
        rd_kafka_topic_partition_list_t *c = rd_kafka_topic_partition_list_copy(parts);
        rd_kafka_resp_err_t cre = rd_kafka_committed(s->rk, c, 10000);
        if (stored) kafka_src_start_after_others(s, parts, c, cre);
        for (int i = 0; i < parts->cnt; i++) {
            rd_kafka_topic_partition_t *tp = &parts->elems[i];
            kafka_part *kp = kafka_part_find(s, tp->topic, tp->partition, 1);
            if (!kp) { log_error("kafka: out of memory"); s->fatal = 1; continue; }
            /* nothing held or paused survives a revoke; this is for an
             * assignment that came without one */
            if (kp->held_n || kp->paused) kafka_part_release(s, kp, 1);
            kp->assigned = 1; kp->eof = 0;
            kp->next = kp->committed = kp->polled_next = -1;
            kp->max_ts = INT64_MIN;   /* its event time is learnt again from what it delivers */
            kp->committed_ts = INT64_MIN;
            kp->reported = 0;
            int64_t ctime = INT64_MIN;
            int tagged = i < c->cnt && !cre && kafka_committed_meta(&c->elems[i], &ctime);
            /* the committed offset's time, when reading starts there (or
             * past it: a lower bound then); started before it, records
             * older than that time may be written again */
            if (ctime != INT64_MIN && c->elems[i].offset >= 0 &&
                (tp->offset < 0 || tp->offset >= c->elems[i].offset))
                kp->committed_ts = ctime;
            /* read from another offset now: the marks past it are not true of what comes
             * (the table stays: it carries marks, its time waits for them) */
            if (kp->marks) wmark_table_reset(kp->marks);
            else if (tagged && !(kp->marks = wmark_table_new())) {
                log_error("kafka: out of memory");
                s->fatal = 1;
            }
            if (cre || (i < c->cnt && c->elems[i].err))
                log_kv(LOG_WARN, "kafka committed offset unknown: whether the partition carries watermark marks "
                       "is learnt from its first mark", "\"topic\":\"%s\",\"partition\":%d,\"error\":\"%s\"",
                       tp->topic, (int)tp->partition,
                       rd_kafka_err2str(cre ? cre : c->elems[i].err));
            kp->epoch = ++s->epochs;
            kp->last_msg_ms = kafka_src_clock_ms();
            s->align_dirty = 1;
            log_kv(LOG_INFO, "kafka partition assigned", "\"topic\":\"%s\",\"partition\":%d,\"start\":%lld",
                   tp->topic, (int)tp->partition, (long long)(tp->offset >= 0 ? tp->offset : -1));
        }
        rd_kafka_topic_partition_list_destroy(c);
        if (coop) e = rd_kafka_incremental_assign(rk, parts);
        else re = rd_kafka_assign(rk, parts);
    } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        /* Still ours here: the caller may flush its output and commit. */
        if (s->revoke_fn && !s->closing) s->revoke_fn(s->revoke_ctx);
        for (int i = 0; i < parts->cnt; i++) {
            kafka_part *kp = kafka_part_find(s, parts->elems[i].topic, parts->elems[i].partition, 0);
            if (kp) { kafka_part_release(s, kp, 1); kp->assigned = 0; kp->next = kp->committed = -1; }
        }
        if (coop) e = rd_kafka_incremental_unassign(rk, parts);
        else re = rd_kafka_assign(rk, NULL);
    } else {
        log_kv(LOG_ERROR, "kafka rebalance failed", "\"error\":\"%s\"", rd_kafka_err2str(err));
        for (int i = 0; i < s->nparts; i++) { kafka_part_release(s, &s->parts[i], 1); s->parts[i].assigned = 0; }
        re = rd_kafka_assign(rk, NULL);
    }
    if (e) {
        log_kv(LOG_ERROR, "kafka assignment failed", "\"error\":\"%s\"", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    } else if (re) {
        log_kv(LOG_ERROR, "kafka assignment failed", "\"error\":\"%s\"", rd_kafka_err2str(re));
    }
}

kafka_src *kafka_src_open(const char *brokers, const char *topic, const char *group,
                          int stop_at_eof, const cli_list *conf, char *err, size_t n)
{
    if (!group || !*group) { snprintf(err, n, "kafka input needs a consumer group (?group=NAME)"); return NULL; }
    if (!topic || !*topic) { snprintf(err, n, "kafka input needs a topic"); return NULL; }
    if (strlen(topic) >= sizeof ((kafka_part *)0)->topic) { snprintf(err, n, "topic name too long"); return NULL; }
    kafka_src *s = calloc(1, sizeof *s);
    if (!s) { snprintf(err, n, "out of memory"); return NULL; }
    s->stop_at_eof = stop_at_eof;
    snprintf(s->topic, sizeof s->topic, "%s", topic);
    s->align_lo = INT64_MAX;
    s->down_timeout_ms = KAFKA_DOWN_DEFAULT_MS;
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    if (kafka_conf_set(c, "bootstrap.servers", brokers, err, n) ||
        kafka_conf_set(c, "group.id", group, err, n) ||
        kafka_conf_set(c, "enable.auto.commit", "false", err, n) ||
        kafka_conf_set(c, "enable.auto.offset.store", "false", err, n) ||
        kafka_conf_set(c, "auto.offset.reset", "earliest", err, n) ||
        /* end-of-partition events tell an idle partition (kafka_src_event_time) */
        kafka_conf_set(c, "enable.partition.eof", "true", err, n) ||
        kafka_conf_set(c, "log.queue", "true", err, n) ||
        kafka_conf_apply(c, conf, &s->down_timeout_ms, err, n)) {
        rd_kafka_conf_destroy(c);
        free(s);
        return NULL;
    }
    rd_kafka_conf_set_opaque(c, s);
    rd_kafka_conf_set_error_cb(c, kafka_src_error_cb);
    rd_kafka_conf_set_rebalance_cb(c, kafka_src_rebalance_cb);
    rd_kafka_conf_set_log_cb(c, kafka_log_cb);
    char e[512];
    s->rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, e, sizeof e);
    if (!s->rk) {
        snprintf(err, n, "kafka consumer: %s", e);
        rd_kafka_conf_destroy(c);
        free(s);
        return NULL;
    }
    rd_kafka_set_log_queue(s->rk, NULL);   /* logs served by poll, on our thread */
    rd_kafka_poll_set_consumer(s->rk);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t re = rd_kafka_subscribe(s->rk, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (re) {
        snprintf(err, n, "kafka subscribe %s: %s", topic, rd_kafka_err2str(re));
        rd_kafka_destroy(s->rk);
        free(s);
        return NULL;
    }
    return s;
}

/* A topic's partition count from the broker's metadata (a blocking round
 * trip); -1 when the broker does not say within timeout_ms. */
static int32_t topic_partition_count(rd_kafka_t *rk, const char *topic, int timeout_ms)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    if (!rkt) return -1;
    const struct rd_kafka_metadata *md = NULL;
    int32_t n = -1;
    if (rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
            n = md->topics[0].partition_cnt;
        rd_kafka_metadata_destroy(md);
    }
    rd_kafka_topic_destroy(rkt);
    return n;
}

int kafka_src_partition_count(kafka_src *s, int timeout_ms)
{
    return topic_partition_count(s->rk, s->topic, timeout_ms);
}

void kafka_src_set_start(kafka_src *s, stream_start_fn fn, void *ctx) { s->start_fn = fn; s->start_ctx = ctx; }
void kafka_src_set_revoke(kafka_src *s, kafka_revoke_fn fn, void *ctx) { s->revoke_fn = fn; s->revoke_ctx = ctx; }
uint64_t kafka_src_count(const kafka_src *s) { return s->count; }
const char *kafka_src_topic(const kafka_src *s) { return s->topic; }

static int kafka_src_all_eof(const kafka_src *s)
{
    int any = 0;
    for (int i = 0; i < s->nparts; i++) {
        if (!s->parts[i].assigned) continue;
        if (!kafka_part_at_end(&s->parts[i])) return 0;
        any = 1;
    }
    return any;
}

/* Hand msg (of kp) out as the poll's message. */
static int kafka_src_deliver(kafka_src *s, kafka_part *kp, rd_kafka_message_t *msg, kafka_msg *m)
{
    kp->next = msg->offset + 1;
    if (kp->reported != 1) s->mark_wanted = 1;   /* our marks must say it is busy before its records */
    s->cur = msg;
    s->count++;
    m->val = msg->payload; m->len = msg->len;
    m->key = msg->key; m->keylen = msg->key_len;
    m->topic = kp->topic; m->partition = msg->partition; m->offset = msg->offset;
    rd_kafka_timestamp_type_t tt;
    m->ts_ms = rd_kafka_message_timestamp(msg, &tt);   /* -1 when not available */
    m->ts_is_log_append = tt == RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME;
    return 1;
}

int kafka_src_poll(kafka_src *s, int timeout_ms, kafka_msg *m)
{
    if (s->cur) { rd_kafka_message_destroy(s->cur); s->cur = NULL; }
    /* One clock read per message, here: kept in now_ms for
     * kafka_src_event_time, which the stages call per record (a precise
     * read costs ~0.2 us on a VM's kvm-clock; this is the coarse clock,
     * kafka_src_clock_ms); a message ends the wait without another. */
    int64_t deadline = (s->now_ms = kafka_src_clock_ms()) + (timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        if (s->fatal) return -1;
        if (kafka_down_check(s->rk, &s->down_since_ms, s->down_timeout_ms)) return -1;
        if (s->held_now) {   /* held messages of a partition the others caught up with come first */
            kafka_part *kp = kafka_align_pick(s);
            if (kp) return kafka_src_deliver(s, kp, kafka_part_unhold(s, kp), m);
        }
        int64_t left = deadline - s->now_ms;
        /* slices of at most 100 ms so fatal errors and the down limit are seen */
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(s->rk, left <= 0 ? 0 : left > 100 ? 100 : (int)left);
        if (!msg || msg->err) s->now_ms = kafka_src_clock_ms();
        if (!msg) {
            if (s->fatal) return -1;
            if (s->stop_at_eof && kafka_src_all_eof(s)) return 2;
            if (s->now_ms >= deadline) return 0;
            continue;
        }
        if (msg->err) {
            const char *topic = msg->rkt ? rd_kafka_topic_name(msg->rkt) : NULL;
            if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                kafka_part *kp = topic ? kafka_part_find(s, topic, msg->partition, 0) : NULL;
                if (kp && kp->assigned && !kp->eof) { kp->eof = 1; kp->eof_ms = s->now_ms; s->align_dirty = 1; }
                rd_kafka_message_destroy(msg);
                s->down_since_ms = 0;
                if (s->stop_at_eof && kafka_src_all_eof(s)) return 2;
                continue;
            }
            char safe[512];
            log_kv(LOG_ERROR, "kafka consume error", "\"topic\":\"%s\",\"partition\":%d,\"code\":\"%s\",\"error\":\"%s\"",
                   topic ? topic : "", (int)msg->partition, rd_kafka_err2name(msg->err),
                   kafka_json_safe(rd_kafka_message_errstr(msg), safe, sizeof safe));
            if (msg->err == RD_KAFKA_RESP_ERR__FATAL) s->fatal = 1;
            rd_kafka_message_destroy(msg);
            continue;
        }
        const char *topic = rd_kafka_topic_name(msg->rkt);
        kafka_part *kp = kafka_part_find(s, topic, msg->partition, 0);
        if (!kp || !kp->assigned) {
            /* a message fetched before its partition was revoked: not ours to return */
            rd_kafka_message_destroy(msg);
            s->now_ms = kafka_src_clock_ms();
            continue;
        }
        s->down_since_ms = 0;
        if (kp->polled_next >= 0 && msg->offset < kp->polled_next) {
            /* polled before (held or returned): librdkafka drops what it
             * had fetched when a partition is paused, so this is only a
             * guard against handing a record out twice */
            log_kv(LOG_DEBUG, "kafka message polled again, dropped", "\"topic\":\"%s\",\"partition\":%d,\"offset\":%lld",
                   topic, (int)msg->partition, (long long)msg->offset);
            rd_kafka_message_destroy(msg);
            continue;
        }
        kp->polled_next = msg->offset + 1;
        kp->last_msg_ms = s->now_ms;
        if (s->now_ms - s->last_polled_ms >= kafka_align_grace_ms(s)) { s->wake_ms = s->now_ms; s->align_dirty = 1; }
        s->last_polled_ms = s->now_ms;
        if (kp->eof) { kp->eof = 0; s->align_dirty = 1; }
        if (s->align_skew > 0) {
            if (s->align_dirty || s->now_ms - s->align_at_ms >= KAFKA_ALIGN_RECHECK_MS) kafka_align_update(s);
            /* ahead, or behind its own held messages: held, in order */
            if ((kp->held_n || kafka_part_ahead(s, kp)) && kafka_part_hold(s, kp, msg) == 0) {
                s->now_ms = kafka_src_clock_ms();
                continue;
            }
        }
        return kafka_src_deliver(s, kp, msg, m);
    }
}

int kafka_src_commit(kafka_src *s)
{
    if (s->fatal) return -1;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(s->nparts ? s->nparts : 1);
    for (int i = 0; i < s->nparts; i++) {
        kafka_part *kp = &s->parts[i];
        if (!kp->assigned || kp->next < 0) continue;
        int64_t off = kp->next;
        if (s->limit_fn) {
            int64_t lim = s->limit_fn(s->limit_ctx, kp->topic, kp->partition);
            if (lim < off) off = lim;
        }
        if (off < 0 || off == kp->committed) continue;
        rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_add(l, kp->topic, kp->partition);
        tp->offset = off;
        /* the time as it will stand once this commit is made (below) */
        int64_t t = kp->committed_ts;
        if (off == kp->next && kp->max_ts > t) t = kp->max_ts;
        /* a partition that carries marks keeps the tag alone, as readers
         * built before the time compare the whole string (its time is
         * its marks', not this member's) */
        char meta[64];
        int mn = 0;
        if (kp->marks) mn = snprintf(meta, sizeof meta, "%s", KAFKA_MARKS_TAG);
        else if (t != INT64_MIN) mn = snprintf(meta, sizeof meta, KAFKA_TIME_KEY "%lld", (long long)t);
        if (mn > 0) {   /* (librdkafka frees it with the list) */
            tp->metadata = malloc((size_t)mn);
            if (!tp->metadata) { log_error("kafka: out of memory"); s->fatal = 1; break; }
            memcpy(tp->metadata, meta, (size_t)mn);
            tp->metadata_size = (size_t)mn;
        }
    }
    int rc = 0;
    if (l->cnt && !s->fatal) {
        rd_kafka_resp_err_t re = rd_kafka_commit(s->rk, l, 0);
        /* A commit refused during a rebalance is not fatal: the records are
         * delivered again to whoever owns the partition next (at least once). */
        if (re) {
            log_kv(LOG_WARN, "kafka commit failed", "\"error\":\"%s\"", rd_kafka_err2str(re));
            if (re == RD_KAFKA_RESP_ERR__FATAL) rc = -1;
        } else {
            for (int i = 0; i < l->cnt; i++) {
                rd_kafka_topic_partition_t *tp = &l->elems[i];
                kafka_part *kp = kafka_part_find(s, tp->topic, tp->partition, 0);
                if (tp->err) {
                    log_kv(LOG_WARN, "kafka commit failed", "\"topic\":\"%s\",\"partition\":%d,\"error\":\"%s\"",
                           tp->topic, (int)tp->partition, rd_kafka_err2str(tp->err));
                } else if (kp && kp->assigned) {
                    kp->committed = tp->offset;
                    /* every record before it noted (the stage notes as it uses them) */
                    if (tp->offset == kp->next && kp->max_ts > kp->committed_ts) kp->committed_ts = kp->max_ts;
                }
            }
        }
    }
    rd_kafka_topic_partition_list_destroy(l);
    return s->fatal ? -1 : rc;
}

static void kafka_part_note(kafka_src *s, kafka_part *kp, int64_t ts)
{
    if (ts > kp->max_ts) {
        /* the slowest moved on: the others' limit may have too */
        if (kp->max_ts <= s->align_lo) s->align_dirty = 1;
        kp->max_ts = ts;
    }
}

void kafka_src_note_time(kafka_src *s, const char *topic, int32_t partition, int64_t ts)
{
    kafka_part *kp = kafka_part_find(s, topic, partition, 0);
    if (kp && kp->assigned) kafka_part_note(s, kp, ts);
}

void kafka_src_set_align(kafka_src *s, int64_t max_skew, int64_t idle_ms, int hold)
{
    /* the ring size is fixed once a ring exists */
    if (!s->hold_max) s->hold_max = hold > 1 && hold < KAFKA_HOLD_MAX ? hold : KAFKA_HOLD_MAX;
    s->align_skew = max_skew > 0 ? max_skew : 0;
    s->align_idle_ms = idle_ms;
    s->align_dirty = 1;
}

void kafka_src_align_stats(const kafka_src *s, stream_align_stats *st)
{
    *st = s->st;
    st->held_now = s->held_now;
    st->paused_now = 0;
    for (int i = 0; i < s->nparts; i++) st->paused_now += s->parts[i].paused;
}

/* A partition's event time and whether it holds the others back: from the
 * marks read from it when there are any, else from its records (the
 * largest time noted; idle at its end for idle_ms: nothing unread). With
 * marks it is idle when every input partition of its producers is and
 * nothing of it is unread: marks read while it is read behind its end say
 * how things stood back then, and the records after them may be older than
 * what the other partitions, read further, have reached. */
static int64_t kafka_part_time(kafka_part *kp, int64_t now_ms, int64_t idle_ms, int *idle)
{
    /* a table, even one reset by a new assignment: the partition carried
     * marks, so records read again before the next ones say nothing of the
     * other producers (unknown until every input partition is named again) */
    if (kp->marks) {
        int64_t t = wmark_table_time(kp->marks);
        *idle = t == WMARK_IDLE && kafka_part_at_end(kp);
        if (t == WMARK_IDLE) {
            int64_t m = wmark_table_max(kp->marks);
            return m > kp->max_ts ? m : kp->max_ts;
        }
        return t;
    }
    *idle = kafka_part_quiet(kp, now_ms, idle_ms);
    return kp->max_ts;
}

int64_t kafka_src_event_time(kafka_src *s, int64_t idle_ms)
{
    int64_t lo = INT64_MAX, hi = INT64_MIN;   /* the last poll's clock: per record, no read */
    int active = 0;
    for (int i = 0; i < s->nparts; i++) {
        kafka_part *kp = &s->parts[i];
        if (!kp->assigned) continue;
        int idle;
        int64_t t = kafka_part_time(kp, s->now_ms, idle_ms, &idle);
        if (t > hi) hi = t;
        /* idle: nothing unread can hold the others back */
        if (idle) continue;
        active = 1;
        if (t < lo) lo = t;
    }
    return active ? lo : hi;
}

int64_t kafka_src_part_time(kafka_src *s, const char *topic, int32_t partition, int64_t idle_ms, int *idle)
{
    kafka_part *kp = kafka_part_find(s, topic, partition, 0);
    int dummy;
    if (!idle) idle = &dummy;
    if (!kp || !kp->assigned) { *idle = 0; return INT64_MIN; }
    return kafka_part_time(kp, s->now_ms, idle_ms, idle);
}

int64_t kafka_src_note_part_time(kafka_src *s, const char *topic, int32_t partition, int64_t ts, int64_t idle_ms)
{
    kafka_part *kp = kafka_part_find(s, topic, partition, 0);
    if (!kp || !kp->assigned) return INT64_MIN;
    kafka_part_note(s, kp, ts);
    int idle;
    return kafka_part_time(kp, s->now_ms, idle_ms, &idle);
}

int kafka_src_note_mark(kafka_src *s, const char *topic, int32_t partition, const Watermark *m, char *err, size_t n)
{
    kafka_part *kp = kafka_part_find(s, topic, partition, 0);
    if (!kp || !kp->assigned) return 0;
    if (!kp->marks && !(kp->marks = wmark_table_new())) { snprintf(err, n, "out of memory"); return -1; }
    return wmark_table_note(kp->marks, m, err, n);
}

int kafka_src_progress(kafka_src *s, int64_t idle_ms, kafka_progress *out, int max, int32_t *partitions)
{
    int k = 0;
    *partitions = kafka_topic_partitions(s, s->topic);
    for (int i = 0; i < s->nparts; i++) {
        kafka_part *kp = &s->parts[i];
        if (!kp->assigned || strcmp(kp->topic, s->topic)) continue;
        /* idle: read to its end for idle_ms and all of it committed, so a
         * next owner has nothing old to write */
        int idle = kafka_part_quiet(kp, s->now_ms, idle_ms) &&
                   (kp->next < 0 || kp->committed == kp->next);
        if (k < max) {
            out[k].partition = kp->partition;
            out[k].time = kp->committed_ts;
            out[k].idle = idle;
        }
        k++;
    }
    return k;
}

void kafka_src_progress_sent(kafka_src *s, const kafka_progress *p, int n)
{
    for (int i = 0; i < n; i++) {
        kafka_part *kp = kafka_part_find(s, s->topic, p[i].partition, 0);
        if (kp) kp->reported = p[i].idle ? 2 : 1;
    }
    /* (a partition that just gave a message is not at its end: named busy) */
    s->mark_wanted = 0;
}

int kafka_src_mark_wanted(const kafka_src *s) { return s->mark_wanted; }

void kafka_src_set_commit_limit(kafka_src *s, stream_commit_limit_fn fn, void *ctx)
{
    s->limit_fn = fn;
    s->limit_ctx = ctx;
}

/* The partition count of a topic, from metadata asked once (a blocking
 * broker round trip); -1 when the broker does not say. */
static int32_t kafka_topic_partitions(kafka_src *s, const char *topic)
{
    for (int i = 0; i < s->nparts; i++)
        if (s->parts[i].partitions && !strcmp(s->parts[i].topic, topic)) return s->parts[i].partitions;
    int32_t n = topic_partition_count(s->rk, topic, 5000);
    if (n > 0)
        for (int i = 0; i < s->nparts; i++)
            if (!strcmp(s->parts[i].topic, topic)) s->parts[i].partitions = n;
    return n;
}

int kafka_src_owned(kafka_src *s, int i, int64_t idle_ms, stream_part *out)
{
    int64_t now = kafka_src_clock_ms();
    for (int k = 0; k < s->nparts; k++) {
        kafka_part *kp = &s->parts[k];
        if (!kp->assigned || i-- > 0) continue;
        out->topic = kp->topic;
        out->partition = kp->partition;
        out->epoch = kp->epoch;
        int idle;
        (void)kafka_part_time(kp, now, idle_ms, &idle);
        out->idle = idle;
        out->eof = kafka_part_at_end(kp);
        out->partitions = kp->partitions ? kp->partitions : kafka_topic_partitions(s, kp->topic);
        return 1;
    }
    return 0;
}

void kafka_src_lag_each(kafka_src *s, void (*fn)(void *ctx, const char *topic, int32_t partition, int64_t lag),
                        void *ctx)
{
    for (int i = 0; i < s->nparts; i++) {
        kafka_part *kp = &s->parts[i];
        int64_t lo, hi, lag = -1;
        if (!kp->assigned) lag = 0;
        else if (kp->next >= 0 && !rd_kafka_get_watermark_offsets(s->rk, kp->topic, kp->partition, &lo, &hi) && hi >= 0)
            lag = hi > kp->next ? hi - kp->next : 0;
        fn(ctx, kp->topic, kp->partition, lag);
    }
}

int kafka_src_offsets(kafka_src *s, stream_offset *out, int max)
{
    int k = 0;
    for (int i = 0; i < s->nparts && k < max; i++) {
        kafka_part *kp = &s->parts[i];
        if (!kp->assigned || kp->next < 0) continue;
        snprintf(out[k].topic, sizeof out[k].topic, "%s", kp->topic);
        out[k].partition = kp->partition;
        out[k].next = kp->next;
        k++;
    }
    return k;
}

void kafka_src_close(kafka_src *s)
{
    if (!s) return;
    if (s->cur) rd_kafka_message_destroy(s->cur);
    s->closing = 1;
    rd_kafka_resp_err_t re = rd_kafka_consumer_close(s->rk);
    if (re) log_kv(LOG_WARN, "kafka consumer close", "\"error\":\"%s\"", rd_kafka_err2str(re));
    for (int i = 0; i < s->nparts; i++) {   /* (the revoke on close released them, unless none came) */
        kafka_part_release(s, &s->parts[i], 0);
        free(s->parts[i].held);
        wmark_table_free(s->parts[i].marks);
    }
    rd_kafka_destroy(s->rk);
    free(s->parts);
    free(s);
}

/* ---- sink ------------------------------------------------------------------ */

/* zstd level 1, not librdkafka's default 3: librdkafka (2.0.2, zstd linked
 * dynamically) builds a fresh compression context per batch without telling
 * zstd the input size, so level 3 clears its full-size tables (768 KiB) for
 * every batch of every partition; level 1 clears 32 KiB and compresses our
 * records to within ~1.5% of level 3's size (tests/bench/kafka-pipeline.sh
 * prints both). -X compression.level=N overrides. */
#define KAFKA_ZSTD_LEVEL "1"
/* How long a batch waits for more messages. Per batch (and per partition)
 * librdkafka pays a compression context, a request and, on the reader's
 * side, a decompression context or two (the frame does not say its
 * decompressed size, so the reader guesses and retries); a longer wait
 * makes fewer, larger batches at that much latency per Kafka hop. */
#define KAFKA_LINGER_MS "5"
/* Delivery reports are served every this many messages (and by every flush):
 * a poll per message cost a queue lock per message for nothing, as the
 * reports come back a batch at a time. */
#define KAFKA_SINK_POLL_EVERY 64

static void kafka_sink_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    kafka_sink *k = opaque;
    kafka_note_error(&k->down_since_ms, &k->fatal, rk, err, reason);
}

static void kafka_sink_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    (void)rk;
    kafka_sink *k = opaque;
    if (msg->err) {
        k->failed++;
        log_kv(LOG_ERROR, "kafka delivery failed", "\"topic\":\"%s\",\"partition\":%d,\"error\":\"%s\"",
               k->topic, (int)msg->partition, rd_kafka_err2str(msg->err));
    } else {
        k->acked++;
        k->down_since_ms = 0;
    }
}

kafka_sink *kafka_sink_open(const char *brokers, const char *topic, const cli_list *conf,
                            char *err, size_t n)
{
    if (!topic || !*topic) { snprintf(err, n, "kafka output needs a topic"); return NULL; }
    kafka_sink *k = calloc(1, sizeof *k);
    if (!k) { snprintf(err, n, "out of memory"); return NULL; }
    if (strlen(topic) >= sizeof k->topic) { snprintf(err, n, "topic name too long"); free(k); return NULL; }
    snprintf(k->topic, sizeof k->topic, "%s", topic);
    k->down_timeout_ms = KAFKA_DOWN_DEFAULT_MS;
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    if (kafka_conf_set(c, "bootstrap.servers", brokers, err, n) ||
        kafka_conf_set(c, "compression.type", "zstd", err, n) ||
        kafka_conf_set(c, "compression.level", KAFKA_ZSTD_LEVEL, err, n) ||
        kafka_conf_set(c, "enable.idempotence", "true", err, n) ||
        kafka_conf_set(c, "linger.ms", KAFKA_LINGER_MS, err, n) ||
        kafka_conf_set(c, "log.queue", "true", err, n) ||
        kafka_conf_apply(c, conf, &k->down_timeout_ms, err, n)) {
        rd_kafka_conf_destroy(c);
        free(k);
        return NULL;
    }
    rd_kafka_conf_set_opaque(c, k);
    rd_kafka_conf_set_error_cb(c, kafka_sink_error_cb);
    rd_kafka_conf_set_dr_msg_cb(c, kafka_sink_dr_cb);
    rd_kafka_conf_set_log_cb(c, kafka_log_cb);
    char e[512];
    k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, e, sizeof e);
    if (!k->rk) {
        snprintf(err, n, "kafka producer: %s", e);
        rd_kafka_conf_destroy(c);
        free(k);
        return NULL;
    }
    rd_kafka_set_log_queue(k->rk, NULL);
    k->rkt = rd_kafka_topic_new(k->rk, topic, NULL);
    if (!k->rkt) {
        snprintf(err, n, "kafka topic %s: %s", topic, rd_kafka_err2str(rd_kafka_last_error()));
        rd_kafka_destroy(k->rk);
        free(k);
        return NULL;
    }
    return k;
}

static int kafka_sink_produce_p(kafka_sink *k, int32_t partition, const void *val, size_t len, const void *key,
                                size_t keylen)
{
    for (;;) {
        if (k->fatal) return -1;
        if (rd_kafka_produce(k->rkt, partition, RD_KAFKA_MSG_F_COPY, (void *)val, len,
                             key, key ? keylen : 0, NULL) == 0)
            break;
        rd_kafka_resp_err_t re = rd_kafka_last_error();
        if (re != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            log_kv(LOG_ERROR, "kafka produce failed", "\"topic\":\"%s\",\"error\":\"%s\"",
                   k->topic, rd_kafka_err2str(re));
            return -1;
        }
        /* backpressure: wait for deliveries to make room, never drop */
        rd_kafka_poll(k->rk, 100);
        if (kafka_down_check(k->rk, &k->down_since_ms, k->down_timeout_ms)) return -1;
    }
    if (++k->produced % KAFKA_SINK_POLL_EVERY == 0) rd_kafka_poll(k->rk, 0);   /* serve delivery reports */
    return k->fatal ? -1 : 0;
}

int kafka_sink_produce(kafka_sink *k, const void *val, size_t len, const void *key, size_t keylen)
{
    return kafka_sink_produce_p(k, RD_KAFKA_PARTITION_UA, val, len, key, keylen);
}

int kafka_sink_produce_to(kafka_sink *k, int32_t partition, const void *val, size_t len)
{
    return kafka_sink_produce_p(k, partition, val, len, NULL, 0);
}

int kafka_sink_partitions_ask(kafka_sink *k, int timeout_ms)
{
    int32_t n = topic_partition_count(k->rk, k->topic, timeout_ms);
    k->partitions_at_ms = mono_ms();
    if (n > 0 || k->partitions <= 0) k->partitions = n;
    rd_kafka_poll(k->rk, 0);   /* delivery reports, while a caller waits in this */
    return k->partitions;
}

int kafka_sink_partitions(kafka_sink *k)
{
    /* (unknown: asked again 5 s later, not per call) */
    if (k->partitions_at_ms && mono_ms() - k->partitions_at_ms < (k->partitions > 0 ? 60000 : 5000))
        return k->partitions;
    return kafka_sink_partitions_ask(k, 5000);
}

int kafka_sink_flush(kafka_sink *k, int timeout_ms)
{
    int64_t deadline = timeout_ms < 0 ? INT64_MAX : mono_ms() + timeout_ms;
    while (rd_kafka_outq_len(k->rk) > 0) {
        if (k->fatal) break;
        if (kafka_down_check(k->rk, &k->down_since_ms, k->down_timeout_ms)) return -1;
        int64_t left = deadline - mono_ms();
        if (left <= 0) {
            log_kv(LOG_ERROR, "kafka flush timed out", "\"topic\":\"%s\",\"pending\":%d",
                   k->topic, rd_kafka_outq_len(k->rk));
            return -1;
        }
        rd_kafka_flush(k->rk, left > 100 ? 100 : (int)left);
    }
    rd_kafka_poll(k->rk, 0);
    return (k->fatal || k->failed) ? -1 : 0;
}

uint64_t kafka_sink_acked(const kafka_sink *k) { return k->acked; }
uint64_t kafka_sink_failed(const kafka_sink *k) { return k->failed; }

int kafka_sink_close(kafka_sink *k)
{
    if (!k) return 0;
    int rc = kafka_sink_flush(k, 30000);
    rd_kafka_topic_destroy(k->rkt);
    rd_kafka_destroy(k->rk);
    free(k);
    return rc;
}

/* ---- start-up reachability -------------------------------------------------- */

/* Does "host:port", "[v6]:port" or "proto://host:port" name a host that
 * resolves? Only a definite "no such name" counts as 0: a resolver that
 * is not answering yet, or a form we do not parse, count as resolvable. */
static int kafka_host_resolves(const char *b, size_t len, char *why, size_t n)
{
    char hp[300];
    if (len >= sizeof hp) return 1;
    memcpy(hp, b, len); hp[len] = 0;
    char *h = strstr(hp, "://") ? strstr(hp, "://") + 3 : hp, *port = NULL;
    if (*h == '[') {
        char *e = strchr(h, ']');
        if (!e) return 1;
        *e = 0; h++;
        port = e[1] == ':' ? e + 2 : NULL;
    } else if ((port = strrchr(h, ':'))) {
        *port++ = 0;
    }
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
    int rc = getaddrinfo(h, port && *port ? port : "9092", &hints, &ai);
    if (ai) freeaddrinfo(ai);
    if (rc == EAI_NONAME) { snprintf(why, n, "%s: %s", h, gai_strerror(rc)); return 0; }
    return 1;
}

typedef struct kafka_probe { char last[256]; } kafka_probe;

static void kafka_probe_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)rk; (void)err;
    kafka_probe *p = opaque;
    snprintf(p->last, sizeof p->last, "%s", reason);
}

int kafka_reachable(const char *brokers, const cli_list *conf, int64_t timeout_ms, char *err, size_t n)
{
    char why[320] = "";
    int resolvable = 0;
    for (const char *b = brokers; *b;) {
        size_t len = strcspn(b, ",");
        if (len && kafka_host_resolves(b, len, why, sizeof why)) resolvable = 1;
        b += len + (b[len] == ',');
    }
    if (!resolvable) { snprintf(err, n, "%s", why[0] ? why : "no broker address"); return KAFKA_UNRESOLVED; }

    kafka_probe probe = { "" };
    int64_t down = 0;
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    char e[512];
    if (kafka_conf_set(c, "bootstrap.servers", brokers, err, n) ||
        kafka_conf_set(c, "log_level", "0", err, n) ||   /* the one-line answer is ours to give */
        kafka_conf_apply(c, conf, &down, err, n)) {
        rd_kafka_conf_destroy(c);
        return KAFKA_UNREACHABLE;
    }
    rd_kafka_conf_set_opaque(c, &probe);
    rd_kafka_conf_set_error_cb(c, kafka_probe_error_cb);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, e, sizeof e);
    if (!rk) { snprintf(err, n, "%s", e); rd_kafka_conf_destroy(c); return KAFKA_UNREACHABLE; }
    int64_t deadline = mono_ms() + timeout_ms;
    int rc = KAFKA_UNREACHABLE;
    rd_kafka_resp_err_t re = RD_KAFKA_RESP_ERR__TIMED_OUT;
    /* slices, so SIGTERM during a long wait is not kept waiting */
    while (!sig_stop_requested()) {
        int64_t left = deadline - mono_ms();
        if (left <= 0) break;
        const struct rd_kafka_metadata *md;
        re = rd_kafka_metadata(rk, 0, NULL, &md, left > 500 ? 500 : (int)left);
        if (re == RD_KAFKA_RESP_ERR_NO_ERROR) { rd_kafka_metadata_destroy(md); rc = 0; break; }
    }
    if (sig_stop_requested()) rc = 0;
    rd_kafka_poll(rk, 0);   /* serve the error callback: the reason */
    if (rc) snprintf(err, n, "%s", probe.last[0] ? probe.last : rd_kafka_err2str(re));
    rd_kafka_destroy(rk);
    return rc;
}

/* ---- URI ------------------------------------------------------------------- */

static int kafka_copy(char *dst, size_t dn, const char *s, size_t len)
{
    if (len >= dn) return -1;
    memcpy(dst, s, len);
    dst[len] = 0;
    return 0;
}

int kafka_uri_parse(const char *uri, char *brokers, size_t bn, char *topic, size_t tn,
                    char *group, size_t gn, int *eof, char *err, size_t n)
{
    const char *p = uri;
    if (!strncmp(p, "kafka://", 8)) p += 8;
    const char *slash = strchr(p, '/');
    if (!slash || slash == p) { snprintf(err, n, "%s: expected kafka://host:port[,host:port]/topic", uri); return -1; }
    if (kafka_copy(brokers, bn, p, (size_t)(slash - p))) { snprintf(err, n, "%s: broker list too long", uri); return -1; }
    const char *t = slash + 1, *q = strchr(t, '?');
    size_t tl = q ? (size_t)(q - t) : strlen(t);
    if (!tl) { snprintf(err, n, "%s: missing topic", uri); return -1; }
    if (kafka_copy(topic, tn, t, tl)) { snprintf(err, n, "%s: topic too long", uri); return -1; }
    for (size_t i = 0; i < tl; i++) {
        char ch = t[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-')) {
            snprintf(err, n, "%s: topic names use [a-zA-Z0-9._-]", uri);
            return -1;
        }
    }
    group[0] = 0;
    *eof = 0;
    while (q && *q) {
        const char *kv = q + 1, *amp = strchr(kv, '&'), *eq = strchr(kv, '=');
        size_t kvl = amp ? (size_t)(amp - kv) : strlen(kv);
        if (!eq || eq >= kv + kvl) { snprintf(err, n, "%s: query needs key=value", uri); return -1; }
        size_t kl = (size_t)(eq - kv), vl = kvl - kl - 1;
        const char *v = eq + 1;
        if (kl == 5 && !strncmp(kv, "group", 5)) {
            if (!vl || kafka_copy(group, gn, v, vl)) { snprintf(err, n, "%s: bad group", uri); return -1; }
        } else if (kl == 3 && !strncmp(kv, "eof", 3)) {
            if (vl != 1 || (v[0] != '0' && v[0] != '1')) { snprintf(err, n, "%s: eof is 0 or 1", uri); return -1; }
            *eof = v[0] == '1';
        } else {
            snprintf(err, n, "%s: unknown query key '%.*s' (group, eof)", uri, (int)kl, kv);
            return -1;
        }
        q = amp;
    }
    return 0;
}

/* kafka.h — the Kafka source (consumer group member) and sink (idempotent
 * producer) behind stream.c, on librdkafka.
 *
 * Source: a consumer in group GROUP with enable.auto.commit=false and
 * enable.auto.offset.store=false: nothing is committed until the caller says
 * so with kafka_src_commit, which commits offset+1 of every message returned
 * so far on the partitions this member still owns. stream.c calls it only
 * after flushing what it derived from those messages (at least once).
 * Defaults: auto.offset.reset=earliest (a new group reads the whole topic);
 * -X key=value overrides anything (session.timeout.ms for tests...).
 *
 * Rebalances: on assign, each partition starts at the offset the start
 * function gives (if set and >= 0; the stage's --state) or at the group's
 * committed offset, whichever is further: a stage with --state commits only
 * what it has saved, so a committed offset past its stored one is another
 * member's progress (the stored one would count those records twice).
 * On revoke, the revoke hook (if set) is called first, while the partitions
 * are still ours, so the caller can flush its output and kafka_src_commit;
 * then the positions of the revoked partitions are forgotten (never
 * committed later: another member owns them now; what was not committed is
 * delivered again to the new owner). Hooks run inside kafka_src_poll only,
 * never inside kafka_src_close (the caller syncs before closing).
 *
 * Sink: compression.type=zstd (compression.level=1) and
 * enable.idempotence=true unless -X says otherwise; every message is
 * copied; a full local queue blocks (polls and retries: backpressure, never
 * a drop); delivery reports are served every 64 messages and by every flush,
 * and a failure makes kafka_sink_flush (and every later flush) return -1.
 *
 * Errors from librdkafka (broker down, unknown topic...) are logged through
 * log.h, rate-limited; fatal ones make poll/produce/flush return -1.
 * A bad -X key or value fails the open with librdkafka's own message in err. */
#ifndef STREAMREC_KAFKA_H
#define STREAMREC_KAFKA_H
#include <stddef.h>
#include <stdint.h>
#include "cli.h"
#include "stream.h"

typedef struct kafka_src kafka_src;
typedef struct kafka_sink kafka_sink;

/* One consumed message; valid until the next kafka_src_poll/close (or
 * kafka_peek_poll/close, kafkapeek.h). */
typedef struct kafka_msg {
    const void *val; size_t len;
    const void *key; size_t keylen;   /* key NULL when the message has none */
    const char *topic;
    int32_t partition;
    int64_t offset;
    int64_t ts_ms;          /* the message's timestamp (producer's or broker's), ms since the epoch; -1 none */
    int ts_is_log_append;   /* 1: ts_ms is the broker's (LogAppendTime), 0: the producer's */
} kafka_msg;

/* brokers "host:port[,host:port]"; group required (non-NULL, non-empty);
 * stop_at_eof: poll returns 2 once every assigned partition is at its end.
 * conf: -X key=value list (may be NULL). NULL on error, reason in err. */
kafka_src *kafka_src_open(const char *brokers, const char *topic, const char *group,
                          int stop_at_eof, const cli_list *conf, char *err, size_t n);
/* 1: a message in *m; 0: nothing within timeout_ms; 2: end (stop_at_eof and
 * all assigned partitions at EOF); -1: fatal error (logged). */
int kafka_src_poll(kafka_src *s, int timeout_ms, kafka_msg *m);
/* Commit (synchronously) the position after every message returned so far on
 * the partitions still assigned. 0, or -1 (logged). Nothing new: 0. */
int kafka_src_commit(kafka_src *s);
/* Next offset per partition for messages returned so far (assigned
 * partitions only); returns the count written (<= max). */
int kafka_src_offsets(kafka_src *s, stream_offset *out, int max);
/* Partitions of the input topic (broker metadata), or -1 (unknown topic,
 * no answer within timeout_ms). */
int kafka_src_partition_count(kafka_src *s, int timeout_ms);
void kafka_src_set_start(kafka_src *s, stream_start_fn fn, void *ctx);
typedef void (*kafka_revoke_fn)(void *ctx);
void kafka_src_set_revoke(kafka_src *s, kafka_revoke_fn fn, void *ctx);
/* Messages returned so far. */
uint64_t kafka_src_count(const kafka_src *s);
const char *kafka_src_topic(const kafka_src *s);
/* Event time, per partition: the stage notes the time of each record it
 * used (ignored for partitions not assigned); a partition's time is the
 * largest noted since it was (last) assigned. kafka_src_event_time is the
 * minimum of them over the assigned partitions, leaving out a partition that
 * has been at its end (nothing unread) for idle_ms or longer (by the clock
 * as the last kafka_src_poll read it: no read per call); the maximum
 * when all are idle; INT64_MIN while an active partition has no time yet
 * (or nothing is assigned). A backlog read faster on one partition than on
 * another therefore never moves it past what the slow one still holds. */
void kafka_src_note_time(kafka_src *s, const char *topic, int32_t partition, int64_t ts);
int64_t kafka_src_event_time(kafka_src *s, int64_t idle_ms);
/* Watermark marks (wmark.h). Reader: a mark read from a partition is
 * noted in its table (0, or -1 with why in err: a bad mark, refused); from
 * then on the partition's time (kafka_src_event_time, kafka_src_part_time)
 * and idleness (kafka_src_owned: every input partition idle, and nothing
 * of the partition unread) are the marks', not its records'. A
 * partition assigned again forgets what its marks said (it is read from
 * another offset), not that it carries them: its time is unknown until
 * the marks that follow name every input partition again. A member that
 * starts mid-topic learns the same from the group: commits of a partition
 * that carried marks are tagged in their metadata ("streamrec:wmark"), and
 * a partition assigned with a tagged committed offset waits for marks
 * from the start.
 * kafka_src_part_time: INT64_MIN for a partition not assigned. */
struct Watermark;
int kafka_src_note_mark(kafka_src *s, const char *topic, int32_t partition, const struct Watermark *m,
                        char *err, size_t n);
int64_t kafka_src_part_time(kafka_src *s, const char *topic, int32_t partition, int64_t idle_ms, int *idle);
/* kafka_src_note_time and then kafka_src_part_time of the same partition,
 * with one look-up (per record of a stage keeping windows per partition). */
int64_t kafka_src_note_part_time(kafka_src *s, const char *topic, int32_t partition, int64_t ts, int64_t idle_ms);
/* Writer: what this member says of its input partitions in its marks.
 * Each assigned partition of the input topic: the largest event time noted
 * before its committed offset (INT64_MIN none), and idle when it is at its
 * end for idle_ms with everything returned committed. Fills up to max,
 * returns how many there are (more than max: the rest not filled);
 * *partitions: the input topic's (-1 unknown).
 * kafka_src_progress_sent: those were written; kafka_src_mark_wanted: a
 * message was returned from a partition they did not name as busy (newly
 * assigned, or idle before), so marks must go out before its records. */
typedef struct kafka_progress { int32_t partition; int idle; int64_t time; } kafka_progress;
int kafka_src_progress(kafka_src *s, int64_t idle_ms, kafka_progress *out, int max, int32_t *partitions);
void kafka_src_progress_sent(kafka_src *s, const kafka_progress *p, int n);
int kafka_src_mark_wanted(const kafka_src *s);
/* Alignment (stream_in_set_max_partition_skew): a partition whose time
 * (as noted) is more than max_skew (the unit of the noted times; 0: off)
 * ahead of the slowest partition that holds the others back is not read
 * from until that one catches up: a message polled from it is held, in
 * order, up to hold (0: 4096, the most) messages or 4 MiB of payload per partition, then the
 * partition is paused in librdkafka until half of them are read (why this
 * way: kafka.c). A partition holds the others back while it has held
 * messages; at its end, for min(idle_ms, 1 s) from when it got there or
 * from when messages came again after the whole input was quiet that long;
 * not at its end, while it gave a message within idle_ms (at least 1 s) —
 * so one at its end, empty, or stalled does not for long. Held
 * messages are not returned, so not committed: a revoke drops them (the
 * next owner reads them) and lifts the pause. A partition without a time
 * yet holds the others back until its first record is noted. */
void kafka_src_set_align(kafka_src *s, int64_t max_skew, int64_t idle_ms, int hold);
void kafka_src_align_stats(const kafka_src *s, stream_align_stats *st);
/* stream.h's stream_in_owned and stream_in_set_commit_limit. */
int kafka_src_owned(kafka_src *s, int i, int64_t idle_ms, stream_part *out);
void kafka_src_set_commit_limit(kafka_src *s, stream_commit_limit_fn fn, void *ctx);
/* Consumer lag per partition: fn(ctx, topic, partition, lag) for every
 * partition this consumer has held, lag being the messages between the
 * position (after the last message returned) and the high watermark
 * librdkafka last saw in a fetch (no broker round trip); 0 for one no
 * longer assigned (it is another consumer's to report), -1 when not known
 * yet. */
void kafka_src_lag_each(kafka_src *s, void (*fn)(void *ctx, const char *topic, int32_t partition, int64_t lag),
                        void *ctx);
/* Leaves the group (no commit: sync first). NULL is fine. */
void kafka_src_close(kafka_src *s);

kafka_sink *kafka_sink_open(const char *brokers, const char *topic, const cli_list *conf,
                            char *err, size_t n);
/* Copies val and key (key NULL: no key). 0, or -1 on a fatal error. */
int kafka_sink_produce(kafka_sink *k, const void *val, size_t len, const void *key, size_t keylen);
/* Into one partition, without a key (watermark marks). 0, or -1 fatal. */
int kafka_sink_produce_to(kafka_sink *k, int32_t partition, const void *val, size_t len);
/* The output topic's partition count (broker metadata, asked again at
 * most once a minute); -1 unknown. */
int kafka_sink_partitions(kafka_sink *k);
/* The same, asked of the broker now (at most timeout_ms), whatever was
 * known; the answer is kept for kafka_sink_partitions. */
int kafka_sink_partitions_ask(kafka_sink *k, int timeout_ms);
/* Wait until every message produced so far is acknowledged (timeout_ms < 0:
 * no limit). 0, or -1 if the timeout passed or any delivery ever failed. */
int kafka_sink_flush(kafka_sink *k, int timeout_ms);
/* Messages acknowledged / failed so far. */
uint64_t kafka_sink_acked(const kafka_sink *k);
uint64_t kafka_sink_failed(const kafka_sink *k);
/* Flushes (30 s at most) and destroys; 0, or -1 if anything was not
 * delivered. NULL is fine (0). */
int kafka_sink_close(kafka_sink *k);

/* Check -X key=value items without connecting: each is set on a scratch
 * librdkafka configuration (our own streamrec.* keys checked here), so a
 * typo is a usage error at startup. 0, or -1 with "-X ITEM: reason" in err. */
int kafka_conf_check(const cli_list *conf, char *err, size_t n);
/* Applies -X key=value items to a librdkafka configuration, after the
 * caller's defaults so the user's win; KEY=@FILE (or @NAME, a systemd
 * credential) reads the value from a secret (secret.h), never shown in err.
 * Our streamrec.down.timeout.ms goes to *down_ms (NULL: checked, unused).
 * Shared by the source, the sink and the peek reader (kafkapeek.c).
 * 0, or -1 with "-X ITEM: reason" in err. */
struct rd_kafka_conf_s;
int kafka_conf_apply(struct rd_kafka_conf_s *conf, const cli_list *l, int64_t *down_ms, char *err, size_t n);

/* Start-up check, before a source or sink is opened: is any broker of the
 * list reachable? Resolves every broker name first (a name that resolves
 * nowhere cannot become right by waiting), then asks a scratch client (with
 * the -X settings) for cluster metadata, for at most timeout_ms.
 * 0 reachable (or a stop was requested meanwhile); KAFKA_UNRESOLVED: no
 * broker name resolves (a wrong address); KAFKA_UNREACHABLE: no answer in
 * time. err says why (librdkafka's last error when there is one). */
#define KAFKA_UNRESOLVED 2
#define KAFKA_UNREACHABLE 1
int kafka_reachable(const char *brokers, const cli_list *conf, int64_t timeout_ms, char *err, size_t n);

/* Split "kafka://host:port[,…]/topic?group=G&eof=1" (prefix optional).
 * Fills brokers/topic/group (group "" when absent) and *eof.
 * 0, or -1 with the reason in err. */
int kafka_uri_parse(const char *uri, char *brokers, size_t bn, char *topic, size_t tn,
                    char *group, size_t gn, int *eof, char *err, size_t n);

#endif

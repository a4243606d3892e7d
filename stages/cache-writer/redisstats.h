/* redisstats.h — cache analytics from Redis itself (--redis-stats): every
 * interval, Redis's INFO and a bounded SCAN + MEMORY USAGE sample become
 * Metric records, so aggregate, drift, alerter and the dashboard see the
 * cache's own hit rate, evictions, memory and keys per key prefix.
 *
 * Metrics (label redis = the address, and prefix where said):
 *   counters, value = INFO's counter, count = sum = its increase since the
 *   previous sample (window_start; the first sample: since Redis started):
 *     redis.keyspace_hits  redis.keyspace_misses  redis.expired_keys  redis.evicted_keys
 *   redis.hit_rate        value = hits / (hits + misses) over the window, count = lookups,
 *                         sum = hits; left out for a window without lookups
 *   gauges, value (= mean = min = max = sum, count 1):
 *     redis.used_memory (bytes)  redis.maxmemory (bytes, 0: none)
 *     redis.memory_used_ratio   used_memory / maxmemory (only with a maxmemory)
 *     redis.keys  redis.keys_with_expiry        (the --redis database)
 *     redis.prefix.keys{prefix}                 keys of the kind, estimated
 *     redis.prefix.memory_bytes{prefix}         their MEMORY USAGE, estimated; mean = per key
 *     redis.scan.sampled_keys                   keys examined this sample; value 1 in
 *                                               redis.scan.exact when that was all of them
 *   prefix is the key's kind after --prefix: rec, metric, features,
 *   leaderboard, cache-writer, or other (a bounded set of labels).
 *   For the per-prefix gauges count = the keys of that kind examined.
 *
 * Bounded: at most keys_per_sample keys are examined per sample (SCAN
 * COUNT ≤ 1000, one MEMORY USAGE each, pipelined per SCAN batch), the
 * cursor going on from one sample to the next; when a sample covers the
 * whole database from cursor 0 the figures are exact, otherwise they are
 * the sample's shares scaled to INFO's key count (SCAN walks the hash
 * table, whose order is the keys' hash: a fair sample). Neither SCAN nor
 * MEMORY USAGE counts as a keyspace hit or miss, nor touches LRU. */
#ifndef CACHE_WRITER_REDISSTATS_H
#define CACHE_WRITER_REDISSTATS_H
#include <stdint.h>
#include "rpipe.h"
#include "stream.h"

typedef struct redis_stats_conf {
    const char *prefix;          /* --prefix */
    const char *instance;        /* the redis label: host:port or the socket */
    int64_t interval_us;
    int64_t keys_per_sample;
} redis_stats_conf;

/* The parsed INFO fields used (-1: absent). */
typedef struct redis_info {
    int64_t uptime_s, hits, misses, expired, evicted, used_memory, maxmemory, keys, expires;
} redis_info;
/* Parse INFO's text; db is the database whose keyspace line counts. */
void redis_info_parse(const char *text, int db, redis_info *out);
/* The kind of a key (rec, metric, …, other) under prefix. */
const char *redis_key_kind(const char *key, size_t len, const char *prefix);

/* Sample every interval until a stop is requested; the connection is
 * rpipe's (reconnected on failure). 0, or -1 if writing failed. */
int redis_stats_run(rpipe *p, stream_out *out, const redis_stats_conf *c);
/* cache-writer --redis-stats: no input read; Redis's own figures to
 * common->out until stopped (c->instance is filled here). The exit status. */
int redis_stats_main(const redis_uri *uri, const cli_common *common, redis_stats_conf *c);
#endif

/* changelog.c — a changelog topic (changelog.h): a producer that writes to
 * an explicit partition (the input's), and a consumer with no group that
 * reads one partition to its end on each restore. */
#include "changelog.h"
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kafka.h"
#include "log.h"

#define CL_VERSION 1
#define CL_STATE 1
#define CL_MARK 2
#define CL_DELETE 3            /* a key's tombstone: it has no state any more */
#define CL_VOID 4                /* the records since the last marker are no checkpoint's */
#define CL_HEADER 18             /* version, kind, covered, aux */
#define CL_TIMEOUT_MS 60000      /* a restore or a flush that takes longer fails */

struct changelog {
    rd_kafka_t *prod, *cons;
    char topic[256];
    int32_t partitions;
    uint64_t failed;             /* deliveries that failed (dr callback) */
    int64_t *mark_end;           /* per partition: offset after our last marker, -1 none */
    int64_t *marked;             /* per partition: the input offset our state covers (last marker or restore), -1 */
    uint8_t *held;               /* per partition: restored here, not forgotten since */
    char group[96];              /* the restore consumer's */
    uint8_t *val; size_t valcap;
};

static void cl_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    changelog *c = opaque;
    if (m->err) {
        c->failed++;
        log_kv(LOG_ERROR, "changelog record not delivered", "\"partition\":%d,\"error\":\"%s\"",
               (int)m->partition, rd_kafka_err2str(m->err));
    } else if (m->_private && m->partition >= 0 && m->partition < c->partitions) {
        c->mark_end[m->partition] = m->offset + 1;   /* a marker (msg_opaque set) */
    }
}

static rd_kafka_t *cl_client(rd_kafka_type_t type, const char *brokers, const cli_list *conf, changelog *c,
                             char *err, size_t n)
{
    rd_kafka_conf_t *k = rd_kafka_conf_new();
    char e[512];
    if (rd_kafka_conf_set(k, "bootstrap.servers", brokers, e, sizeof e) != RD_KAFKA_CONF_OK ||
        (type == RD_KAFKA_CONSUMER &&
         /* librdkafka wants a group for assign(); it is never joined nor committed to */
         (rd_kafka_conf_set(k, "group.id", c->group, e, sizeof e) != RD_KAFKA_CONF_OK ||
          rd_kafka_conf_set(k, "enable.auto.commit", "false", e, sizeof e) != RD_KAFKA_CONF_OK ||
          rd_kafka_conf_set(k, "enable.partition.eof", "true", e, sizeof e) != RD_KAFKA_CONF_OK)) ||
        (type == RD_KAFKA_PRODUCER &&
         /* each checkpoint is flushed before its marker: no batching delay is worth it */
         rd_kafka_conf_set(k, "linger.ms", "0", e, sizeof e) != RD_KAFKA_CONF_OK) ||
        /* a restore waits for each fetch: the broker need not hold one back long */
        (type == RD_KAFKA_CONSUMER && rd_kafka_conf_set(k, "fetch.wait.max.ms", "50", e, sizeof e) != RD_KAFKA_CONF_OK)) {
        snprintf(err, n, "%s", e);
        rd_kafka_conf_destroy(k);
        return NULL;
    }
    if (kafka_conf_apply(k, conf, NULL, err, n)) { rd_kafka_conf_destroy(k); return NULL; }
    if (type == RD_KAFKA_PRODUCER) {
        rd_kafka_conf_set_opaque(k, c);
        rd_kafka_conf_set_dr_msg_cb(k, cl_dr);
    }
    rd_kafka_t *rk = rd_kafka_new(type, k, e, sizeof e);
    if (!rk) { snprintf(err, n, "%s", e); rd_kafka_conf_destroy(k); }
    return rk;
}

changelog *changelog_open(const char *uri, const cli_list *conf, const char *stage, char *err, size_t errlen)
{
    char brokers[512], group[256];
    int eof = 0;
    changelog *c = calloc(1, sizeof *c);
    if (!c) { snprintf(err, errlen, "out of memory"); return NULL; }
    snprintf(c->group, sizeof c->group, "streamrec.%s.changelog-restore", stage);
    if (kafka_uri_parse(uri, brokers, sizeof brokers, c->topic, sizeof c->topic, group, sizeof group, &eof,
                        err, errlen))
        goto fail;
    if (!(c->prod = cl_client(RD_KAFKA_PRODUCER, brokers, conf, c, err, errlen)) ||
        !(c->cons = cl_client(RD_KAFKA_CONSUMER, brokers, conf, c, err, errlen)))
        goto fail;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *t = rd_kafka_topic_new(c->prod, c->topic, NULL);
    rd_kafka_resp_err_t re = t ? rd_kafka_metadata(c->prod, 0, t, &md, 10000) : RD_KAFKA_RESP_ERR__FAIL;
    if (!re && md->topic_cnt == 1 && !md->topics[0].err) c->partitions = md->topics[0].partition_cnt;
    else snprintf(err, errlen, "topic %s: %s", c->topic,
                  rd_kafka_err2str(re ? re : md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC));
    if (md) rd_kafka_metadata_destroy(md);
    if (t) rd_kafka_topic_destroy(t);
    if (c->partitions <= 0) goto fail;
    c->mark_end = malloc((size_t)c->partitions * sizeof *c->mark_end);
    c->marked = malloc((size_t)c->partitions * sizeof *c->marked);
    c->held = calloc((size_t)c->partitions, 1);
    if (!c->mark_end || !c->marked || !c->held) { snprintf(err, errlen, "out of memory"); goto fail; }
    for (int32_t i = 0; i < c->partitions; i++) c->mark_end[i] = c->marked[i] = -1;
    return c;
fail:
    changelog_close(c);
    return NULL;
}

void changelog_close(changelog *c)
{
    if (!c) return;
    if (c->prod) {
        if (rd_kafka_flush(c->prod, CL_TIMEOUT_MS)) log_warn("changelog: records not acknowledged at close");
        rd_kafka_destroy(c->prod);
    }
    if (c->cons) {
        rd_kafka_consumer_close(c->cons);
        rd_kafka_destroy(c->cons);
    }
    free(c->mark_end);
    free(c->marked);
    free(c->held);
    free(c->val);
    free(c);
}

int32_t changelog_partitions(const changelog *c) { return c->partitions; }
const char *changelog_topic(const changelog *c) { return c->topic; }

int changelog_check_input(const changelog *c, stream_in *in, char *err, size_t errlen)
{
    int np = stream_in_partition_count(in);
    if (np <= c->partitions) return 0;
    snprintf(err, errlen, "%d partitions, fewer than the input's %d: create it with as many", (int)c->partitions, np);
    return -1;
}

static int cl_produce(changelog *c, int32_t part, int kind, const void *key, size_t klen, int64_t covered,
                      int64_t until, const uint8_t *blob, size_t n)
{
    if (part < 0 || part >= c->partitions) {
        log_kv(LOG_ERROR, "changelog: the input partition is past the changelog topic's partitions",
               "\"partition\":%d,\"changelog_partitions\":%d,\"hint\":\"create the changelog topic with as many "
               "partitions as the input\"", (int)part, (int)c->partitions);
        return -1;
    }
    if (CL_HEADER + n > c->valcap) {
        size_t cap = c->valcap ? c->valcap : 4096;
        while (cap < CL_HEADER + n) cap *= 2;
        uint8_t *v = realloc(c->val, cap);
        if (!v) { log_error("changelog: out of memory"); return -1; }
        c->val = v;
        c->valcap = cap;
    }
    c->val[0] = CL_VERSION;
    c->val[1] = (uint8_t)kind;
    memcpy(c->val + 2, &covered, 8);
    memcpy(c->val + 10, &until, 8);
    if (n) memcpy(c->val + CL_HEADER, blob, n);
    void *mark = kind == CL_MARK ? (void *)c : NULL;   /* the delivery report notes a marker's offset */
    for (;;) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            c->prod, RD_KAFKA_V_TOPIC(c->topic), RD_KAFKA_V_PARTITION(part), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY(key, klen), RD_KAFKA_V_VALUE(c->val, CL_HEADER + n),
            RD_KAFKA_V_OPAQUE(mark), RD_KAFKA_V_END);
        if (!e) return 0;
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            log_kv(LOG_ERROR, "changelog: produce failed", "\"error\":\"%s\"", rd_kafka_err2str(e));
            return -1;
        }
        rd_kafka_poll(c->prod, 100);    /* queue full: wait for acknowledgements */
    }
}

int changelog_put(changelog *c, int32_t part, const void *key, size_t klen, int64_t aux,
                  const uint8_t *blob, size_t n)
{
    return cl_produce(c, part, CL_STATE, key, klen, -1, aux, blob, n);
}

int changelog_delete(changelog *c, int32_t part, const void *key, size_t klen)
{
    return cl_produce(c, part, CL_DELETE, key, klen, -1, INT64_MIN, NULL, 0);
}

static int cl_flush(changelog *c)
{
    uint64_t before = c->failed;
    if (rd_kafka_flush(c->prod, CL_TIMEOUT_MS)) {
        log_error("changelog: records not acknowledged within %d s", CL_TIMEOUT_MS / 1000);
        return -1;
    }
    return c->failed != before ? -1 : 0;
}

/* A marker only after every state record before it is acknowledged: a
 * marker whose records were lost would make the next owner skip input
 * that no state covers. A partition whose position did not move since its
 * last marker gets none (its state did not change either). */
int changelog_checkpoint(changelog *c, stream_in *in)
{
    if (cl_flush(c)) return -1;
    int cap = c->partitions + 16, n, marked = 0;
    stream_offset *offs = malloc((size_t)cap * sizeof *offs);
    if (!offs) { log_error("changelog: out of memory"); return -1; }
    n = stream_in_offsets(in, offs, cap);
    for (int i = 0; i < n; i++) {
        int32_t p = offs[i].partition;
        if (p < 0 || p >= c->partitions || c->marked[p] == offs[i].next) continue;
        if (cl_produce(c, p, CL_MARK, CHANGELOG_MARK_KEY, CHANGELOG_MARK_KEYLEN, offs[i].next, INT64_MIN, NULL, 0)) {
            free(offs);
            return -1;
        }
        marked++;
    }
    int rc = marked ? cl_flush(c) : 0;
    if (!rc)
        for (int i = 0; i < n; i++)
            if (offs[i].partition >= 0 && offs[i].partition < c->partitions) c->marked[offs[i].partition] = offs[i].next;
    free(offs);
    return rc;
}

int changelog_held(const changelog *c, int32_t part)
{
    return part >= 0 && part < c->partitions && c->held[part];
}

int64_t changelog_current(changelog *c, int32_t part)
{
    if (!changelog_held(c, part) || c->mark_end[part] < 0) return -1;
    int64_t lo, hi;
    if (rd_kafka_query_watermark_offsets(c->cons, c->topic, part, &lo, &hi, 10000)) return -1;
    return hi == c->mark_end[part] ? c->marked[part] : -1;
}

void changelog_forget(changelog *c, int32_t part)
{
    if (part < 0 || part >= c->partitions) return;
    c->mark_end[part] = c->marked[part] = -1;
    c->held[part] = 0;
}

int changelog_keep_owned(changelog *c, stream_in *in, void (*drop)(void *ctx, int32_t part), void *ctx)
{
    stream_part sp;
    if (!stream_in_owned(in, 0, &sp)) return 0;
    for (int32_t p = 0; p < c->partitions; p++) {
        if (!c->held[p]) continue;
        int keep = 0;
        for (int i = 0; !keep && stream_in_owned(in, i, &sp); i++) keep = sp.partition == p;
        if (keep) continue;
        changelog_forget(c, p);
        drop(ctx, p);
    }
    return 1;
}

/* The records of the checkpoint being read, until its marker. */
typedef struct staged { uint8_t *buf; size_t len, cap; size_t n; } staged;

static int stage_add(staged *st, const rd_kafka_message_t *m)
{
    size_t need = 8 + m->key_len + 8 + m->len;
    if (st->len + need > st->cap) {
        size_t cap = st->cap ? st->cap : 65536;
        while (cap < st->len + need) cap *= 2;
        uint8_t *b = realloc(st->buf, cap);
        if (!b) return -1;
        st->buf = b;
        st->cap = cap;
    }
    uint64_t kl = m->key_len, vl = m->len;
    memcpy(st->buf + st->len, &kl, 8);
    memcpy(st->buf + st->len + 8, m->key, kl);
    memcpy(st->buf + st->len + 8 + kl, &vl, 8);
    memcpy(st->buf + st->len + 16 + kl, m->payload, vl);
    st->len += need;
    st->n++;
    return 0;
}

static int stage_apply(staged *st, changelog_state_fn fn, void *ctx, changelog_restored *out)
{
    size_t off = 0;
    while (off < st->len) {
        uint64_t kl, vl;
        memcpy(&kl, st->buf + off, 8);
        const char *key = (const char *)st->buf + off + 8;
        memcpy(&vl, st->buf + off + 8 + kl, 8);
        const uint8_t *v = st->buf + off + 16 + kl;
        int64_t aux;
        memcpy(&aux, v + 10, 8);
        if (v[1] == CL_DELETE) {
            if (fn(ctx, key, kl, aux, NULL, 0)) return -1;
            out->deleted++;
        } else {
            if (fn(ctx, key, kl, aux, v + CL_HEADER, vl - CL_HEADER)) return -1;
            out->applied++;
        }
        off += 16 + kl + vl;
    }
    st->len = st->n = 0;
    return 0;
}

int changelog_restore(changelog *c, int32_t part, changelog_state_fn fn, void *ctx, changelog_restored *out)
{
    memset(out, 0, sizeof *out);
    out->covered = -1;
    if (part < 0 || part >= c->partitions) {
        log_kv(LOG_ERROR, "changelog: the input partition is past the changelog topic's partitions",
               "\"partition\":%d,\"changelog_partitions\":%d", (int)part, (int)c->partitions);
        return -1;
    }
    int64_t lo, hi;
    rd_kafka_resp_err_t re = rd_kafka_query_watermark_offsets(c->cons, c->topic, part, &lo, &hi, 10000);
    if (re) {
        log_kv(LOG_ERROR, "changelog: end offset unknown", "\"partition\":%d,\"error\":\"%s\"", (int)part,
               rd_kafka_err2str(re));
        return -1;
    }
    if (hi <= lo) { c->marked[part] = -1; c->held[part] = 1; return 0; }
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, c->topic, part)->offset = lo;
    re = rd_kafka_assign(c->cons, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (re) {
        log_kv(LOG_ERROR, "changelog: cannot read", "\"partition\":%d,\"error\":\"%s\"", (int)part, rd_kafka_err2str(re));
        return -1;
    }
    staged st = {0};
    int rc = 0, waited = 0;
    int64_t at = lo;
    while (at < hi) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c->cons, 200);
        if (!m) {
            if ((waited += 200) >= CL_TIMEOUT_MS) {
                log_kv(LOG_ERROR, "changelog: restore stalled", "\"partition\":%d,\"at\":%lld,\"end\":%lld", (int)part,
                       (long long)at, (long long)hi);
                rc = -1;
                break;
            }
            continue;
        }
        waited = 0;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            /* the end came before hi: records below hi went (retention) */
            at = hi;
        } else if (m->err) {
            log_kv(LOG_ERROR, "changelog: read failed", "\"partition\":%d,\"error\":\"%s\"", (int)part,
                   rd_kafka_message_errstr(m));
            rc = -1;
        } else if (m->partition == part) {
            at = m->offset + 1;
            out->records++;
            const uint8_t *v = m->payload;
            if (m->len < CL_HEADER || v[0] != CL_VERSION || (v[1] != CL_STATE && v[1] != CL_MARK && v[1] != CL_DELETE && v[1] != CL_VOID)) {
                out->bad++;
                log_kv(LOG_WARN, "changelog: record not understood, left out",
                       "\"topic\":\"%s\",\"partition\":%d,\"offset\":%lld,\"bytes\":%zu,\"why\":\"%s\"", c->topic,
                       (int)part, (long long)m->offset, m->len,
                       m->len < CL_HEADER ? "shorter than the header" : v[0] != CL_VERSION ? "unknown version" : "unknown kind");
            } else if (v[1] == CL_VOID) {
                out->voided += st.n;
                st.len = st.n = 0;
            } else if (v[1] != CL_MARK) {
                if (stage_add(&st, m)) { log_error("changelog: out of memory"); rc = -1; }
            } else {
                memcpy(&out->covered, v + 2, 8);
                if (stage_apply(&st, fn, ctx, out)) rc = -1;
            }
        }
        rd_kafka_message_destroy(m);
        if (rc) break;
    }
    out->left_out = st.n;
    free(st.buf);
    rd_kafka_assign(c->cons, NULL);
    if (!rc && out->left_out) {
        /* void them before anything this process writes to part: its
         * first marker must not close their checkpoint (a delivery that
         * fails fails the next checkpoint, as any record's) */
        uint8_t key[CHANGELOG_VOID_KEYLEN + 8];
        uint64_t end = (uint64_t)hi;
        memcpy(key, CHANGELOG_VOID_KEY, CHANGELOG_VOID_KEYLEN);
        memcpy(key + CHANGELOG_VOID_KEYLEN, &end, 8);
        rc = cl_produce(c, part, CL_VOID, key, sizeof key, out->covered, INT64_MIN, NULL, 0);
    }
    if (!rc) { c->marked[part] = out->covered; c->held[part] = 1; }
    return rc;
}

/* fuzz_records.c — cache-writer's key and value layout (layout.c) on
 * well-formed Recommendations and Metrics (fzrec.h): every field, user and
 * item ids and label keys/values from empty to 1 MiB with NUL and invalid
 * UTF-8, thousands of labels, NaN/inf scores and values, times at +-2^62.
 * No Redis: the commands stay in the pipe's ring (nothing is answered,
 * nothing is sent: the batch size is past what one input queues), where
 * they are read back with hiredis' own RESP reader.
 *
 * Input: a configuration byte (layout zset, fb or json, a prefix, a
 * leaderboard), then records (a type byte, then the fields' choices). In
 * the json layout a second record for a user waits for Redis' answer to
 * the first one's SET NX attempt, so there a user's repeat is left out.
 * Properties (abort on violation, the sanitizers catch the rest):
 *   - every command queued is exactly one RESP array of nargs bulk strings;
 *   - a Metric's hash key is PREFIXmetric:NAME followed by every label,
 *     sorted by key (equal keys in record order), built here independently;
 *   - a Recommendation's key is PREFIXrec:USER; zset: a score and an item
 *     per item; fb: the value decompresses to a Recommendation with the
 *     record's user and items; json: SET KEY VALUE NX, VALUE a JSON object
 *     with the record's ts and one element per item. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <hiredis/hiredis.h>
#include <hiredis/read.h>
#include <zstd.h>
#include "../../../stages/cache-writer/layout.h"
#include "../../../stages/cache-writer/rpipe.h"
#include "../fzrec.h"
#include "json.h"
#include "log.h"

#define FZ_DEPTH 256    /* ring slots: more than one input queues (32 records, 3 commands each at most) */

static const char *const fz_words[] = {
    "user.clicks", "item.ctr", "top.clicks", "user_id", "item_id", "rank", "request.duration_ms",
    "endpoint", "u1", "i1", "=", ",", ":", "cpu_usage", "host", "count",
};

/* The command in slot s, parsed by hiredis: one array of nargs strings
 * and nothing after it. The caller frees the reply. */
static redisReply *parse_cmd(const rpipe_slot *s)
{
    redisReader *r = redisReaderCreate();
    if (!r) abort();
    r->maxbuf = 0;
    if (redisReaderFeed(r, s->cmd.p + s->cmd_off, s->cmd.len - s->cmd_off) != REDIS_OK) abort();
    void *rep = NULL, *more = NULL;
    if (redisReaderGetReply(r, &rep) != REDIS_OK || !rep) {
        fprintf(stderr, "cache-writer queued a command RESP cannot read: %s\n", r->errstr);
        abort();
    }
    if (redisReaderGetReply(r, &more) != REDIS_OK || more) { fprintf(stderr, "bytes after the command\n"); abort(); }
    redisReaderFree(r);
    redisReply *a = rep;
    if (a->type != REDIS_REPLY_ARRAY || (int)a->elements != s->nargs) abort();
    for (size_t i = 0; i < a->elements; i++)
        if (a->element[i]->type != REDIS_REPLY_STRING) abort();
    return a;
}

static int arg_is(const redisReply *a, size_t i, const void *p, size_t n)
{
    return i < a->elements && a->element[i]->len == n && (n == 0 || !memcmp(a->element[i]->str, p, n));
}

static int label_order(const void *x, const void *y)
{
    const KeyValue *a = *(const KeyValue *const *)x, *b = *(const KeyValue *const *)y;
    size_t n = a->key.len < b->key.len ? a->key.len : b->key.len;
    int c = n ? memcmp(a->key.ptr, b->key.ptr, n) : 0;
    if (c) return c;
    if (a->key.len != b->key.len) return a->key.len < b->key.len ? -1 : 1;
    return (a > b) - (a < b);
}

static void put(rbuf *b, const fb_str *s) { rbuf_put(b, s->ptr ? s->ptr : "", s->len); }

static void expect_metric_key(rbuf *k, const char *prefix, const Metric *m)
{
    k->len = 0;
    rbuf_put(k, prefix, strlen(prefix));
    rbuf_put(k, "metric:", 7);
    put(k, &m->name);
    const KeyValue **v = malloc((m->labels_count + 1) * sizeof *v);
    if (!v) abort();
    for (uint32_t i = 0; i < m->labels_count; i++) v[i] = &m->labels[i];
    qsort(v, m->labels_count, sizeof *v, label_order);
    for (uint32_t i = 0; i < m->labels_count; i++) {
        rbuf_put(k, i ? "," : ":", 1);
        put(k, &v[i]->key);
        rbuf_put(k, "=", 1);
        put(k, &v[i]->value);
    }
    free(v);
}

static void check_metric(const rpipe *p, int from, int to, const char *prefix, const Metric *m, rbuf *want)
{
    size_t plen = strlen(prefix);
    int hashes = 0;
    for (int i = from; i < to; i++) {
        const rpipe_slot *s = &p->ring[i];
        redisReply *a = parse_cmd(s);
        if (s->nx) { freeReplyObject(a); continue; }   /* json recommendations sent before it (check_json) */
        if (!arg_is(a, 3, s->key.p, s->key.len)) abort();   /* EVALSHA sha n KEY */
        if (s->key.len >= plen + 7 && !memcmp(s->key.p + plen, "metric:", 7)) {
            expect_metric_key(want, prefix, m);
            if (s->key.len != want->len || memcmp(s->key.p, want->p, want->len)) {
                fprintf(stderr, "a Metric's key (%zu bytes) is not its name and every label (%zu bytes)\n",
                        s->key.len, want->len);
                abort();
            }
            hashes++;
        }
        freeReplyObject(a);
    }
    if (hashes > 1) abort();
}

static void check_rec(const rpipe *p, int from, int to, const char *prefix, const Recommendation *r,
                      rec_layout lay, arena *ar)
{
    if (to != from + 1) abort();
    const rpipe_slot *s = &p->ring[from];
    redisReply *a = parse_cmd(s);
    size_t plen = strlen(prefix);
    if (s->key.len != plen + 4 + r->user_id.len || memcmp(s->key.p, prefix, plen) ||
        memcmp(s->key.p + plen, "rec:", 4) || (r->user_id.len && memcmp(s->key.p + plen + 4, r->user_id.ptr, r->user_id.len)))
        abort();
    if (!arg_is(a, 3, s->key.p, s->key.len)) abort();
    if (lay == LAYOUT_ZSET) {
        if (a->elements != 8 + 2 * (size_t)r->items_count) abort();
        for (uint32_t i = 0; i < r->items_count; i++)
            if (!arg_is(a, 9 + 2 * (size_t)i, r->items[i].item_id.ptr, r->items[i].item_id.len)) abort();
    } else {
        if (a->elements != 9) abort();
        const redisReply *z = a->element[8];
        unsigned long long n = ZSTD_getFrameContentSize(z->str, z->len);
        if (n == ZSTD_CONTENTSIZE_ERROR || n == ZSTD_CONTENTSIZE_UNKNOWN) abort();
        uint8_t *buf = malloc(n ? n : 1);
        if (!buf || ZSTD_decompress(buf, n, z->str, z->len) != n) abort();
        Recommendation *back = arena_alloc(ar, sizeof *back, _Alignof(Recommendation));
        char err[200];
        if (fbrec_decode(&Recommendation_desc, buf, n, 0, back, ar, err, sizeof err)) {
            fprintf(stderr, "the fb value does not decode: %s\n", err);
            abort();
        }
        if (back->items_count != r->items_count || back->user_id.len != r->user_id.len || back->ts != r->ts) abort();
        for (uint32_t i = 0; i < r->items_count; i++)
            if (back->items[i].item_id.len != r->items[i].item_id.len ||
                (r->items[i].item_id.len && memcmp(back->items[i].item_id.ptr, r->items[i].item_id.ptr, r->items[i].item_id.len)))
                abort();
        free(buf);
    }
    freeReplyObject(a);
}

/* What check_json compares: the decoded record's strings point into the
 * builder's buffer, which the next record overwrites. */
typedef struct { const char *user; uint32_t ulen, nitems; int64_t ts; } fz_json_rec;

/* The json layout's NX attempts, in record order, against the records. */
static void check_json(const rpipe *p, const char *prefix, const fz_json_rec *recs, int n)
{
    int k = 0;
    size_t plen = strlen(prefix);
    for (int i = 0; i < p->count; i++) {
        const rpipe_slot *s = &p->ring[i];
        redisReply *a = parse_cmd(s);
        if (!s->nx) { freeReplyObject(a); continue; }   /* (none expected: every key is new) */
        if (k >= n) abort();
        const fz_json_rec *r = &recs[k++];
        if (!arg_is(a, 0, "SET", 3) || !arg_is(a, 1, s->key.p, s->key.len) || !arg_is(a, 3, "NX", 2)) abort();
        if (s->key.len != plen + 4 + r->ulen || (r->ulen && memcmp(s->key.p + plen + 4, r->user, r->ulen))) abort();
        json_doc d;
        json_doc_init(&d);
        if (json_parse(&d, a->element[2]->str, a->element[2]->len)) {
            fprintf(stderr, "a json recommendation is not JSON: %s\n", d.err);
            abort();
        }
        const json_node *root = json_root(&d), *ts = json_get(&d, root, "ts"), *items = json_get(&d, root, "items");
        if (!ts || !ts->is_int || ts->i != r->ts || !items || items->type != JSON_ARRAY || items->len != r->nitems)
            abort();
        json_doc_free(&d);
        freeReplyObject(a);
    }
    if (k != n) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    if (!init) {
        log_init("cache-writer", "error");
        fzrec_words = fz_words;
        fzrec_nwords = (int)(sizeof fz_words / sizeof *fz_words);
        init = 1;
    }
    if (size < 1) return 0;
    uint8_t c = data[0];
    fz_in in = fz_in_make(data + 1, size - 1);
    const char *prefix = (c & 2) ? "p:" : "";
    static layout_board boards[2];
    char err[128];
    if (layout_board_parse("top.clicks", &boards[0], err, sizeof err) ||
        layout_board_parse("item.ctr:count@2", &boards[1], err, sizeof err)) abort();
    /* one layout per configuration, kept: its known-keys set is 8 MiB (the
     * zset and fb layouts do not use it) */
    static layout layouts[16];
    static int made[16];
    int json = (c & 16) != 0;
    layout_conf conf = { .prefix = prefix, .rec_layout = json ? LAYOUT_JSON : (c & 1) ? LAYOUT_FB : LAYOUT_ZSET,
                         .rec_ttl_ms = (c & 4) ? 60000 : 0, .metric_ttl_ms = (c & 4) ? 60000 : 0,
                         .leaderboard_size = 10, .boards = boards, .nboards = (c & 8) ? 2 : 0,
                         .zstd_level = 1, .pipeline_depth = FZ_DEPTH };
    /* json: a fresh layout, whose NX attempts (never answered here) do
     * not hold up the next input */
    layout fresh;
    layout *lp = json ? &fresh : &layouts[c & 15];
    if (json) layout_init(lp, &conf);
    else if (!made[c & 15]) { layout_init(lp, &conf); made[c & 15] = 1; }
    fz_json_rec jrecs[32];
    int njrecs = 0;
    /* a pipe that never writes: a socket nobody reads, a batch it never reaches */
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) abort();
    rpipe p;
    memset(&p, 0, sizeof p);
    p.cap = FZ_DEPTH;
    p.send_batch = FZ_DEPTH * 2;
    p.ring = calloc(FZ_DEPTH, sizeof *p.ring);
    p.sha = calloc(SCRIPT_COUNT, sizeof *p.sha);
    for (int i = 0; i < SCRIPT_COUNT; i++) memset(p.sha[i], 'a' + i, 40);
    p.nscripts = SCRIPT_COUNT;
    p.c = redisConnectFd(sv[0]);
    if (!p.ring || !p.sha || !p.c) abort();
    layout_attach(lp, &p);
    arena a;
    arena_init(&a, 0);
    fb_builder b;
    fb_builder_init(&b);
    rbuf want = {0};
    for (int i = 0; i < 32 && in.n && p.count < FZ_DEPTH - 8; i++) {
        int metric = fz_u8(&in) & 1;
        const fbrec_desc *d = metric ? &Metric_desc : &Recommendation_desc;
        void *rec = fzrec_make(&in, &a, &b, d);
        size_t len;
        const uint8_t *bytes = fb_data(&b, &len);
        stream_rec src;
        memset(&src, 0, sizeof src);
        src.type = d;
        src.data = bytes;
        src.len = (uint32_t)len;
        int from = p.count;
        if (metric) {
            if (layout_metric(lp, &p, rec, &src)) abort();
            check_metric(&p, from, p.count, prefix, rec, &want);
        } else if (json) {
            const Recommendation *r = rec;
            int again = 0;
            for (int j = 0; j < njrecs && !again; j++)
                again = jrecs[j].ulen == r->user_id.len &&
                        (!r->user_id.len || !memcmp(jrecs[j].user, r->user_id.ptr, r->user_id.len));
            if (again) continue;
            jrecs[njrecs++] = (fz_json_rec){ arena_strndup(&a, r->user_id.ptr ? r->user_id.ptr : "", r->user_id.len),
                                             r->user_id.len, r->items_count, r->ts };
            if (layout_recommendation(lp, &p, rec, &src)) abort();
        } else {
            if (layout_recommendation(lp, &p, rec, &src)) abort();
            check_rec(&p, from, p.count, prefix, rec, conf.rec_layout, &a);
        }
    }
    if (json) {
        if (layout_flush(lp, &p)) abort();
        check_json(&p, prefix, jrecs, njrecs);
    }
    if (layout_pending(lp)) abort();
    rbuf_free(&want);
    if (json) layout_free(lp);
    rpipe_close(&p);   /* frees the context, which closes sv[0] */
    close(sv[1]);
    fb_builder_free(&b);
    arena_free(&a);
    return 0;
}

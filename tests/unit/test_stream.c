/* test_stream.c — stream.h over byte streams: records round trip through a
 * file, a .zst file and a pipe (stdout -> stdin of another process); a
 * corrupt record mid-stream is dead-lettered with its byte offset and the
 * rest still arrive; truncation ends the input with an error naming the
 * offset; --strict exits 1; line mode (CRLF, long lines, no final newline,
 * zstd); --format json; write errors surface; sync bookkeeping; stop. */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "deadletter.h"
#include "frame.h"
#include "io.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "sig.h"
#include "stream.h"
#include "testhelp.h"
#include "timefmt.h"

static char dir[64];

static cli_common defaults(void)
{
    cli_common c;
    memset(&c, 0, sizeof c);
    c.in = "-"; c.out = "-"; c.format = "records";
    c.max_record = 16 << 20;
    return c;
}

static const char *tpath(const char *name)
{
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    *len = 0;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc((size_t)sz + 1);
    *len = fread(p, 1, (size_t)sz, f);
    fclose(f);
    return p;
}

static void spit(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(p, 1, n, f) == n);
    if (f) fclose(f);
}

/* Record i: an Event for even i, a Sample for odd i, content from i. */
static char sbuf[4][64];
static KeyValue kv[3];
static void make_event(int i, Event *e)
{
    Event_init(e);
    snprintf(sbuf[0], sizeof sbuf[0], "u%d", i * 7 % 101);
    snprintf(sbuf[1], sizeof sbuf[1], "item-%d", i);
    e->user_id = FB_STR(sbuf[0]);
    e->item_id = FB_STR(sbuf[1]);
    e->ts = 1700000000000000LL + i * 1000;
    e->type = (EventType)(i % 8);
    e->value = i * 0.25;
    e->position = i % 3 ? i : -1;
    kv[0].key = FB_STR("k"); kv[0].value = FB_STR(sbuf[0]);
    e->attrs = kv; e->attrs_count = (uint32_t)(i % 2 + 1);
    kv[1].key = FB_STR("n"); kv[1].value = FB_STR("v");
}
static void make_sample(int i, Sample *s)
{
    Sample_init(s);
    snprintf(sbuf[2], sizeof sbuf[2], "cpu_usage.%d", i % 5);
    s->name = FB_STR(sbuf[2]);
    s->ts = 1700000000000000LL + i;
    s->value = i / 3.0;
}
static int write_rec(stream_out *o, int i)
{
    if (i % 2 == 0) { Event e; make_event(i, &e); return stream_write(o, &Event_desc, &e, e.user_id.ptr, e.user_id.len); }
    Sample s; make_sample(i, &s);
    return stream_write(o, &Sample_desc, &s, NULL, 0);
}
/* Does r hold record i? */
static int check_rec(const stream_rec *r, int i)
{
    int ok = 1;
    if (i % 2 == 0) {
        Event e; make_event(i, &e);
        const Event *g = &r->as.event;
        ok = r->type == &Event_desc && fb_str_eq(g->user_id, e.user_id.ptr) && fb_str_eq(g->item_id, e.item_id.ptr)
             && g->ts == e.ts && g->type == e.type && g->value == e.value && g->position == e.position
             && g->attrs_count == e.attrs_count && fb_str_eq(g->attrs[0].value, e.user_id.ptr)
             && g->session_id.ptr == NULL;
    } else {
        Sample s; make_sample(i, &s);
        const Sample *g = &r->as.sample;
        ok = r->type == &Sample_desc && fb_str_eq(g->name, s.name.ptr) && g->ts == s.ts && g->value == s.value
             && g->labels_count == 0;
    }
    CHECK_MSG(ok, "record %d differs", i);
    return ok;
}

static void write_file(const char *path, int n, const cli_common *c)
{
    stream_out *o = stream_out_open(path, c);
    CHECK(o != NULL);
    if (!o) return;
    for (int i = 0; i < n; i++) CHECK(write_rec(o, i) == 0);
    CHECK(stream_out_close(o) == 0);
}

/* Read all records, compare with 0..n-1, return the count; *offs gets the
 * position of each record. */
static int read_all(const char *uri, const cli_common *c, int *rc, uint64_t *offs)
{
    stream_in *in = stream_in_open(uri, c);
    CHECK(in != NULL);
    if (!in) return 0;
    stream_rec r;
    int i = 0, x;
    while ((x = stream_in_next(in, &r)) == 1) {
        check_rec(&r, i);
        CHECK(r.pos.topic == NULL && !r.pos.is_line);
        if (offs) offs[i] = (uint64_t)r.pos.offset;
        i++;
    }
    *rc = x;
    CHECK_EQ_INT(stream_in_count(in), i);
    CHECK(!stream_in_is_kafka(in));
    stream_in_close(in);
    return i;
}

static void test_round_trip_files(void)
{
    cli_common c = defaults();
    const char *paths[] = { tpath("a.rec"), tpath("a.rec.zst") };
    static uint64_t offs[3000];
    for (int k = 0; k < 2; k++) {
        write_file(paths[k], 3000, &c);
        int rc;
        CHECK_EQ_INT(read_all(paths[k], &c, &rc, offs), 3000);
        CHECK_EQ_INT(rc, 0);
    }
    /* the plain file is a sequence of frames: offsets as a frame walk finds them */
    size_t n;
    uint8_t *p = slurp(paths[0], &n);
    size_t at = 0;
    int i = 0;
    while (at + 4 <= n && i < 3000) {
        CHECK_EQ_INT(offs[i], at);
        at += 4 + frame_get_len(p + at);
        i++;
    }
    CHECK(at == n && i == 3000);
    /* the .zst file starts with the zstd magic; --compress zstd on a plain name too */
    size_t zn;
    uint8_t *z = slurp(paths[1], &zn);
    CHECK(zn > 4 && memcmp(z, "\x28\xb5\x2f\xfd", 4) == 0 && zn < n);
    free(z);
    c.compress = "zstd:9";
    write_file(tpath("b.rec"), 3000, &c);
    z = slurp(tpath("b.rec"), &zn);
    CHECK(zn > 4 && memcmp(z, "\x28\xb5\x2f\xfd", 4) == 0);
    free(z);
    int rc;
    CHECK_EQ_INT(read_all(tpath("b.rec"), &c, &rc, NULL), 3000);
    /* pass-through: stream_write_rec reproduces the bytes exactly */
    c = defaults();
    stream_in *in = stream_in_open(paths[1], &c);
    stream_out *o = stream_out_open(tpath("c.rec"), &c);
    stream_rec r;
    while (stream_in_next(in, &r) == 1) CHECK(stream_write_rec(o, &r) == 0);
    stream_in_close(in);
    CHECK(stream_out_close(o) == 0);
    size_t cn;
    uint8_t *cp = slurp(tpath("c.rec"), &cn);
    CHECK(cn == n && memcmp(cp, p, n) == 0);
    free(cp);
    free(p);
}

/* Writer on stdout in a child, reader on stdin here: the real pipeline shape. */
static void test_round_trip_pipe(void)
{
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 1);
        close(fds[1]);
        cli_common c = defaults();
        c.compress = "zstd";
        stream_out *o = stream_out_open("-", &c);
        int bad = 0;
        for (int i = 0; i < 5000; i++) {
            if (write_rec(o, i)) bad = 1;
            if (i == 2500 && stream_flush(o)) bad = 1;   /* a zstd block boundary mid-stream */
        }
        if (stream_out_close(o)) bad = 1;
        _exit(bad);
    }
    close(fds[1]);
    int saved = dup(0);
    dup2(fds[0], 0);
    close(fds[0]);
    cli_common c = defaults();
    int rc;
    CHECK_EQ_INT(read_all("-", &c, &rc, NULL), 5000);
    CHECK_EQ_INT(rc, 0);
    dup2(saved, 0);
    close(saved);
    int st;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* stream_in_set_tick: a child writes one record, pauses 300 ms, writes a
 * second and exits; the tick (every 20 ms) runs only during the pause,
 * several times, and outputs written from it arrive. */
struct tick_seen { stream_in *in; int ticks, during_pause, other; int64_t last_us; };
static void on_tick(void *ctx)
{
    struct tick_seen *t = ctx;
    t->ticks++;
    t->last_us = mono_us();
    if (stream_in_count(t->in) == 1) t->during_pause++;
    else if (stream_in_count(t->in) > 1) t->other++;   /* (before the first: child starting) */
}

static void test_tick(void)
{
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 1);
        close(fds[1]);
        cli_common c = defaults();
        stream_out *o = stream_out_open("-", &c);
        int bad = write_rec(o, 0) || stream_flush(o);
        struct timespec pause = { 0, 300 * 1000000 };
        nanosleep(&pause, NULL);
        bad |= write_rec(o, 1) || stream_out_close(o);
        _exit(bad);
    }
    close(fds[1]);
    int saved = dup(0);
    dup2(fds[0], 0);
    close(fds[0]);
    cli_common c = defaults();
    stream_in *in = stream_in_open("-", &c);
    struct tick_seen t = { in, 0, 0, 0, 0 };
    stream_in_set_tick(in, 20, on_tick, &t);
    stream_rec r;
    int n = 0, x;
    int64_t at[2] = { 0, 0 };   /* when each record came back */
    while ((x = stream_in_next(in, &r)) == 1) {
        if (n < 2) at[n] = mono_us();
        CHECK(check_rec(&r, n++));
    }
    CHECK_EQ_INT(x, 0);
    CHECK_EQ_INT(n, 2);
    stream_in_close(in);
    dup2(saved, 0);
    close(saved);
    int st;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    /* Bounds from the pause as this reader saw it (a loaded machine
     * stretches it): at least one tick, and none more often than 20 ms. */
    int64_t pause_us = at[1] - at[0];
    CHECK_MSG(t.during_pause >= 1 && t.during_pause <= pause_us / 20000 + 1,
              "%d ticks in a pause of %lld us at 20 ms", t.during_pause, (long long)pause_us);
    /* After the last record only if the end was 20 ms or more in coming
     * (the child descheduled between its write and its exit). */
    CHECK_MSG(t.other == 0 || t.last_us - at[1] >= 20000, "%d ticks %lld us after the last record",
              t.other, (long long)(t.last_us - at[1]));
}

static double invalid_count(const char *reason)
{
    return metrics_get(metrics_counter_l("streamrec_records_invalid_total", "", "reason", reason));
}

static void test_corrupt_middle(void)
{
    cli_common c = defaults();
    const char *path = tpath("bad.rec"), *dl = tpath("dead.jsonl");
    write_file(path, 8, &c);
    size_t n;
    uint8_t *p = slurp(path, &n);
    /* frame offsets, by walking the prefixes */
    size_t off[8], at = 0;
    for (int i = 0; i < 8; i++) { off[i] = at; at += 4 + frame_get_len(p + at); }
    memcpy(p + off[2] + 8, "ZZZZ", 4);                       /* unknown identifier */
    memset(p + off[4] + 4, 0xEE, 4);                         /* root offset far out of bounds */
    uint8_t short_frame[] = { 3, 0, 0, 0, 'a', 'b', 'c' };   /* too short to be a FlatBuffer */
    size_t m = n + sizeof short_frame;
    uint8_t *q = malloc(m);
    memcpy(q, p, off[6]);
    memcpy(q + off[6], short_frame, sizeof short_frame);
    memcpy(q + off[6] + sizeof short_frame, p + off[6], n - off[6]);
    spit(path, q, m);
    double unk0 = invalid_count("unknown_type"), bad0 = invalid_count("bad_record");

    c.dead_letter = dl;
    stream_in *in = stream_in_open(path, &c);
    stream_rec r;
    int got[8], k = 0, x;
    while ((x = stream_in_next(in, &r)) == 1 && k < 8) {
        got[k] = r.type == &Event_desc ? (int)(r.as.event.ts - 1700000000000000LL) / 1000
                                       : (int)(r.as.sample.ts - 1700000000000000LL);
        check_rec(&r, got[k]);
        k++;
    }
    CHECK_EQ_INT(x, 0);
    CHECK_EQ_INT(k, 6);
    int want[] = { 0, 1, 3, 5, 6, 7 };
    for (int i = 0; i < 6 && i < k; i++) CHECK_EQ_INT(got[i], want[i]);
    stream_in_close(in);
    CHECK_EQ_INT(invalid_count("unknown_type") - unk0, 1);
    CHECK_EQ_INT(invalid_count("bad_record") - bad0, 2);

    /* three dead letters, in order, with byte offsets and the raw frames */
    size_t dn;
    char *d = (char *)slurp(dl, &dn);
    CHECK(d != NULL);
    if (!d) { free(p); free(q); return; }
    d[dn] = 0;
    json_doc doc;
    json_doc_init(&doc);
    size_t expect_off[3] = { off[2], off[4], off[6] };
    const uint8_t *expect_raw[3] = { q + off[2] + 4, q + off[4] + 4, short_frame + 4 };
    size_t expect_len[3] = { frame_get_len(q + off[2]), frame_get_len(q + off[4]), 3 };
    char *line = d;
    for (int i = 0; i < 3; i++) {
        char *nl = strchr(line, '\n');
        CHECK(nl != NULL);
        if (!nl) break;
        CHECK(json_parse(&doc, line, (size_t)(nl - line)) == 0);
        const json_node *o = json_root(&doc);
        const json_node *jo = json_get(&doc, o, "offset");
        CHECK(jo && jo->is_int && (size_t)jo->i == expect_off[i]);
        char want_pos[40];
        snprintf(want_pos, sizeof want_pos, "byte %zu", expect_off[i]);
        const json_node *jp = json_get(&doc, o, "pos");
        CHECK(jp && strcmp(jp->str, want_pos) == 0);
        char *b64 = malloc(4 * (expect_len[i] + 2) / 3 + 8);
        deadletter_base64(expect_raw[i], expect_len[i], b64);
        const json_node *jr = json_get(&doc, o, "raw");
        CHECK(jr && strcmp(jr->str, b64) == 0);
        free(b64);
        const json_node *je = json_get(&doc, o, "error");
        CHECK(je != NULL);
        if (je && i == 0) CHECK_MSG(strstr(je->str, "unknown_type") && strstr(je->str, "ZZZZ"), "%s", je->str);
        if (je && i == 2) CHECK_MSG(strstr(je->str, "too short"), "%s", je->str);
        line = nl + 1;
    }
    CHECK(*line == 0);
    json_doc_free(&doc);
    free(d);

    /* verify-only (pass-through readers): the same records come back, by
     * type, offset and bytes, and the same ones are refused for the same
     * reasons; only the decoding is skipped */
    unk0 = invalid_count("unknown_type"); bad0 = invalid_count("bad_record");
    c.dead_letter = NULL;
    stream_in *full = stream_in_open(path, &c), *vo = stream_in_open(path, &c);
    stream_in_set_verify_only(vo, 1);
    stream_rec r1, r2;
    int n1 = 0, x1, x2;
    while ((x1 = stream_in_next(full, &r1)) == 1) {
        x2 = stream_in_next(vo, &r2);
        CHECK_EQ_INT(x2, 1);
        if (x2 != 1) break;
        CHECK(r1.type == r2.type && r1.pos.offset == r2.pos.offset && r1.len == r2.len &&
              memcmp(r1.data, r2.data, r1.len) == 0);
        n1++;
    }
    CHECK_EQ_INT(x1, 0);
    CHECK_EQ_INT(stream_in_next(vo, &r2), 0);
    CHECK_EQ_INT(n1, 6);
    CHECK_EQ_INT(invalid_count("unknown_type") - unk0, 2);
    CHECK_EQ_INT(invalid_count("bad_record") - bad0, 4);
    stream_in_close(full);
    stream_in_close(vo);
    free(p);
    free(q);
}

/* Run fn with stderr captured into a string (malloc'd). */
static char *capture_stderr(void (*fn)(void *), void *arg)
{
    const char *path = tpath("stderr.txt");
    fflush(stderr);
    int saved = dup(2);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 2);
    close(fd);
    fn(arg);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    size_t n;
    char *s = (char *)slurp(path, &n);
    if (s) s[n] = 0;
    return s;
}

struct trunc_arg { const char *path; int got, rc; };
static void read_truncated(void *a)
{
    struct trunc_arg *t = a;
    cli_common c = defaults();
    stream_in *in = stream_in_open(t->path, &c);
    stream_rec r;
    t->got = 0;
    while ((t->rc = stream_in_next(in, &r)) == 1) t->got++;
    CHECK_EQ_INT(stream_in_next(in, &r), -1);   /* stays failed */
    stream_in_close(in);
}

static void test_truncated(void)
{
    cli_common c = defaults();
    const char *path = tpath("trunc.rec");
    write_file(path, 5, &c);
    size_t n;
    uint8_t *p = slurp(path, &n);
    size_t off4 = 0;
    for (int i = 0; i < 4; i++) off4 += 4 + frame_get_len(p + off4);
    spit(path, p, off4 + 10);   /* cut 6 bytes into the 5th record's body */
    struct trunc_arg t = { path, 0, 0 };
    char *err = capture_stderr(read_truncated, &t);
    CHECK_EQ_INT(t.got, 4);
    CHECK_EQ_INT(t.rc, -1);
    char want[64];
    snprintf(want, sizeof want, "offset %zu: truncated", off4);
    CHECK_MSG(err && strstr(err, want), "stderr: %s", err ? err : "(none)");
    free(err);
    /* an impossible length: --max-record below the records' size */
    spit(path, p, n);
    c.max_record = 16;
    stream_in *in = stream_in_open(path, &c);
    stream_rec r;
    CHECK_EQ_INT(stream_in_next(in, &r), -1);
    stream_in_close(in);
    free(p);
}

static void test_strict(void)
{
    cli_common c = defaults();
    const char *path = tpath("strict.rec");
    write_file(path, 3, &c);
    size_t n;
    uint8_t *p = slurp(path, &n);
    size_t off1 = 4 + frame_get_len(p);
    memcpy(p + off1 + 8, "ZZZZ", 4);
    spit(path, p, n);
    free(p);
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 2);
        c.strict = 1;
        c.dead_letter = tpath("strict.jsonl");
        stream_in *in = stream_in_open(path, &c);
        stream_rec r;
        while (stream_in_next(in, &r) == 1) {}
        _exit(0);   /* not reached: the bad record exits 1 */
    }
    int st;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    /* the dead letter was written before exiting */
    size_t dn;
    char *d = (char *)slurp(tpath("strict.jsonl"), &dn);
    CHECK(d && dn > 0 && memchr(d, '\n', dn) == d + dn - 1);
    free(d);
}

struct line_want { const char *s; int too_long; };

static void check_lines(const char *path, size_t max_line, const struct line_want *w, int nw)
{
    cli_common c = defaults();
    stream_in *in = stream_in_open(path, &c);
    CHECK(in != NULL);
    if (!in) return;
    stream_line l;
    int i = 0, rc;
    while ((rc = stream_in_next_line(in, &l, max_line)) == 1) {
        CHECK(i < nw);
        if (i >= nw) break;
        CHECK_EQ_INT(l.pos.offset, i + 1);
        CHECK(l.pos.is_line);
        CHECK_EQ_INT(l.len, strlen(w[i].s));
        CHECK_EQ_INT(l.too_long, w[i].too_long);
        CHECK_MSG(l.len == strlen(w[i].s) && memcmp(l.ptr, w[i].s, l.len) == 0 && l.ptr[l.len] == 0,
                  "line %d: got \"%.*s\"", i + 1, (int)(l.len > 60 ? 60 : l.len), l.ptr);
        i++;
    }
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(i, nw);
    stream_in_close(in);
}

static void test_lines(void)
{
    /* max_line 10 */
    const char *text =
        "a\r\n"              /* CRLF */
        "bb\n"
        "\n"                 /* empty */
        "0123456789\r\n"     /* exactly max_line, CRLF */
        "0123456789\n"       /* exactly max_line */
        "0123456789X\n"      /* max_line + 1 */
        "0123456789XY\r\n"
        "cccccccccccccccccccccccccccccccccccc\n"
        "\r\n"
        "tail-without-nl";
    struct line_want w[] = {
        { "a", 0 }, { "bb", 0 }, { "", 0 }, { "0123456789", 0 }, { "0123456789", 0 },
        { "0123456789", 1 }, { "0123456789", 1 }, { "cccccccccc", 1 }, { "", 0 }, { "tail-witho", 1 },
    };
    spit(tpath("l.txt"), text, strlen(text));
    check_lines(tpath("l.txt"), 10, w, 10);
    /* the same through zstd */
    char err[256];
    io_writer *iw = io_writer_open(tpath("l.txt.zst"), 0, 0, err, sizeof err);
    CHECK(iw && io_write(iw, text, strlen(text)) == 0 && io_writer_close(iw, NULL, 0) == 0);
    check_lines(tpath("l.txt.zst"), 10, w, 10);
    /* a final line short enough, with CR and without LF */
    spit(tpath("l2.txt"), "x\ny\r", 4);
    struct line_want w2[] = { { "x", 0 }, { "y", 0 } };
    check_lines(tpath("l2.txt"), 100, w2, 2);
    spit(tpath("l3.txt"), "", 0);
    check_lines(tpath("l3.txt"), 100, w2, 0);

    /* long lines spanning many buffers: 3 MiB then 2.5 MiB, bound 2 MiB */
    size_t big = 3u << 20, big2 = (5u << 20) / 2, lim = 2u << 20;
    size_t tot = big + 1 + big2 + 1 + 6;
    char *s = malloc(tot);
    for (size_t i = 0; i < big; i++) s[i] = (char)('a' + i % 26);
    s[big] = '\n';
    for (size_t i = 0; i < big2; i++) s[big + 1 + i] = (char)('A' + i % 26);
    s[big + 1 + big2] = '\n';
    memcpy(s + big + 2 + big2, "after\n", 6);
    spit(tpath("big.txt"), s, tot);
    cli_common c = defaults();
    stream_in *in = stream_in_open(tpath("big.txt"), &c);
    stream_line l;
    CHECK_EQ_INT(stream_in_next_line(in, &l, lim), 1);
    CHECK(l.too_long && l.len == lim && memcmp(l.ptr, s, lim) == 0);
    CHECK_EQ_INT(stream_in_next_line(in, &l, lim), 1);
    CHECK(l.too_long && l.len == lim && memcmp(l.ptr, s + big + 1, lim) == 0 && l.pos.offset == 2);
    CHECK_EQ_INT(stream_in_next_line(in, &l, lim), 1);
    CHECK(!l.too_long && l.len == 5 && strcmp(l.ptr, "after") == 0 && l.pos.offset == 3);
    CHECK_EQ_INT(stream_in_next_line(in, &l, lim), 0);
    CHECK_EQ_INT(stream_in_count(in), 3);
    stream_in_close(in);
    /* many short lines: every one, in order, across buffer refills */
    FILE *f = fopen(tpath("many.txt"), "w");
    for (int i = 0; i < 200000; i++) fprintf(f, "{\"n\":%d}\n", i);
    fclose(f);
    in = stream_in_open(tpath("many.txt"), &c);
    int i = 0, ok = 1;
    char want[32];
    while (stream_in_next_line(in, &l, 1000) == 1) {
        snprintf(want, sizeof want, "{\"n\":%d}", i);
        if (strcmp(l.ptr, want) != 0 || l.len != strlen(want)) ok = 0;
        i++;
    }
    CHECK(ok);
    CHECK_EQ_INT(i, 200000);
    stream_in_close(in);
    free(s);
}

static void test_json_out(void)
{
    cli_common c = defaults();
    c.format = "json";
    stream_out *o = stream_out_open(tpath("j.jsonl"), &c);
    CHECK(o && stream_out_is_json(o));
    if (!o) return;
    for (int i = 0; i < 4; i++) CHECK(write_rec(o, i) == 0);
    CHECK(stream_write_line(o, "{\"raw\":true}", 12) == 0);
    CHECK(stream_out_close(o) == 0);
    size_t n;
    char *s = (char *)slurp(tpath("j.jsonl"), &n);
    s[n] = 0;
    json_doc doc;
    json_doc_init(&doc);
    char *line = s;
    for (int i = 0; i < 5; i++) {
        char *nl = strchr(line, '\n');
        CHECK(nl != NULL);
        if (!nl) break;
        CHECK(json_parse(&doc, line, (size_t)(nl - line)) == 0);
        const json_node *root = json_root(&doc);
        if (i == 0) {
            const json_node *u = json_get(&doc, root, "user_id");
            CHECK(u && strcmp(u->str, "u0") == 0);
            /* the jq form writes every field, the default type included */
            const json_node *t = json_get(&doc, root, "type");
            CHECK(t && t->type == JSON_STRING && strcmp(t->str, "impression") == 0);
        } else if (i == 2) {
            const json_node *t = json_get(&doc, root, "type");
            CHECK(t && t->type == JSON_STRING && strcmp(t->str, "click") == 0);
        } else if (i == 1) {
            const json_node *nm = json_get(&doc, root, "name");
            CHECK(nm && strcmp(nm->str, "cpu_usage.1") == 0);
        } else if (i == 4) {
            CHECK(json_get(&doc, root, "raw") != NULL);
        }
        line = nl + 1;
    }
    CHECK(*line == 0);
    json_doc_free(&doc);
    free(s);
}

static void test_write_errors(void)
{
    cli_common c = defaults();
    /* full disk: the buffered write succeeds, flush and close report it */
    stream_out *o = stream_out_open("/dev/full", &c);
    CHECK(o != NULL);
    if (o) {
        CHECK(write_rec(o, 0) == 0);
        fflush(stderr);
        int saved = dup(2), dn = open("/dev/null", O_WRONLY);
        dup2(dn, 2); close(dn);
        CHECK(stream_flush(o) == -1);
        CHECK(write_rec(o, 1) == -1);    /* sticky */
        CHECK(stream_out_close(o) == -1);
        dup2(saved, 2); close(saved);
    }
    /* stdout into a pipe nobody reads (`stage | head`): the stage ends at
     * once with STREAM_EXIT_PIPE and no error-level log (stream.h) */
    signal(SIGPIPE, SIG_IGN);
    int fds[2], errp[2];
    CHECK(pipe(fds) == 0 && pipe(errp) == 0);
    close(fds[0]);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        dup2(errp[1], 2);
        close(fds[1]); close(errp[0]); close(errp[1]);
        o = stream_out_open("-", &c);
        if (!o || write_rec(o, 0) != 0) _exit(3);
        stream_out_close(o);
        _exit(4);                           /* close returned: EPIPE was not seen */
    }
    close(fds[1]);
    close(errp[1]);
    char buf[4096];
    size_t got = 0;
    ssize_t n;
    while (got < sizeof buf - 1 && (n = read(errp[0], buf + got, sizeof buf - 1 - got)) > 0) got += (size_t)n;
    buf[got] = 0;
    close(errp[0]);
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == STREAM_EXIT_PIPE, "status %d", status);
    CHECK_MSG(!strstr(buf, "\"level\":\"error\""), "stderr: %s", buf);
}

static void read_with_failing_dl(void *a)
{
    (void)a;
    /* strict.rec (from test_strict) has a bad record at index 1 */
    cli_common c = defaults();
    c.dead_letter = "/dev/full";
    stream_in *in = stream_in_open(tpath("strict.rec"), &c);
    stream_rec r;
    CHECK_EQ_INT(stream_in_next(in, &r), 1);
    CHECK_EQ_INT(stream_in_next(in, &r), 1);       /* the reject is buffered */
    CHECK_EQ_INT(stream_sync(in, NULL), -1);       /* ...and fails to reach the disk */
    CHECK_EQ_INT(stream_in_next(in, &r), -1);      /* so the input stops */
    stream_in_close(in);
}

static void test_deadletter_failure(void)
{
    char *err = capture_stderr(read_with_failing_dl, NULL);
    CHECK_MSG(err && strstr(err, "No space"), "stderr: %s", err ? err : "");
    free(err);
}

static void test_misc(void)
{
    char buf[96], err[128];
    stream_pos p = { NULL, 0, 12, 1 };
    CHECK_EQ_STR(stream_pos_str(&p, buf, sizeof buf), "line 12");
    p.is_line = 0; p.offset = 1024;
    CHECK_EQ_STR(stream_pos_str(&p, buf, sizeof buf), "byte 1024");
    stream_pos k = { "events.raw", 3, 1234, 0 };
    CHECK_EQ_STR(stream_pos_str(&k, buf, sizeof buf), "events.raw/3@1234");
    CHECK(stream_uri_check("-", err, sizeof err) == 0);
    CHECK(stream_uri_check("data/x.rec.zst", err, sizeof err) == 0);
    CHECK(stream_uri_check("", err, sizeof err) == -1);
    CHECK(stream_uri_check("redis://x", err, sizeof err) == -1 && strstr(err, "scheme"));
    CHECK(stream_uri_check("kafka://localhost:9092/events?group=g", err, sizeof err) == 0);
    cli_common c = defaults();
    c.compress = "lz4";
    CHECK(stream_out_open(tpath("x"), &c) == NULL);
    c = defaults();
    CHECK(stream_in_open(tpath("does-not-exist"), &c) == NULL);
    /* sync bookkeeping on a byte stream */
    write_file(tpath("s.rec"), 3, &c);
    stream_in *in = stream_in_open(tpath("s.rec"), &c);
    stream_out *o = stream_out_open(tpath("s2.rec"), &c);
    stream_offset offs[4];
    CHECK_EQ_INT(stream_in_offsets(in, offs, 4), 0);
    CHECK_EQ_INT(stream_sync_due(in), 0);
    usleep(1100000);
    CHECK_EQ_INT(stream_sync_due(in), 1);
    CHECK_EQ_INT(stream_sync(in, o), 0);
    CHECK_EQ_INT(stream_sync_due(in), 0);
    stream_in_close(in);
    CHECK(stream_out_close(o) == 0);
}

static void *stop_later(void *arg)
{
    (void)arg;
    usleep(300000);
    sig_request_stop();
    return NULL;
}

/* Last: the stop flag stays set. A read blocked on a silent pipe returns 0
 * (end) soon after the stop request, and pending output was flushed while
 * the input was idle. */
static void test_stop(void)
{
    int fds[2];
    CHECK(pipe(fds) == 0);
    int saved = dup(0);
    dup2(fds[0], 0);
    close(fds[0]);
    cli_common c = defaults();
    stream_in *in = stream_in_open("-", &c);
    stream_out *o = stream_out_open(tpath("idle.rec"), &c);
    CHECK(write_rec(o, 0) == 0);
    pthread_t th;
    pthread_create(&th, NULL, stop_later, NULL);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    stream_rec r;
    int rc = stream_in_next(in, &r);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    pthread_join(th, NULL);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    CHECK_EQ_INT(rc, 0);
    CHECK(secs >= 0.25 && secs < 1.5);
    size_t n;
    uint8_t *p = slurp(tpath("idle.rec"), &n);   /* flushed by the idle hook, before close */
    CHECK(n > 8 && memcmp(p + 8, "EVNT", 4) == 0);
    free(p);
    stream_in_close(in);
    CHECK(stream_out_close(o) == 0);
    dup2(saved, 0);
    close(saved);
    close(fds[1]);
}

/* The lag value in a metrics file, or NAN when the series is absent. */
static double lag_in_file(const char *path)
{
    size_t n = 0;
    uint8_t *t = slurp(path, &n);
    if (!t) return NAN;
    t[n] = 0;   /* slurp leaves room for it */
    const char *want = "streamrec_event_time_lag_seconds{stage=\"test_stream\"} ";
    const char *p = strstr((const char *)t, want);
    double v = p ? strtod(p + strlen(want), NULL) : NAN;
    free(t);
    return v;
}

/* The freshness gauge: every record stream_in_next decodes counts by its
 * own event time, the newest wins (an older one read later, a forecast's
 * future window_end, an Alert with none leave it alone), and it is absent
 * before the first record. */
static void test_event_time_lag(void)
{
    metrics_shutdown();
    char prom[128];
    snprintf(prom, sizeof prom, "%s/lag.prom", dir);
    metrics_init("test_stream", prom, 60000);
    CHECK_EQ_INT(metrics_flush(), 0);
    CHECK_MSG(isnan(lag_in_file(prom)), "lag before any record: %g", lag_in_file(prom));

    cli_common c = defaults();
    const char *path = tpath("lag.rec");
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t t0 = (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
    stream_out *o = stream_out_open(path, &c);
    CHECK(o != NULL);
    if (!o) return;
    Event e; make_event(0, &e); e.ts = t0 - 600000000LL;           /* 600 s old */
    CHECK(stream_write(o, &Event_desc, &e, NULL, 0) == 0);
    Sample s; make_sample(1, &s); s.ts = t0 - 120000000LL;          /* 120 s old: the newest */
    CHECK(stream_write(o, &Sample_desc, &s, NULL, 0) == 0);
    Metric m; Metric_init(&m); m.name = FB_STR("forecast.cpu_usage");
    m.window_start = m.window_end = t0 + 3600000000LL;             /* an hour ahead: not seen */
    CHECK(stream_write(o, &Metric_desc, &m, NULL, 0) == 0);
    Metric w; Metric_init(&w); w.name = FB_STR("events.count");
    w.window_start = t0 - 360000000LL; w.window_end = t0 - 300000000LL;   /* older than the Sample */
    CHECK(stream_write(o, &Metric_desc, &w, NULL, 0) == 0);
    Alert a; Alert_init(&a); a.rule = FB_STR("r");
    CHECK(stream_write(o, &Alert_desc, &a, NULL, 0) == 0);
    CHECK(stream_out_close(o) == 0);

    stream_in *in = stream_in_open(path, &c);
    CHECK(in != NULL);
    if (!in) return;
    stream_rec r;
    int n = 0;
    while (stream_in_next(in, &r) == 1) n++;
    stream_in_close(in);
    CHECK_EQ_INT(n, 5);
    CHECK_EQ_INT(metrics_flush(), 0);
    double lag = lag_in_file(prom);
    /* 120 s plus however long this took; far from 300, 600 and -3600 */
    CHECK_MSG(lag >= 120 && lag < 200, "event time lag %g, want 120 s and a little", lag);
    metrics_shutdown();
    metrics_init("test_stream", NULL, 0);
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/test_stream.XXXXXX");
    if (!mkdtemp(dir)) { perror("mkdtemp"); exit(1); }
    log_init("test_stream", "error");
    metrics_init("test_stream", NULL, 0);
}

static void cleanup(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "cleanup failed\n");
    metrics_shutdown();
}

TEST_MAIN(setup, test_round_trip_files, test_round_trip_pipe, test_tick, test_corrupt_middle, test_truncated,
          test_strict, test_lines, test_json_out, test_write_errors, test_deadletter_failure, test_misc, test_event_time_lag, test_stop, cleanup)

/* test_lines.c — the parser threads' lines (par.c) are the sequential
 * loop's lines. The main thread reads whole runs of lines into blocks
 * (stream_in_next_lines_to: copied as counted; stream_in_next_lines then
 * par_copy_lines, the same lines a copy later) that a worker splits
 * (par_split_lines); over random inputs — lines empty, short, around
 * --max-line and past it, longer than a block's room, "\r\n" and lone '\r'
 * (also where a line is cut), NUL bytes, with and without a final '\n' — read
 * from a file and from a pipe written in random pieces, with random block
 * room and line limits, every line must come out as stream_in_next_line
 * returns it: number, text (NULs included, NUL-terminated), length,
 * too_long; and the input's line count the same. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../../stages/ingest/par.h"
#include "../testhelp.h"
#include "../testrng.h"

typedef struct ref_line { int64_t no; size_t len; int too_long; char *text; } ref_line;

static char dir[] = "/tmp/test_lines.XXXXXX";

/* Random input: mostly lines around max_line, and the awkward ones. */
static char *make_input(uint64_t *rng, size_t max_line, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *s = malloc(cap);
    int lines = 1 + (int)(trng_next(rng) % 300);
    for (int i = 0; i < lines; i++) {
        size_t l;
        switch (trng_next(rng) % 8) {
        case 0: l = 0; break;
        case 1: l = max_line - 2 + trng_next(rng) % 5; break;   /* max_line - 2 .. max_line + 2 */
        case 2: l = max_line + 3 + trng_next(rng) % (3 * max_line); break;
        case 3: l = trng_next(rng) % 9000; break;   /* past a block's room */
        default: l = trng_next(rng) % (max_line + 1); break;
        }
        while (n + l + 3 > cap) s = realloc(s, cap *= 2);
        for (size_t k = 0; k < l; k++) {
            uint64_t r = trng_next(rng) % 64;
            s[n + k] = r == 0 ? 0 : r == 1 ? '\r' : (char)('a' + r % 26);
        }
        n += l;
        if (trng_next(rng) % 4 == 0) s[n++] = '\r';
        if (i < lines - 1 || trng_next(rng) % 2) s[n++] = '\n';   /* the last: with or without */
    }
    *len = n;
    return s;
}

/* Every line as stream_in_next_line returns it. */
static ref_line *read_ref(const char *path, size_t max_line, int *count)
{
    cli_common c = { .in = path, .out = "-", .format = "records", .max_record = 1 << 20 };
    stream_in *in = stream_in_open(path, &c);
    CHECK(in != NULL);
    ref_line *v = NULL;
    int n = 0, cap = 0;
    stream_line l;
    while (in && stream_in_next_line(in, &l, max_line) == 1) {
        if (n == cap) v = realloc(v, (size_t)(cap = cap ? 2 * cap : 256) * sizeof *v);
        v[n].no = l.pos.offset;
        v[n].len = l.len;
        v[n].too_long = l.too_long;
        v[n].text = malloc(l.len + 1);
        memcpy(v[n].text, l.ptr, l.len + 1);
        CHECK(l.ptr[l.len] == 0);
        n++;
    }
    if (in) {
        CHECK_EQ_INT(stream_in_count(in), n);
        stream_in_close(in);
    }
    *count = n;
    return v;
}

typedef struct writer { int fd; const char *s; size_t len; uint64_t seed; } writer;

/* Writes the input in random pieces, pausing now and then, so the reader
 * sees lines cut at every place and waits for their rest. */
static void *write_pieces(void *arg)
{
    writer *w = arg;
    size_t at = 0;
    while (at < w->len) {
        size_t k = 1 + trng_next(&w->seed) % 700;
        if (k > w->len - at) k = w->len - at;
        ssize_t m = write(w->fd, w->s + at, k);
        if (m <= 0) break;
        at += (size_t)m;
        if (trng_next(&w->seed) % 16 == 0) usleep(200);
    }
    close(w->fd);
    return NULL;
}

/* stream_in_next_lines_to's room: the test's block, grown to len + 1. */
typedef struct tblock { char *buf; size_t cap, asked; int alone; } tblock;

static char *room_in(void *ctx, size_t len, int alone)
{
    tblock *t = ctx;
    if (len + 1 > t->cap) t->buf = realloc(t->buf, t->cap = 2 * (len + 1));
    t->asked = len;
    t->alone = alone;
    return t->buf;
}

/* The threaded loop's reading over uri: each line checked against ref.
 * Returns the lines seen. */
static int read_blocks(const char *uri, size_t max_line, uint64_t *rng, const ref_line *ref, int nref, int *bad)
{
    cli_common c = { .in = uri, .out = "-", .format = "records", .max_record = 1 << 20 };
    stream_in *in = stream_in_open(uri, &c);
    CHECK(in != NULL);
    if (!in) return 0;
    tblock tb = { malloc(1 << 16), 1 << 16, 0, 0 };
    par_line *lines = malloc(sizeof *lines * 64);
    int seen = 0, rc;
    stream_lines ls;
    for (;;) {
        size_t room = 1 + trng_next(rng) % 1200;   /* bytes of lines a block takes now */
        uint32_t max_lines = 1 + (uint32_t)(trng_next(rng) % 64);
        /* as par.c reads (into the block, as counted), or a count then a copy */
        int into = trng_next(rng) % 2;
        tb.asked = 0;
        rc = into ? stream_in_next_lines_to(in, &ls, max_line, room, max_lines, room_in, &tb)
                  : stream_in_next_lines(in, &ls, max_line, room, max_lines);
        if (rc == 2) {   /* the next line needs more room: nothing was taken */
            CHECK(ls.len > room && tb.asked == 0);
            rc = into ? stream_in_next_lines_to(in, &ls, max_line, ls.len, max_lines, room_in, &tb)
                      : stream_in_next_lines(in, &ls, max_line, ls.len, max_lines);
            CHECK(rc == 1);
        } else if (rc == 1) {
            CHECK(ls.len <= room);
        }
        if (rc != 1) break;
        CHECK(ls.n >= 1 && ls.n <= max_lines);
        CHECK(!ls.too_long || ls.n == 1);
        if (into) CHECK(ls.ptr == tb.buf && ls.len <= tb.asked && tb.alone == ls.too_long);
        if (ls.len + 1 > tb.cap) tb.buf = realloc(tb.buf, tb.cap = 2 * (ls.len + 1));
        char *buf = tb.buf;
        size_t len = par_copy_lines(buf, &ls);
        CHECK(len == ls.len || len == ls.len + 1);
        par_split_lines(buf, len, ls.n, max_line, ls.first, ls.too_long, lines);
        for (uint32_t i = 0; i < ls.n; i++, seen++) {
            const par_line *pl = &lines[i];
            const ref_line *r = seen < nref ? &ref[seen] : NULL;
            int ok = r && pl->lineno == r->no && pl->len == r->len && pl->too_long == r->too_long &&
                     !memcmp(buf + pl->off, r->text, r->len) && buf[pl->off + pl->len] == 0;
            if (!ok && (*bad)++ < 5)
                CHECK_MSG(0, "%s, max_line %zu: line %lld (len %u, too_long %d) is not line %lld (len %zu, too_long %d)",
                          uri, max_line, (long long)pl->lineno, pl->len, pl->too_long,
                          r ? (long long)r->no : -1LL, r ? r->len : 0, r ? r->too_long : -1);
        }
    }
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(stream_in_count(in), seen);
    stream_in_close(in);
    free(tb.buf);
    free(lines);
    return seen;
}

static void test_same_lines(void)
{
    CHECK(mkdtemp(dir) != NULL);
    char path[64];
    snprintf(path, sizeof path, "%s/in.jsonl", dir);
    uint64_t rng = 17;
    int bad = 0, total = 0;
    for (int round = 0; round < 300 && bad < 5; round++) {
        size_t max_line = 16 + trng_next(&rng) % 300, len;
        char *s = make_input(&rng, max_line, &len);
        FILE *f = fopen(path, "wb");
        CHECK(f && fwrite(s, 1, len, f) == len);
        if (f) fclose(f);
        int nref;
        ref_line *ref = read_ref(path, max_line, &nref);
        CHECK_EQ_INT(read_blocks(path, max_line, &rng, ref, nref, &bad), nref);
        if (round % 3 == 0) {   /* a pipe, written in pieces */
            int fds[2];
            CHECK(pipe(fds) == 0);
            writer w = { fds[1], s, len, trng_next(&rng) };
            pthread_t th;
            pthread_create(&th, NULL, write_pieces, &w);
            char uri[32];
            snprintf(uri, sizeof uri, "/dev/fd/%d", fds[0]);
            CHECK_EQ_INT(read_blocks(uri, max_line, &rng, ref, nref, &bad), nref);
            pthread_join(th, NULL);
            close(fds[0]);
        }
        total += nref;
        for (int i = 0; i < nref; i++) free(ref[i].text);
        free(ref);
        free(s);
    }
    CHECK(total > 20000);
    unlink(path);
    rmdir(dir);
}

TEST_MAIN(test_same_lines)

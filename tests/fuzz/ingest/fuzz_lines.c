/* fuzz_lines.c — the parser threads' lines are the sequential loop's: any
 * bytes, read by stream_in_next_line and by stream_in_next_lines(_to) into
 * blocks (par_copy_lines, par_split_lines) with block room and line limits
 * drawn from the input, give the same lines (number, text, length,
 * too_long), the same count and the same end (a zstd frame that does not
 * decode: the same lines before the error); abort() otherwise.
 * Input: byte 0 picks --max-line (1..256), byte 1 seeds the room and
 * limits, the rest is the input text. */
#define _GNU_SOURCE   /* memfd_create */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../../stages/ingest/par.h"
#include "log.h"

typedef struct ref { int64_t no; size_t off, len; int too_long; } ref;

/* stream_in_next_lines_to's room: the fuzzer's block, grown to len + 1. */
typedef struct fblock { char *buf; size_t cap; } fblock;

static char *fz_room(void *ctx, size_t len, int alone)
{
    (void)alone;
    fblock *b = ctx;
    if (len + 1 > b->cap) b->buf = realloc(b->buf, b->cap = 2 * (len + 1));
    return b->buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char uri[64];
    if (fd < 0) {
        log_init("fuzz_lines", "error");
        fd = memfd_create("fuzz_lines", 0);
        if (fd < 0) abort();
        snprintf(uri, sizeof uri, "/dev/fd/%d", fd);
    }
    if (size < 2) return 0;
    size_t max_line = 1 + data[0];
    uint64_t rng = data[1] * 0x9e3779b97f4a7c15ull + 1;
    if (ftruncate(fd, 0) || pwrite(fd, data + 2, size - 2, 0) != (ssize_t)(size - 2)) abort();
    cli_common c = { .in = uri, .out = "-", .format = "records", .max_record = 1 << 20 };

    /* the reference: every line, its text kept in one buffer */
    stream_in *in = stream_in_open(uri, &c);
    if (!in) abort();
    ref *refs = NULL;
    char *text = NULL;   /* a .zst input may decode to more than size bytes */
    size_t nref = 0, cap = 0, tlen = 0, tcap = 0;
    stream_line l;
    int ref_rc;   /* how it ended: 0, or -1 (a .zst input that does not decode) */
    while ((ref_rc = stream_in_next_line(in, &l, max_line)) == 1) {
        if (nref == cap) refs = realloc(refs, (cap = cap ? 2 * cap : 64) * sizeof *refs);
        refs[nref++] = (ref){ l.pos.offset, tlen, l.len, l.too_long };
        if (tlen + l.len + 1 > tcap) text = realloc(text, tcap = 2 * (tlen + l.len + 1));
        memcpy(text + tlen, l.ptr, l.len);
        tlen += l.len;
    }
    if (stream_in_count(in) != nref) abort();
    stream_in_close(in);

    /* the threaded loop's reading */
    in = stream_in_open(uri, &c);
    if (!in) abort();
    fblock fb = { NULL, 0 };
    par_line *lines = malloc(sizeof *lines * 16);
    size_t seen = 0;
    stream_lines ls;
    int rc;
    for (;;) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        size_t room = 1 + (rng >> 33) % 300;
        uint32_t max_lines = 1 + (uint32_t)((rng >> 20) % 16);
        int into = (rng >> 12) & 1;   /* as par.c reads: into the block, as counted */
        rc = into ? stream_in_next_lines_to(in, &ls, max_line, room, max_lines, fz_room, &fb)
                  : stream_in_next_lines(in, &ls, max_line, room, max_lines);
        if (rc == 2) {
            if (ls.len <= room) abort();
            rc = into ? stream_in_next_lines_to(in, &ls, max_line, ls.len, max_lines, fz_room, &fb)
                      : stream_in_next_lines(in, &ls, max_line, ls.len, max_lines);
            if (rc != 1) abort();
        } else if (rc == 1 && ls.len > room) {
            abort();
        }
        if (rc != 1) break;
        if (ls.n < 1 || ls.n > max_lines) abort();
        if (into && ls.ptr != fb.buf) abort();
        if (ls.len + 1 > fb.cap) fb.buf = realloc(fb.buf, fb.cap = 2 * (ls.len + 1));
        char *buf = fb.buf;
        size_t len = par_copy_lines(buf, &ls);
        par_split_lines(buf, len, ls.n, max_line, ls.first, ls.too_long, lines);
        for (uint32_t i = 0; i < ls.n; i++, seen++) {
            const par_line *p = &lines[i];
            const ref *r = seen < nref ? &refs[seen] : NULL;
            if (!r || p->lineno != r->no || p->len != r->len || p->too_long != r->too_long ||
                memcmp(buf + p->off, text + r->off, r->len) || buf[p->off + p->len])
                abort();
        }
    }
    if (rc != ref_rc || seen != nref || stream_in_count(in) != nref) abort();
    stream_in_close(in);
    free(lines);
    free(fb.buf);
    free(text);
    free(refs);
    return 0;
}

/* test_frame.c — frame.h: size-prefixed frames round trip through memory,
 * a pipe, a file and a .zst file; truncation and oversize lengths end the
 * stream with an error naming the right byte offset. Frames are built by
 * hand here (4-byte LE length + payload), independently of frame_write. */
#include <pthread.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "frame.h"
#include "io.h"
#include "testhelp.h"

/* payload i: length varies, content depends on i */
static size_t payload(int i, uint8_t *out)
{
    size_t n = (size_t)(i * 37 % 1000) + (i % 50 == 0 ? 70000 : 0);
    for (size_t k = 0; k < n; k++) out[k] = (uint8_t)(i + k * 7);
    return n;
}

/* Hand-made stream of `count` frames; offsets[i] = byte offset of frame i. */
static uint8_t *build_stream(int count, size_t *len, uint64_t *offsets)
{
    size_t cap = 1 << 20, n = 0;
    uint8_t *s = malloc(cap), tmp[80000];
    for (int i = 0; i < count; i++) {
        size_t pl = payload(i, tmp);
        if (n + 4 + pl > cap) { cap *= 2; s = realloc(s, cap); }
        if (offsets) offsets[i] = n;
        s[n] = (uint8_t)pl; s[n + 1] = (uint8_t)(pl >> 8); s[n + 2] = (uint8_t)(pl >> 16); s[n + 3] = (uint8_t)(pl >> 24);
        memcpy(s + n + 4, tmp, pl);
        n += 4 + pl;
    }
    *len = n;
    return s;
}

/* Read every frame and compare with payload(i). Returns frames read; *rc the
 * final frame_next result. */
static int check_frames(io_reader *io, uint64_t max, const uint64_t *offsets, int *rc, char *err, size_t errlen)
{
    frame_reader f;
    frame_reader_init(&f, io, max);
    uint8_t tmp[80000];
    int i = 0;
    for (;;) {
        const uint8_t *d; uint32_t len; uint64_t off;
        int r = frame_next(&f, &d, &len, &off);
        if (r != 1) { *rc = r; if (err) snprintf(err, errlen, "%s", f.err); return i; }
        size_t pl = payload(i, tmp);
        CHECK_EQ_INT(len, pl);
        CHECK(len == pl && memcmp(d, tmp, pl) == 0);
        if (offsets) CHECK_EQ_INT(off, offsets[i]);
        i++;
    }
}

static void test_round_trip_mem(void)
{
    uint64_t offs[500];
    size_t n;
    uint8_t *s = build_stream(500, &n, offs);
    io_reader *io = io_reader_mem(s, n, "mem");
    int rc;
    CHECK_EQ_INT(check_frames(io, 0, offs, &rc, NULL, 0), 500);
    CHECK_EQ_INT(rc, 0);
    io_reader_close(io);
    free(s);
}

static void test_round_trip_writer(void)
{
    /* frame_write into a file, a .zst file and a pipe; read back */
    char dir[] = "/tmp/test_frame.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[2][300], err[256];
    snprintf(path[0], sizeof path[0], "%s/f.rec", dir);
    snprintf(path[1], sizeof path[1], "%s/f.rec.zst", dir);
    uint8_t tmp[80000];
    uint64_t offs[300];
    size_t expect_len;
    uint8_t *expect = build_stream(300, &expect_len, offs);
    for (int z = 0; z < 2; z++) {
        io_writer *w = io_writer_open(path[z], 0, 0, err, sizeof err);
        CHECK(w != NULL);
        for (int i = 0; i < 300; i++) {
            size_t pl = payload(i, tmp);
            CHECK(frame_write(w, tmp, (uint32_t)pl) == 0);
        }
        CHECK(io_writer_close(w, err, sizeof err) == 0);
        io_reader *io = io_reader_open(path[z], err, sizeof err);
        CHECK(io != NULL);
        int rc;
        CHECK_EQ_INT(check_frames(io, 0, offs, &rc, NULL, 0), 300);
        CHECK_EQ_INT(rc, 0);
        CHECK_EQ_INT(io_reader_is_zstd(io), z);
        io_reader_close(io);
    }
    /* the plain file is byte-identical to the hand-built stream */
    FILE *f = fopen(path[0], "rb");
    uint8_t *got = malloc(expect_len + 1);
    size_t gl = f ? fread(got, 1, expect_len + 1, f) : 0;
    if (f) fclose(f);
    CHECK(gl == expect_len && memcmp(got, expect, expect_len) == 0);
    free(got);
    /* pipe, written by a child process in odd-sized pieces */
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        for (size_t off = 0; off < expect_len; off += 333) {
            size_t k = expect_len - off < 333 ? expect_len - off : 333;
            if (write(fds[1], expect + off, k) != (ssize_t)k) _exit(1);
        }
        _exit(0);
    }
    close(fds[1]);
    io_reader *io = io_reader_fdopen(fds[0], 1, "pipe");
    int rc;
    CHECK_EQ_INT(check_frames(io, 0, offs, &rc, NULL, 0), 300);
    CHECK_EQ_INT(rc, 0);
    io_reader_close(io);
    int st;
    waitpid(pid, &st, 0);
    free(expect);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

static void test_truncated(void)
{
    uint64_t offs[20];
    size_t n;
    uint8_t *s = build_stream(20, &n, offs);
    char err[256], want[64];
    int rc;
    /* cut inside the payload of frame 17 */
    size_t cut = (size_t)offs[17] + 4 + 3;
    io_reader *io = io_reader_mem(s, cut, "mem");
    CHECK_EQ_INT(check_frames(io, 0, offs, &rc, err, sizeof err), 17);
    CHECK_EQ_INT(rc, -1);
    snprintf(want, sizeof want, "offset %llu: truncated", (unsigned long long)offs[17]);
    CHECK_MSG(strstr(err, want) != NULL, "%s", err);
    CHECK(strstr(err, "only 3 byte(s) follow") != NULL);
    io_reader_close(io);
    /* cut inside the length prefix of frame 5 */
    cut = (size_t)offs[5] + 2;
    io = io_reader_mem(s, cut, "mem");
    CHECK_EQ_INT(check_frames(io, 0, offs, &rc, err, sizeof err), 5);
    CHECK_EQ_INT(rc, -1);
    snprintf(want, sizeof want, "offset %llu: truncated", (unsigned long long)offs[5]);
    CHECK_MSG(strstr(err, want) != NULL, "%s", err);
    io_reader_close(io);
    free(s);
}

static void test_oversize(void)
{
    uint64_t offs[10];
    size_t n;
    uint8_t *s = build_stream(10, &n, offs);
    /* frame 0 has 70000 bytes: a limit below that stops at offset 0 */
    char err[256];
    int rc;
    io_reader *io = io_reader_mem(s, n, "mem");
    CHECK_EQ_INT(check_frames(io, 69999, offs, &rc, err, sizeof err), 0);
    CHECK_EQ_INT(rc, -1);
    CHECK_MSG(strstr(err, "offset 0: record length 70000 exceeds the maximum 69999") != NULL, "%s", err);
    io_reader_close(io);
    /* exactly at the limit is fine */
    io = io_reader_mem(s, n, "mem");
    CHECK_EQ_INT(check_frames(io, 70000, offs, &rc, err, sizeof err), 10);
    CHECK_EQ_INT(rc, 0);
    io_reader_close(io);
    /* a corrupt length mid-stream (0xFFFFFFFF) */
    memset(s + offs[6], 0xFF, 4);
    io = io_reader_mem(s, n, "mem");
    CHECK_EQ_INT(check_frames(io, 0, offs, &rc, err, sizeof err), 6);
    char want[80];
    snprintf(want, sizeof want, "offset %llu: record length 4294967295 exceeds", (unsigned long long)offs[6]);
    CHECK_MSG(strstr(err, want) != NULL, "%s", err);
    io_reader_close(io);
    free(s);
}

static void test_empty_and_zero(void)
{
    io_reader *io = io_reader_mem("", 0, "mem");
    frame_reader f;
    frame_reader_init(&f, io, 0);
    const uint8_t *d; uint32_t len; uint64_t off;
    CHECK_EQ_INT(frame_next(&f, &d, &len, &off), 0);
    CHECK_EQ_INT(f.max, FRAME_MAX_DEFAULT);
    io_reader_close(io);
    /* a zero-length frame is framing-valid (content checks are the caller's) */
    static const uint8_t z[] = { 0, 0, 0, 0, 1, 0, 0, 0, 'x' };
    io = io_reader_mem(z, sizeof z, "mem");
    frame_reader_init(&f, io, 0);
    CHECK_EQ_INT(frame_next(&f, &d, &len, &off), 1);
    CHECK_EQ_INT(len, 0);
    CHECK_EQ_INT(frame_next(&f, &d, &len, &off), 1);
    CHECK(len == 1 && d[0] == 'x' && off == 4);
    CHECK_EQ_INT(frame_next(&f, &d, &len, &off), 0);
    io_reader_close(io);
    uint8_t p[4];
    frame_put_len(p, 0x01020304);
    CHECK(p[0] == 4 && p[3] == 1 && frame_get_len(p) == 0x01020304);
}

TEST_MAIN(test_round_trip_mem, test_round_trip_writer, test_truncated, test_oversize, test_empty_and_zero)

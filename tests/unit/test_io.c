/* test_io.c — io.h: buffered reads (memory, pipe, file), zstd detection and
 * decompression against libzstd's own one-shot API, writer round trips,
 * sticky write errors (/dev/full, closed pipe), stop requests. */
#define _GNU_SOURCE   /* F_GETPIPE_SZ */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "io.h"
#include "sig.h"
#include "testhelp.h"

static char tmpdir[256];

static void make_tmpdir(void)
{
    if (tmpdir[0]) return;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_io.XXXXXX");
    if (!mkdtemp(tmpdir)) { perror("mkdtemp"); exit(1); }
}

/* Deterministic, mildly compressible bytes. */
static uint8_t *make_data(size_t n, uint32_t seed)
{
    uint8_t *p = malloc(n);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        p[i] = (i % 7 == 0) ? (uint8_t)x : (uint8_t)('a' + i % 23);
    }
    return p;
}

/* Read everything through io_fill/io_consume in steps of `step` bytes. */
static uint8_t *read_all(io_reader *r, size_t step, size_t *outlen, int *rc)
{
    size_t cap = 1 << 16, len = 0;
    uint8_t *out = malloc(cap);
    *rc = 0;
    for (;;) {
        ssize_t n = io_fill(r, step);
        if (n < 0) { *rc = (int)n; break; }
        if (n == 0) break;
        size_t take = (size_t)n < step ? (size_t)n : step;
        CHECK(io_roffset(r) == len);
        if (len + take > cap) { while (len + take > cap) cap *= 2; out = realloc(out, cap); }
        memcpy(out + len, io_rptr(r), take);
        len += take;
        io_consume(r, take);
    }
    *outlen = len;
    return out;
}

static void test_mem_plain(void)
{
    size_t n = 3 * IO_BUF_SIZE + 12345;
    uint8_t *data = make_data(n, 1);
    size_t steps[] = { 1, 3, 4096, IO_BUF_SIZE + 7 };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        io_reader *r = io_reader_mem(data, n, "mem");
        size_t len; int rc;
        uint8_t *out = read_all(r, steps[i], &len, &rc);
        CHECK_EQ_INT(rc, 0);
        CHECK_EQ_INT(len, n);
        CHECK(len == n && memcmp(out, data, n) == 0);
        CHECK(!io_reader_is_zstd(r));
        CHECK(io_rerror(r) == NULL);
        free(out);
        io_reader_close(r);
    }
    /* asking for more than exists returns what there is, then 0 */
    io_reader *r = io_reader_mem("abc", 3, "mem");
    CHECK_EQ_INT(io_fill(r, 10), 3);
    CHECK_EQ_INT(io_fill(r, 10), 3);
    io_consume(r, 3);
    CHECK_EQ_INT(io_fill(r, 1), 0);
    io_reader_close(r);
    /* shorter than the zstd magic, and empty */
    r = io_reader_mem("\x28\xb5", 2, "mem");
    CHECK_EQ_INT(io_fill(r, 4), 2);
    CHECK(!io_reader_is_zstd(r));
    io_reader_close(r);
    r = io_reader_mem("", 0, "mem");
    CHECK_EQ_INT(io_fill(r, 1), 0);
    io_reader_close(r);
    free(data);
}

static void test_mem_zstd(void)
{
    size_t n = 2 * IO_BUF_SIZE + 999;
    uint8_t *data = make_data(n, 2);
    /* two concatenated frames, as `cat a.zst b.zst` makes */
    size_t half = n / 3;
    size_t bound = ZSTD_compressBound(n) * 2;
    uint8_t *z = malloc(bound);
    size_t z1 = ZSTD_compress(z, bound, data, half, 3);
    CHECK(!ZSTD_isError(z1));
    size_t z2 = ZSTD_compress(z + z1, bound - z1, data + half, n - half, 1);
    CHECK(!ZSTD_isError(z2));
    io_reader *r = io_reader_mem(z, z1 + z2, "mem.zst");
    size_t len; int rc;
    uint8_t *out = read_all(r, 1000, &len, &rc);
    CHECK_EQ_INT(rc, 0);
    CHECK(io_reader_is_zstd(r));
    CHECK(len == n && memcmp(out, data, n) == 0);
    free(out);
    io_reader_close(r);

    /* truncated compressed stream: an error, not a silent short read */
    r = io_reader_mem(z, z1 + z2 / 2, "cut.zst");
    out = read_all(r, 1000, &len, &rc);
    CHECK_EQ_INT(rc, IO_ERR);
    CHECK(io_rerror(r) && strstr(io_rerror(r), "truncated zstd"));
    CHECK(len < n && memcmp(out, data, len) == 0);
    free(out);
    io_reader_close(r);

    /* garbage after the magic */
    uint8_t bad[64];
    memset(bad, 0xAB, sizeof bad);
    memcpy(bad, "\x28\xb5\x2f\xfd", 4);
    r = io_reader_mem(bad, sizeof bad, "bad.zst");
    out = read_all(r, 10, &len, &rc);
    CHECK_EQ_INT(rc, IO_ERR);
    CHECK(io_rerror(r) && strstr(io_rerror(r), "zstd"));
    free(out);
    io_reader_close(r);
    free(z);
    free(data);
}

struct feeder { int fd; const uint8_t *p; size_t n, chunk; int delay_us; };
static void *feeder_main(void *arg)
{
    struct feeder *f = arg;
    for (size_t off = 0; off < f->n; off += f->chunk) {
        size_t k = f->n - off < f->chunk ? f->n - off : f->chunk;
        if (write(f->fd, f->p + off, k) != (ssize_t)k) break;
        if (f->delay_us) usleep((useconds_t)f->delay_us);
    }
    close(f->fd);
    return NULL;
}

static void test_pipe_read(void)
{
    size_t n = 700000;
    uint8_t *data = make_data(n, 3);
    size_t zb = ZSTD_compressBound(n);
    uint8_t *z = malloc(zb);
    size_t zl = ZSTD_compress(z, zb, data, n, 5);
    for (int compressed = 0; compressed < 2; compressed++) {
        int fds[2];
        CHECK(pipe(fds) == 0);
        struct feeder f = { fds[1], compressed ? z : data, compressed ? zl : n, 777, 0 };
        pthread_t th;
        pthread_create(&th, NULL, feeder_main, &f);
        io_reader *r = io_reader_fdopen(fds[0], 1, "pipe");
#ifdef F_GETPIPE_SZ
        /* the reader grows its pipe to 1 MiB where the system allows it */
        FILE *mf = fopen("/proc/sys/fs/pipe-max-size", "r");
        long maxsz = 0;
        if (mf) { if (fscanf(mf, "%ld", &maxsz) != 1) maxsz = 0; fclose(mf); }
        if (maxsz >= (1 << 20))
            CHECK(fcntl(fds[0], F_GETPIPE_SZ) >= (1 << 20));
#endif
        size_t len; int rc;
        uint8_t *out = read_all(r, 5000, &len, &rc);
        pthread_join(th, NULL);
        CHECK_EQ_INT(rc, 0);
        CHECK_EQ_INT(io_reader_is_zstd(r), compressed);
        CHECK(len == n && memcmp(out, data, n) == 0);
        free(out);
        io_reader_close(r);
    }
    free(z);
    free(data);
}

/* The first four bytes (which decide plain or zstd) arriving one by one,
 * with pauses: detection waits for all four and loses none of them. */
struct dribble { int fd; const uint8_t *p; size_t n; };
static void *dribble_main(void *arg)
{
    struct dribble *d = arg;
    struct timespec pause = { 0, 30 * 1000000 };
    for (size_t i = 0; i < 3 && i < d->n; i++) {
        if (write(d->fd, d->p + i, 1) != 1) break;
        nanosleep(&pause, NULL);
    }
    if (d->n > 3) {
        size_t off = 3;
        while (off < d->n) {
            ssize_t k = write(d->fd, d->p + off, d->n - off);
            if (k <= 0) break;
            off += (size_t)k;
        }
    }
    close(d->fd);
    return NULL;
}

static void test_detect_dribble(void)
{
    size_t n = 5000;
    uint8_t *data = make_data(n, 9);
    size_t zb = ZSTD_compressBound(n);
    uint8_t *z = malloc(zb);
    size_t zl = ZSTD_compress(z, zb, data, n, 3);
    for (int compressed = 0; compressed < 2; compressed++) {
        int fds[2];
        CHECK(pipe(fds) == 0);
        struct dribble d = { fds[1], compressed ? z : data, compressed ? zl : n };
        pthread_t th;
        pthread_create(&th, NULL, dribble_main, &d);
        io_reader *r = io_reader_fdopen(fds[0], 1, "pipe");
        size_t len; int rc;
        uint8_t *out = read_all(r, 100, &len, &rc);
        pthread_join(th, NULL);
        CHECK_EQ_INT(rc, 0);
        CHECK_EQ_INT(io_reader_is_zstd(r), compressed);
        CHECK(len == n && memcmp(out, data, n) == 0);
        free(out);
        io_reader_close(r);
    }
    /* shorter than the magic: plain, every byte kept */
    int fds[2];
    CHECK(pipe(fds) == 0);
    struct dribble d = { fds[1], (const uint8_t *)"\x28\xb5", 2 };
    pthread_t th;
    pthread_create(&th, NULL, dribble_main, &d);
    io_reader *r = io_reader_fdopen(fds[0], 1, "pipe");
    CHECK_EQ_INT(io_fill(r, 4), 2);
    CHECK(memcmp(io_rptr(r), "\x28\xb5", 2) == 0);
    CHECK_EQ_INT(io_reader_is_zstd(r), 0);
    pthread_join(th, NULL);
    io_reader_close(r);
    free(z);
    free(data);
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) { *len = 0; return NULL; }
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc(sz > 0 ? (size_t)sz : 1);
    *len = fread(p, 1, (size_t)sz, f);
    fclose(f);
    return p;
}

static void test_writer_files(void)
{
    make_tmpdir();
    size_t n = 3 * IO_BUF_SIZE + 4321;
    uint8_t *data = make_data(n, 4);
    char plain[300], zst[300], forced[300], err[256];
    snprintf(plain, sizeof plain, "%s/out.bin", tmpdir);
    snprintf(zst, sizeof zst, "%s/out.bin.zst", tmpdir);
    snprintf(forced, sizeof forced, "%s/forced.bin", tmpdir);
    const char *paths[] = { plain, zst, forced };
    int levels[] = { 0, 0, 7 };
    for (int i = 0; i < 3; i++) {
        io_writer *w = io_writer_open(paths[i], levels[i], 0, err, sizeof err);
        CHECK(w != NULL);
        if (!w) continue;
        /* mixed sizes: tiny appends, one bigger than the buffer, a flush midway */
        size_t off = 0, sizes[] = { 1, 17, 4096, IO_BUF_SIZE + 5, 100 };
        for (int k = 0; off < n; k++) {
            size_t s = sizes[k % 5];
            if (s > n - off) s = n - off;
            CHECK(io_write(w, data + off, s) == 0);
            off += s;
            if (k == 7) CHECK(io_flush(w) == 0);
        }
        CHECK(io_woffset(w) == n);
        CHECK(io_writer_close(w, err, sizeof err) == 0);
        size_t flen;
        uint8_t *file = slurp(paths[i], &flen);
        if (i == 0) {
            CHECK(flen == n && memcmp(file, data, n) == 0);
        } else {
            /* decompress with libzstd itself, not with our reader */
            CHECK(flen >= 4 && memcmp(file, "\x28\xb5\x2f\xfd", 4) == 0);
            uint8_t *dec = malloc(n + 1);
            ZSTD_DCtx *dc = ZSTD_createDCtx();
            ZSTD_inBuffer in = { file, flen, 0 };
            ZSTD_outBuffer out = { dec, n + 1, 0 };
            size_t ret = 1;
            while (in.pos < in.size && !ZSTD_isError(ret)) ret = ZSTD_decompressStream(dc, &out, &in);
            CHECK(!ZSTD_isError(ret) && ret == 0);
            CHECK(out.pos == n && memcmp(dec, data, n) == 0);
            CHECK(flen < n);   /* it did compress */
            ZSTD_freeDCtx(dc);
            free(dec);
        }
        free(file);
    }
    /* append mode keeps what was there */
    io_writer *w = io_writer_open(plain, 0, 1, err, sizeof err);
    CHECK(w && io_write(w, "tail", 4) == 0 && io_writer_close(w, NULL, 0) == 0);
    size_t flen;
    uint8_t *file = slurp(plain, &flen);
    CHECK(flen == n + 4 && memcmp(file + n, "tail", 4) == 0);
    free(file);
    /* unwritable path */
    char bad[300];
    snprintf(bad, sizeof bad, "%s/no/such/dir/x", tmpdir);
    CHECK(io_writer_open(bad, 0, 0, err, sizeof err) == NULL);
    CHECK(strstr(err, "No such file") != NULL);
    CHECK(io_reader_open(bad, err, sizeof err) == NULL);
    CHECK(strstr(err, bad) != NULL);
    free(data);
}

static void test_write_errors(void)
{
    char err[256] = "";
    /* a full disk: buffered writes succeed, the flush reports it, and it sticks */
    io_writer *w = io_writer_open("/dev/full", 0, 0, err, sizeof err);
    CHECK(w != NULL);
    if (w) {
        CHECK(io_write(w, "hello", 5) == 0);
        CHECK(io_flush(w) == -1);
        CHECK(io_werror(w) && strstr(io_werror(w), "No space"));
        CHECK(io_write(w, "x", 1) == -1);
        CHECK(io_writer_close(w, err, sizeof err) == -1);
        CHECK(strstr(err, "/dev/full") != NULL);
    }
    /* a closed pipe: EPIPE (SIGPIPE ignored, as sig_install does) */
    signal(SIGPIPE, SIG_IGN);
    int fds[2];
    CHECK(pipe(fds) == 0);
    close(fds[0]);
    w = io_writer_fdopen(fds[1], 1, "stdout", 0);
    CHECK(io_write(w, "data", 4) == 0);
    CHECK(io_writer_close(w, err, sizeof err) == -1);
    CHECK(strstr(err, "Broken pipe") != NULL);
    /* large writes bypass the buffer and fail immediately */
    CHECK(pipe(fds) == 0);
    close(fds[0]);
    w = io_writer_fdopen(fds[1], 1, "pipe", 3);
    uint8_t *big = make_data(2 * IO_BUF_SIZE, 5);
    CHECK(io_write(w, big, 2 * IO_BUF_SIZE) == -1);
    CHECK(io_writer_close(w, NULL, 0) == -1);
    free(big);
}

static void test_compress_parse(void)
{
    int lvl; char err[128];
    CHECK(io_compress_parse(NULL, &lvl, err, sizeof err) == 0 && lvl == 0);
    CHECK(io_compress_parse("none", &lvl, err, sizeof err) == 0 && lvl == 0);
    CHECK(io_compress_parse("zstd", &lvl, err, sizeof err) == 0 && lvl == IO_ZSTD_LEVEL);
    CHECK(io_compress_parse("zstd:19", &lvl, err, sizeof err) == 0 && lvl == 19);
    CHECK(io_compress_parse("zstd:0", &lvl, err, sizeof err) == -1);
    CHECK(io_compress_parse("zstd:x", &lvl, err, sizeof err) == -1);
    CHECK(io_compress_parse("gzip", &lvl, err, sizeof err) == -1 && strstr(err, "gzip"));
}

static int idle_calls;
static void on_idle(void *ctx) { (void)ctx; idle_calls++; }

static void *stop_later(void *arg)
{
    (void)arg;
    usleep(300000);
    sig_request_stop();
    return NULL;
}

/* Last: the stop flag cannot be cleared. A read blocked on a silent pipe
 * returns IO_STOP soon after the request, having called the idle hook. */
static void test_stop(void)
{
    int fds[2];
    CHECK(pipe(fds) == 0);
    io_reader *r = io_reader_fdopen(fds[0], 1, "pipe");
    io_reader_set_idle(r, on_idle, NULL);
    pthread_t th;
    pthread_create(&th, NULL, stop_later, NULL);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ssize_t n = io_fill(r, 1);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    pthread_join(th, NULL);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    CHECK_EQ_INT(n, IO_STOP);
    CHECK(secs >= 0.25 && secs < 1.5);
    CHECK_EQ_INT(idle_calls, 1);
    io_reader_close(r);
    close(fds[1]);
}

static void cleanup(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (tmpdir[0] && system(cmd) != 0) fprintf(stderr, "cleanup failed\n");
}

TEST_MAIN(test_mem_plain, test_mem_zstd, test_pipe_read, test_detect_dribble, test_writer_files,
          test_write_errors, test_compress_parse, test_stop, cleanup)

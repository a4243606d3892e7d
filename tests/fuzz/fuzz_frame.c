/* fuzz_frame.c — libFuzzer target for the record reader: framing (frame.c
 * over io.c, zstd included when the input starts with its magic), then the
 * verify+decode of every frame by its identifier, as stream_in_next does.
 *
 * Two passes per input:
 *  1. frame_next over an in-memory reader; each frame is copied to an
 *     exact-size heap block so ASan flags any read past the frame, decoded
 *     (prefixed, as on a byte stream), and when it decodes, re-encoded and
 *     decoded again, which must succeed.
 *  2. the real stream_in_next over the same bytes (through a memfd path),
 *     with rejects going to a dead letter on /dev/null: counts must agree
 *     with pass 1 (records returned + rejected = frames), and the end must be
 *     clean (0) exactly when pass 1 ended cleanly.
 * Replay a crash: build/fuzz/fuzz_frame build/fuzz/crash-... */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fbrec.h"
#include "frame.h"
#include "io.h"
#include "log.h"
#include "metrics.h"
#include "stream.h"

#define FUZZ_MAX_RECORD (1u << 16)   /* = -max_len: bigger lengths only cost allocations */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    static arena a1, a2;
    static fb_builder b;
    if (!init) {
        log_init("fuzz_frame", "error");
        metrics_init("fuzz_frame", NULL, 0);
        arena_init(&a1, 0); arena_init(&a2, 0);
        fb_builder_init(&b);
        init = 1;
    }

    /* pass 1 */
    io_reader *io = io_reader_mem(data, size, "fuzz");
    frame_reader f;
    frame_reader_init(&f, io, FUZZ_MAX_RECORD);
    const uint8_t *p; uint32_t len; uint64_t off, last_off = 0;
    int rc, frames = 0, good = 0;
    while ((rc = frame_next(&f, &p, &len, &off)) == 1) {
        if (frames > 0 && off <= last_off) abort();   /* offsets strictly increase */
        last_off = off;
        frames++;
        uint8_t *copy = malloc(len ? len : 1);
        memcpy(copy, p, len);
        const fbrec_desc *d = NULL;
        if (len >= 8) {
            char ident[5];
            memcpy(ident, copy + 4, 4); ident[4] = 0;
            d = fbrec_desc_by_ident(ident);
        }
        AnyRecord rec, again;
        char err[256];
        arena_reset(&a1);
        if (d && fbrec_decode(d, copy, len, 1, &rec, &a1, err, sizeof err) == 0) {
            good++;
            fbrec_encode(&b, d, &rec, 1);
            size_t bl;
            const uint8_t *bd = fb_data(&b, &bl);
            arena_reset(&a2);
            if (bl < 4 || fbrec_decode(d, bd + 4, bl - 4, 1, &again, &a2, err, sizeof err) != 0) {
                fprintf(stderr, "re-encoded record does not decode: %s\n", err);
                abort();
            }
        }
        free(copy);
    }
    io_reader_close(io);
    if (rc != 0 && rc != -1) abort();
    if (rc == -1 && strncmp(f.err, "offset ", 7) != 0) abort();   /* errors name the offset */

    /* pass 2: the same bytes through stream_in_next */
    int fd = memfd_create("fuzz_frame", 0);
    if (fd < 0) return 0;
    if (size && write(fd, data, size) != (ssize_t)size) { close(fd); return 0; }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    cli_common c;
    memset(&c, 0, sizeof c);
    c.max_record = FUZZ_MAX_RECORD;
    c.dead_letter = "/dev/null";
    stream_in *in = stream_in_open(path, &c);
    if (in) {
        stream_rec r;
        int n = 0, x;
        while ((x = stream_in_next(in, &r)) == 1) {
            if (!r.type || r.len < 8) abort();
            n++;
        }
        if (n != good) { fprintf(stderr, "stream_in_next returned %d records, frames decoded %d\n", n, good); abort(); }
        if ((x == 0) != (rc == 0)) abort();
        stream_in_close(in);
    }
    close(fd);
    return 0;
}

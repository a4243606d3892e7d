/* fuzz_wmark.c — libFuzzer target for watermark marks as a Kafka reader
 * takes them (stream.c: wmark_is_mark, fbrec_decode, wmark_table_note): the
 * input is a run of size-prefixed buffers, each fed to one table. Nothing
 * may crash or read out of bounds; a refused mark changes nothing (the
 * answer is the same as before it); the table's answer is the minimum of
 * what it holds, so never above the largest time named unless all idle. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "wmark.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static arena a;
    static int init;
    if (!init) { arena_init(&a, 0); init = 1; }
    wmark_table *t = wmark_table_new();
    if (!t) return 0;
    size_t off = 0;
    while (off + 4 <= size) {
        uint32_t len;
        memcpy(&len, data + off, 4);
        off += 4;
        if (len > size - off) len = (uint32_t)(size - off);
        uint8_t *buf = malloc(len ? len : 1);   /* exact size: ASan sees an overread */
        memcpy(buf, data + off, len);
        off += len;
        AnyRecord rec;
        char err[256];
        arena_reset(&a);
        int64_t before = wmark_table_time(t);
        uint64_t marks = wmark_table_marks(t);
        /* (as stream.c: a buffer cut from a size-prefixed stream is aligned for its prefix) */
        if (wmark_is_mark(buf, len) && (fbrec_decode(&Watermark_desc, buf, len, 0, &rec, &a, err, sizeof err) == 0 ||
                                        fbrec_decode(&Watermark_desc, buf, len, 1, &rec, &a, err, sizeof err) == 0)) {
            if (wmark_table_note(t, &rec.watermark, err, sizeof err) != 0) {
                if (wmark_table_time(t) != before || wmark_table_marks(t) != marks) abort();
                if (!err[0]) abort();
            }
            int64_t now = wmark_table_time(t);
            if (now != WMARK_IDLE && now != INT64_MIN && now > wmark_table_max(t)) abort();
        }
        free(buf);
    }
    wmark_table_free(t);
    return 0;
}

/* fuzz_seen.c — libFuzzer target for aggregate's dedup set (seen.c) and
 * its checkpoint blob.
 *
 * Input: a mode byte. Even: 9-byte operations (an op byte: check, add with
 * an expiry offset, expire; 8 bytes of hash, few distinct high bits so
 * probe chains collide), checked against a model of at most 64 held
 * hashes (the bound); the blob saved at the end must load into the same
 * membership, and cut short or with one byte flipped is refused. Odd: the
 * rest, behind the blob magic and with a valid checksum, is loaded or
 * refused safely; if loaded, it saves and reloads to the same count. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "hash.h"
#include "../../../stages/aggregate/seen.h"
#include "log.h"

#define MAXIDS 64

static void blob_body(const uint8_t *data, size_t size)
{
    agg_buf b = {0};
    agg_buf_u32(&b, 0x314e4553u);
    agg_buf_put(&b, data, size);
    agg_buf_u64(&b, hash_seeded64(b.p, b.len, 0x7365656eULL));
    agg_seen *s = agg_seen_new(MAXIDS);
    char err[200];
    if (agg_seen_load(s, b.p, b.len, err, sizeof err) == 0) {
        if (agg_seen_count(s) > MAXIDS) abort();
        agg_buf c = {0};
        agg_seen_save(s, &c);
        agg_seen *t = agg_seen_new(MAXIDS);
        if (agg_seen_load(t, c.p, c.len, err, sizeof err) != 0 || agg_seen_count(t) != agg_seen_count(s)) abort();
        agg_seen_free(t);
        agg_buf_free(&c);
    }
    agg_seen_free(s);
    agg_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    if (!init) { log_init("aggregate", "error"); init = 1; }
    if (size < 1) return 0;
    if (data[0] & 1) { blob_body(data + 1, size - 1); return 0; }
    agg_seen *s = agg_seen_new(MAXIDS);
    uint64_t mh[MAXIDS];
    int64_t me[MAXIDS];
    int n = 0;
    int64_t wm = 0;
    for (size_t i = 1; i + 9 <= size; i += 9) {
        uint8_t op = data[i];
        uint64_t h;
        memcpy(&h, data + i + 1, 8);
        h &= 0xff000000000000ffULL;            /* collide in the low (index) bits */
        uint64_t hn = h ? h : 1;
        int held = 0;
        for (int k = 0; k < n; k++) held |= mh[k] == hn;
        switch (op % 3) {
        case 0:
            if (agg_seen_check(s, h) != held) abort();
            break;
        case 1:
            if (held) break;
            agg_seen_add(s, h, wm + 1 + (op >> 2));
            if (n < MAXIDS) { mh[n] = hn; me[n] = wm + 1 + (op >> 2); n++; }
            break;
        default:
            wm += op >> 4;
            agg_seen_expire(s, wm);
            for (int k = 0; k < n;) {
                if (me[k] <= wm) { mh[k] = mh[n - 1]; me[k] = me[n - 1]; n--; } else k++;
            }
        }
        if (agg_seen_count(s) != (uint64_t)n) abort();
    }
    agg_buf b = {0};
    agg_seen_save(s, &b);
    agg_seen *t = agg_seen_new(MAXIDS);
    char err[200];
    if (agg_seen_load(t, b.p, b.len, err, sizeof err) != 0) abort();
    for (int k = 0; k < n; k++) if (!agg_seen_check(t, mh[k])) abort();
    if (agg_seen_count(t) != (uint64_t)n) abort();
    agg_seen_free(t);
    if (b.len > 12) {
        t = agg_seen_new(MAXIDS);
        if (agg_seen_load(t, b.p, b.len - 1 - size % (b.len - 12), err, sizeof err) == 0) abort();
        agg_seen_free(t);
        b.p[size % b.len] ^= (uint8_t)(1u << (size % 8));
        t = agg_seen_new(MAXIDS);
        if (agg_seen_load(t, b.p, b.len, err, sizeof err) == 0) abort();
        agg_seen_free(t);
    }
    agg_buf_free(&b);
    agg_seen_free(s);
    return 0;
}

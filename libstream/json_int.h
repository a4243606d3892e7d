/* json_int.h — the RFC 8259 string rules shared by the reader (json.c) and
 * the writer (jsonwriter.c), private to those two: which bytes in a string
 * are special, and what a valid UTF-8 sequence is. Static, so each file
 * keeps them inlined in its string loop, as when both were one file. */
#ifndef STREAMREC_JSON_INT_H
#define STREAMREC_JSON_INT_H
#include <stddef.h>

/* Byte classes inside a string: 0 plain ASCII, 1 '"', 2 '\\', 3 control,
 * 4 non-ASCII (start of a UTF-8 sequence, validated separately). */
static const unsigned char json_strclass[256] = {
    [0 ... 0x1f] = 3, ['"'] = 1, ['\\'] = 2, [0x80 ... 0xff] = 4,
};

/* Length of the valid UTF-8 sequence at p (lead byte >= 0x80), 0 if invalid. */
static inline size_t json_utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t avail = (size_t)(end - p);
#define CONT(i) ((size_t)(i) < avail && (p[i] & 0xC0) == 0x80)
    if (c >= 0xC2 && c <= 0xDF) return CONT(1) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (avail < 3 || !CONT(1) || !CONT(2)) return 0;
        if (c == 0xE0 && p[1] < 0xA0) return 0;         /* overlong */
        if (c == 0xED && p[1] > 0x9F) return 0;         /* surrogate */
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (avail < 4 || !CONT(1) || !CONT(2) || !CONT(3)) return 0;
        if (c == 0xF0 && p[1] < 0x90) return 0;         /* overlong */
        if (c == 0xF4 && p[1] > 0x8F) return 0;         /* > U+10FFFF */
        return 4;
    }
#undef CONT
    return 0;
}
#endif

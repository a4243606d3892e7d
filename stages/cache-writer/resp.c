/* resp.c — see resp.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "num.h"
#include "resp.h"
#include "rpipe.h"

static void rbuf_grow(rbuf *b, size_t len)
{
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + len + 1) cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) log_fatal("out of memory (%zu bytes for a Redis command)", cap);
        b->p = np; b->cap = cap;
    }
}

void rbuf_reserve(rbuf *b, size_t len) { b->len = 0; rbuf_grow(b, len); }

void rbuf_put(rbuf *b, const void *data, size_t len)
{
    rbuf_grow(b, len);
    memcpy(b->p + b->len, data, len);
    b->len += len;
    b->p[b->len] = 0;
}

void rbuf_free(rbuf *b) { free(b->p); b->p = NULL; b->len = b->cap = 0; }

#define RESP_HEADER_ROOM 16

void resp_begin(rpipe_slot *s)
{
    static const char room[RESP_HEADER_ROOM];
    s->cmd.len = 0;
    s->nargs = 0;
    rbuf_put(&s->cmd, room, RESP_HEADER_ROOM);
}

void resp_end(rpipe_slot *s)
{
    char h[RESP_HEADER_ROOM];
    int n = snprintf(h, sizeof h, "*%d\r\n", s->nargs);
    s->cmd_off = RESP_HEADER_ROOM - (size_t)n;
    memcpy(s->cmd.p + s->cmd_off, h, (size_t)n);
}

void resp_arg(rpipe_slot *s, const void *data, size_t len)
{
    s->nargs++;
    resp_encode_arg(&s->cmd, data, len);
}

void resp_arg_str(rpipe_slot *s, const char *str) { resp_arg(s, str, strlen(str)); }

void resp_encode_arg(rbuf *b, const void *data, size_t len)
{
    rbuf_grow(b, len + 32);          /* one check for "$len\r\n", data, "\r\n" */
    char *o = b->p + b->len;
    *o++ = '$';
    o += num_u64(o, len);
    *o++ = '\r'; *o++ = '\n';
    memcpy(o, data, len);
    o += len;
    *o++ = '\r'; *o++ = '\n';
    *o = 0;
    b->len = (size_t)(o - b->p);
}

void resp_append_encoded(rpipe_slot *dst, const rbuf *args, int nargs)
{
    rbuf_put(&dst->cmd, args->p, args->len);
    dst->nargs += nargs;
}

void resp_finish_into(rbuf *dst, rpipe_slot *src)
{
    resp_end(src);
    rbuf_put(dst, src->cmd.p + src->cmd_off, src->cmd.len - src->cmd_off);
}

void resp_arg_i64(rpipe_slot *s, int64_t v)
{
    char b[NUM_BUF];
    resp_arg(s, b, (size_t)num_i64(b, v));
}

void resp_arg_f64(rpipe_slot *s, double v)
{
    char b[NUM_BUF];
    resp_arg(s, b, (size_t)num_f64(b, v));
}

/* batch.c — the users batch (batch.h). */
#include "batch.h"
#include <stdlib.h>
#include <string.h>
#include "arena.h"
#include "log.h"
#include "sizes.h"
#include "stream.h"

/* Any user id ingest can write (schemas/SIZES.md): the reader's buffer grows
 * only as far as the longest line read needs. */
#define BATCH_MAX_LINE STREAMREC_MAX_STRING

int batch_run(serve *s, const char *users_uri, const cli_common *c, size_t chunk,
              serve_emit_fn emit, void *ctx, uint64_t *n_users)
{
    cli_common lc = *c;
    lc.dead_letter = NULL;           /* the event input owns --dead-letter */
    stream_in *in = stream_in_open(users_uri, &lc);
    if (!in) return -1;
    if (!chunk) chunk = 1;
    const char **users = malloc(chunk * sizeof *users);
    size_t *lens = malloc(chunk * sizeof *lens);
    arena a;
    arena_init(&a, 0);
    int rc = 0, got;
    size_t n = 0;
    stream_line l;
    if (!users || !lens) { log_error("out of memory"); rc = -1; goto done; }
    while ((got = stream_in_next_line(in, &l, BATCH_MAX_LINE)) == 1) {
        if (l.too_long) {
            stream_reject(in, &l.pos, "bad_user", "user id longer than 16 MiB (STREAMREC_MAX_STRING)", l.ptr, l.len);
            continue;
        }
        const char *p = l.ptr, *e = l.ptr + l.len;
        while (p < e && (*p == ' ' || *p == '\t')) p++;
        while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) e--;
        if (p == e || *p == '#') continue;
        users[n] = arena_strndup(&a, p, (size_t)(e - p));
        lens[n] = (size_t)(e - p);
        if (++n == chunk) {
            if (serve_users(s, users, lens, n, emit, ctx)) { rc = -1; goto done; }
            *n_users += n;
            n = 0;
            arena_reset(&a);
        }
    }
    if (got < 0) rc = -1;
    if (rc == 0 && n) {
        if (serve_users(s, users, lens, n, emit, ctx)) rc = -1;
        else *n_users += n;
    }
done:
    free(users);
    free(lens);
    arena_free(&a);
    stream_in_close(in);
    return rc;
}

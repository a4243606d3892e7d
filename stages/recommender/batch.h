/* batch.h — the users batch (`recommender --users FILE`): one list per user
 * named in a file (or "-" for stdin), one user_id per line (blank lines and
 * lines starting with '#' skipped, surrounding spaces trimmed), scored in
 * chunks of `chunk` users so memory stays flat for any list length. */
#ifndef STREAMREC_REC_BATCH_H
#define STREAMREC_REC_BATCH_H
#include <stddef.h>
#include "cli.h"
#include "serve.h"

/* 0 done, -1 failure (logged). Users are counted in *n_users. */
int batch_run(serve *s, const char *users_uri, const cli_common *c, size_t chunk,
              serve_emit_fn emit, void *ctx, uint64_t *n_users);
#endif

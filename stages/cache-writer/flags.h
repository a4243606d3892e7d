/* flags.h — cache-writer's command line: the flag table (--help), the
 * layout's settings and the Redis address built from it, with the usage
 * checks between flags. */
#ifndef CACHE_WRITER_FLAGS_H
#define CACHE_WRITER_FLAGS_H
#include <stdint.h>
#include "cli.h"
#include "layout.h"
#include "redisuri.h"

typedef struct cw_flags {
    cli_common common;
    layout_conf lc;                 /* built from the flags below */
    redis_uri uri;                  /* --redis, the password resolved (redis_password) */
    const char *redis, *redis_password_file, *ttl;
    const char *layout_name;        /* --layout's name, for the log */
    int layout;                     /* rec_layout */
    int64_t redis_stats_us, redis_stats_keys, metric_ttl_us, pipeline, leaderboard_size, zstd_level;
    cli_list leaderboards;
    layout_board *boards;           /* lc.boards: parsed --leaderboard entries */
} cw_flags;

/* Parse argv into f, build lc and uri, then cli_start (logging, metrics,
 * signals). A usage error prints "cache-writer: reason" and exits 2;
 * --help exits 0. */
void cw_flags_start(int argc, char **argv, cw_flags *f);
void cw_flags_free(cw_flags *f);

#endif

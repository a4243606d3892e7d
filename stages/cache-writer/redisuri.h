/* redisuri.h — parse a Redis address:
 *   redis://[user@|[user]:password@]host[:port][/db] (port 6379, db 0 by default)
 *   unix:///path/to/redis.sock[?db=N]  or a bare path starting with '/'
 * The password may also come from $REDISCLI_AUTH (as redis-cli takes it), so
 * it need not appear in a unit file or `ps`; an empty password in the URI
 * (user:@) does not replace it. */
#ifndef CACHE_WRITER_REDISURI_H
#define CACHE_WRITER_REDISURI_H

typedef struct redis_uri {
    char host[256];
    int port;
    char unix_path[256];   /* non-empty: connect over a unix socket */
    char user[128];
    char password[256];
    int db;
} redis_uri;

/* 0, or -1 with err naming what is wrong. */
int redis_uri_parse(const char *s, redis_uri *u, char *err, size_t errlen);
#endif

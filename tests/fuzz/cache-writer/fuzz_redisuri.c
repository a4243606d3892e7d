/* fuzz_redisuri.c — libFuzzer target for redis_uri_parse: any bytes as a
 * --redis value. It must return 0 or -1 without reading or writing out of
 * bounds; on 0 every field is NUL-terminated within its buffer, the port is
 * 1..65535 and exactly one of host / unix_path is set; on -1 the error text
 * is non-empty. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../../../stages/cache-writer/redisuri.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    if (!init) { unsetenv("REDISCLI_AUTH"); init = 1; }
    char *s = malloc(size + 1);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = 0;                       /* a C string, as argv gives it */
    redis_uri u;
    char err[300];
    err[0] = 0;
    int rc = redis_uri_parse(s, &u, err, sizeof err);
    if (rc == 0) {
        if (!memchr(u.host, 0, sizeof u.host) || !memchr(u.unix_path, 0, sizeof u.unix_path) ||
            !memchr(u.user, 0, sizeof u.user) || !memchr(u.password, 0, sizeof u.password)) abort();
        if (u.port < 1 || u.port > 65535 || u.db < 0) abort();
        if (!u.unix_path[0] == !u.host[0]) abort();
        if (u.unix_path[0] && u.unix_path[0] != '/') abort();
    } else if (rc != -1 || !err[0]) {
        abort();
    }
    free(s);
    return 0;
}

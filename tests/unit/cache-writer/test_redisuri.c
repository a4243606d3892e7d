/* test_redisuri.c — redis_uri_parse: every accepted form and what each
 * refusal says; $REDISCLI_AUTH as the password source. */
#include <stdlib.h>
#include "../testhelp.h"
#include "../../../stages/cache-writer/redisuri.h"

static redis_uri u;
static char err[300];

static int parse(const char *s) { err[0] = 0; return redis_uri_parse(s, &u, err, sizeof err); }

static void test_tcp_forms(void)
{
    unsetenv("REDISCLI_AUTH");
    CHECK_EQ_INT(parse("redis://127.0.0.1:6379"), 0);
    CHECK_EQ_STR(u.host, "127.0.0.1"); CHECK_EQ_INT(u.port, 6379); CHECK_EQ_INT(u.db, 0);
    CHECK_EQ_STR(u.password, ""); CHECK_EQ_STR(u.user, ""); CHECK_EQ_STR(u.unix_path, "");

    CHECK_EQ_INT(parse("redis://cache.internal"), 0);          /* default port */
    CHECK_EQ_STR(u.host, "cache.internal"); CHECK_EQ_INT(u.port, 6379);

    CHECK_EQ_INT(parse("redis://h:7000/3"), 0);
    CHECK_EQ_STR(u.host, "h"); CHECK_EQ_INT(u.port, 7000); CHECK_EQ_INT(u.db, 3);

    CHECK_EQ_INT(parse("redis://h/"), 0);                      /* trailing slash: db 0 */
    CHECK_EQ_INT(u.db, 0);

    CHECK_EQ_INT(parse("redis://"), 0);                        /* empty host: loopback */
    CHECK_EQ_STR(u.host, "127.0.0.1");

    CHECK_EQ_INT(parse("redis://:6380"), 0);
    CHECK_EQ_STR(u.host, "127.0.0.1"); CHECK_EQ_INT(u.port, 6380);

    CHECK_EQ_INT(parse("redis://[::1]:6390/2"), 0);
    CHECK_EQ_STR(u.host, "::1"); CHECK_EQ_INT(u.port, 6390); CHECK_EQ_INT(u.db, 2);
    CHECK_EQ_INT(parse("redis://[::1]"), 0);
    CHECK_EQ_STR(u.host, "::1"); CHECK_EQ_INT(u.port, 6379);
}

static void test_credentials(void)
{
    unsetenv("REDISCLI_AUTH");
    CHECK_EQ_INT(parse("redis://:s3cret@h:1/1"), 0);
    CHECK_EQ_STR(u.user, ""); CHECK_EQ_STR(u.password, "s3cret");
    CHECK_EQ_STR(u.host, "h"); CHECK_EQ_INT(u.port, 1); CHECK_EQ_INT(u.db, 1);

    CHECK_EQ_INT(parse("redis://app:pw@h"), 0);                 /* ACL user */
    CHECK_EQ_STR(u.user, "app"); CHECK_EQ_STR(u.password, "pw");

    /* %-escapes: '@', ':' and '/' inside a password */
    CHECK_EQ_INT(parse("redis://:p%40ss%3Aw%2Fd@h"), 0);
    CHECK_EQ_STR(u.password, "p@ss:w/d"); CHECK_EQ_STR(u.host, "h");

    /* a ':' inside the password needs no escape: the first ':' ends the user */
    CHECK_EQ_INT(parse("redis://:a:b@h"), 0);
    CHECK_EQ_STR(u.password, "a:b");

    /* user@: the user alone, the password from elsewhere */
    CHECK_EQ_INT(parse("redis://cw@h:7000"), 0);
    CHECK_EQ_STR(u.user, "cw"); CHECK_EQ_STR(u.password, ""); CHECK_EQ_STR(u.host, "h");
    CHECK_EQ_INT(u.port, 7000);
    CHECK_EQ_INT(parse("redis://:bad%zzescape@h"), -1);
    CHECK(strstr(err, "%-escape") != NULL);
    CHECK_EQ_INT(parse("redis://:trunc%4@h"), -1);

    /* $REDISCLI_AUTH gives the password; one in the URI wins */
    setenv("REDISCLI_AUTH", "fromenv", 1);
    CHECK_EQ_INT(parse("redis://h"), 0);
    CHECK_EQ_STR(u.password, "fromenv");
    CHECK_EQ_INT(parse("redis://:inuri@h"), 0);
    CHECK_EQ_STR(u.password, "inuri");
    /* an empty URI password (user:@ or user@) keeps the env's */
    CHECK_EQ_INT(parse("redis://cw:@h"), 0);
    CHECK_EQ_STR(u.user, "cw"); CHECK_EQ_STR(u.password, "fromenv");
    CHECK_EQ_INT(parse("redis://cw@h"), 0);
    CHECK_EQ_STR(u.user, "cw"); CHECK_EQ_STR(u.password, "fromenv");
    CHECK_EQ_INT(parse("unix:///run/redis.sock"), 0);
    CHECK_EQ_STR(u.password, "fromenv");
    unsetenv("REDISCLI_AUTH");
}

static void test_unix(void)
{
    CHECK_EQ_INT(parse("unix:///run/redis/redis.sock"), 0);
    CHECK_EQ_STR(u.unix_path, "/run/redis/redis.sock"); CHECK_EQ_INT(u.db, 0);
    CHECK_EQ_INT(parse("unix:///tmp/r.sock?db=5"), 0);
    CHECK_EQ_STR(u.unix_path, "/tmp/r.sock"); CHECK_EQ_INT(u.db, 5);
    CHECK_EQ_INT(parse("/var/run/redis.sock"), 0);              /* bare path */
    CHECK_EQ_STR(u.unix_path, "/var/run/redis.sock");
    CHECK_EQ_INT(parse("unix:///tmp/with%20space.sock"), 0);
    CHECK_EQ_STR(u.unix_path, "/tmp/with space.sock");

    CHECK_EQ_INT(parse("unix://relative.sock"), -1);
    CHECK(strstr(err, "absolute") != NULL);
    CHECK_EQ_INT(parse("unix://"), -1);
    CHECK_EQ_INT(parse("unix:///tmp/r.sock?timeout=1"), -1);
    CHECK(strstr(err, "db=N") != NULL);
    CHECK_EQ_INT(parse("unix:///tmp/r.sock?db=x"), -1);
    char longp[400] = "unix:///";
    memset(longp + 8, 'a', 300); longp[308] = 0;
    CHECK_EQ_INT(parse(longp), -1);                             /* longer than sun_path allows */
}

static void test_refusals(void)
{
    CHECK_EQ_INT(parse("http://h"), -1);
    CHECK(strstr(err, "'http://h'") != NULL && strstr(err, "redis://") != NULL);
    CHECK_EQ_INT(parse("localhost:6379"), -1);
    CHECK_EQ_INT(parse(""), -1);
    CHECK_EQ_INT(parse("redis://h:0"), -1);
    CHECK(strstr(err, "port") != NULL);
    CHECK_EQ_INT(parse("redis://h:65536"), -1);
    CHECK_EQ_INT(parse("redis://h:12ab"), -1);
    CHECK_EQ_INT(parse("redis://h:"), -1);
    CHECK_EQ_INT(parse("redis://h:99999999999999999999"), -1);
    CHECK_EQ_INT(parse("redis://h/db1"), -1);
    CHECK(strstr(err, "database") != NULL);
    CHECK_EQ_INT(parse("redis://h/-1"), -1);
    CHECK_EQ_INT(parse("redis://[::1"), -1);
    CHECK(strstr(err, "unclosed") != NULL);
    CHECK_EQ_INT(parse("redis://[::1]x"), -1);
    char longh[400] = "redis://";
    memset(longh + 8, 'h', 260); longh[268] = 0;
    CHECK_EQ_INT(parse(longh), -1);
    CHECK(strstr(err, "too long") != NULL);
}

TEST_MAIN(test_tcp_forms, test_credentials, test_unix, test_refusals)

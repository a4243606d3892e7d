/* test_log.c — log lines are valid JSON (checked by python3's json module,
 * an independent parser), carry ts/level/stage/msg and extra fields, honour
 * the level, and rate-limit repeats with a "suppressed" count. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "testhelp.h"
#include "timefmt.h"

static char logpath[] = "/tmp/test_log.XXXXXX";
static int saved_err = -1;

static void capture_begin(void)
{
    int fd = mkstemp(logpath);
    fflush(stderr);
    saved_err = dup(2);
    dup2(fd, 2);
    close(fd);
}

static void capture_end(void)
{
    fflush(stderr);
    dup2(saved_err, 2);
    close(saved_err);
}

/* Run python over the log: one line per log line, "level|stage|msg|pos|suppressed|tsok". */
static char *decode_log(const char *path)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "python3 -c 'import json,sys,re\n"
             "for l in open(sys.argv[1], encoding=\"utf-8\"):\n"
             "  o=json.loads(l)\n"
             "  ok=bool(re.match(r\"^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3,6}Z$\", o[\"ts\"]))\n"
             "  print(\"%%s|%%s|%%s|%%s|%%s|%%s\" %% (o[\"level\"], o[\"stage\"], o[\"msg\"], o.get(\"pos\",\"-\"), o.get(\"suppressed\",\"-\"), ok))\n"
             "' %s", path);
    FILE *p = popen(cmd, "r");
    if (!p) return NULL;
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, p);
    buf[n] = 0;
    int st = pclose(p);
    return st == 0 ? buf : NULL;
}

static void wait_second_start(void)
{
    /* start right after a monotonic second boundary so a burst fits in one second */
    while (mono_us() % 1000000 > 50000) usleep(5000);
}

static void test_lines(void)
{
    capture_begin();
    log_init("tlog", "info");
    log_debug("hidden %d", 1);
    log_info("hello \"q\" \\ %d\n\ttab", 5);
    log_kv(LOG_WARN, "bad record", "\"pos\":%d", 12);
    log_error("bytes \xff\xfe and \xc3\xa9 and ctrl \x01");
    char esc[64];
    log_kv(LOG_INFO, "with field", "\"pos\":\"%s\"", log_jesc(esc, sizeof esc, "near \"x\":\n\\"));
    log_init("tlog", "error");
    log_warn("hidden too");
    log_init("tlog", "info");
    capture_end();
    char *out = decode_log(logpath);
    CHECK(out != NULL);
    if (out) {
        const char *want =
            "info|tlog|hello \"q\" \\ 5\n\ttab|-|-|True\n"
            "warn|tlog|bad record|12|-|True\n"
            "error|tlog|bytes \xef\xbf\xbd\xef\xbf\xbd and \xc3\xa9 and ctrl \x01|-|-|True\n"
            "info|tlog|with field|near \"x\":\n\\|-|True\n";
        CHECK_EQ_STR(out, want);
    }
    unlink(logpath);
    /* truncation keeps whole escapes and characters */
    char small[8];
    CHECK_EQ_STR(log_jesc(small, sizeof small, "abcdef\""), "abcdef");   /* \" needs 2, 1 left */
    CHECK_EQ_STR(log_jesc(small, sizeof small, "ab\x01zz"), "ab");        /* \u0001 needs 6 */
    CHECK_EQ_STR(log_jesc(small, sizeof small, "abcde\xc3\xa9"), "abcde\xc3\xa9");
    CHECK_EQ_STR(log_jesc(small, sizeof small, "abcdef\xc3\xa9"), "abcdef");
    log_level l;
    CHECK(log_parse_level("debug", &l) == 0 && l == LOG_DEBUG);
    CHECK(log_parse_level("warn", &l) == 0 && l == LOG_WARN);
    CHECK(log_parse_level("loud", &l) == -1);
    CHECK(log_enabled(LOG_INFO) && !log_enabled(LOG_DEBUG));
}

static void test_rate_limit(void)
{
    strcpy(logpath, "/tmp/test_log.XXXXXX");
    capture_begin();
    log_init("tlog", "info");
    wait_second_start();
    for (int i = 0; i < 25; i++) log_error("repeated failure %d", i);
    log_info("other message");
    /* next second: the first line through reports what was held back */
    int64_t now = mono_us();
    usleep((useconds_t)(1000000 - now % 1000000 + 20000));
    log_error("repeated failure %d", 99);
    capture_end();
    char *out = decode_log(logpath);
    CHECK(out != NULL);
    if (out) {
        int n = 0;
        for (char *p = out; (p = strstr(p, "|repeated failure ")); p++) n++;
        CHECK_EQ_INT(n, LOG_BURST + 1);
        CHECK(strstr(out, "info|tlog|other message|-|-|True\n") != NULL);
        char want[64];
        snprintf(want, sizeof want, "error|tlog|repeated failure 99|-|%d|True\n", 25 - LOG_BURST);
        CHECK_MSG(strstr(out, want) != NULL, "log was:\n%s", out);
    }
    unlink(logpath);
}

static void test_fatal(void)
{
    strcpy(logpath, "/tmp/test_log.XXXXXX");
    capture_begin();
    pid_t pid = fork();
    if (pid == 0) log_fatal("cannot open %s", "x.db");
    int st;
    waitpid(pid, &st, 0);
    capture_end();
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    char *out = decode_log(logpath);
    CHECK(out && !strcmp(out, "error|tlog|cannot open x.db|-|-|True\n"));
    unlink(logpath);
}

TEST_MAIN(test_lines, test_rate_limit, test_fatal)

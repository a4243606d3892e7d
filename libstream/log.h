/* log.h — JSON-lines logs on stderr:
 *   {"ts":"2026-11-23T10:00:00.123Z","level":"warn","stage":"ingest","msg":"…",…}
 * Repeated messages are rate-limited per call site format: after LOG_BURST
 * lines in one second the rest are counted, and the next line that gets
 * through carries "suppressed":N. */
#ifndef STREAMREC_LOG_H
#define STREAMREC_LOG_H
#include <stddef.h>

typedef enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;
#define LOG_BURST 10

void log_init(const char *stage, const char *level);  /* level NULL: info; returns on bad level? see log_parse_level */
int log_parse_level(const char *s, log_level *out);   /* 0 or -1 */
int log_enabled(log_level lvl);

/* msg is printf-formatted. */
void log_msg(log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Like log_msg, with extra JSON members: fields is a printf format that
 * produces `"key":value,...` (already JSON), e.g. "\"pos\":%lld". The
 * rate-limit key is msg. */
void log_kv(log_level lvl, const char *msg, const char *fields, ...) __attribute__((format(printf, 3, 4)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
/* JSON-escape s (no surrounding quotes) into buf of n bytes, for strings
 * placed in log_kv fields: "\"path\":\"%s\"" with log_jesc(b, sizeof b, path).
 * Truncates to fit; invalid UTF-8 becomes U+FFFD. Returns buf. */
const char *log_jesc(char *buf, size_t n, const char *s);
/* Log at error level and exit(1). */
void log_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif

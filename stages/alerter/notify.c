/* notify.c — exec: and webhook: delivery with grouping, bounded retries
 * and dead letters (notify.h). Runs on the main thread, between records:
 * Alert records to --out are never held up by it for longer than the
 * bounded retries of one flush. */
#include "notify.h"
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "json.h"
#include "log.h"
#include "secret.h"
#include "timefmt.h"

typedef struct al_group {
    char *channel;
    char *key;                  /* channel \x1f group values */
    json_writer labels;         /* the group_labels object */
    json_writer alerts;         /* comma-separated alert objects */
    int nalerts, nfiring;
} al_group;

struct al_notify {
    al_notify_cfg cfg;
    al_group *g; int ng, capg;
    al_notify_counters c;
    uint64_t seq;
    int curl_ok;
};

al_notify *al_notify_new(const al_notify_cfg *cfg)
{
    al_notify *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    n->cfg = *cfg;
    n->curl_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
    return n;
}

static void al_group_free(al_group *g)
{
    free(g->channel); free(g->key);
    jw_free(&g->labels); jw_free(&g->alerts);
}

void al_notify_free(al_notify *n)
{
    if (!n) return;
    for (int i = 0; i < n->ng; i++) al_group_free(&n->g[i]);
    free(n->g);
    if (n->curl_ok) curl_global_cleanup();
    free(n);
}

void al_notify_set_group_by(al_notify *n, char **group_by, int ngroup_by)
{
    n->cfg.group_by = group_by;
    n->cfg.ngroup_by = ngroup_by;
}

const al_notify_counters *al_notify_counts(const al_notify *n) { return &n->c; }
int al_notify_pending(const al_notify *n) { return n->ng; }

/* The alert as one JSON object (what the payload's "alerts" holds): the
 * jq form every --format json writes (fbrec.h). */
static void al_alert_json(json_writer *w, const Alert *a)
{
    fb_to_json_style(&Alert_desc, a, w, FB_JSON_JQ);
}

static const char *al_label(const Alert *a, const char *key, size_t *len)
{
    if (!strcmp(key, "alertname")) { *len = a->rule.len; return a->rule.ptr; }
    for (uint32_t i = 0; i < a->labels_count; i++)
        if (fb_str_eq(a->labels[i].key, key)) { *len = a->labels[i].value.len; return a->labels[i].value.ptr; }
    *len = 0;
    return NULL;
}

static int al_send_group(al_notify *n, al_group *g);

int al_notify_add(al_notify *n, const char *channel, const Alert *a)
{
    /* group key: channel, then each group_by value (absent and empty differ) */
    json_writer k;
    jw_init(&k);
    jw_arr_begin(&k);
    jw_cstr(&k, channel);
    for (int i = 0; i < n->cfg.ngroup_by; i++) {
        size_t len;
        const char *v = al_label(a, n->cfg.group_by[i], &len);
        jw_str(&k, v, len);
    }
    jw_arr_end(&k);
    al_group *g = NULL;
    /* a json_writer's buffer is not NUL-terminated: compare by length */
    for (int i = 0; i < n->ng && !g; i++)
        if (strlen(n->g[i].key) == k.len && !memcmp(n->g[i].key, k.buf, k.len)) g = &n->g[i];
    if (!g) {
        if (n->ng == n->capg) {
            int cap = n->capg ? n->capg * 2 : 8;
            al_group *ng = realloc(n->g, (size_t)cap * sizeof *ng);
            if (!ng) { jw_free(&k); return -1; }
            n->g = ng; n->capg = cap;
        }
        g = &n->g[n->ng++];
        memset(g, 0, sizeof *g);
        g->channel = strdup(channel);
        g->key = strndup(k.buf, k.len);
        jw_init(&g->labels); jw_init(&g->alerts);
        jw_obj_begin(&g->labels);
        for (int i = 0; i < n->cfg.ngroup_by; i++) {
            size_t len;
            const char *v = al_label(a, n->cfg.group_by[i], &len);
            if (!v) continue;
            jw_key(&g->labels, n->cfg.group_by[i]);
            jw_str(&g->labels, v, len);
        }
        jw_obj_end(&g->labels);
        jw_arr_begin(&g->alerts);
    }
    jw_free(&k);
    al_alert_json(&g->alerts, a);
    g->nalerts++;
    if (a->status == AlertStatus_firing) g->nfiring++;
    if (g->nalerts >= n->cfg.max_batch) {
        /* full: send this group now, keep the others */
        al_group done = *g;
        *g = n->g[--n->ng];
        al_send_group(n, &done);
        al_group_free(&done);
    }
    return 0;
}

/* ---- the two transports: 0 ok, 1 retryable failure, 2 permanent ---------- */

static int al_exec_once(al_notify *n, const char *cmd, const char *body, size_t len, char *why, size_t wn)
{
    int in[2];
    if (pipe(in) < 0) { snprintf(why, wn, "pipe: %s", strerror(errno)); return 1; }
    pid_t pid = fork();
    if (pid < 0) { close(in[0]); close(in[1]); snprintf(why, wn, "fork: %s", strerror(errno)); return 1; }
    if (pid == 0) {
        setpgid(0, 0);          /* its own group: a timeout kills the command's children too */
        dup2(in[0], 0);
        dup2(2, 1);             /* never into the record stream */
        close(in[0]); close(in[1]);
        signal(SIGPIPE, SIG_DFL);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    setpgid(pid, pid);          /* also here: no race with the child's own call */
    close(in[0]);
    int64_t deadline = mono_us() + n->cfg.exec_timeout_us;
    fcntl(in[1], F_SETFL, O_NONBLOCK);
    size_t off = 0;
    while (off < len && mono_us() < deadline) {
        ssize_t w = write(in[1], body + off, len - off);
        if (w > 0) { off += (size_t)w; continue; }
        if (w < 0 && errno == EAGAIN) {
            struct pollfd p = { in[1], POLLOUT, 0 };
            poll(&p, 1, 50);
            continue;
        }
        break;                  /* EPIPE: the command does not read; its exit status decides */
    }
    close(in[1]);
    int status = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) break;
        if (r < 0 && errno != EINTR) { snprintf(why, wn, "waitpid: %s", strerror(errno)); return 1; }
        if (mono_us() >= deadline) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            snprintf(why, wn, "timed out after %lld ms (killed)", (long long)(n->cfg.exec_timeout_us / 1000));
            return 1;
        }
        struct timespec ts = { 0, 5000000 };
        nanosleep(&ts, NULL);
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
    if (WIFEXITED(status)) snprintf(why, wn, "exit status %d", WEXITSTATUS(status));
    else snprintf(why, wn, "killed by signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    return 1;
}

static size_t al_discard(char *p, size_t s, size_t nm, void *u) { (void)p; (void)u; return s * nm; }

static int al_webhook_once(al_notify *n, const char *url, const char *body, size_t len, char *why, size_t wn)
{
    if (!n->curl_ok) { snprintf(why, wn, "libcurl failed to initialise"); return 2; }
    CURL *c = curl_easy_init();
    if (!c) { snprintf(why, wn, "curl_easy_init failed"); return 1; }
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(n->cfg.webhook_timeout_us / 1000));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, al_discard);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "streamrec-alerter");
    CURLcode rc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) {
        snprintf(why, wn, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
        return 1;
    }
    if (code >= 200 && code < 300) return 0;
    snprintf(why, wn, "HTTP %ld", code);
    return code >= 500 || code == 429 ? 1 : 2;
}

int al_webhook_url(const char *target, char *url, size_t cap, char *err, size_t errlen)
{
    if (target[0] != '@') {
        if (strlen(target) >= cap) { snprintf(err, errlen, "URL too long"); return -1; }
        strcpy(url, target);
        return 0;
    }
    if (secret_read(target + 1, url, cap, err, errlen)) return -1;
    if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) {
        memset(url, 0, cap);
        snprintf(err, errlen, "%s does not hold an http:// or https:// URL", target + 1);
        return -1;
    }
    return 0;
}

static uint64_t al_rand(al_notify *n)
{
    /* splitmix64: jitter only, no need for quality */
    uint64_t z = (n->seq += 0x9E3779B97F4A7C15ULL) ^ (uint64_t)mono_us();
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static int al_send_group(al_notify *n, al_group *g)
{
    json_writer p;
    jw_init(&p);
    jw_obj_begin(&p);
    jw_key(&p, "channel"); jw_cstr(&p, g->channel);
    jw_key(&p, "group_labels"); jw_raw(&p, g->labels.buf, g->labels.len);
    jw_key(&p, "status"); jw_cstr(&p, g->nfiring ? "firing" : "resolved");
    jw_arr_end(&g->alerts);
    jw_key(&p, "alerts"); jw_raw(&p, g->alerts.buf, g->alerts.len);
    jw_obj_end(&p);
    int exec = !strncmp(g->channel, "exec:", 5);
    const char *target = g->channel + (exec ? 5 : 8);
    char why[256] = "";
    int rc = 1;
    int64_t backoff = n->cfg.backoff_us;
    for (int attempt = 0; attempt <= n->cfg.retries; attempt++) {
        if (attempt) {
            /* equal jitter: half the backoff fixed, half random */
            int64_t wait = backoff / 2 + (int64_t)(al_rand(n) % (uint64_t)(backoff / 2 + 1));
            log_kv(LOG_WARN, "notification failed, retrying", "\"channel\":\"%s\",\"attempt\":%d,\"error\":\"%s\",\"retry_in_ms\":%lld",
                   log_jesc((char[200]){0}, 200, g->channel), attempt, log_jesc((char[300]){0}, 300, why),
                   (long long)(wait / 1000));
            struct timespec ts = { wait / 1000000, (wait % 1000000) * 1000 };
            while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {}
            n->c.retries++;
            backoff = backoff * 2 > n->cfg.backoff_max_us ? n->cfg.backoff_max_us : backoff * 2;
        }
        if (exec) rc = al_exec_once(n, target, p.buf, p.len, why, sizeof why);
        else {
            char url[AL_WEBHOOK_URL_MAX];
            rc = al_webhook_url(target, url, sizeof url, why, sizeof why) ? 2
               : al_webhook_once(n, url, p.buf, p.len, why, sizeof why);
            memset(url, 0, sizeof url);
        }
        if (rc != 1) break;
    }
    if (rc == 0) {
        n->c.sent++;
    } else {
        n->c.failed++;
        char ch[200], w2[300];
        log_kv(LOG_ERROR, "notification failed for good: dead-lettered", "\"channel\":\"%s\",\"alerts\":%d,\"error\":\"%s\"",
               log_jesc(ch, sizeof ch, g->channel), g->nalerts, log_jesc(w2, sizeof w2, why));
        if (n->cfg.dl) {
            char detail[512];
            snprintf(detail, sizeof detail, "%s: %s (%d alerts)", g->channel, why, g->nalerts);
            stream_pos pos = { "notify", 0, (int64_t)n->c.failed, 0 };
            if (deadletter_write(n->cfg.dl, &pos, "notify_failed", detail, p.buf, p.len, 0) < 0 ||
                deadletter_flush(n->cfg.dl) < 0)
                log_error("dead letter: %s", deadletter_error(n->cfg.dl));
        }
    }
    jw_free(&p);
    return rc == 0 ? 0 : -1;
}

int al_notify_flush(al_notify *n)
{
    int failed = 0;
    for (int i = 0; i < n->ng; i++) {
        if (al_send_group(n, &n->g[i]) < 0) failed++;
        al_group_free(&n->g[i]);
    }
    n->ng = 0;
    return failed;
}

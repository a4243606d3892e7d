/* sdnotify.c — the sd_notify(3) datagram protocol without libsystemd.
 *
 * $NOTIFY_SOCKET names an AF_UNIX datagram socket: a path, or an abstract
 * socket when it starts with '@' (the '@' becomes a leading NUL byte and the
 * address length counts exactly the name, no terminator). Each message is
 * one datagram of newline-separated VAR=VALUE assignments.
 *
 * The environment is read once (sd_init, or lazily on first use) and then
 * NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID are removed, so a command
 * the stage runs (alerter's exec: channels) cannot notify in its name.
 * The watchdog is enabled when WATCHDOG_USEC is set and WATCHDOG_PID is
 * absent or ours; sd_watchdog_tick pings at most every WATCHDOG_USEC/2. */
#include "sdnotify.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "timefmt.h"

static int sd_inited;
static int sd_fd = -1;
static struct sockaddr_un sd_addr;
static socklen_t sd_addrlen;
static int64_t sd_wd_interval_us;   /* 0: no watchdog */
static int64_t sd_wd_last;

void sd_init(void)
{
    if (sd_inited) return;
    sd_inited = 1;
    const char *sock = getenv("NOTIFY_SOCKET");
    const char *wd = getenv("WATCHDOG_USEC");
    const char *wdpid = getenv("WATCHDOG_PID");
    if (wd) {
        char *end;
        long long v = strtoll(wd, &end, 10);
        int ours = !wdpid || strtol(wdpid, NULL, 10) == (long)getpid();
        if (*wd && !*end && v > 0 && ours) sd_wd_interval_us = v / 2;
    }
    if (sock && *sock && (sock[0] == '/' || sock[0] == '@')) {
        size_t n = strlen(sock);
        if (n < sizeof sd_addr.sun_path) {
            memset(&sd_addr, 0, sizeof sd_addr);
            sd_addr.sun_family = AF_UNIX;
            memcpy(sd_addr.sun_path, sock, n);
            if (sock[0] == '@') {
                sd_addr.sun_path[0] = 0;
                sd_addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
            } else {
                sd_addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
            }
            sd_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            if (sd_fd < 0) log_warn("NOTIFY_SOCKET: socket: %s", strerror(errno));
        } else {
            log_warn("NOTIFY_SOCKET too long, systemd notification disabled");
        }
    }
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    if (sd_fd < 0) sd_wd_interval_us = 0;
    sd_wd_last = mono_us();
}

int sd_send_state(const char *fmt, ...)
{
    sd_init();
    if (sd_fd < 0) return 0;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0) return -1;
    if (n >= (int)sizeof msg) n = sizeof msg - 1;
    ssize_t w;
    do {
        w = sendto(sd_fd, msg, (size_t)n, MSG_NOSIGNAL, (struct sockaddr *)&sd_addr, sd_addrlen);
    } while (w < 0 && errno == EINTR);
    if (w < 0) {
        log_kv(LOG_DEBUG, "sd_notify failed", "\"error\":\"%s\"", strerror(errno));
        return -1;
    }
    return 1;
}

void sd_ready(void)
{
    sd_send_state("READY=1\nMAINPID=%ld", (long)getpid());
}

void sd_status(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* STATUS is one line: a newline would start a new assignment */
    for (char *p = msg; *p; p++) if (*p == '\n') *p = ' ';
    sd_send_state("STATUS=%s", msg);
}

void sd_watchdog_tick(void)
{
    sd_init();
    if (!sd_wd_interval_us) return;
    int64_t now = mono_us();
    if (now - sd_wd_last < sd_wd_interval_us) return;
    sd_wd_last = now;
    sd_send_state("WATCHDOG=1");
}

void sd_stopping(void)
{
    sd_send_state("STOPPING=1");
}

int64_t sd_watchdog_usec(void)
{
    sd_init();
    return sd_wd_interval_us * 2;
}

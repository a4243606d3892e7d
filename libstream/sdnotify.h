/* sdnotify.h — systemd notification over $NOTIFY_SOCKET (sd_notify(3)
 * protocol, no libsystemd needed): READY=1, STATUS=…, WATCHDOG=1, STOPPING=1.
 * Without NOTIFY_SOCKET every call is a no-op. sd_watchdog_tick sends
 * WATCHDOG=1 at most every WATCHDOG_USEC/2. */
#ifndef STREAMREC_SDNOTIFY_H
#define STREAMREC_SDNOTIFY_H
#include <stdint.h>
/* One state line ("READY=1", "STATUS=..."): 1 sent, 0 no socket, -1 error.
 * Not named sd_notifyf: libsystemd's function of that name takes an
 * unset_environment flag first. */
int sd_send_state(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void sd_ready(void);
void sd_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void sd_watchdog_tick(void);
void sd_stopping(void);
/* Read (and then unset) NOTIFY_SOCKET/WATCHDOG_* now; cli_start calls it
 * before any thread starts. Every other call does it lazily. */
void sd_init(void);
/* WATCHDOG_USEC as systemd gave it (0: no watchdog). */
int64_t sd_watchdog_usec(void);
#endif

/* sig.h — SIGINT/SIGTERM ask the stage to stop (drain, flush, commit, exit
 * 0); SIGHUP asks it to reload. Handlers only set flags. SIGPIPE is ignored
 * so a closed pipe shows up as EPIPE on write (an error, exit 1). */
#ifndef STREAMREC_SIG_H
#define STREAMREC_SIG_H
#include <signal.h>
void sig_install(void);
int sig_stop_requested(void);
int sig_reload_requested(void);   /* returns 1 once per SIGHUP */
void sig_request_stop(void);      /* e.g. a fatal client error: drain and stop */
#endif

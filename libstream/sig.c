/* sig.c — signal handlers that only set flags.
 *
 * SIGINT/SIGTERM set the stop flag; the stage drains, flushes, commits and
 * exits 0. A third stop signal while draining restores the default action
 * and re-raises it, so an operator can always kill a stuck stage with ^C^C^C.
 * Handlers are installed without SA_RESTART: a read(2) blocked on an idle
 * pipe returns EINTR, and the reader checks sig_stop_requested() rather than
 * waiting for data that may never come. SIGHUP sets the reload flag;
 * SIGPIPE is ignored so a closed downstream pipe shows up as EPIPE. */
#include "sig.h"

#include <string.h>

static volatile sig_atomic_t sig_stop, sig_reload;

static void sig_on_stop(int signo)
{
    if (sig_stop >= 2) {
        signal(signo, SIG_DFL);
        raise(signo);
        return;
    }
    sig_stop++;
}

static void sig_on_hup(int signo)
{
    (void)signo;
    sig_reload = 1;
}

void sig_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = sig_on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = sig_on_hup;
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

int sig_stop_requested(void) { return sig_stop != 0; }

int sig_reload_requested(void)
{
    if (!sig_reload) return 0;
    sig_reload = 0;
    return 1;
}

void sig_request_stop(void)
{
    if (!sig_stop) sig_stop = 1;
}

/* test_sig.c — signals only set flags; SIGPIPE is ignored; the third stop
 * signal kills (default action). */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sig.h"
#include "testhelp.h"

static void test_flags(void)
{
    sig_install();
    CHECK(!sig_stop_requested());
    CHECK(!sig_reload_requested());
    raise(SIGHUP);
    CHECK(sig_reload_requested());
    CHECK(!sig_reload_requested());          /* once per SIGHUP */
    raise(SIGTERM);
    CHECK(sig_stop_requested());

    /* SIGPIPE: a write to a closed pipe fails with EPIPE, the process lives */
    int p[2];
    CHECK(pipe(p) == 0);
    close(p[0]);
    errno = 0;
    CHECK(write(p[1], "x", 1) == -1 && errno == EPIPE);
    close(p[1]);
}

static void test_third_signal_kills(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        sig_install();
        raise(SIGINT);
        raise(SIGINT);
        if (!sig_stop_requested()) _exit(3);
        raise(SIGINT);
        _exit(0);                            /* not reached */
    }
    int st;
    waitpid(pid, &st, 0);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGINT);
}

static void test_request_stop(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        sig_install();
        if (sig_stop_requested()) _exit(3);
        sig_request_stop();
        _exit(sig_stop_requested() ? 0 : 4);
    }
    int st;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

TEST_MAIN(test_request_stop, test_third_signal_kills, test_flags)

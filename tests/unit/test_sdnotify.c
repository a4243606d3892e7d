/* test_sdnotify.c — a datagram socket stands in for systemd: bind it (path,
 * then abstract '@' name in a child), point NOTIFY_SOCKET at it and read
 * what the stage sends. */
#define _GNU_SOURCE
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sdnotify.h"
#include "testhelp.h"

static int bind_dgram(const char *name, int abstract)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    size_t n = strlen(name);
    socklen_t len;
    if (abstract) {
        memcpy(a.sun_path + 1, name, n);
        len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
    } else {
        memcpy(a.sun_path, name, n);
        len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    }
    if (bind(fd, (struct sockaddr *)&a, len) < 0) { perror("bind"); close(fd); return -1; }
    struct timeval tv = { 2, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static const char *recv_msg(int fd)
{
    static char buf[2048];
    ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
    if (n < 0) return "";
    buf[n] = 0;
    return buf;
}

static int pending(int fd)
{
    char b[16];
    return recv(fd, b, sizeof b, MSG_DONTWAIT) >= 0;
}

/* In a child so the environment and the module's once-only init are fresh. */
static void child_notify(const char *sockenv, const char *wd_usec)
{
    setenv("NOTIFY_SOCKET", sockenv, 1);
    if (wd_usec) setenv("WATCHDOG_USEC", wd_usec, 1);
    sd_init();
    /* the variables are consumed so children we exec cannot notify */
    int gone = getenv("NOTIFY_SOCKET") == NULL && getenv("WATCHDOG_USEC") == NULL;
    sd_ready();
    sd_status("processed %d records\nsecond line", 42);
    if (wd_usec) {
        sd_watchdog_tick();               /* too early: nothing */
        usleep(60000);                    /* > WATCHDOG_USEC/2 */
        sd_watchdog_tick();
        sd_watchdog_tick();               /* again too early */
    }
    sd_stopping();
    _exit(gone ? 0 : 3);
}

static void test_path_socket(void)
{
    char dir[] = "/tmp/test_sdn.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[128];
    snprintf(path, sizeof path, "%s/notify", dir);
    int fd = bind_dgram(path, 0);
    CHECK(fd >= 0);
    if (fd < 0) return;
    pid_t pid = fork();
    if (pid == 0) child_notify(path, "100000");
    int st;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    char want[64];
    snprintf(want, sizeof want, "READY=1\nMAINPID=%ld", (long)pid);
    CHECK_EQ_STR(recv_msg(fd), want);
    CHECK_EQ_STR(recv_msg(fd), "STATUS=processed 42 records second line");
    CHECK_EQ_STR(recv_msg(fd), "WATCHDOG=1");
    CHECK_EQ_STR(recv_msg(fd), "STOPPING=1");
    CHECK(!pending(fd));
    close(fd);
    unlink(path);
    rmdir(dir);
}

static void test_abstract_socket(void)
{
    char name[64];
    snprintf(name, sizeof name, "streamrec-test-%ld", (long)getpid());
    int fd = bind_dgram(name, 1);
    CHECK(fd >= 0);
    if (fd < 0) return;
    char env[80];
    snprintf(env, sizeof env, "@%s", name);
    pid_t pid = fork();
    if (pid == 0) child_notify(env, NULL);
    int st;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(strncmp(recv_msg(fd), "READY=1\n", 8) == 0);
    CHECK_EQ_STR(recv_msg(fd), "STATUS=processed 42 records second line");
    CHECK_EQ_STR(recv_msg(fd), "STOPPING=1");      /* no watchdog configured */
    close(fd);
}

static void test_no_socket(void)
{
    unsetenv("NOTIFY_SOCKET");
    CHECK_EQ_INT(sd_send_state("READY=1"), 0);
    sd_watchdog_tick();
    CHECK_EQ_INT(sd_watchdog_usec(), 0);
}

TEST_MAIN(test_path_socket, test_abstract_socket, test_no_socket)

/* secret.c — see secret.h. */
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static int secret_read_path(const char *path, char *buf, size_t cap, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) { snprintf(err, errlen, "%s: %s", path, strerror(errno)); return -1; }
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        close(fd);
        return -1;
    }
    size_t n = 0;
    for (;;) {
        if (n + 1 >= cap) { snprintf(err, errlen, "%s: longer than %zu bytes", path, cap - 2); close(fd); return -1; }
        ssize_t k = read(fd, buf + n, cap - 1 - n);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) { snprintf(err, errlen, "%s: %s", path, strerror(errno)); close(fd); return -1; }
        if (k == 0) break;
        n += (size_t)k;
    }
    close(fd);
    if (n && buf[n - 1] == '\n') n--;
    if (n && buf[n - 1] == '\r') n--;
    buf[n] = 0;
    if (memchr(buf, 0, n) || memchr(buf, '\n', n)) {
        memset(buf, 0, n);
        snprintf(err, errlen, "%s: the secret has a NUL or newline inside (one line expected)", path);
        return -1;
    }
    if (st.st_mode & S_IROTH)
        log_warn("%s: the secret is readable by every user (chmod 0640 or 0600)", path);
    return 0;
}

int secret_credential(const char *name, char *buf, size_t cap, char *err, size_t errlen)
{
    const char *dir = getenv("CREDENTIALS_DIRECTORY");
    if (!dir || !dir[0]) return 0;
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) return 0;
    if (access(path, F_OK)) return 0;
    return secret_read_path(path, buf, cap, err, errlen) ? -1 : 1;
}

int secret_read(const char *ref, char *buf, size_t cap, char *err, size_t errlen)
{
    if (cap < 2) { snprintf(err, errlen, "no room for a secret"); return -1; }
    if (strchr(ref, '/')) return secret_read_path(ref, buf, cap, err, errlen);
    /* a bare name: a systemd credential */
    int r = secret_credential(ref, buf, cap, err, errlen);
    if (r == 1) return 0;
    if (r == 0)
        snprintf(err, errlen, "%s: no such credential (a bare name means $CREDENTIALS_DIRECTORY/%s, from "
                 "the unit's LoadCredential=; write ./%s for a file here)", ref, ref, ref);
    return -1;
}

void secret_scrub(char *s, size_t len)
{
    memset(s, '*', len);
}

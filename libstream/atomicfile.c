/* atomicfile.c — see atomicfile.h. */
#define _GNU_SOURCE   /* mkostemp */
#include "atomicfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The umask without changing it: umask(2) can only be read by setting it,
 * which would race with other threads creating files (librdkafka's). */
static mode_t current_umask(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    unsigned m = 022;
    if (f) {
        char line[128];
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "Umask: %o", &m) == 1) break;
        fclose(f);
    }
    return (mode_t)m;
}

int atomic_file_open(atomic_file *a, const char *path, mode_t mode)
{
    memset(a, 0, sizeof *a);
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path + 1) : 0;
    size_t n = strlen(path) + 16;
    a->tmp = malloc(n);
    a->path = strdup(path);
    if (!a->tmp || !a->path) { free(a->tmp); free(a->path); errno = ENOMEM; return -1; }
    snprintf(a->tmp, n, "%.*s.%s.tmp.XXXXXX", (int)dirlen, path, path + dirlen);
    int fd = mkostemp(a->tmp, O_CLOEXEC);
    if (fd < 0) goto fail;
    if (mode == ATOMIC_FILE_UMASK) mode = 0666 & ~current_umask();
    if (fchmod(fd, mode) || !(a->f = fdopen(fd, "w"))) {
        int e = errno;
        close(fd);
        unlink(a->tmp);
        errno = e;
        goto fail;
    }
    return 0;
fail:;
    int e = errno;
    free(a->tmp); free(a->path);
    memset(a, 0, sizeof *a);
    errno = e;
    return -1;
}

int atomic_file_commit(atomic_file *a)
{
    int bad = ferror(a->f), e = bad ? (errno ? errno : EIO) : 0;
    if (fclose(a->f) != 0 && !bad) { bad = 1; e = errno; }
    if (!bad && rename(a->tmp, a->path) != 0) { bad = 1; e = errno; }
    if (bad) unlink(a->tmp);
    free(a->tmp); free(a->path);
    memset(a, 0, sizeof *a);
    if (bad) { errno = e; return -1; }
    return 0;
}

void atomic_file_abort(atomic_file *a)
{
    if (a->f) fclose(a->f);
    if (a->tmp) unlink(a->tmp);
    free(a->tmp); free(a->path);
    memset(a, 0, sizeof *a);
}

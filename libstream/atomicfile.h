/* atomicfile.h — replace a file atomically: write a temporary file beside it,
 * then rename it over the target, so a reader sees the old file or the new
 * one, never half of one.
 *
 * The temporary file is made by mkstemp(3) in the target's directory
 * (rename(2) is atomic only within one file system): its name cannot be
 * guessed and it is created with O_EXCL, so a symlink planted in a directory
 * shared with other users (node_exporter's textfile directory, a report
 * directory) is never followed. The name starts with '.' and ends in
 * ".tmp.XXXXXX", so collectors that read "*.prom" or "*.html" skip it. */
#ifndef STREAMREC_ATOMICFILE_H
#define STREAMREC_ATOMICFILE_H
#include <stdio.h>
#include <sys/types.h>

typedef struct atomic_file {
    FILE *f;           /* write the new content here */
    char *path;        /* the target */
    char *tmp;         /* the temporary file beside it */
} atomic_file;

/* Open a temporary file for path. mode: the new file's permissions (0644 for
 * a file other users read, such as metrics); ATOMIC_FILE_UMASK: 0666 less
 * the process's umask, as fopen would create it. 0, or -1 with errno set. */
#define ATOMIC_FILE_UMASK ((mode_t)-1)
int atomic_file_open(atomic_file *a, const char *path, mode_t mode);

/* Close and rename over the target: 0, or -1 with errno set (the temporary
 * file is removed either way). */
int atomic_file_commit(atomic_file *a);

/* Give up: close and remove the temporary file. */
void atomic_file_abort(atomic_file *a);
#endif

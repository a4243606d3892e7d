/* secret.h — passwords and tokens from files, never from the command line
 * (every local user can read /proc/PID/cmdline).
 *
 * A secret reference is either a path ("/etc/streamrec/prod.redis-password")
 * or the name of a systemd credential ("redis-password"): a unit's
 * LoadCredential=NAME:PATH puts it in $CREDENTIALS_DIRECTORY/NAME, readable
 * by the service alone. The file holds the secret itself; one trailing
 * newline is ignored (echo adds one). */
#ifndef STREAMREC_SECRET_H
#define STREAMREC_SECRET_H
#include <stddef.h>

/* Read the secret ref names into buf (NUL-terminated, at most cap-1 bytes).
 * 0, or -1 with err naming the file and why (missing, too long, a NUL or a
 * newline inside, no $CREDENTIALS_DIRECTORY for a bare name). A file that
 * other users may read is accepted with a warning. */
int secret_read(const char *ref, char *buf, size_t cap, char *err, size_t errlen);

/* The systemd credential NAME, if the service has it: 1 and the secret in
 * buf; 0 if there is no such credential; -1 with err if it cannot be read. */
int secret_credential(const char *name, char *buf, size_t cap, char *err, size_t errlen);

/* Overwrite s in place with '*' (a secret given in argv anyway: the copy in
 * /proc/PID/cmdline then no longer shows it). */
void secret_scrub(char *s, size_t len);
#endif

/* pass.h — fbcat --records from a byte stream to a byte stream, without
 * --type, --count, --strict or --dead-letter: every record verified in
 * the read buffer, the good ones written in runs (one write per run
 * instead of two per record). Bad records are refused, logged and counted
 * exactly as stream_in_next does; --strict and --dead-letter take the
 * general path (stream.c), and so does everything with
 * STREAMREC_FBCAT_GENERIC set in the environment (tests compare the two). */
#ifndef FBCAT_PASS_H
#define FBCAT_PASS_H
#include "cli.h"

/* Does the pass-through path serve this invocation? */
int fbcat_pass_applies(const cli_common *c, int encode, int count, int ntypes);
/* Run it: the exit status (0, or 1 after a logged failure). */
int fbcat_pass(const cli_common *c);

#endif

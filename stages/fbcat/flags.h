/* flags.h — fbcat's command line: the flag table (--help), the mode it
 * asks for (decode, encode, a peek at Kafka or kcat's output), with the
 * usage checks between flags. */
#ifndef FBCAT_FLAGS_H
#define FBCAT_FLAGS_H
#include <stdint.h>
#include "cli.h"
#include "fbcount.h"
#include "peek.h"

typedef struct fbcat_flags {
    cli_common common;
    const char *encode_type, *offset;
    int count, records, eof, meta, kcat;
    int64_t partition;
    cli_list types;
    /* built from the flags */
    const fbrec_desc *encode;          /* --encode: the type, else NULL */
    fbcount fc;                     /* --type, and the counts of --count */
    int json_counts;                /* --count prints JSON (an explicit --format json) */
    int peek;                       /* --in kafka:// without ?group= */
    fbcat_peek_conf pc;             /* peek and --kcat */
    char brokers[512], topic[256], in_uri[1024];
} fbcat_flags;

/* Parse argv into f, then cli_start (logging, metrics, signals). A usage
 * error prints "fbcat: reason" and exits 2; --help exits 0. */
void fbcat_flags_start(int argc, char **argv, fbcat_flags *f);

#endif

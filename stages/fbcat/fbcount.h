/* fbcount.h — fbcat's per-type bookkeeping: which record types --type
 * keeps, and how many of each --count saw. */
#ifndef FBCAT_FBCOUNT_H
#define FBCAT_FBCOUNT_H
#include <stdint.h>
#include "fbrec.h"
#include "stream.h"

typedef struct fbcount {
    int nroots;
    const fbrec_desc *const *roots;
    int keep_all;            /* no --type filter: every record passes (no lookup) */
    uint8_t keep[64];        /* per root index: passes the --type filter */
    uint64_t count[64];      /* per root index */
} fbcount;

/* names: --type values (type names, case-sensitive), n == 0 keeps all.
 * 0, or -1 with err naming the unknown type. */
int fbcount_init(fbcount *fc, const char *const *names, int n, char *err, size_t errlen);
int fbcount_wanted(const fbcount *fc, const fbrec_desc *d);
void fbcount_add(fbcount *fc, const fbrec_desc *d);
/* Counts of the types seen (and of the --type ones even when 0): text
 * "TYPE N" lines and "total N", or one JSON object. 0 or -1. */
int fbcount_print(const fbcount *fc, stream_out *out, int json);
/* "Alert, Drift, Event, ..." for messages. */
const char *fbcount_type_list(void);

#endif

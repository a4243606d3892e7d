/* hold.h — `--emit partials` on an events partition that carries watermark
 * marks (schemas/README.md "Watermark marks"): records whose event time is
 * past what the marks promise wait here, and come out in event-time order
 * (ties: in the order read) once the marks pass them.
 *
 * Why: several ingest instances write into every events partition, one far
 * ahead of another in event time. Counted as they come, a record of the
 * instance ahead would cross a report boundary (its snapshot goes out)
 * before the other instance's older records, which then land in the next
 * report; and one user's exposure could come after their conversion (not
 * attributed). Released in event-time order, a partition's records reach
 * its engine as a file sorted by time would give them.
 *
 * Memory: a min-heap of 40-byte entries plus a malloc'd copy of each
 * record's FlatBuffer; the caller bounds the bytes (scaleout.c). */
#ifndef EA_HOLD_H
#define EA_HOLD_H
#include <stddef.h>
#include <stdint.h>

typedef struct ea_held {
    int64_t ts;           /* the record's event time */
    uint64_t seq;         /* the order it was read in (ties) */
    int64_t offset;       /* its Kafka offset */
    uint8_t *data;        /* a copy of its FlatBuffer (no size prefix), malloc'd */
    uint32_t len;
} ea_held;

typedef struct ea_hold {
    ea_held *v;
    size_t n, cap;
    size_t bytes;         /* of the copies */
} ea_hold;

/* Keep a copy of data[0..len). 0, or -1 out of memory. */
int ea_hold_push(ea_hold *h, int64_t ts, uint64_t seq, int64_t offset, const uint8_t *data, uint32_t len);
/* The earliest (smallest ts, then seq), or NULL when empty. */
const ea_held *ea_hold_min(const ea_hold *h);
/* Take the earliest out into *out (its data is the caller's to free). */
void ea_hold_pop(ea_hold *h, ea_held *out);
void ea_hold_free(ea_hold *h);
#endif

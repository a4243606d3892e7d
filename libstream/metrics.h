/* metrics.h — counters and gauges, written as Prometheus text to
 * --metrics-file, atomically (write temp, rename) every few seconds from
 * metrics_tick and at exit from metrics_flush. Every stage gets the shared
 * series at zero from the start (records in/out/invalid, bytes in/out), so
 * alerts exist before the first failure.
 *
 * Names are Prometheus names ("streamrec_records_in_total"); every series
 * carries stage="NAME". A series is a name plus up to two label pairs; looking one up twice returns the same handle. Not thread-safe: call
 * from the main thread. */
#ifndef STREAMREC_METRICS_H
#define STREAMREC_METRICS_H
#include <stdint.h>

typedef struct metrics_series metrics_series;

void metrics_init(const char *stage, const char *path, int interval_ms); /* path NULL: keep counts, write nothing */
metrics_series *metrics_counter(const char *name, const char *help);
metrics_series *metrics_gauge(const char *name, const char *help);
/* The same metric name split by one label, e.g. ("streamrec_invalid_total", "reason", "bad_json"). */
metrics_series *metrics_counter_l(const char *name, const char *help, const char *label, const char *value);
metrics_series *metrics_gauge_l(const char *name, const char *help, const char *label, const char *value);
/* ... and by two (Kafka lag per topic and partition). */
metrics_series *metrics_gauge_l2(const char *name, const char *help, const char *label, const char *value,
                                 const char *label2, const char *value2);
void metrics_add(metrics_series *s, double v);
void metrics_set(metrics_series *s, double v);
double metrics_get(const metrics_series *s);
void metrics_tick(void);     /* cheap; writes when the interval has passed; also sd_watchdog_tick() */
int metrics_flush(void);     /* write now; 0 or -1 */
void metrics_shutdown(void); /* flush and free */

/* The shared series, registered by metrics_init. */
extern metrics_series *metrics_records_in, *metrics_records_out,
                      *metrics_bytes_in, *metrics_bytes_out;
/* Invalid records by reason: streamrec_records_invalid_total{reason=…}. */
void metrics_invalid(const char *reason);

#endif

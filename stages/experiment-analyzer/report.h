/* report.h — the human report (--report html|markdown): per experiment and
 * metric, a table of the arms (users, rate or mean with its interval, lift
 * with its interval, p-values, decision and reason) and, in HTML, a small
 * inline SVG chart of each arm's estimate and interval. Written atomically
 * (temporary file, then rename) so a reader never sees half a report. */
#ifndef EA_REPORT_H
#define EA_REPORT_H
#include <stdint.h>
#include "analyze.h"

enum { EA_REPORT_HTML, EA_REPORT_MARKDOWN };
/* 0 or -1 (logged). */
int ea_report_write(const char *path, int format, const ea_config *cfg,
                    const ea_row *rows, int nrows, int64_t ts);
const char *ea_decision_text(int decision);   /* "stop: treatment wins", ... */
#endif

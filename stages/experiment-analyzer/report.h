/* report.h — the human report (--report html|markdown): per experiment and
 * metric, a table of the arms (users, rate or mean with its interval, the
 * absolute lift with its interval, the relative lift, p-values, the
 * always-valid interval, decision and reason) and, in HTML, three inline
 * SVG charts on stated scales: each arm's estimate, the lift with both
 * intervals, and the lift with its always-valid interval at every report
 * so far (by event time). Written atomically (temporary file, then rename)
 * so a reader never sees half a report.
 *
 * The history behind the third chart is kept here, in memory, per
 * treatment and metric: at most EA_REPORT_HISTORY points; when full, every
 * other point is dropped and from then on every other report is kept, so
 * the points always span the whole run; the current report is drawn after
 * them, kept or not (48 bytes a point: about 11 KiB per treatment and
 * metric). A restart starts the history again. */
#ifndef EA_REPORT_H
#define EA_REPORT_H
#include <stdint.h>
#include "analyze.h"

#define EA_REPORT_HISTORY 240

enum { EA_REPORT_HTML, EA_REPORT_MARKDOWN };
/* 0 or -1 (logged). Each call adds the rows to the history. */
int ea_report_write(const char *path, int format, const ea_config *cfg,
                    const ea_row *rows, int nrows, int64_t ts);
const char *ea_decision_text(int decision);   /* "stop: treatment wins", ... */
#endif

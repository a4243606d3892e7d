/* sizes.h — the size contract of records (schemas/SIZES.md): what ingest
 * may put in a record is what every later stage takes, with no limit of
 * its own below it.
 *
 * Labels (and attrs): ingest takes at most STREAMREC_MAX_ATTRS per line
 * (the ceiling of --max-attrs) and derives at most 4 more (model_id,
 * model_version, endpoint, status_class); the stages after it derive a few
 * of their own (drift: horizon; alerter: the series name). A stage accepts
 * any record of at most STREAMREC_MAX_LABELS labels, which leaves room for
 * those. A string is at most STREAMREC_MAX_STRING bytes from ingest, and
 * every stage takes one that long; a record ingest writes is at most
 * --max-record - STREAMREC_DERIVED_ROOM bytes. */
#ifndef STREAMREC_SIZES_H
#define STREAMREC_SIZES_H

#define STREAMREC_MAX_ATTRS 4096
#define STREAMREC_MAX_STRING (16u << 20)   /* the ceiling of ingest's --max-string */
/* Room a stage's output record may need over the input record it derives
 * from (fields and labels it adds): ingest keeps its records this far
 * under --max-record, so a Metric from a Sample, a Drift or an Alert from
 * a Metric still fits the next reader's --max-record. */
#define STREAMREC_DERIVED_ROOM (64u << 10)
#define STREAMREC_MAX_LABELS (STREAMREC_MAX_ATTRS + 64)

#endif

/* partial.h — scale-out of experiment-analyzer: per source partition, at
 * each report boundary, ExperimentPartial records (schemas/
 * experiment_partial.fbs) with everything the results are a function of;
 * and the merge that turns the partials of every partition back into the
 * statistics one process holds at that report.
 *
 * Report boundaries are multiples of --report-every in event time. A
 * partition's watermark is the largest event time it delivered (a
 * partition carrying watermark marks delivers its records in event-time
 * order, each once the marks passed it: hold.h); when it
 * crosses its next boundary B (ea_next_boundary), the partition emits its
 * snapshot, which stands for every boundary from B up to the new watermark
 * (a partition may jump over several), before it counts the record that
 * crossed. At end of input every partition emits a final snapshot.
 *
 * The merge keeps, per (partition, boundary, experiment), the partial
 * covering the most input offsets (a partition re-emitted after a crash or
 * a move to another instance replaces nothing it had right, and duplicates
 * nothing). Boundary B is reported, as one process reports it, when some
 * partition sat just below B (B is the next boundary of some partition's
 * watermark) and some partition crossed it; it is merged once every
 * partition has either a snapshot standing for B, or a final snapshot from
 * before B, or only snapshots from after B (it had no event before B: it
 * contributes nothing). Then per experiment: users, mixed users, drops and
 * conversions summed, counts summed, exact sums (CUPED and ratio pair sums
 * too) added (xsum.h): the
 * statistics are those of one process, bit for bit, and the caller takes the
 * report's look (ea_look_all) and writes the results. When every partition
 * has its final snapshot, the last report.
 *
 * Idle partitions (Kafka): a partition at its end for --idle-timeout sends
 * its snapshot with boundary_last INT64_MAX (boundary: its next one, or
 * INT64_MIN before its first event), repeated while it stays idle; when it
 * reads again, the same snapshot standing for no boundary (boundary_last <
 * boundary), or the crossing one. Of two snapshots of one (partition,
 * boundary) covering the same offsets, the later one's range holds. The
 * merge picks an idle snapshot for B when no other stands for B, while it
 * was read within the lease (ea_merger_set_idle_lease); an idle snapshot
 * never makes B a report by itself.
 *
 * Memory: the merge holds the snapshots of boundaries not merged yet: per
 * partition and boundary about (8 + 16 + 424·metrics)·variants bytes per
 * experiment, 1,048·metrics·variants more with CUPED or ratio metrics (their
 * pair sums); a partition that lags by k boundaries holds k of every
 * other partition's. */
#ifndef EA_PARTIAL_H
#define EA_PARTIAL_H
#include <stdint.h>
#include "analyze.h"
#include "stream.h"

typedef struct ea_partial_src {
    const char *topic;          /* Kafka topic, or "-" for a byte stream */
    int32_t partition, partitions;
    int64_t offset;             /* next input offset after what the snapshot covers */
    int64_t watermark, prev_watermark;
    int64_t boundary, boundary_last, every;
    int64_t last_ts;
    uint64_t events;
    int final;
} ea_partial_src;

/* One ExperimentPartial per configured experiment of ea (mergeable). 0 or -1. */
int ea_partial_write(stream_out *out, ea_engine *ea, const ea_partial_src *src);

typedef struct ea_merger ea_merger;
/* ea: a mergeable engine without users, whose statistics the merge
 * overwrites at each report. */
ea_merger *ea_merger_new(ea_engine *ea, int64_t every);
void ea_merger_free(ea_merger *m);
/* How long an idle snapshot stands after it was read (it is repeated while
 * its partition stays idle); 0 (the default): not at all. */
void ea_merger_set_idle_lease(ea_merger *m, int64_t us);
/* Take one partial. 0, or -1 with why in err (the record is refused). */
int ea_merger_add(ea_merger *m, const ExperimentPartial *p, char *err, size_t errlen);
/* 1: a report is ready: ea holds its statistics (take the look and write
 * the results), *last_ts its event time; call again. 0: nothing more now. */
int ea_merger_next(ea_merger *m, int64_t *last_ts);
/* Partials kept (replacements of a smaller one count too) and ignored (a
 * boundary already merged, or a copy covering no more offsets). */
uint64_t ea_merger_kept(const ea_merger *m);
uint64_t ea_merger_ignored(const ea_merger *m);
/* 1 once the last report (every partition final) was returned. */
int ea_merger_done(const ea_merger *m);
#endif

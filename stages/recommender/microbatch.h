/* microbatch.h — the stream's micro-batch (main.c): when it is due. */
#ifndef STREAMREC_REC_MICROBATCH_H
#define STREAMREC_REC_MICROBATCH_H
#include "serving.h"

/* After a record or a quiet tick: RUNNER_SYNC when the batch is due
 * (flush_due set for rec_flush), RUNNER_OK otherwise. */
int rec_batch_check(rec_run *a);
#endif

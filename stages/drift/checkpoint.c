/* checkpoint.c — drift's --state blob (checkpoint.h). */
#include "checkpoint.h"
#include <stdlib.h>
#include "log.h"
#include "runner.h"

#define DRIFT_BLOB_KEY "drift.engine"

int drift_checkpoint_load(drift_engine *e, state *st, const char *path, uint64_t *records)
{
    void *data = NULL;
    size_t len = 0;
    int g = state_get(st, DRIFT_BLOB_KEY, &data, &len);
    if (g < 0) return RUNNER_FAIL;
    if (g == 0) return RUNNER_OK;
    char err[300];
    int lr = drift_engine_load(e, data, len, records, err, sizeof err);
    free(data);
    if (lr < 0) {
        log_error("%s: %s", path, err);
        return lr == DRIFT_LOAD_SETTINGS ? RUNNER_USAGE : RUNNER_FAIL;
    }
    log_info("resumed from %s: %llu series", path, (unsigned long long)drift_engine_series(e));
    return RUNNER_OK;
}

int drift_checkpoint_save(const drift_engine *e, state *st, uint64_t records)
{
    uint8_t *blob;
    size_t len;
    drift_engine_save(e, records, &blob, &len);
    int rc = state_put(st, DRIFT_BLOB_KEY, blob, len);
    free(blob);
    return rc;
}

/* modelfile.h — the model file (modelfile.c describes its layout): a
 * SQLite file written by `recommender train`, replaced atomically (temp
 * file in the same directory, fsync, rename), so a serving process can
 * reload it at any moment. */
#ifndef STREAMREC_REC_MODELFILE_H
#define STREAMREC_REC_MODELFILE_H
#include <stddef.h>
#include "model.h"

/* SQLite model file -> memory. NULL with err on failure. */
rec_model *model_load(const char *path, char *err, size_t errlen);
/* Write atomically to path (temp file + fsync + rename + dir fsync). 0, or
 * -1 with err. A loaded model cannot be saved (its EASE part is kept in
 * fixed point only). */
int model_save(const rec_model *m, const char *path, char *err, size_t errlen);
#endif

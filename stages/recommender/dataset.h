/* dataset.h — interactions for training and evaluation: Event records read
 * into (user, item, weight, time) tuples with string ids interned, CSR views
 * by user and by item, and item metadata from a CSV file.
 *
 * Several events on the same (user, item) make one interaction: its weight
 * is the largest event_weight() among them (a purchase after a view counts
 * as a purchase; a re-rating keeps the higher rating) and its time the
 * latest. Events of weight 0 (impressions, exposures) are skipped. */
#ifndef STREAMREC_REC_DATASET_H
#define STREAMREC_REC_DATASET_H
#include <stddef.h>
#include <stdint.h>

/* String interning: id -> dense index. */
typedef struct idmap { char **ids; uint32_t n, cap; uint32_t *tab; uint32_t tcap; } idmap;
/* Index of s (added when absent, *added set if given). UINT32_MAX on OOM. */
uint32_t idmap_put(idmap *m, const char *s, size_t len, int *added);
int64_t idmap_get(const idmap *m, const char *s, size_t len);  /* -1 absent */
void idmap_free(idmap *m);

typedef struct rec_data {
    idmap users, items;
    size_t n, cap;               /* interactions, one per (user, item) */
    uint32_t *u, *i;
    float *w;
    int64_t *ts;                 /* epoch seconds */
    /* item metadata, by item index (grown with items): NULL when unknown */
    char **cats;                 /* "Action|Comedy" (categories as given) */
    char **text;                 /* free text: titles, years, ... */
    size_t meta_cap;
    int64_t max_ts;
} rec_data;

void data_init(rec_data *d);
void data_free(rec_data *d);
/* Add one event's interaction (merging per (user,item), see above).
 * 0, or -1 on OOM. */
int data_add(rec_data *d, const char *user, size_t ulen, const char *item, size_t ilen,
             float w, int64_t ts);
/* Finish adding: merge duplicates (sorts by user, item). */
void data_finish(rec_data *d);
/* Read Event records from uri (stream.h semantics; common may be NULL for
 * defaults). 0, or -1 after logging. */
struct cli_common;
int data_read_events(rec_data *d, const char *uri, const struct cli_common *common);

/* Item metadata CSV (RFC 4180: quoted fields, "" escapes, CRLF, a header
 * line; zstd-compressed files are read transparently). map is
 * "id=COL,categories=COL,text=COL+COL..." (column names of the header):
 * id is required; categories is kept as given (split on '|' or ',' for
 * terms); text columns are concatenated with spaces. Rows whose id is not
 * an item of d are added as new items (no interactions: content only).
 * Returns the number of rows used, or -1 with err. */
long data_read_items(rec_data *d, const char *path, const char *map, char *err, size_t errlen);
/* The same on a buffer (used by the fuzz target and the file reader). */
long data_parse_items_csv(rec_data *d, const char *buf, size_t len, const char *map, char *err, size_t errlen);

/* A CSR matrix view of a set of interactions. */
typedef struct rec_csr {
    uint32_t rows, cols;
    uint32_t *off;        /* rows+1 */
    uint32_t *idx;        /* column index */
    float *val;
    int64_t *ts;
} rec_csr;
/* Build CSR by rows from tuple arrays (r[], c[], v[], t[] may be NULL for t).
 * Entries keep their input order within a row. 0 or -1 (OOM). */
int csr_build(rec_csr *m, uint32_t rows, uint32_t cols, size_t n,
              const uint32_t *r, const uint32_t *c, const float *v, const int64_t *t);
void csr_free(rec_csr *m);

/* Training matrix: by user (R) and by item (its transpose, Rt). */
typedef struct rec_train {
    uint32_t n_users, n_items;
    size_t nnz;
    rec_csr R, Rt;
    int64_t max_ts;
} rec_train;
int train_build(rec_train *t, uint32_t n_users, uint32_t n_items, size_t n,
                const uint32_t *u, const uint32_t *i, const float *w, const int64_t *ts);
void train_free(rec_train *t);

/* Tokenise metadata for content similarity: calls fn for each lower-cased
 * term (categories prefixed "c:", text words "t:"). */
void data_item_terms(const char *cats, const char *text,
                     void (*fn)(void *ctx, const char *term, size_t len), void *ctx);
#endif

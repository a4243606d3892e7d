/* fuzz_items_csv.c — libFuzzer target for the item-metadata CSV reader
 * (stages/recommender/dataset.c) and what consumes it.
 *
 * Input: the first byte picks a column mapping (some valid, some naming
 * columns that may not exist), the rest is the CSV text (quotes, "" escapes,
 * CR/LF, BOM, overlong fields, NUL bytes all reachable). Properties checked
 * (abort on violation):
 *   - the parser returns -1 or a row count no larger than the number of
 *     line breaks + 1; items it adds have non-empty NUL-terminated ids that
 *     the id map finds again;
 *   - every stored category/text is a NUL-terminated string;
 *   - term extraction over the stored metadata and the content model built
 *     from it run without crash, leak or undefined behaviour, and every
 *     content similarity is in [0, 1 + eps]. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../../stages/recommender/train.h"

static const char *maps[] = {
    "id=id,categories=genres,text=title",
    "id=movieId,categories=genres,text=title",
    "id=book_id,categories=authors,text=title+original_publication_year",
    "id=id",
    "id=id,text=a+b+c+d+e+f+g+h+i",
    "categories=genres",
    "id=,categories=x",
    "nonsense",
};

static void count_term(void *ctx, const char *term, size_t len)
{
    size_t *n = ctx;
    if (strlen(term) != len || len < 3 || (term[0] != 'c' && term[0] != 't') || term[1] != ':') abort();
    (*n)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const char *map = maps[data[0] % (sizeof maps / sizeof maps[0])];
    const char *csv = (const char *)data + 1;
    size_t len = size - 1;
    rec_data d;
    data_init(&d);
    char err[256];
    long n = data_parse_items_csv(&d, csv, len, map, err, sizeof err);
    size_t breaks = 0;
    for (size_t i = 0; i < len; i++) breaks += csv[i] == '\n' || csv[i] == '\r';
    if (n < -1 || (n >= 0 && (size_t)n > breaks + 1)) abort();
    if (n < 0 && !err[0]) abort();
    for (uint32_t i = 0; i < d.items.n; i++) {
        const char *id = d.items.ids[i];
        if (!id[0] || idmap_get(&d.items, id, strlen(id)) != (int64_t)i) abort();
        size_t terms = 0;
        if (i < d.meta_cap) {
            if (d.cats[i]) (void)strlen(d.cats[i]);
            if (d.text[i]) (void)strlen(d.text[i]);
            data_item_terms(d.cats[i], d.text[i], count_term, &terms);
        }
    }
    if (d.items.n && d.items.n < 2000) {
        rec_train t;
        if (train_build(&t, 0, d.items.n, 0, NULL, NULL, NULL, NULL) == 0) {
            train_params p;
            train_params_default(&p);
            p.threads = 1;
            p.cnt_k = 5;
            rec_model *m = train_model(&d, &t, ALG_CONTENT, &p, NULL, err, sizeof err);
            if (m) {
                for (uint32_t e = 0; e < (m->cnt.n ? m->cnt.off[m->cnt.n] : 0); e++)
                    if (!(m->cnt.sim[e] >= 0 && m->cnt.sim[e] <= 1.0001f) || m->cnt.nbr[e] >= m->n_items) abort();
                model_free(m);
            }
            train_free(&t);
        }
    }
    data_free(&d);
    return 0;
}

/* fuzz_history_blob.c — libFuzzer target for the --state history blob
 * reader (hist_decode in stages/recommender/history.c): a corrupt or
 * truncated rec_history row must be refused or read into a bounded history,
 * never crash. Properties checked (abort on violation):
 *   - hist_decode returns -1 or a slot; a refused blob changes nothing (the
 *     user held before keeps their entries and seen set);
 *   - an accepted blob gives at most max_items entries, a seen set of
 *     interned ids in ascending order that contains every entry's item and
 *     the bought set, and re-encodes into a blob that decodes to the same
 *     seen and bought counts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../../../stages/recommender/history.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hist_limits lim = { 4, 8, 4096 };
    hist_store *h = hist_new(&lim);
    if (!h) return 0;
    if (hist_add(h, "u", 1, "before", 6, 1, 1, 1) < 0) abort();
    int64_t s = hist_decode(h, "u", 1, data, size);
    int64_t u = hist_find(h, "u", 1);
    uint32_t n;
    const hist_item *it = hist_items(h, (uint32_t)u, &n);
    const idset *seen = hist_seen(h, (uint32_t)u), *bought = hist_bought(h, (uint32_t)u);
    if (s < 0) {
        if (n != 1 || seen->n != 1 || hist_gid_find(h, "before", 6) != it[0].gid) abort();
    } else {
        if (s != u || n > lim.max_items) abort();
        uint32_t *ids = malloc(((size_t)seen->n + 1) * sizeof *ids);
        if (!ids) abort();
        size_t k = idset_list(seen, ids);
        if (k != seen->n) abort();
        for (size_t i = 0; i < k; i++)
            if (ids[i] >= hist_n_gids(h) || (i && ids[i] <= ids[i - 1])) abort();
        for (uint32_t i = 0; i < n; i++) if (!idset_has(seen, it[i].gid)) abort();
        size_t nb = idset_list(bought, ids);
        for (size_t i = 0; i < nb; i++) if (!idset_has(seen, ids[i])) abort();
        free(ids);
        uint8_t *buf = NULL;
        size_t len = 0, cap = 0;
        if (hist_encode(h, (uint32_t)s, &buf, &len, &cap)) abort();
        hist_store *h2 = hist_new(&lim);
        if (!h2) abort();
        int64_t t = hist_decode(h2, "u", 1, buf, len);
        if (t < 0 || hist_seen(h2, (uint32_t)t)->n != seen->n || hist_bought(h2, (uint32_t)t)->n != bought->n) abort();
        hist_free(h2);
        free(buf);
    }
    hist_free(h);
    return 0;
}

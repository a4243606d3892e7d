/* idset.c — sorted array or bitmap, whichever is smaller (idset.h). */
#include "idset.h"
#include <stdlib.h>
#include <string.h>

static uint32_t words_for(uint32_t max_id) { return max_id / 32 + 1; }

/* Index of the first element >= id in the sorted array. */
static uint32_t lower_bound(const idset *s, uint32_t id)
{
    uint32_t lo = 0, hi = s->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (s->v[mid] < id) lo = mid + 1; else hi = mid;
    }
    return lo;
}

int idset_has(const idset *s, uint32_t id)
{
    if (s->bitmap) return id / 32 < s->cap && (s->v[id / 32] >> (id % 32) & 1);
    uint32_t i = lower_bound(s, id);
    return i < s->n && s->v[i] == id;
}

size_t idset_list(const idset *s, uint32_t *out)
{
    if (!s->bitmap) {
        if (s->n) memcpy(out, s->v, (size_t)s->n * sizeof *out);
        return s->n;
    }
    size_t k = 0;
    for (uint32_t w = 0; w < s->cap; w++)
        for (uint32_t bits = s->v[w]; bits; bits &= bits - 1)
            out[k++] = w * 32 + (uint32_t)__builtin_ctz(bits);
    return k;
}

size_t idset_bytes(const idset *s) { return (size_t)s->cap * sizeof *s->v; }

void idset_clear(idset *s)
{
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* Rebuild as a bitmap of `words` words holding the current ids plus id. */
static int to_bitmap(idset *s, uint32_t words, uint32_t id)
{
    uint32_t *b = calloc(words, sizeof *b);
    if (!b) return -1;
    if (s->bitmap) memcpy(b, s->v, (size_t)s->cap * sizeof *b);
    else for (uint32_t i = 0; i < s->n; i++) b[s->v[i] / 32] |= 1u << (s->v[i] % 32);
    b[id / 32] |= 1u << (id % 32);
    free(s->v);
    s->v = b;
    s->cap = words;
    s->bitmap = 1;
    s->n++;
    return 1;
}

/* Rebuild as a sorted array holding the current ids plus id (a larger id
 * than the bitmap covers, which is why the array became the smaller form). */
static int to_array(idset *s, uint32_t id)
{
    uint32_t cap = s->n + 1 + (s->n + 1) / 2;
    uint32_t *a = malloc((size_t)cap * sizeof *a);
    if (!a) return -1;
    size_t k = idset_list(s, a);
    a[k] = id;                                  /* above every bitmap id */
    free(s->v);
    s->v = a;
    s->cap = cap;
    s->bitmap = 0;
    s->n++;
    return 1;
}

int idset_add(idset *s, uint32_t id)
{
    if (idset_has(s, id)) return 0;
    uint32_t n1 = s->n + 1;
    if (s->bitmap) {
        if (id / 32 < s->cap) { s->v[id / 32] |= 1u << (id % 32); s->n++; return 1; }
        uint32_t words = words_for(id);
        if (n1 < words) return to_array(s, id);   /* the array is now smaller */
        return to_bitmap(s, words, id);
    }
    uint32_t max = s->n && s->v[s->n - 1] > id ? s->v[s->n - 1] : id;
    if (n1 > words_for(max)) return to_bitmap(s, words_for(max), id);
    if (s->n == s->cap) {
        uint32_t cap = s->cap < 4 ? 4 : s->cap + s->cap / 2;
        if (cap > words_for(max) && words_for(max) >= n1) cap = words_for(max);
        uint32_t *a = realloc(s->v, (size_t)cap * sizeof *a);
        if (!a) return -1;
        s->v = a;
        s->cap = cap;
    }
    uint32_t at = lower_bound(s, id);
    memmove(s->v + at + 1, s->v + at, (size_t)(s->n - at) * sizeof *s->v);
    s->v[at] = id;
    s->n++;
    return 1;
}

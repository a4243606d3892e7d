/* idset.h — a set of small integers (the history's interned item ids) in
 * whichever of two exact forms is smaller: a sorted array (4 bytes per id)
 * or a bitmap over 0..max id (1 bit per possible id). The serving layer
 * keeps one per user for every item they interacted with, so the seen
 * filter is complete whatever the scoring history cap.
 *
 * Memory: the form is re-chosen on every insertion, so a set of n ids whose
 * largest is g holds at most min(4 * n, (g / 32 + 1) * 4) bytes of payload,
 * plus array slack (capacity grows by half: at most 1.5x the payload) —
 * never more than about catalogue / 8 bytes per user. idset_bytes() is the
 * allocated size, which the tests and the metrics read. */
#ifndef STREAMREC_REC_IDSET_H
#define STREAMREC_REC_IDSET_H
#include <stddef.h>
#include <stdint.h>

typedef struct idset {
    uint32_t *v;        /* sorted ids, or bitmap words (bit g % 32 of word g / 32) */
    uint32_t n;         /* ids in the set */
    uint32_t cap;       /* allocated words of v */
    uint8_t bitmap;     /* 1: v is a bitmap of cap words */
} idset;

/* Add id: 1 added, 0 already there, -1 out of memory (set unchanged). */
int idset_add(idset *s, uint32_t id);
int idset_has(const idset *s, uint32_t id);
/* The ids in ascending order into out (room for s->n). Returns s->n. */
size_t idset_list(const idset *s, uint32_t *out);
size_t idset_bytes(const idset *s);
void idset_clear(idset *s);     /* frees the memory; the set is empty and reusable */
#endif

/* promql.h — the part of PromQL the alerter can evaluate on its records:
 * one instant-vector selector with label matchers (=, !=, =~, !~) compared
 * against a number (>, >=, <, <=, ==, !=), either side. Everything else
 * (functions, ranges, aggregations, arithmetic, `bool`, `offset`, set
 * operators) is refused with the byte offset of the token and the reason.
 * README.md "Prometheus rule files" says how a selector picks a Metric field. */
#ifndef ALERTER_PROMQL_H
#define ALERTER_PROMQL_H
#include <regex.h>
#include <stddef.h>

enum { PQ_EQ, PQ_NE, PQ_RE, PQ_NRE };

typedef struct pq_matcher {
    char *label;                 /* "__name__" for the metric name */
    char *value;
    int op;                      /* PQ_* */
    regex_t re;                  /* PQ_RE / PQ_NRE: compiled, anchored at both ends */
} pq_matcher;

#define PQ_MAX_MATCHERS 32

typedef struct pq_expr {
    pq_matcher *m; int nm;       /* the metric name as a __name__ matcher; the field labels removed */
    char *field;                 /* value, count, sum, min, max, mean, stddev, pNN */
    int cond;                    /* AL_GT ... AL_NE (rules.h) */
    double threshold;
} pq_expr;

/* Parse s. 0, or -1 with *err_at the byte offset in s of the offending
 * token and why filled. */
int pq_parse(const char *s, pq_expr *out, size_t *err_at, char *why, size_t whylen);
void pq_free(pq_expr *e);
/* Does the matcher accept v (len bytes, need not end in NUL)? */
int pq_match(const pq_matcher *m, const char *v, size_t len);
#endif

/* parallel.c — par_for / par_for_dyn over pthreads (train.h): training
 * uses both cores; the calling thread does one share of the work. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include "train.h"

typedef struct {
    void (*fn)(void *, uint64_t, uint64_t, int);
    void *ctx;
    uint64_t n, chunk, b, e;
    _Atomic uint64_t *next;
    int th;
} job;

static void *run_static(void *a)
{
    job *j = a;
    if (j->b < j->e) j->fn(j->ctx, j->b, j->e, j->th);
    return NULL;
}

static void *run_dyn(void *a)
{
    job *j = a;
    for (;;) {
        uint64_t b = atomic_fetch_add(j->next, j->chunk);
        if (b >= j->n) break;
        uint64_t e = b + j->chunk < j->n ? b + j->chunk : j->n;
        j->fn(j->ctx, b, e, j->th);
    }
    return NULL;
}

#define MAXTH 64

static void spawn(int nt, job *jobs, void *(*run)(void *))
{
    pthread_t tid[MAXTH];
    int started[MAXTH] = { 0 };
    for (int t = 1; t < nt; t++) started[t] = pthread_create(&tid[t], NULL, run, &jobs[t]) == 0;
    run(&jobs[0]);
    for (int t = 1; t < nt; t++) {
        if (started[t]) pthread_join(tid[t], NULL);
        else run(&jobs[t]);         /* could not start a thread: do its share here */
    }
}

void par_for(int nthreads, uint64_t n, void (*fn)(void *ctx, uint64_t b, uint64_t e, int th), void *ctx)
{
    int nt = nthreads < 1 ? 1 : nthreads > MAXTH ? MAXTH : nthreads;
    if ((uint64_t)nt > n) nt = n ? (int)n : 1;
    job jobs[MAXTH];
    for (int t = 0; t < nt; t++)
        jobs[t] = (job){ fn, ctx, n, 0, n * t / nt, n * (t + 1) / nt, NULL, t };
    spawn(nt, jobs, run_static);
}

void par_for_dyn(int nthreads, uint64_t n, uint64_t chunk, void (*fn)(void *ctx, uint64_t b, uint64_t e, int th), void *ctx)
{
    int nt = nthreads < 1 ? 1 : nthreads > MAXTH ? MAXTH : nthreads;
    if (!chunk) chunk = 1;
    _Atomic uint64_t next = 0;
    job jobs[MAXTH];
    for (int t = 0; t < nt; t++) jobs[t] = (job){ fn, ctx, n, chunk, 0, 0, &next, t };
    spawn(nt, jobs, run_dyn);
}

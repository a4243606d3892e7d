/* pop.c — popularity with exponential time decay: pop(i) = sum over the
 * users of i of 2^(-(T - t_ui) / half_life), T the newest training time
 * (half_life 0: every interaction counts 1, i.e. the number of users). */
#include <math.h>
#include "train.h"

int pop_train(rec_model *m, const rec_train *t, const train_params *p)
{
    double hl = p->half_life_us / 1e6;
    for (uint32_t i = 0; i < t->n_items && i < m->n_items; i++) {
        double s = 0;
        for (uint32_t e = t->Rt.off[i]; e < t->Rt.off[i + 1]; e++) {
            if (hl > 0) s += exp2(-(double)(t->max_ts - t->Rt.ts[e]) / hl);
            else s += 1;
        }
        m->pop[i] = (float)s;
    }
    model_set_param(m, "pop.half_life_s", hl);
    return 0;
}

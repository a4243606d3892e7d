#include "train.h"
int als_train(rec_model *m, const rec_train *t, const train_params *p, double *loss) { (void)m; (void)t; (void)p; (void)loss; return 0; }

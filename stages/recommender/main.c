/* main.c — recommender: one binary, three modes.
 *
 *   recommender train ...   Event records -> model file (train.h)
 *   recommender eval ...    offline evaluation on a held-out split (eval.h)
 *   recommender [serve] ... streaming serving and the --users batch (serve.h)
 *
 * See README.md. */
#include <string.h>
#include "eval.h"
#include "serve.h"
#include "train.h"

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "train")) return train_main(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "eval")) return eval_main(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "serve")) return serve_main(argc - 1, argv + 1);
    return serve_main(argc, argv);
}

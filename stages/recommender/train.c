/* train.c — `recommender train` (placeholder until the trainers land). */
#include <stdio.h>
#include "train.h"

int train_main(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "recommender train: not implemented yet\n");
    return 1;
}

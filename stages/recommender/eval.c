/* eval.c — `recommender eval` (placeholder until the harness lands). */
#include <stdio.h>
#include "eval.h"

int eval_main(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "recommender eval: not implemented yet\n");
    return 1;
}

/* serve.c — serving mode (serve.h). Work in progress: the streaming loop
 * lands in the next commit. */
#include <stdio.h>
#include "serve.h"

int serve_main(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "%s: serving is not built yet\n", argv[0]);
    return 1;
}

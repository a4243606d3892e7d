/* serve.h — the serving mode of `recommender`: Event records in, one
 * Recommendation per user seen out (micro-batched), or a bulk run for a
 * list of users (--users). argv[0] is the program or subcommand name.
 * Returns the exit code (0 ok, 1 runtime failure, 2 usage error). */
#ifndef STREAMREC_REC_SERVE_H
#define STREAMREC_REC_SERVE_H
int serve_main(int argc, char **argv);
#endif

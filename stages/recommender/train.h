/* train.h — `recommender train`: Event records -> model file.
 *
 *   recommender train --in EVENTS --model MODEL.db [--algorithm hybrid]
 *                     [--items CSV --item-map id=movieId,title=title,categories=genres]
 *
 * argv[0] is the subcommand name ("train"); flags follow. Returns the exit
 * code (0 ok, 1 runtime failure, 2 usage error). */
#ifndef STREAMREC_REC_TRAIN_H
#define STREAMREC_REC_TRAIN_H
int train_main(int argc, char **argv);
#endif

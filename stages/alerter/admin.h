/* admin.h — the alerter's two subcommands, which write to the state
 * database of a running (or stopped) alerter: it picks the rows up at its
 * next sync, within a second.
 *   alerter ack FINGERPRINT... --state DB
 *   alerter silence --state DB [--rule NAME] [--label K=V]... --starts TIME --ends TIME
 * Each takes argv from the subcommand's name on and returns the exit
 * status (0, 1; usage errors exit 2). */
#ifndef ALERTER_ADMIN_H
#define ALERTER_ADMIN_H
int al_ack_main(int argc, char **argv);
int al_silence_main(int argc, char **argv);
#endif

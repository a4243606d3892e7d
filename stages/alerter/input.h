/* input.h — what the alerter makes of an input record: read from the
 * verified buffer (the input only verifies: Metrics are read in place,
 * mread.h; other types decoded as stream_in_next would), and refused
 * (dead letter, counted) when the engine cannot use it. */
#ifndef ALERTER_INPUT_H
#define ALERTER_INPUT_H
#include "arena.h"
#include "mread.h"
#include "stream.h"

typedef struct al_input {
    al_mread mr;     /* Metrics */
    arena ar;        /* the other types */
} al_input;

al_input *al_input_new(void);
void al_input_free(al_input *in);
/* Fill rec->as from rec->data (valid until the next call) and note the
 * record's event time in the freshness gauge. */
void al_input_read(al_input *in, stream_rec *rec);
/* The engine's answer er (AL_BAD_VALUE, AL_BAD_TIME, AL_TOO_MANY_LABELS;
 * others refuse nothing) as a reject; bad_rule names the rule of a
 * bad_value. */
void al_input_reject(stream_in *in, const stream_rec *rec, int er, const char *bad_rule);
#endif

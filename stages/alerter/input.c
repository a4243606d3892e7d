/* input.c — reading and refusing input records (input.h). */
#include "input.h"
#include <stdio.h>
#include <stdlib.h>
#include "engine.h"
#include "log.h"

al_input *al_input_new(void)
{
    al_input *in = calloc(1, sizeof *in);
    if (!in) log_fatal("out of memory");
    arena_init(&in->ar, 0);
    return in;
}

void al_input_free(al_input *in)
{
    if (!in) return;
    al_mread_free(&in->mr);
    arena_free(&in->ar);
    free(in);
}

void al_input_read(al_input *in, stream_rec *rec)
{
    if (rec->type == &Metric_desc) {
        if (al_metric_read(&in->mr, rec->data, rec->len, &rec->as.metric) < 0) log_fatal("out of memory");
    } else {
        arena_reset(&in->ar);
        /* as stream_in_next: a Kafka message may be aligned as if size-prefixed */
        if (fbrec_decode(rec->type, rec->data, rec->len, 0, &rec->as, &in->ar, NULL, 0) < 0 &&
            fbrec_decode(rec->type, rec->data, rec->len, 1, &rec->as, &in->ar, NULL, 0) < 0)
            log_fatal("a verified %s record does not decode", fbrec_desc_name(rec->type));
    }
    stream_rec_note_event_time(rec);
}

void al_input_reject(stream_in *in, const stream_rec *rec, int er, const char *bad_rule)
{
    if (er == AL_BAD_VALUE) {
        char detail[300];
        snprintf(detail, sizeof detail, "rule \"%s\": the value it compares is NaN or infinite", bad_rule);
        stream_reject(in, &rec->pos, "bad_value", detail, rec->data, rec->len);
    } else if (er == AL_BAD_TIME) {
        stream_reject(in, &rec->pos, "bad_time", "the record's time is more than 2^61 us from 1970",
                      rec->data, rec->len);
    } else if (er == AL_TOO_MANY_LABELS) {
        char detail[100];
        snprintf(detail, sizeof detail, "more than %d labels", AL_MAX_LABELS - 1);   /* one slot: the series name */
        stream_reject(in, &rec->pos, "too_many_labels", detail, rec->data, rec->len);
    }
}

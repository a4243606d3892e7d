/* resp.h — Redis commands encoded as RESP arrays of bulk strings, and the
 * growable buffer they are built in.
 *
 * A command is built in a pipe slot (rpipe.h: its cmd, cmd_off, nargs):
 * resp_begin leaves room in front, each resp_arg* appends "$len\r\n…\r\n",
 * and resp_end writes "*N\r\n" right-aligned into the room, so the count is
 * the number of arguments given (none to get wrong) and nothing is copied.
 * rpipe_push calls resp_end; a block of several commands (MULTI … EXEC) is
 * built one command at a time with resp_finish_into. The slot is declared
 * here only by name: the encoding needs its three fields, not the pipe. */
#ifndef CACHE_WRITER_RESP_H
#define CACHE_WRITER_RESP_H
#include <stddef.h>
#include <stdint.h>

typedef struct rbuf { char *p; size_t len, cap; } rbuf;
void rbuf_put(rbuf *b, const void *data, size_t len);
void rbuf_reserve(rbuf *b, size_t len);   /* len = 0, room for len bytes */
void rbuf_free(rbuf *b);

struct rpipe_slot;
/* Build a command in a slot: resp_begin, the resp_arg* calls, then
 * rpipe_push, which writes the argument count in front: no count to get wrong. */
void resp_begin(struct rpipe_slot *s);
void resp_arg(struct rpipe_slot *s, const void *data, size_t len);
void resp_arg_str(struct rpipe_slot *s, const char *str);
void resp_arg_i64(struct rpipe_slot *s, int64_t v);
void resp_arg_f64(struct rpipe_slot *s, double v);
/* "*N\r\n" right before the first argument (cmd_off: where it starts). */
void resp_end(struct rpipe_slot *s);
/* One argument, RESP-encoded, onto b (kept for later: resp_append_encoded). */
void resp_encode_arg(rbuf *b, const void *data, size_t len);
/* Append nargs arguments encoded by resp_encode_arg. */
void resp_append_encoded(struct rpipe_slot *dst, const rbuf *args, int nargs);
/* Append the command built in src (resp_begin, resp_arg*) to dst as a
 * complete RESP command, header included: for a block of commands. */
void resp_finish_into(rbuf *dst, struct rpipe_slot *src);
#endif

/* txn.h — what the json layout's checked transactions send (txn.c): a
 * checked group's read (WATCH, MGET) and writes (MULTI … EXEC), the script
 * group's transaction, and what a read back decides for each record.
 * newer.c decides when each goes out; layout_probe (layout.h), also
 * txn.c's, tries both kinds at every connect. */
#ifndef CACHE_WRITER_TXN_H
#define CACHE_WRITER_TXN_H
#include "layout.h"

/* What the read back decides for a record (rpipe_slot.act). */
enum { ACT_WRITE, ACT_SKIP, ACT_CREATE, ACT_SUPERSEDED };

/* The decision for a record whose key's MGET element is e: ACT_CREATE
 * (no string there), ACT_SKIP (what is stored is newer) or ACT_WRITE. */
int txn_read_act(const rpipe_slot *s, const redisReply *e);
/* Each builds a block for the n records in slot[] into blk (in the
 * layout's scratch slot l->batch) and returns the number of replies it
 * gets: a checked group's read, its writes (after its read: sets each
 * slot's reply_at), and a script group's transaction. */
int txn_read_block(layout *l, rbuf *blk, int n, const rpipe_slot *const *slot);
int txn_write_block(layout *l, rbuf *blk, int n, rpipe_slot *const *slot);
int txn_group_block(layout *l, rbuf *blk, int n, const rpipe_slot *const *slot);
#endif

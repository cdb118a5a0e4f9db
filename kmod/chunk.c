// SPDX-License-Identifier: GPL-2.0
/*
 * Chunks of small QoS 0 PUBLISH packets: see chunk.h.
 */

#include "chunk.h"

void kmqtt_chunk_init(struct kmqtt_chunk *c)
{
	c->len = 0;
	c->n = 0;
	c->n_sent = 0;
}

u32 kmqtt_chunk_room(const struct kmqtt_chunk *c)
{
	if (c->n >= KMQTT_CHUNK_PACKETS)
		return 0;
	return KMQTT_CHUNK_DATA - c->len;
}

u8 *kmqtt_chunk_append(struct kmqtt_chunk *c, u32 len, u32 counted)
{
	u8 *at = c->data + c->len;

	c->len += len;
	c->end[c->n] = c->len;
	c->counted[c->n] = counted;
	c->n++;
	return at;
}

u32 kmqtt_chunk_sent(struct kmqtt_chunk *c, u32 sent, u64 *counted)
{
	u16 from = c->n_sent;

	while (c->n_sent < c->n && c->end[c->n_sent] <= sent)
		*counted += c->counted[c->n_sent++];
	return c->n_sent - from;
}

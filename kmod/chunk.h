/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Chunks: small QoS 0 PUBLISH packets to one connection, copied one after
 * another into one buffer that its send queue holds as one entry.  A
 * delivery of its own per packet costs its references, list operations
 * and frees, more than copying a few hundred bytes does
 * (Documentation/performance.rst).  A chunk knows where each packet ends
 * and what it counted against the queue limits, so that a write that
 * ends inside it releases exactly the packets it completed.  Portable, as
 * codec.h: the unit tests build it in userspace.
 */
#ifndef _KMQTT_CHUNK_H
#define _KMQTT_CHUNK_H

#include <linux/types.h>

/*
 * One chunk's allocation, this header included.  Not larger: a packet
 * may have a chunk to itself when what is queued around it is not
 * copied (1 KiB chunks cost 5-10 % more CPU per delivery, 4 KiB ones
 * twice the memory then).
 */
#define KMQTT_CHUNK_SIZE	2048
/* Packets in one chunk, at most: small ones fill it before its bytes. */
#define KMQTT_CHUNK_PACKETS	64
/* Larger packets are queued on their own: a copy of them would cost more. */
#define KMQTT_CHUNK_MAX_PACKET	512

struct kmqtt_chunk {
	u16 len;			/* bytes of packets in @data */
	u16 n;				/* packets in it */
	u16 n_sent;			/* of them, sent whole */
	u16 end[KMQTT_CHUNK_PACKETS];	/* where each ends in @data */
	u32 counted[KMQTT_CHUNK_PACKETS];	/* its bytes, as the limits count */
	u8 data[];
};

#define KMQTT_CHUNK_DATA	(KMQTT_CHUNK_SIZE - sizeof(struct kmqtt_chunk))

void kmqtt_chunk_init(struct kmqtt_chunk *c);

/* The longest packet @c takes now: 0 when it takes none. */
u32 kmqtt_chunk_room(const struct kmqtt_chunk *c);

/*
 * Make room for a packet of @len bytes, at most kmqtt_chunk_room(), that
 * counts @counted bytes against the queue limits; returns where to write
 * it.
 */
u8 *kmqtt_chunk_append(struct kmqtt_chunk *c, u32 len, u32 counted);

/*
 * The first @sent bytes of @c are out: returns how many packets that
 * completed since the last call, and adds the bytes they counted to
 * *@counted.
 */
u32 kmqtt_chunk_sent(struct kmqtt_chunk *c, u32 sent, u64 *counted);

#endif /* _KMQTT_CHUNK_H */

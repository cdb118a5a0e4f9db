// SPDX-License-Identifier: GPL-2.0
/*
 * kmod/chunk.c on random input: chunks filled with packets of random
 * lengths up to what they take, then sent in random pieces, the way a
 * socket short of room takes them; checked against a list of the packets
 * kept aside, which says which are out whole after each piece.
 *
 * KMQTT_SEED=N picks the seed (printed at the start of each test).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/types.h>
#include "chunk.h"

#include "kselftest_harness.h"
#include "rng.h"

#define ROUNDS	20000

struct ref_packet {
	u32 start, len, counted;
};

/* A packet's bytes: its number and its place in it, so none is mixed up. */
static u8 packet_byte(u32 packet, u32 i)
{
	return (u8)(packet * 31 + i);
}

/* Mostly the small packets chunks are for; now and then the edges. */
static u32 packet_len(void)
{
	switch (rnd(8)) {
	case 0:
		return KMQTT_CHUNK_MAX_PACKET;
	case 1:
		return 1 + rnd(KMQTT_CHUNK_MAX_PACKET);
	default:
		return 4 + rnd(60);
	}
}

TEST(random_fills_sent_in_pieces)
{
	struct ref_packet ref[KMQTT_CHUNK_PACKETS + 1];
	struct kmqtt_chunk *c = malloc(KMQTT_CHUNK_SIZE);
	u32 round, i;

	ASSERT_NE(NULL, c);
	ASSERT_GE(KMQTT_CHUNK_DATA, KMQTT_CHUNK_MAX_PACKET);
	rng_seed(_metadata);
	for (round = 0; round < ROUNDS; round++) {
		u32 n = 0, len = 0, sent = 0, out = 0, stop;
		u64 counted_out = 0;

		kmqtt_chunk_init(c);
		/* Filled until a packet does not fit, or it is sent early. */
		stop = rnd(4) ? KMQTT_CHUNK_PACKETS + 1 : 1 + rnd(8);
		while (n < stop) {
			u32 want = packet_len(), room = kmqtt_chunk_room(c);
			u8 *at;

			/* What the chunk says it takes, it can take. */
			ASSERT_EQ(room, n < KMQTT_CHUNK_PACKETS ?
				  KMQTT_CHUNK_DATA - len : 0);
			if (want > room)
				break;
			ref[n] = (struct ref_packet){ len, want, rnd(100000) };
			at = kmqtt_chunk_append(c, want, ref[n].counted);
			ASSERT_EQ(c->data + len, at);
			for (i = 0; i < want; i++)
				at[i] = packet_byte(n, i);
			len += want;
			n++;
		}
		ASSERT_EQ(len, c->len);
		ASSERT_EQ(n, c->n);
		for (i = 0; i < len; i++) {
			u32 p = 0;

			while (ref[p].start + ref[p].len <= i)
				p++;
			ASSERT_EQ(packet_byte(p, i - ref[p].start), c->data[i]);
		}
		/* Pieces of 0 bytes too: a write may take nothing. */
		while (sent < len) {
			u32 whole = 0, done;
			u64 counted = 0, want_counted = 0;

			sent += rnd(3) ? rnd(len - sent + 1) :
				rnd(1 + (len - sent < 8 ? len - sent : 8));
			done = kmqtt_chunk_sent(c, sent, &counted);
			while (out + whole < n &&
			       ref[out + whole].start + ref[out + whole].len <=
			       sent) {
				want_counted += ref[out + whole].counted;
				whole++;
			}
			ASSERT_EQ(whole, done);
			ASSERT_EQ(want_counted, counted);
			out += whole;
			counted_out += counted;
		}
		ASSERT_EQ(n, out);
		for (i = 0; i < n; i++)
			counted_out -= ref[i].counted;
		ASSERT_EQ(0, counted_out);
		/* Nothing is counted twice once all is out. */
		ASSERT_EQ(0, kmqtt_chunk_sent(c, len, &counted_out));
		ASSERT_EQ(0, counted_out);
	}
	free(c);
}

TEST_HARNESS_MAIN

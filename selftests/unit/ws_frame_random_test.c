// SPDX-License-Identifier: GPL-2.0
/*
 * kmod/ws_frame.c on random input: streams of client frames (fragmented
 * messages, control frames between fragments, every length encoding) cut
 * into random pieces and read back in place, the way the module reads
 * them, with the reader handed over mid-frame the way ATTACH hands it;
 * and random headers judged against a naive reading of RFC 6455 5.2.
 *
 * KMQTT_SEED=N picks the seed (printed at the start of each test).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/types.h>
#include "ws_frame.h"

#include "kselftest_harness.h"
#include "rng.h"

/* Lengths on the edges of the three encodings, or small ones. */
static u32 frame_len(bool control)
{
	static const u32 edges[] = { 0, 1, 124, 125, 126, 127, 65535, 65536,
				     70000 };

	if (control)
		return rnd(2) ? rnd(126) : (rnd(2) ? 0 : 125);
	return rnd(4) ? rnd(40) : edges[rnd(sizeof(edges) / sizeof(*edges))];
}

struct stream {
	u8 *wire;		/* the client's frames */
	size_t wire_len;
	u8 *data;		/* what the data frames carry, in order */
	size_t data_len;
	u8 pings[64][KMQTT_WS_CONTROL_MAX];	/* control payloads, in order */
	u8 ping_len[64];
	u8 ping_op[64];
	int pings_n;
};

/* A client's frame of @opcode: masked with a random key. */
static void put_frame(struct stream *s, u8 opcode, bool fin, const u8 *p,
		      u32 len)
{
	u8 *w = s->wire + s->wire_len, key[4];
	u32 i;

	w[0] = (fin ? 0x80 : 0) | opcode;
	if (len < 126) {
		w[1] = 0x80 | len;
		w += 2;
	} else if (len <= 0xffff) {
		w[1] = 0x80 | 126;
		w[2] = len >> 8;
		w[3] = len;
		w += 4;
	} else {
		w[1] = 0x80 | 127;
		for (i = 0; i < 8; i++)
			w[2 + i] = (u64)len >> (56 - 8 * i);
		w += 10;
	}
	for (i = 0; i < 4; i++)
		key[i] = w[i] = rnd(256);
	w += 4;
	for (i = 0; i < len; i++)
		w[i] = p[i] ^ key[i & 3];
	s->wire_len = w + len - s->wire;
}

/* Messages of 1..3 fragments, control frames between some of them. */
static void make_stream(struct stream *s, int messages)
{
	static const u8 controls[] = { KMQTT_WS_OP_PING, KMQTT_WS_OP_PONG };
	u8 buf[70000];
	int m, f, frags;
	u32 len, i;

	memset(s, 0, sizeof(*s));
	s->wire = malloc((size_t)messages * 3 * (70000 + 14 + 125 + 6));
	s->data = malloc((size_t)messages * 3 * 70000);
	for (m = 0; m < messages; m++) {
		frags = 1 + rnd(3);
		for (f = 0; f < frags; f++) {
			len = frame_len(false);
			for (i = 0; i < len; i++)
				buf[i] = rnd(256);
			put_frame(s, f ? KMQTT_WS_OP_CONTINUATION :
				  KMQTT_WS_OP_BINARY, f == frags - 1, buf, len);
			memcpy(s->data + s->data_len, buf, len);
			s->data_len += len;
			if (rnd(3) || s->pings_n == 64)
				continue;
			len = frame_len(true);
			for (i = 0; i < len; i++)
				s->pings[s->pings_n][i] = rnd(256);
			s->ping_len[s->pings_n] = len;
			s->ping_op[s->pings_n] = controls[rnd(2)];
			put_frame(s, s->ping_op[s->pings_n], true,
				  s->pings[s->pings_n], len);
			s->pings_n++;
		}
	}
}

TEST(random_streams_read_back_in_place)
{
	int round, handovers = 0, pieces = 0;

	rng_seed(_metadata);
	for (round = 0; round < 200; round++) {
		struct kmqtt_ws_rx rx = {}, fresh;
		struct stream s;
		size_t off = 0, out = 0;
		int controls = 0;

		make_stream(&s, 1 + rnd(8));
		while (off < s.wire_len) {
			/* One read: unframed in place, as the module does. */
			u32 n = 1 + rnd(rnd(2) ? 16 : 100000), in = 0, o = 0;
			const char *why = NULL;
			u8 *buf = s.wire + off;

			if (n > s.wire_len - off)
				n = s.wire_len - off;
			pieces++;
			for (;;) {
				enum kmqtt_ws_unframed r;

				r = kmqtt_ws_unframe(&rx, buf, n, &in, &o, &why);
				ASSERT_NE(KMQTT_WS_BAD, r) {
					TH_LOG("%s", why);
				}
				if (r == KMQTT_WS_USED_UP)
					break;
				ASSERT_LT(controls, s.pings_n);
				ASSERT_EQ(s.ping_op[controls], rx.opcode);
				ASSERT_EQ(s.ping_len[controls], rx.control_len);
				ASSERT_EQ(0, memcmp(s.pings[controls], rx.control,
						    rx.control_len));
				controls++;
			}
			ASSERT_EQ(n, in);
			/* Moved down to where the data so far ends. */
			memmove(s.wire + out, buf, o);
			out += o;
			off += n;
			/* ATTACH's hand-over: in a data frame or between. */
			if (rnd(4) || rx.hdr_len ||
			    (rx.in_frame && !kmqtt_ws_data(&rx)))
				continue;
			fresh = (struct kmqtt_ws_rx){
				.continued = rx.continued,
				.in_frame = rx.in_frame && rx.left,
				.left = rx.in_frame ? rx.left : 0,
				.opcode = KMQTT_WS_OP_BINARY,
			};
			kmqtt_ws_mask_set(&fresh, kmqtt_ws_mask_get(&rx));
			rx = fresh;
			handovers++;
		}
		/* Data went to the front of the wire buffer, unmasked. */
		ASSERT_EQ(s.data_len, out);
		ASSERT_EQ(0, memcmp(s.data, s.wire, out));
		ASSERT_EQ(s.pings_n, controls);
		ASSERT_FALSE(rx.continued);
		free(s.wire);
		free(s.data);
	}
	ASSERT_GT(handovers, 100);
	ksft_print_msg("%d reads, %d hand-overs\n", pieces, handovers);
}

/* RFC 6455 5.2, 5.4 and 5.5 read naively: is this header acceptable? */
static bool ref_accepts(const u8 *h, bool continued, u64 *len)
{
	u8 op = h[0] & 15, l7 = h[1] & 127;
	bool fin = h[0] >> 7;
	int i;

	*len = l7;
	if (l7 == 126)
		*len = (u64)h[2] << 8 | h[3];
	if (l7 == 127)
		for (*len = 0, i = 0; i < 8; i++)
			*len = *len << 8 | h[2 + i];
	if ((h[0] & 0x70) || !(h[1] & 0x80))
		return false;
	if ((l7 == 126 && *len < 126) ||
	    (l7 == 127 && (*len < 65536 || *len >= 1ULL << 63)))
		return false;
	if (op == 0)
		return continued;
	if (op == 2)
		return !continued;
	if (op == 8 || op == 9 || op == 10)
		return fin && *len <= 125;
	return false;
}

TEST(random_headers_judged_as_the_rfc)
{
	static const u8 edges[] = { 0x00, 0x02, 0x80, 0x82, 0x88, 0x89, 0x8a,
				    0x81, 0x0a, 0xc2, 0x7e, 0x7f, 0xfe, 0xff,
				    0xfd, 0x7d, 0x01 };
	int round, accepted = 0;

	rng_seed(_metadata);
	for (round = 0; round < 200000; round++) {
		struct kmqtt_ws_rx rx = { .continued = rnd(2) };
		bool continued = rx.continued, ok;
		const char *why;
		u8 size;
		u64 len;
		int i;

		for (i = 0; i < KMQTT_WS_RECV_HDR_MAX; i++)
			rx.hdr[i] = rnd(2) ? edges[rnd(sizeof(edges))] :
					     rnd(256);
		rx.hdr_len = 2;
		rx.hdr_len += kmqtt_ws_hdr_missing(&rx);
		ASSERT_EQ(0, kmqtt_ws_hdr_missing(&rx));
		size = rx.hdr_len;
		ok = ref_accepts(rx.hdr, continued, &len);
		why = kmqtt_ws_frame_start(&rx);
		ASSERT_EQ(ok, why == NULL) {
			TH_LOG("%02x %02x continued %d: %s", rx.hdr[0],
			       rx.hdr[1], continued, why ? why : "accepted");
		}
		if (!ok)
			continue;
		accepted++;
		ASSERT_EQ(len, rx.left);
		ASSERT_EQ(0, memcmp(rx.mask, rx.hdr + size - 4, 4));
	}
	ASSERT_GT(accepted, 1000);
}

/* What the server writes, read as a client's header once masked. */
TEST(server_headers_round_trip)
{
	static const u64 lens[] = { 0, 1, 125, 126, 65535, 65536,
				    (1ULL << 63) - 1 };
	size_t i;

	for (i = 0; i < sizeof(lens) / sizeof(*lens); i++) {
		struct kmqtt_ws_rx rx = {};
		size_t n = kmqtt_ws_put_hdr(rx.hdr, KMQTT_WS_OP_BINARY,
					    lens[i]);

		rx.hdr[1] |= 0x80;
		rx.hdr_len = n + 4;
		ASSERT_EQ(0, kmqtt_ws_hdr_missing(&rx));
		ASSERT_EQ(NULL, kmqtt_ws_frame_start(&rx));
		ASSERT_EQ(lens[i], rx.left);
	}
}

/*
 * Every status code a Close may carry, against RFC 6455 7.4 as written:
 * the codes it defines that an endpoint may send, IANA's 1012-1014, and
 * the private ranges.
 */
TEST(close_status_codes)
{
	struct kmqtt_ws_rx rx = { .control_len = 2 };
	u16 code;
	u32 c;

	for (c = 0; c <= 0xffff; c++) {
		bool valid = c == 1000 || c == 1001 || c == 1002 ||
			     c == 1003 || c == 1007 || c == 1008 ||
			     c == 1009 || c == 1010 || c == 1011 ||
			     c == 1012 || c == 1013 || c == 1014 ||
			     (c >= 3000 && c < 5000);

		rx.control[0] = c >> 8;
		rx.control[1] = c & 0xff;
		ASSERT_EQ(valid, !kmqtt_ws_close_status(&rx, &code));
		ASSERT_EQ(c, code);
	}
	/* A reason after the code: any text, in UTF-8 (8.1). */
	memcpy(rx.control, "\x0f\xa0" "bye", 5);
	rx.control_len = 5;
	ASSERT_EQ(NULL, kmqtt_ws_close_status(&rx, &code));
	ASSERT_EQ(4000, code);
	memcpy(rx.control, "\x03\xe8" "\0\xc3\xa9\xf0\x9f\x98\x80", 9);
	rx.control_len = 9;
	ASSERT_EQ(NULL, kmqtt_ws_close_status(&rx, &code));
	ASSERT_EQ(1000, code);
	/* Truncated, a surrogate, overlong, not UTF-8 at all. */
	rx.control_len = 8;
	ASSERT_NE(NULL, kmqtt_ws_close_status(&rx, &code));
	memcpy(rx.control, "\x03\xe8" "\xed\xa0\x80", 5);
	rx.control_len = 5;
	ASSERT_NE(NULL, kmqtt_ws_close_status(&rx, &code));
	memcpy(rx.control, "\x03\xe8" "\xc0\xaf", 4);
	rx.control_len = 4;
	ASSERT_NE(NULL, kmqtt_ws_close_status(&rx, &code));
	memcpy(rx.control, "\x03\xe8" "ok\xff", 5);
	rx.control_len = 5;
	ASSERT_NE(NULL, kmqtt_ws_close_status(&rx, &code));
	rx.control_len = 0;
	ASSERT_EQ(NULL, kmqtt_ws_close_status(&rx, &code));
	ASSERT_EQ(0, code);
	rx.control_len = 1;
	ASSERT_NE(NULL, kmqtt_ws_close_status(&rx, &code));
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * What a subscriber does with a delivery: latency from the stamp, the
 * sequence check against the publisher it came from, and retiring it from
 * that publisher's window.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

int subscriber_init(struct subscriber *s, struct bench *b, uint32_t idx)
{
	s->idx = idx;
	s->npubs = b->plan.sub_npubs[idx];
	s->pubs = b->plan.sub_pubs[idx];
	s->track = calloc(s->npubs ? s->npubs : 1, sizeof(*s->track));
	return s->track ? 0 : -ENOMEM;
}

void subscriber_free(struct subscriber *s)
{
	free(s->track);
}

/*
 * MQTT keeps each publisher's messages in order per subscriber (4.6), so
 * anything but the next number is a gap (the missing ones may still come,
 * "late"), or a duplicate.  The bitmap remembers the last 64 numbers below
 * the next one; anything older is counted as a duplicate.  Returns whether
 * seq is new.
 */
bool track_seq(struct track *t, uint32_t seq)
{
	uint32_t ahead = seq - t->next, back = t->next - 1 - seq;

	if ((int32_t)ahead >= 0) {
		t->seen = ahead + 1 >= 64 ? 1 : t->seen << (ahead + 1) | 1;
		t->next = seq + 1;
		t->received++;
		return true;
	}
	if (back < 64 && !(t->seen & (1ull << back))) {
		t->seen |= 1ull << back;
		t->late++;
		t->received++;
		return true;
	}
	t->dups++;
	return false;
}

static int subscriber_slot(const struct subscriber *s, uint32_t pub)
{
	uint32_t lo = 0, hi = s->npubs;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (s->pubs[mid] == pub)
			return mid;
		if (s->pubs[mid] < pub)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

void subscriber_deliver(struct subscriber *s, struct worker *w,
			const struct mqtt_publish *m, size_t wire_len,
			uint64_t now)
{
	struct stamp stamp;
	int slot;

	if (m->payload_len < STAMP_SIZE) {
		stat_add(w->stats.unexpected, 1);
		return;
	}
	memcpy(&stamp, m->payload, STAMP_SIZE);
	slot = subscriber_slot(s, stamp.pub);
	if (slot < 0) {
		stat_add(w->stats.unexpected, 1);
		return;
	}
	hist_add(&w->hist, now > stamp.sent_ns ? now - stamp.sent_ns : 0);
	stat_add(w->stats.delivered, 1);
	stat_add(w->stats.delivered_bytes, wire_len);
	if (track_seq(&s->track[slot], stamp.seq))
		publisher_retire(w->bench, stamp.pub, stamp.seq, w);
	else
		stat_add(w->stats.dups, 1);
}

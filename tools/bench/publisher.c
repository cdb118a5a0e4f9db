// SPDX-License-Identifier: GPL-2.0
/*
 * A publisher writes stamped PUBLISH frames into its client's send buffer,
 * as many per write() as credit allows.  Credit is the least of:
 *
 * - --count: messages left to send;
 * - --rate: messages due by now at this publisher's share of the rate;
 * - QoS 1/2: free slots of the --inflight window (PUBACK or PUBCOMP free
 *   one; a 5.0 broker's receive maximum may narrow it);
 * - the end-to-end --window: messages sent whose deliveries have not all
 *   arrived yet.  kmqtt-bench is both ends, so it can hold each publisher
 *   to a bounded number of messages inside the broker.  Without it, an
 *   unlimited publisher only measures how fast a broker can drop:
 *   brokers do not push back on publishers when subscribers fall behind.
 *   A message whose deliveries have not all arrived after --loss-timeout
 *   leaves the window anyway (it is counted lost at the end, by sequence).
 *
 * The window is a ring of packed (sequence << 32 | deliveries missing)
 * words.  Subscribers on any worker decrement it (publisher_retire) with
 * compare-and-swap: a late delivery for a slot that has moved on to a
 * newer message is ignored.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define IDS_WORDS	(65536 / 64)

int publisher_init(struct publisher *p, struct bench *b, uint32_t idx)
{
	const struct options *o = &b->opt;

	p->idx = idx;
	p->topic = b->plan.pub_topic[idx];
	p->topic_len = strlen(p->topic);
	p->nsubs = b->plan.pub_nsubs[idx];
	p->count = o->count;
	p->max_inflight = o->inflight;
	p->next_id = 1;
	if (o->qos && !o->limit) {
		p->ids = calloc(IDS_WORDS, sizeof(uint64_t));
		if (!p->ids)
			return -ENOMEM;
	}
	if (o->window && p->nsubs && !o->limit) {
		p->ring = calloc(o->window, sizeof(uint64_t));
		p->ring_ns = calloc(o->window, sizeof(uint64_t));
		if (!p->ring || !p->ring_ns)
			return -ENOMEM;
	}
	return 0;
}

void publisher_free(struct publisher *p)
{
	free(p->ids);
	free(p->ring);
	free(p->ring_ns);
}

void publisher_start(struct publisher *p, uint64_t start_ns)
{
	struct bench *b = p->client->worker->bench;

	p->start_ns = start_ns;
	if (b->opt.rate > 0)
		p->per_ns = b->opt.rate / b->plan.npubs / NSEC_PER_SEC;
}

static bool id_used(const struct publisher *p, uint16_t id)
{
	return p->ids[id / 64] & (1ull << (id % 64));
}

/* The next free packet identifier (1..65535); the window keeps one free. */
static uint16_t publisher_take_id(struct publisher *p)
{
	uint16_t id = p->next_id;

	while (id_used(p, id))
		id = id == 65535 ? 1 : id + 1;
	p->ids[id / 64] |= 1ull << (id % 64);
	p->next_id = id == 65535 ? 1 : id + 1;
	p->inflight++;
	return id;
}

/*
 * PUBACK (QoS 1) and PUBCOMP (QoS 2) end a flow; PUBREC is a step, unless
 * its 5.0 reason code is a failure: then it ends the flow (4.3.3).
 */
int publisher_ack(struct publisher *p, enum mqtt_type type, uint16_t id,
		  uint8_t reason)
{
	struct worker *w = p->client->worker;
	int qos = w->bench->opt.qos;

	if (!p->ids || !id || !id_used(p, id))
		return -1;
	if (type == MQTT_PUBREC ? qos != 2 :
	    type != (qos == 1 ? MQTT_PUBACK : MQTT_PUBCOMP))
		return -1;
	if (type == MQTT_PUBREC && reason < MQTT_RC_FAILURE)
		return 0;
	p->ids[id / 64] &= ~(1ull << (id % 64));
	p->inflight--;
	stat_add(w->stats.completed, 1);
	return 0;
}

/* Moves the window's tail past retired and timed-out messages. */
static void publisher_advance(struct publisher *p, uint64_t now,
			      uint64_t timeout_ns)
{
	uint32_t size = p->client->worker->bench->opt.window;

	while (p->tail < p->sent) {
		uint32_t slot = p->tail % size;
		uint64_t v = __atomic_load_n(&p->ring[slot], __ATOMIC_ACQUIRE);
		uint32_t missing = v & 0xffffffff;

		if (missing && now - p->ring_ns[slot] < timeout_ns)
			break;
		p->timed_out += missing;
		p->tail++;
	}
}

static uint64_t window_credit(struct publisher *p, uint64_t now)
{
	const struct options *o = &p->client->worker->bench->opt;
	uint64_t timeout_ns = o->loss_timeout * NSEC_PER_SEC;

	publisher_advance(p, now, timeout_ns);
	if (p->sent - p->tail < o->window)
		return o->window - (p->sent - p->tail);
	/*
	 * Full: ask to be woken by the subscriber that retires the oldest
	 * message, then look again in case it did so in between.
	 */
	__atomic_store_n(&p->blocked, 1, __ATOMIC_SEQ_CST);
	publisher_advance(p, now, timeout_ns);
	if (p->sent - p->tail < o->window) {
		__atomic_store_n(&p->blocked, 0, __ATOMIC_RELAXED);
		return o->window - (p->sent - p->tail);
	}
	return 0;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t publisher_credit(struct publisher *p, uint64_t now)
{
	const struct options *o = &p->client->worker->bench->opt;
	uint64_t credit = UINT64_MAX, due;

	if (p->count)
		credit = p->count - p->sent;
	if (p->per_ns > 0) {
		due = (uint64_t)((now - p->start_ns) * p->per_ns) + 1;
		credit = min_u64(credit, due > p->sent ? due - p->sent : 0);
	}
	if (o->qos)
		credit = min_u64(credit, p->max_inflight - p->inflight);
	if (p->ring && credit)
		credit = min_u64(credit, window_credit(p, now));
	return credit;
}

static void publisher_put(struct publisher *p, uint8_t *frame, uint64_t now)
{
	const struct options *o = &p->client->worker->bench->opt;
	struct stamp stamp = {
		.sent_ns = now,
		.pub = p->idx,
		.seq = (uint32_t)p->sent,
	};
	uint16_t id = o->qos ? publisher_take_id(p) : 0;
	size_t hdr;

	hdr = mqtt_put_publish_header(frame, SIZE_MAX, p->client->level,
				      p->topic, p->topic_len, o->qos, id,
				      o->payload);
	memcpy(frame + hdr, &stamp, STAMP_SIZE);
	memset(frame + hdr + STAMP_SIZE, 'k', o->payload - STAMP_SIZE);
	if (p->ring) {
		uint32_t slot = p->sent % o->window;

		p->ring_ns[slot] = now;
		__atomic_store_n(&p->ring[slot], (uint64_t)stamp.seq << 32 |
				 p->nsubs, __ATOMIC_RELEASE);
	}
	p->sent++;
}

void publisher_fill(struct publisher *p, uint64_t now)
{
	struct client *c = p->client;
	struct worker *w = c->worker;
	size_t len = mqtt_publish_len(c->level, p->topic_len,
				      w->bench->opt.qos, w->bench->opt.payload);
	uint64_t credit, n = 0;
	uint8_t *frame;

	if (p->done || c->state != CLIENT_READY)
		return;
	credit = publisher_credit(p, now);
	while (n < credit && (frame = buf_reserve(&c->tx, len + ACK_ROOM))) {
		publisher_put(p, frame, now);
		buf_commit(&c->tx, len);
		n++;
	}
	stat_add(w->stats.published, n);
	stat_add(w->stats.published_bytes, n * len);
	stat_add(w->stats.expected, n * p->nsubs);
	if (p->count && p->sent == p->count)
		p->done = true;
}

/*
 * A subscriber got message seq of publisher pub for the first time: one
 * delivery fewer missing.  Wakes the publisher's worker if it waits.
 */
void publisher_retire(struct bench *b, uint32_t pub, uint32_t seq,
		      struct worker *by)
{
	struct publisher *p = &b->pubs[pub];
	uint64_t *word, v;
	uint64_t one = 1;

	if (!p->ring)
		return;
	word = &p->ring[seq % b->opt.window];
	v = __atomic_load_n(word, __ATOMIC_ACQUIRE);
	do {
		if ((v >> 32) != seq || !(v & 0xffffffff))
			return;
	} while (!__atomic_compare_exchange_n(word, &v, v - 1, true,
					      __ATOMIC_ACQ_REL,
					      __ATOMIC_ACQUIRE));
	if ((v & 0xffffffff) != 1 || p->client->worker == by)
		return;
	if (__atomic_exchange_n(&p->blocked, 0, __ATOMIC_SEQ_CST) &&
	    write(p->client->worker->evfd, &one, sizeof(one)) < 0)
		return;
}

/*
 * How long the worker may sleep before this publisher has credit again:
 * -1 for as long as it likes (an event will come), 0 for not at all.
 */
int64_t publisher_wait_ns(struct publisher *p, uint64_t now)
{
	const struct options *o = &p->client->worker->bench->opt;
	const struct buf *tx = &p->client->tx;
	size_t len = mqtt_publish_len(p->client->level, p->topic_len, o->qos,
				      o->payload);
	uint64_t due;

	if (p->done || p->client->state != CLIENT_READY)
		return -1;
	/* A full send buffer: EPOLLOUT wakes the worker. */
	if (tx->cap - (tx->len - tx->head) < len + ACK_ROOM)
		return -1;
	if (o->qos && p->inflight >= p->max_inflight)
		return -1;
	/* The retiring subscriber wakes it; this bounds a lost wakeup. */
	if (p->ring && p->sent - p->tail >= o->window)
		return 10 * 1000 * 1000;
	if (p->per_ns > 0) {
		due = p->start_ns + (uint64_t)((p->sent) / p->per_ns);
		return due > now ? (int64_t)(due - now) : 0;
	}
	return 0;
}

/* SPDX-License-Identifier: GPL-2.0 */
/* Fan-out of application messages to every matching session. */
#ifndef _KMQTT_PUBLISH_H
#define _KMQTT_PUBLISH_H

#include "codec.h"
#include "topic.h"

struct kmqtt_broker;
struct kmqtt_conn;
struct kmqtt_delivery;
struct kmqtt_msg;
struct kmqtt_session;

/*
 * What a publisher brings to each fan-out, kept from one message to the
 * next: the match result, and deliveries allocated ahead (counted against
 * the memory limit), so that the fan-out under RCU allocates nothing.
 */
struct kmqtt_fanout {
	struct kmqtt_match_set set;
	struct kmqtt_delivery **spare;
	u32 n_spare;
	u32 cap_spare;
	struct kmqtt_msg *spare_msg;	/* kmqtt_msg_put_spare()'s */
	u32 last_n;		/* sessions the last message matched */
	/*
	 * The topic @set was last matched for, complete, at the tree's
	 * generation @match_gen and fan-out bound @match_max: the next
	 * message on it is fanned out with @set as it is while both stay.
	 * @match_len is 0 when @set is not to be reused; @match_topic
	 * (@match_cap bytes, charged) is freed with the spares, when the
	 * fan-out is idle (a receive run ends or pauses) or freed.
	 */
	u8 *match_topic;
	u16 match_cap;
	u16 match_len;
	u32 match_max;
	unsigned long match_gen;
	bool match_kept;	/* the last message was fanned out so */
	bool warm;		/* published in this receive run: batch spares */
	size_t refused;		/* bytes the memory limit last refused */
	/*
	 * Why the last retained message was not stored: -EOPNOTSUPP
	 * (RETAIN_AVAILABLE 0), -ENOSPC (a retained limit) or -ENOMEM; 0
	 * when it was.
	 */
	int retain_err;
};

void kmqtt_fanout_free(struct kmqtt_broker *broker, struct kmqtt_fanout *f);
/*
 * A receive run ends (or pauses): its spare deliveries and message go
 * back, and the arrays a large fan-out grew.
 */
void kmqtt_fanout_idle(struct kmqtt_broker *broker, struct kmqtt_fanout *f);

/*
 * A PUBLISH received from @from: fan it out, then store it if retained,
 * under its topic after @prefix (the mount point, or a bridge line's).
 * Returns 0 with the 5.0 reason code of its acknowledgment in *@reason
 * (success, no matching subscribers, not authorized), or when the broker
 * cannot take the message now -ENOSPC (the memory limit refused
 * from->refused bytes: retry when there is room) or -ENOMEM (no memory:
 * retry later).  Then nobody got it: QoS 1/2 must not be acknowledged,
 * QoS 0 is dropped and counted, and 0 returned.
 */
int kmqtt_publish(struct kmqtt_conn *from, const struct kmqtt_publish *pub,
		  const u8 *prefix, u16 prefix_len, u8 *reason);

/*
 * Fan @msg out with @f, published with RETAIN when @retain, by the
 * session @from (NULL: none, as for a will) which its No Local
 * subscriptions do not get it back; process context, may sleep.  Returns
 * 0, -ENOSPC (f->refused bytes refused) or -ENOMEM, with nothing
 * delivered or stored.  f->last_n is then the number of sessions matched,
 * and f->retain_err says whether a retained one was stored.
 */
int kmqtt_publish_msg(struct kmqtt_broker *broker, struct kmqtt_msg *msg,
		      bool retain, struct kmqtt_session *from,
		      struct kmqtt_fanout *f);

#endif /* _KMQTT_PUBLISH_H */

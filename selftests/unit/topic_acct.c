// SPDX-License-Identifier: GPL-2.0
/* The test accountant of topic trees (topic_acct.h). */
#include <assert.h>

#include "topic_acct.h"

size_t topic_acct_bytes;
unsigned long topic_acct_fail_countdown;

static bool topic_acct_charge(struct kmqtt_topic_tree *tree, size_t size)
{
	(void)tree;
	if (topic_acct_fail_countdown && !--topic_acct_fail_countdown)
		return false;
	topic_acct_bytes += size;
	return true;
}

static void topic_acct_uncharge(struct kmqtt_topic_tree *tree, size_t size)
{
	(void)tree;
	/* Never more than was charged: that would hide a leak elsewhere. */
	assert(size <= topic_acct_bytes);
	topic_acct_bytes -= size;
}

const struct kmqtt_topic_acct topic_acct = {
	.charge = topic_acct_charge,
	.uncharge = topic_acct_uncharge,
};

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A memory accountant for topic trees under test, standing in for the
 * broker's memory limit: it sums what a tree charged and can refuse a
 * charge on demand.  Single-threaded, like the shims.
 */
#ifndef _KMQTT_TOPIC_ACCT_H
#define _KMQTT_TOPIC_ACCT_H

#include <linux/types.h>
#include "topic.h"

extern const struct kmqtt_topic_acct topic_acct;

/* Bytes charged and not given back, by every tree using topic_acct. */
extern size_t topic_acct_bytes;

/* When non-zero, counted down by each charge; the one reaching 0 fails. */
extern unsigned long topic_acct_fail_countdown;

#endif

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The oracle for the topic trie: a deliberately naive matcher written from
 * the rules of MQTT 3.1.1 section 4.7, one level at a time.
 */
#ifndef _KMQTT_REF_MATCH_H
#define _KMQTT_REF_MATCH_H

#include <stdbool.h>
#include <stddef.h>

/* Does the (valid) topic filter @filter match the topic name @topic? */
bool ref_match(const char *filter, size_t filter_len,
	       const char *topic, size_t topic_len);

#endif

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Mosquitto ACL files (acl_file), compiled per client into an ordered
 * rule list that kmqtt.ko enforces (kmqtt_acl_allows() in kmod/acl.c).
 *
 * The file, as mosquitto 2.0 reads it:
 *	# comment            ('#' as the first character of a line)
 *	topic [read|write|readwrite|deny] FILTER
 *	pattern [read|write|readwrite|deny] FILTER
 *	user NAME
 * The access defaults to readwrite; a single word after topic/pattern is
 * the filter even when it reads "read".  FILTER is everything after the
 * access word and may contain spaces.  Topic lines before any user line
 * form the anonymous list, which applies to clients without a username
 * only; those after "user NAME" apply to that username only (a name given
 * twice collects both sections).  Pattern lines apply to every client,
 * wherever they are; in them a level that is exactly %c or %u stands for
 * the client id or the username (the documented rule: %c inside a longer
 * level is literal), and a pattern with %u does not apply to clients
 * without a username.
 *
 * The decision (mosquitto 2.0, src/security_default.c):
 *  1. The client's list (its user's, or the anonymous list) is walked,
 *     deny rules first: a matching deny refuses; a matching rule that
 *     grants the access asked for allows.
 *  2. Then the patterns, deny first, the same way.  If the username or
 *     client id contains '+' or '#' (mosquitto 2.0) or '/' (mosquitto 2.1;
 *     it would let "alice/x" reach into alice's subtree), no pattern
 *     applies at all.
 *  3. Nothing matched: refused.  An ACL file without rules refuses all.
 * Wildcards at the first level do not match topics starting with '$'
 * (MQTT-4.7.2-1).  Mosquitto checks write access on PUBLISH and read
 * access for each message delivered.  kmqtt.ko does the same and, unlike
 * mosquitto 2.0, also refuses a SUBSCRIBE (return code 0x80) whose filter
 * no read rule overlaps or a deny rule covers (Documentation/security.rst).
 *
 * acl_compile() flattens 1 and 2 into one ordered list, which kmqttd
 * sends with ATTACH (at most KMQTT_ACL_MAX_RULES rules); kmqtt.ko takes
 * the first rule whose filter matches and that either denies or grants
 * the access asked for.  Filters are checked with the module's own
 * kmqtt_topic_filter_valid() (kmod/topic.c, linked into kmqttd).
 */
#ifndef KMQTTD_ACL_H
#define KMQTTD_ACL_H

#include <stddef.h>
#include <stdint.h>

#include "kmqtt_nl.h"	/* struct acl_rules: what ATTACH and SET_ACL send */

struct acl;

/*
 * Load @path.  Returns NULL with @err set, "PATH:LINE: what is wrong" for
 * a malformed line.
 */
struct acl *acl_load(const char *path, char *err, size_t errlen);
void acl_free(struct acl *acl);

/*
 * The rules for a client with @client_id and @username (NULL: none, i.e.
 * anonymous).  Returns 0 or -ENOMEM; free @out with acl_rules_free().
 */
int acl_compile(const struct acl *acl, const char *client_id,
		const char *username, struct acl_rules *out);
void acl_rules_free(struct acl_rules *rules);

#endif /* KMQTTD_ACL_H */

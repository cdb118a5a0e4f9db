// SPDX-License-Identifier: GPL-2.0
/*
 * agent/acl.c: acl_load() on the input as an ACL file, acl_compile() for
 * one client, then the compiled rules handed to the module's kmod/acl.c
 * the way ATTACH hands them over (agent/test_acl_kmod.c).
 *
 * Checked: a failed load says where; every compiled rule is a valid filter
 * with a valid access that the module accepts; kmqtt_topic_filter_matches()
 * agrees with the reference matcher (selftests/unit/ref_match.c) on each
 * rule; kmqtt_acl_allows() grants nothing that no matching rule grants
 * (fuzz_acl_kernel checks its decisions in full).  Topics tried: those in
 * the input and one matched by each rule.
 *
 * Input: NUL-separated parts: the file, the client id ("client" when
 * absent), the username (none when absent), topics one per line.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/types.h>
#include <linux/kmqtt.h>
#include "agent/acl.h"
#include "agent/test_acl_kmod.h"
#include "kmod/acl.h"
#include "kmod/topic.h"
#include "ref_match.h"

#include "fuzz.h"

static void check_topic(const struct acl_rules *rules,
			const struct kmqtt_acl *kacl, const char *topic)
{
	size_t len = strlen(topic), i;
	u8 granted = 0;		/* accesses some matching rule grants */

	if (!kmqtt_topic_name_valid((const u8 *)topic, len))
		return;
	for (i = 0; i < rules->count; i++) {
		const struct acl_rule *r = &rules->rule[i];
		size_t flen = strlen(r->filter);
		bool match = ref_match(r->filter, flen, topic, len);

		FUZZ_CHECK(kmqtt_topic_filter_matches((const u8 *)r->filter,
						      flen, (const u8 *)topic,
						      len) == match);
		if (match && r->access != KMQTT_ACL_DENY)
			granted |= r->access;
	}
	if (!kacl)
		return;
	FUZZ_CHECK(!kmqtt_acl_allows(kacl, (const u8 *)topic, len,
				     KMQTT_ACL_READ) ||
		   (granted & KMQTT_ACL_READ));
	FUZZ_CHECK(!kmqtt_acl_allows(kacl, (const u8 *)topic, len,
				     KMQTT_ACL_WRITE) ||
		   (granted & KMQTT_ACL_WRITE));
}

/* A topic @filter matches: each '+' and '#' level becomes "x". */
static char *topic_of(const char *filter)
{
	char *t = strdup(filter), *p;

	if (!t)
		abort();
	for (p = t; *p; p++)
		if (*p == '+' || *p == '#')
			*p = 'x';
	return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_part(data, size, 0);
	char *client_id = fuzz_part(data, size, 1);
	char *username = fuzz_part(data, size, 2);
	char *topics = fuzz_part(data, size, 3), *t, *save = NULL;
	const char *path = fuzz_write_file("acl", text, strlen(text));
	struct acl_rules rules;
	struct kmqtt_acl *kacl;
	struct acl *acl;
	char err[512];
	size_t i;

	err[0] = '\0';
	acl = acl_load(path, err, sizeof(err));
	if (!acl) {
		FUZZ_CHECK(!strncmp(err, path, strlen(path)));
		goto out;
	}
	FUZZ_CHECK(!acl_compile(acl, client_id ? client_id : "client",
				username, &rules));
	for (i = 0; i < rules.count; i++) {
		const struct acl_rule *r = &rules.rule[i];

		FUZZ_CHECK(kmqtt_topic_filter_valid((const u8 *)r->filter,
						    strlen(r->filter)));
		FUZZ_CHECK(r->access == KMQTT_ACL_DENY ||
			   (r->access && !(r->access & ~(KMQTT_ACL_READ |
							 KMQTT_ACL_WRITE))));
	}
	kacl = test_acl_to_module(&rules);
	FUZZ_CHECK(!kacl == (rules.count > KMQTT_ACL_MAX_RULES));
	for (t = topics ? strtok_r(topics, "\n", &save) : NULL; t;
	     t = strtok_r(NULL, "\n", &save))
		check_topic(&rules, kacl, t);
	for (i = 0; i < rules.count; i++) {
		t = topic_of(rules.rule[i].filter);
		check_topic(&rules, kacl, t);
		free(t);
	}
	kmqtt_acl_free(kacl);
	acl_rules_free(&rules);
	acl_free(acl);
out:
	free(text);
	free(client_id);
	free(username);
	free(topics);
	return 0;
}

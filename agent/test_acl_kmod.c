// SPDX-License-Identifier: GPL-2.0
#include <stdint.h>
#include <string.h>

#include "acl.h"
#include "test_acl_kmod.h"
#include "kmod/acl.h"

struct kmqtt_acl *test_acl_to_module(const struct acl_rules *rules)
{
	struct kmqtt_acl *kacl;
	size_t bytes = 0, i;

	for (i = 0; i < rules->count; i++)
		bytes += strlen(rules->rule[i].filter);
	kacl = kmqtt_acl_alloc(rules->count, bytes);
	for (i = 0; kacl && i < rules->count; i++) {
		const struct acl_rule *r = &rules->rule[i];
		size_t len = strlen(r->filter);

		if (len > UINT16_MAX ||
		    kmqtt_acl_add(kacl, (const u8 *)r->filter, len, r->access)) {
			kmqtt_acl_free(kacl);
			return NULL;
		}
	}
	return kacl;
}

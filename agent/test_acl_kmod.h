/* SPDX-License-Identifier: GPL-2.0 */
/*
 * For the tests of agent/acl.c (test_acl, selftests/fuzz/acl_file.c): a
 * client's compiled rules loaded into kmod/acl.c, built in userspace, the
 * way kmod/netlink.c loads the rules an ATTACH carries.
 */
#ifndef KMQTTD_TEST_ACL_KMOD_H
#define KMQTTD_TEST_ACL_KMOD_H

struct acl_rules;
struct kmqtt_acl;

/*
 * NULL when the module refuses the list (too many rules) or one of its
 * rules; free with kmqtt_acl_free().
 */
struct kmqtt_acl *test_acl_to_module(const struct acl_rules *rules);

#endif /* KMQTTD_TEST_ACL_KMOD_H */

/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace stand-in for the kernel's linux/rculist.h, single-threaded. */
#ifndef _TOOLS_LINUX_RCULIST_H
#define _TOOLS_LINUX_RCULIST_H

#include <linux/list.h>
#include <linux/rcupdate.h>

#define hlist_add_head_rcu	hlist_add_head
#define hlist_first_rcu(head)	((head)->first)
#define hlist_next_rcu(node)	((node)->next)

/* Unlike hlist_del(), ->next stays valid for readers still on the entry. */
static inline void hlist_del_rcu(struct hlist_node *n)
{
	__hlist_del(n);
	n->pprev = LIST_POISON2;
}

/* The optional lockdep condition is only checked in the kernel. */
#define hlist_for_each_entry_rcu(pos, head, member, cond...) \
	hlist_for_each_entry(pos, head, member)

#endif

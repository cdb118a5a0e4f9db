/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace stand-in for the kernel's linux/rcupdate.h, single-threaded:
 * there are no concurrent readers, so read sections are empty and a grace
 * period is over at once.
 */
#ifndef _TOOLS_LINUX_RCUPDATE_H
#define _TOOLS_LINUX_RCUPDATE_H

#include <linux/compiler.h>
#include <linux/slab.h>

#define rcu_read_lock()		do { } while (0)
#define rcu_read_unlock()	do { } while (0)
#define synchronize_rcu()	do { } while (0)

#define rcu_dereference(p)			READ_ONCE(p)
#define rcu_dereference_raw(p)			READ_ONCE(p)
#define rcu_dereference_protected(p, c)		((void)(c), (p))
#define rcu_access_pointer(p)			READ_ONCE(p)
#define rcu_assign_pointer(p, v)		WRITE_ONCE(p, v)
#define RCU_INIT_POINTER(p, v)			((p) = (v))

#define kfree_rcu(ptr, rhf)	kfree(ptr)
#define kvfree_rcu(ptr, rhf)	kvfree(ptr)

#endif

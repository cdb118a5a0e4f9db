/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace stand-in for the kernel's linux/mm.h: there is no vmalloc. */
#ifndef _TOOLS_LINUX_MM_H
#define _TOOLS_LINUX_MM_H

#include <linux/types.h>

static inline bool is_vmalloc_addr(const void *p)
{
	(void)p;
	return false;
}

#endif

/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace stand-in for the kernel's linux/gfp.h: flags are ignored. */
#ifndef _TOOLS_LINUX_GFP_H
#define _TOOLS_LINUX_GFP_H

#include <linux/types.h>

#define __GFP_NOWARN	0x01u
#define GFP_KERNEL	0x10u
#define GFP_ATOMIC	0x20u
#define GFP_NOWAIT	0x40u

static inline bool gfpflags_allow_blocking(gfp_t flags)
{
	return flags & GFP_KERNEL;
}

#endif

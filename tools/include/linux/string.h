/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace stand-in for the kernel's linux/string.h: libc has it all.  The
 * kernel's includes linux/errno.h, which code relies on.
 */
#ifndef _TOOLS_LINUX_STRING_H
#define _TOOLS_LINUX_STRING_H

#include <string.h>
#include <linux/errno.h>

#endif

/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace stand-in for the kernel's linux/string.h: libc has it all. */
#ifndef _TOOLS_LINUX_STRING_H
#define _TOOLS_LINUX_STRING_H

#include <string.h>

#endif

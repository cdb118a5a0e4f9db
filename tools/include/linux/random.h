/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace stand-in for the kernel's linux/random.h. */
#ifndef _TOOLS_LINUX_RANDOM_H
#define _TOOLS_LINUX_RANDOM_H

#include <stdlib.h>
#include <sys/random.h>

static inline void get_random_bytes(void *buf, size_t len)
{
	if (getrandom(buf, len, 0) != (ssize_t)len)
		abort();
}

#endif

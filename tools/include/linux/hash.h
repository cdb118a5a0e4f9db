/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace stand-in for the kernel's linux/hash.h: multiplicative hashing. */
#ifndef _TOOLS_LINUX_HASH_H
#define _TOOLS_LINUX_HASH_H

#include <linux/types.h>

#define GOLDEN_RATIO_64	0x61C8864680B583EBull

static inline u32 hash_64(u64 val, unsigned int bits)
{
	return val * GOLDEN_RATIO_64 >> (64 - bits);
}

static inline u32 hash_ptr(const void *ptr, unsigned int bits)
{
	return hash_64((uintptr_t)ptr, bits);
}

#endif

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace stand-in for the kernel's linux/overflow.h (the parts used):
 * sizes that saturate at SIZE_MAX instead of wrapping, so an overflowing
 * request fails to allocate.
 */
#ifndef _TOOLS_LINUX_OVERFLOW_H
#define _TOOLS_LINUX_OVERFLOW_H

#include <stddef.h>
#include <stdint.h>

static inline size_t size_mul(size_t a, size_t b)
{
	size_t r;

	return __builtin_mul_overflow(a, b, &r) ? SIZE_MAX : r;
}

static inline size_t size_add(size_t a, size_t b)
{
	size_t r;

	return __builtin_add_overflow(a, b, &r) ? SIZE_MAX : r;
}

/* Bytes of *@p with @count elements of its flexible array @member. */
#define struct_size(p, member, count) \
	size_add(sizeof(*(p)), size_mul(sizeof(*(p)->member), (count)))

#endif

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace stand-in for the kernel's linux/slab.h: libc malloc, plus a
 * fault injection knob so tests can make the Nth allocation fail.
 */
#ifndef _TOOLS_LINUX_SLAB_H
#define _TOOLS_LINUX_SLAB_H

#include <stdint.h>
#include <stdlib.h>
#include <linux/gfp.h>
#include <linux/overflow.h>
#include <linux/types.h>

/*
 * When non-zero, every allocation counts it down and the one that brings it
 * to zero fails.  Weak so that each test program gets one copy.
 */
__attribute__((weak)) unsigned long shim_alloc_fail_countdown;

static inline bool shim_alloc_fails(void)
{
	return shim_alloc_fail_countdown && !--shim_alloc_fail_countdown;
}

static inline void *kmalloc(size_t size, gfp_t gfp)
{
	(void)gfp;
	return shim_alloc_fails() ? NULL : malloc(size);
}

static inline void *kzalloc(size_t size, gfp_t gfp)
{
	(void)gfp;
	return shim_alloc_fails() ? NULL : calloc(1, size);
}

static inline void *krealloc(void *p, size_t size, gfp_t gfp)
{
	(void)gfp;
	return shim_alloc_fails() ? NULL : realloc(p, size);
}

static inline void *krealloc_array(void *p, size_t n, size_t size, gfp_t gfp)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	return krealloc(p, n * size, gfp);
}

static inline void kfree(const void *p)
{
	free((void *)p);
}

static inline void *kvcalloc(size_t n, size_t size, gfp_t gfp)
{
	(void)gfp;
	return shim_alloc_fails() ? NULL : calloc(n, size);
}

#define kvmalloc	kmalloc
#define kvzalloc	kzalloc
#define kvfree		kfree

#endif

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace stand-in for the kernel's linux/errno.h: the uapi header has the
 * same values.  glibc's <errno.h> includes <linux/errno.h> too, hence no
 * guard of our own and nothing but the include_next.
 */
#include_next <linux/errno.h>

/* SPDX-License-Identifier: GPL-2.0 */
/* The kernel's own files (sysfs, debugfs) from tests: one value each. */
#ifndef KMQTT_TEST_KFILE_H
#define KMQTT_TEST_KFILE_H

#include <stddef.h>

/* Write value to path in one write(): 0 or -errno. */
int kfile_write(const char *path, const char *value);
/* Read the start of path into buf, NUL-terminated: 0 or -errno. */
int kfile_read(const char *path, char *buf, size_t size);

#endif

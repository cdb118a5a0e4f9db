/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel log as a test result: records written since kmsg_open() that
 * report a kernel problem (the patterns tools/vm/init fails a run on),
 * so the test that caused one says so itself.
 */
#ifndef KMQTT_TEST_KMSG_H
#define KMQTT_TEST_KMSG_H

/* An fd on /dev/kmsg positioned at its end, or -errno. */
int kmsg_open(void);
/* Problem records since kmsg_open(), printed as TAP comments; closes fd. */
int kmsg_problems(int fd);

#endif

/* SPDX-License-Identifier: GPL-2.0 */
/* The tests' TCP clients of servers on 127.0.0.1. */
#ifndef KMQTTD_TEST_LOOPBACK_H
#define KMQTTD_TEST_LOOPBACK_H

#include <stdint.h>

/*
 * A socket of @type (SOCK_STREAM, with SOCK_NONBLOCK or not) connected,
 * or connecting, to 127.0.0.1:@port; -1 on failure.
 */
int test_loopback_connect(uint16_t port, int type);

#endif /* KMQTTD_TEST_LOOPBACK_H */

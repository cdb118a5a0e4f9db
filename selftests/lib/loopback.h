/* SPDX-License-Identifier: GPL-2.0 */
/* TCP sockets on 127.0.0.1 for tests: every peer of a test lives here. */
#ifndef KMQTT_TEST_LOOPBACK_H
#define KMQTT_TEST_LOOPBACK_H

#include <stdint.h>

/* Listen on 127.0.0.1:*port; a zero *port is replaced by the one chosen. */
int loopback_listen(uint16_t *port);
/* Connect within timeout_ms; returns the fd or -errno. */
int loopback_connect(uint16_t port, int timeout_ms);
/* Same with a socket made by the caller (options set before connect). */
int loopback_connect_fd(int fd, uint16_t port, int timeout_ms);
/* Accept one connection within timeout_ms; returns the fd or -errno. */
int loopback_accept(int listen_fd, int timeout_ms);
/* Close with RST instead of FIN (SO_LINGER {1, 0}). */
void loopback_reset(int fd);
/* A port nothing listens on right now, for a server started later. */
int loopback_free_port(uint16_t *port);

#endif

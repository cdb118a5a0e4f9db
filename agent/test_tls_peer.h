/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Both ends of a TLS connection for the tests of tls.c: an OpenSSL client
 * in a thread, and helpers that drive the server side (tls.c on a
 * non-blocking socket) with poll() as the agent does with epoll.
 */
#ifndef KMQTTD_TEST_TLS_PEER_H
#define KMQTTD_TEST_TLS_PEER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tls.h"

/* How long any step may wait for the other side. */
#define TLS_TEST_TIMEOUT_MS	20000
#define TLS_TEST_RECORDS_MAX	8
#define TLS_TEST_REPLY_MAX	512

struct tls_test_client {
	/* Set by the caller. */
	uint16_t port;
	int version;		/* TLS1_2_VERSION, TLS1_3_VERSION, 0: any */
	const char *ciphers;	/* cipher list (1.2) or suites (1.3), or NULL */
	const char *cafile;	/* verify the server with it, or NULL */
	const char *certfile, *keyfile;	/* client certificate, or NULL */
	bool key_update;	/* TLS 1.3 KeyUpdate before the records */
	/* Sent one SSL_write (one record) each, NULL-terminated. */
	const char *records[TLS_TEST_RECORDS_MAX];
	size_t expect;		/* then read this many bytes */
	const char *records_after[TLS_TEST_RECORDS_MAX];	/* then send */
	bool close_notify;	/* then send close_notify (SSL_shutdown()) */

	/* Results, valid after tls_test_client_join(). */
	bool connected;		/* SSL_connect() succeeded */
	bool sent;		/* every record was written */
	uint8_t reply[TLS_TEST_REPLY_MAX];
	size_t reply_len;	/* == expect when all came */
	char error[256];

	pthread_t thread;
};

/*
 * Start the client on 127.0.0.1:@tc->port.  After its last record it reads
 * until the server closes, so that nothing is lost before the server read
 * it.  Returns 0 or -1.
 */
int tls_test_client_start(struct tls_test_client *tc);
void tls_test_client_join(struct tls_test_client *tc);

/* Paths in $KMQTT_TEST_CERTS (made by selftests/certs/mkcerts.sh). */
const char *tls_test_cert(const char *name);

/* A listening socket on 127.0.0.1 and its port; -1 on failure. */
int tls_test_listen(uint16_t *port);
/* Accept one connection, non-blocking as the agent's; -1 on failure. */
int tls_test_accept(int lfd);

/* Drive the handshake to its end (TLS_WANT_* only on timeout). */
enum tls_status tls_test_handshake(struct tls_conn *c, int fd);

/* Read exactly @n bytes, each call asking for no more than is missing. */
enum tls_status tls_test_read(struct tls_conn *c, int fd, void *buf,
			      size_t n);

/* Read exactly @n raw bytes from the socket; 0 or -1 (timeout, EOF). */
int tls_test_recv(int fd, void *buf, size_t n);

/* Wait until @fd is readable (@events POLLIN) or writable; false: timeout. */
bool tls_test_wait(int fd, short events);

#endif /* KMQTTD_TEST_TLS_PEER_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The client's side of SCRAM-SHA-256 for the tests (test_scram.c,
 * test_listener.c), written from RFC 5802 section 3 on its own: what the
 * server side is tested against.
 */
#ifndef KMQTTD_TEST_SCRAM_CLIENT_H
#define KMQTTD_TEST_SCRAM_CLIENT_H

#include <stddef.h>

/*
 * The client-final message ("c=biws,r=...,p=...") of a client that sent
 * @client_first_bare with @password, for @server_first (@len bytes),
 * into @out (@size bytes; empty when it does not fit).
 */
void scram_client_final(const char *password, const char *client_first_bare,
			const char *server_first, size_t len, char *out,
			size_t size);

#endif /* KMQTTD_TEST_SCRAM_CLIENT_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * SCRAM-SHA-256 (RFC 5802, RFC 7677) as an enhanced authentication
 * method, server side, without channel binding: the client-first message
 * in CONNECT's Authentication Data, server-first in AUTH, client-final
 * in the client's AUTH, server-final in CONNACK.  The server keeps a
 * salt, an iteration count, StoredKey and ServerKey per user
 * (scram_file.h), never the password.  User names and passwords are
 * taken as their bytes: no SASLprep.
 */
#ifndef KMQTTD_SCRAM_H
#define KMQTTD_SCRAM_H

#include <stddef.h>
#include <stdint.h>

#include "auth_method.h"

#define SCRAM_KEY_LEN		32	/* SHA-256 */
#define SCRAM_SALT_MAX		64
/* RFC 7677: at least 4096; more makes each login of the user cost more. */
#define SCRAM_ITERATIONS_MIN	4096
#define SCRAM_ITERATIONS_MAX	10000000
/* The longest client message taken. */
#define SCRAM_MESSAGE_MAX	1024

/* What the server keeps of a password (RFC 5802 3). */
struct scram_secret {
	uint32_t iterations;
	uint8_t salt[SCRAM_SALT_MAX];
	size_t salt_len;
	uint8_t stored_key[SCRAM_KEY_LEN];
	uint8_t server_key[SCRAM_KEY_LEN];
};

struct scram_file;
struct scram_exchange;

/* The method; its config is a struct scram_file. */
extern const struct auth_method scram_sha256_method;

/*
 * The secret of @password (@len bytes) with @salt and @iterations into
 * @out.  Returns 0, or -1 when OpenSSL fails.
 */
int scram_derive(const uint8_t *password, size_t len, const uint8_t *salt,
		 size_t salt_len, uint32_t iterations,
		 struct scram_secret *out);

/*
 * The steps of the method with the server's nonce given, for tests:
 * start() is scram_first() with a random one.  scram_first() answers the
 * client-first message @msg for the users of @f and returns the exchange
 * (NULL when out of memory, with @res failed).
 */
struct scram_exchange *scram_first(const struct scram_file *f,
				   const uint8_t *msg, size_t len,
				   const char *server_nonce,
				   struct auth_method_result *res);
void scram_final(struct scram_exchange *x, const uint8_t *msg, size_t len,
		 struct auth_method_result *res);
void scram_end(struct scram_exchange *x);

#endif /* KMQTTD_SCRAM_H */

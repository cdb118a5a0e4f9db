/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kmqtt-bench --tls: the client side of TLS with OpenSSL.  tls.c makes
 * the one SSL_CTX all clients share and the BIO that puts each client's
 * SSL on its non-blocking socket; client.c drives the handshake and
 * reads and writes through SSL_read()/SSL_write().
 */
#ifndef BENCH_TLS_H
#define BENCH_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

struct client;
struct options;

int tls_parse_version(const char *arg, int *version);
bool tls_host_is_ip(const char *host);

SSL_CTX *tls_ctx_new(const struct options *o, size_t read_buffer,
		     char *err, size_t size);
void tls_ctx_free(SSL_CTX *ctx);
SSL *tls_client_new(SSL_CTX *ctx, struct client *c, const char *host);
const char *tls_error(SSL *ssl, int ret, char *buf, size_t size);

#endif

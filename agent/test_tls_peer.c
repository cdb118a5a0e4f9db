// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "test_tls_peer.h"

const char *tls_test_cert(const char *name)
{
	static char paths[8][PATH_MAX];
	static unsigned int next;
	const char *dir = getenv("KMQTT_TEST_CERTS");
	char *p = paths[next++ % 8];

	if (!dir) {
		fprintf(stderr, "KMQTT_TEST_CERTS is not set: run selftests/certs/mkcerts.sh DIR and set it to DIR\n");
		exit(1);
	}
	snprintf(p, PATH_MAX, "%s/%s", dir, name);
	return p;
}

static void client_error(struct tls_test_client *tc, const char *what)
{
	unsigned long e = ERR_get_error();

	snprintf(tc->error, sizeof(tc->error), "%s: %s", what,
		 e ? ERR_reason_error_string(e) : strerror(errno));
}

static SSL_CTX *client_ctx(struct tls_test_client *tc)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx)
		return NULL;
	if (tc->version && (!SSL_CTX_set_min_proto_version(ctx, tc->version) ||
			    !SSL_CTX_set_max_proto_version(ctx, tc->version)))
		goto fail;
	if (tc->ciphers && tc->version == TLS1_3_VERSION &&
	    !SSL_CTX_set_ciphersuites(ctx, tc->ciphers))
		goto fail;
	if (tc->ciphers && tc->version != TLS1_3_VERSION &&
	    !SSL_CTX_set_cipher_list(ctx, tc->ciphers))
		goto fail;
	if (tc->cafile) {
		if (SSL_CTX_load_verify_locations(ctx, tc->cafile, NULL) != 1)
			goto fail;
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	}
	if (tc->certfile &&
	    (SSL_CTX_use_certificate_file(ctx, tc->certfile,
					  SSL_FILETYPE_PEM) != 1 ||
	     SSL_CTX_use_PrivateKey_file(ctx, tc->keyfile,
					 SSL_FILETYPE_PEM) != 1))
		goto fail;
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

static bool client_send(struct tls_test_client *tc, SSL *ssl,
			const char *const *records)
{
	size_t done;
	int i;

	for (i = 0; i < TLS_TEST_RECORDS_MAX && records[i]; i++) {
		if (SSL_write_ex(ssl, records[i], strlen(records[i]),
				 &done) != 1) {
			client_error(tc, "SSL_write");
			return false;
		}
	}
	return true;
}

static void *client_run(void *arg)
{
	struct tls_test_client *tc = arg;
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons(tc->port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	struct timeval tv = { .tv_sec = TLS_TEST_TIMEOUT_MS / 1000 };
	uint8_t sink[256];
	SSL_CTX *ctx;
	SSL *ssl = NULL;
	size_t got;
	int fd;

	ctx = client_ctx(tc);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (!ctx || fd < 0) {
		client_error(tc, "client setup");
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		client_error(tc, "connect");
		goto out;
	}
	ssl = SSL_new(ctx);
	if (!ssl || !SSL_set_fd(ssl, fd) ||
	    !SSL_set_tlsext_host_name(ssl, "localhost")) {
		client_error(tc, "SSL_new");
		goto out;
	}
	if (SSL_connect(ssl) != 1) {
		client_error(tc, "SSL_connect");
		goto out;
	}
	tc->connected = true;
	if (tc->key_update && SSL_key_update(ssl, SSL_KEY_UPDATE_NOT_REQUESTED) != 1) {
		client_error(tc, "SSL_key_update");
		goto out;
	}
	if (!client_send(tc, ssl, tc->records))
		goto out;
	while (tc->reply_len < tc->expect &&
	       SSL_read_ex(ssl, tc->reply + tc->reply_len,
			   tc->expect - tc->reply_len, &got) == 1)
		tc->reply_len += got;
	if (!client_send(tc, ssl, tc->records_after))
		goto out;
	if (tc->close_notify && SSL_shutdown(ssl) < 0) {
		client_error(tc, "SSL_shutdown");
		goto out;
	}
	tc->sent = true;
	/* Until the server closes: it may still read what was sent. */
	while (SSL_read_ex(ssl, sink, sizeof(sink), &got) == 1)
		;
out:
	ERR_clear_error();
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	if (fd >= 0)
		close(fd);
	return NULL;
}

int tls_test_client_start(struct tls_test_client *tc)
{
	/* As kmqttd: OpenSSL writes with write(), not MSG_NOSIGNAL. */
	signal(SIGPIPE, SIG_IGN);
	return pthread_create(&tc->thread, NULL, client_run, tc) ? -1 : 0;
}

void tls_test_client_join(struct tls_test_client *tc)
{
	pthread_join(tc->thread, NULL);
}

int tls_test_listen(uint16_t *port)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    listen(fd, 8) ||
	    getsockname(fd, (struct sockaddr *)&sin, &len)) {
		close(fd);
		return -1;
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

bool tls_test_wait(int fd, short events)
{
	struct pollfd pfd = { .fd = fd, .events = events };

	return poll(&pfd, 1, TLS_TEST_TIMEOUT_MS) == 1;
}

int tls_test_accept(int lfd)
{
	if (!tls_test_wait(lfd, POLLIN))
		return -1;
	return accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

/* Wait for what @st asks; false when it is not a wait or timed out. */
static bool wait_status(int fd, enum tls_status st)
{
	if (st == TLS_WANT_READ)
		return tls_test_wait(fd, POLLIN);
	if (st == TLS_WANT_WRITE)
		return tls_test_wait(fd, POLLOUT);
	return false;
}

enum tls_status tls_test_handshake(struct tls_conn *c, int fd)
{
	enum tls_status st;

	do
		st = tls_conn_handshake(c);
	while (wait_status(fd, st));
	return st;
}

enum tls_status tls_test_read(struct tls_conn *c, int fd, void *buf,
			      size_t n)
{
	enum tls_status st = TLS_DONE;
	size_t have = 0, got;

	while (have < n) {
		st = tls_conn_read(c, (uint8_t *)buf + have, n - have, &got);
		if (st == TLS_DONE)
			have += got;
		else if (!wait_status(fd, st))
			return st;
	}
	return st;
}

int tls_test_recv(int fd, void *buf, size_t n)
{
	size_t have = 0;
	ssize_t r;

	while (have < n) {
		r = read(fd, (uint8_t *)buf + have, n - have);
		if (r > 0)
			have += (size_t)r;
		else if (r == 0)
			return -1;
		else if (errno == EAGAIN && !tls_test_wait(fd, POLLIN))
			return -1;
		else if (errno != EAGAIN && errno != EINTR)
			return -1;
	}
	return 0;
}

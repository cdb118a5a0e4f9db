// SPDX-License-Identifier: GPL-2.0
/*
 * TLS for kmqtt-bench's clients (--tls): one client SSL_CTX, shared by
 * every worker, that verifies the broker's certificate against --cafile
 * (or the system's CAs) and its name or address against --host; the
 * protocol version and ciphers can be pinned so that two brokers are
 * measured with the same cipher.
 *
 * Each SSL reads and writes its client's socket through a BIO of its
 * own that keeps the plain path's system calls: it reads and writes
 * only while the socket is readable or writable (c->readable,
 * c->writable, which epoll and a short read or write set as for TCP),
 * and otherwise asks OpenSSL to retry at once, so no read or write is
 * made just to learn EAGAIN.  Read-ahead with a read buffer as large as
 * the client's takes as many records per read() as plain TCP takes
 * bytes; each SSL_write() writes what one write() would have.
 */
#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "bench.h"
#include "tls.h"

static BIO_METHOD *client_bio;

/* "1.2" or "1.3" (also "tlsv1.3", as Mosquitto spells it). */
int tls_parse_version(const char *arg, int *version)
{
	if (!strncasecmp(arg, "tlsv", 4))
		arg += 4;
	if (!strcmp(arg, "1.2"))
		*version = TLS1_2_VERSION;
	else if (!strcmp(arg, "1.3"))
		*version = TLS1_3_VERSION;
	else
		return -1;
	return 0;
}

/* An IPv4 or IPv6 address, checked against the certificate's IP SANs. */
bool tls_host_is_ip(const char *host)
{
	unsigned char addr[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, addr) == 1 ||
	       inet_pton(AF_INET6, host, addr) == 1;
}

/* The socket's calls are client.c's, retried as OpenSSL wants. */
static int client_bio_write(BIO *bio, const char *data, int len)
{
	ssize_t n = client_sock_io(BIO_get_data(bio), (char *)data, len, true);

	BIO_clear_retry_flags(bio);
	if (n < 0 && errno == EAGAIN)
		BIO_set_retry_write(bio);
	return n;
}

static int client_bio_read(BIO *bio, char *data, int len)
{
	ssize_t n = client_sock_io(BIO_get_data(bio), data, len, false);

	BIO_clear_retry_flags(bio);
	if (n < 0 && errno == EAGAIN)
		BIO_set_retry_read(bio);
	else if (n == 0)
		errno = 0;	/* the broker closed: no stale errno */
	return n;
}

static long client_bio_ctrl(BIO *bio, int cmd, long num, void *ptr)
{
	(void)bio;
	(void)num;
	(void)ptr;
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int client_bio_create(BIO *bio)
{
	BIO_set_init(bio, 1);
	return 1;
}

static int ctx_fail(SSL_CTX *ctx, char *err, size_t size, const char *what)
{
	unsigned long e = ERR_get_error();

	snprintf(err, size, "%s: %s", what,
		 e ? ERR_reason_error_string(e) : "failed");
	SSL_CTX_free(ctx);
	return -1;
}

static int ctx_configure(SSL_CTX *ctx, const struct options *o,
			 size_t read_buffer, char *err, size_t size)
{
	if (o->tls_version &&
	    (!SSL_CTX_set_min_proto_version(ctx, o->tls_version) ||
	     !SSL_CTX_set_max_proto_version(ctx, o->tls_version)))
		return ctx_fail(ctx, err, size, "--tls-version");
	if (o->ciphers && !SSL_CTX_set_cipher_list(ctx, o->ciphers))
		return ctx_fail(ctx, err, size, "--ciphers");
	if (o->ciphersuites && !SSL_CTX_set_ciphersuites(ctx, o->ciphersuites))
		return ctx_fail(ctx, err, size, "--ciphersuites");
	if (o->cafile ? SSL_CTX_load_verify_locations(ctx, o->cafile, NULL)
			!= 1 : SSL_CTX_set_default_verify_paths(ctx) != 1)
		return ctx_fail(ctx, err, size, o->cafile ? o->cafile :
				"the system's CA certificates");
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	/*
	 * The send buffer moves (buf_reserve) and grows between a write
	 * that wanted a retry and the retry; a record per SSL_write() at
	 * most, as the plain path's write() returns short.
	 */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
			      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_default_read_buffer_len(ctx, read_buffer);
	/* A full handshake per connection, as a fleet of devices makes. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	return 0;
}

/* The context every client shares; NULL and err if the options fail. */
SSL_CTX *tls_ctx_new(const struct options *o, size_t read_buffer,
		     char *err, size_t size)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx) {
		snprintf(err, size, "SSL_CTX_new failed");
		return NULL;
	}
	if (ctx_configure(ctx, o, read_buffer, err, size))
		return NULL;
	client_bio = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
				  "kmqtt-bench client");
	if (!client_bio ||
	    !BIO_meth_set_write(client_bio, client_bio_write) ||
	    !BIO_meth_set_read(client_bio, client_bio_read) ||
	    !BIO_meth_set_ctrl(client_bio, client_bio_ctrl) ||
	    !BIO_meth_set_create(client_bio, client_bio_create)) {
		BIO_meth_free(client_bio);
		client_bio = NULL;
		ctx_fail(ctx, err, size, "BIO_meth_new");
		return NULL;
	}
	return ctx;
}

void tls_ctx_free(SSL_CTX *ctx)
{
	SSL_CTX_free(ctx);
	BIO_meth_free(client_bio);
	client_bio = NULL;
}

/*
 * A client's SSL on its socket, checking the certificate against host:
 * an IP address against its IP SANs, a name against its DNS names (and
 * sent as SNI).  NULL if out of memory.
 */
SSL *tls_client_new(SSL_CTX *ctx, struct client *c, const char *host)
{
	SSL *ssl = SSL_new(ctx);
	BIO *bio = BIO_new(client_bio);
	X509_VERIFY_PARAM *param;
	int ok;

	if (!ssl || !bio) {
		SSL_free(ssl);
		BIO_free(bio);
		return NULL;
	}
	BIO_set_data(bio, c);
	SSL_set_bio(ssl, bio, bio);
	SSL_set_connect_state(ssl);
	param = SSL_get0_param(ssl);
	if (tls_host_is_ip(host)) {
		ok = X509_VERIFY_PARAM_set1_ip_asc(param, host);
	} else {
		X509_VERIFY_PARAM_set_hostflags(param,
			X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		ok = X509_VERIFY_PARAM_set1_host(param, host, 0) &&
		     SSL_set_tlsext_host_name(ssl, host);
	}
	if (!ok) {
		SSL_free(ssl);
		return NULL;
	}
	return ssl;
}

/*
 * Why an SSL call that returned ret failed, for a fatal error (not a
 * retry): the certificate check's verdict, OpenSSL's reason, the
 * system's error, or the broker's close.
 */
const char *tls_error(SSL *ssl, int ret, char *buf, size_t size)
{
	int e = SSL_get_error(ssl, ret);
	long verify = SSL_get_verify_result(ssl);
	unsigned long queued = ERR_peek_error();

	if (e == SSL_ERROR_ZERO_RETURN)
		return "closed by the broker (TLS close_notify)";
	if (verify != X509_V_OK) {
		snprintf(buf, size, "TLS: certificate verify failed: %s",
			 X509_verify_cert_error_string(verify));
	} else if (queued) {
		snprintf(buf, size, "TLS: %s",
			 ERR_reason_error_string(queued));
	} else if (e == SSL_ERROR_SYSCALL && errno) {
		snprintf(buf, size, "TLS: %s", strerror(errno));
	} else {
		return "closed by the broker";
	}
	ERR_clear_error();
	return buf;
}

// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tls.h"

/* TLS 1.2 suites kTLS can offload; ECDHE only, for forward secrecy. */
#define TLS12_CIPHERS \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define TLS13_CIPHERSUITES \
	"TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:" \
	"TLS_CHACHA20_POLY1305_SHA256"

/* TLS 1.3 cipher suite numbers (RFC 8446, B.4). */
#define TLS13_AES_128_GCM_SHA256	0x1301
#define TLS13_AES_256_GCM_SHA384	0x1302
#define TLS13_CHACHA20_POLY1305_SHA256	0x1303

/*
 * The key log labels of the secrets each side encrypts with after
 * Finished: the peer's is the one kTLS receives with.
 */
#define CLIENT_APP_SECRET_LABEL	"CLIENT_TRAFFIC_SECRET_0 "
#define SERVER_APP_SECRET_LABEL	"SERVER_TRAFFIC_SECRET_0 "

#define TLS13_IV_LEN		12
#define TLS_RECORD_TYPE_APP	23

struct tls_server_ctx {
	SSL_CTX *ssl_ctx;
};

struct tls_client_ctx {
	SSL_CTX *ssl_ctx;
	bool verify_host;
};

struct tls_conn {
	SSL *ssl;
	bool handshake_done;
	/*
	 * Records read since the handshake completed: with no early data and
	 * KeyUpdate refused, all under the peer's application traffic secret
	 * (a server's TLS 1.3 session tickets too), so this is the kernel's
	 * first TLS 1.3 rec_seq.
	 * Headers and decrypted bodies are counted apart: they only differ
	 * when a record was half read, which the kernel could not resume.
	 */
	uint64_t app_headers_read;
	uint64_t app_records_read;
	bool post_handshake_msg;	/* KeyUpdate or other: secret stale */
	uint8_t peer_app_secret[EVP_MAX_MD_SIZE];
	size_t peer_app_secret_len;
	char cn[TLS_CN_MAX + 1];
	bool has_cn;
	char *subject;		/* RFC 2253, malloc()ed; NULL: none */
	char error[TLS_ERR_MAX];
};

/* The reason of OpenSSL's oldest queued error, or @fallback. */
static void tls_openssl_reason(char *out, size_t size, const char *what,
			       const char *fallback)
{
	unsigned long e = ERR_get_error();
	const char *reason = e ? ERR_reason_error_string(e) : NULL;

	snprintf(out, size, "%s: %s", what,
		 reason ? reason : fallback);
	ERR_clear_error();
}

static bool tls_ctx_fail(SSL_CTX *ssl_ctx, char *err, const char *what,
			 const char *file)
{
	/* Half the message, so that OpenSSL's reason fits after it. */
	char ctx[TLS_ERR_MAX / 2];

	snprintf(ctx, sizeof(ctx), "%s %s", what, file);
	tls_openssl_reason(err, TLS_ERR_MAX, ctx, "failed");
	SSL_CTX_free(ssl_ctx);
	return false;
}

static void tls_keylog(const SSL *ssl, const char *line);
static void tls_msg(int write_p, int version, int content_type,
		    const void *buf, size_t len, SSL *ssl, void *arg);

/*
 * Client certificates are checked against the revocation list in @crlfile
 * too (the certificate itself, not its issuers: as Mosquitto does).
 */
static bool tls_ctx_load_crl(SSL_CTX *s, const char *crlfile, char *err)
{
	X509_STORE *store = SSL_CTX_get_cert_store(s);
	X509_LOOKUP *lookup = X509_STORE_add_lookup(store, X509_LOOKUP_file());

	if (!lookup || X509_load_crl_file(lookup, crlfile,
					  X509_FILETYPE_PEM) <= 0)
		return tls_ctx_fail(s, err, "crlfile", crlfile);
	X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
	return true;
}

/*
 * What both sides share: TLS @min to @max with the ciphers kTLS can
 * offload, and the callbacks that keep what the TLS 1.3 receive key needs.
 */
static bool tls_ctx_common(SSL_CTX *s, int min, int max, char *err)
{
	if (!SSL_CTX_set_min_proto_version(s, min) ||
	    !SSL_CTX_set_max_proto_version(s, max) ||
	    !SSL_CTX_set_cipher_list(s, TLS12_CIPHERS) ||
	    !SSL_CTX_set_ciphersuites(s, TLS13_CIPHERSUITES) ||
	    !SSL_CTX_set_num_tickets(s, 0))
		return tls_ctx_fail(s, err, "configuring", "TLS");
	/*
	 * Tickets sent after the hand-off would need the kernel's sequence
	 * numbers, renegotiation new kernel keys, read-ahead would keep
	 * bytes after CONNECT in OpenSSL's buffer.  Without tickets a session
	 * cache only costs memory.
	 */
	SSL_CTX_set_options(s, SSL_OP_ENABLE_KTLS | SSL_OP_NO_TICKET |
			       SSL_OP_NO_RENEGOTIATION |
			       SSL_OP_NO_COMPRESSION |
			       SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_read_ahead(s, 0);
	SSL_CTX_set_session_cache_mode(s, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_keylog_callback(s, tls_keylog);
	SSL_CTX_set_msg_callback(s, tls_msg);
	return true;
}

/* The certificate chain in @certfile, with its key in @keyfile. */
static bool tls_ctx_use_cert(SSL_CTX *s, const char *certfile,
			     const char *keyfile, char *err)
{
	if (SSL_CTX_use_certificate_chain_file(s, certfile) != 1)
		return tls_ctx_fail(s, err, "certfile", certfile);
	if (SSL_CTX_use_PrivateKey_file(s, keyfile, SSL_FILETYPE_PEM) != 1)
		return tls_ctx_fail(s, err, "keyfile", keyfile);
	if (SSL_CTX_check_private_key(s) != 1)
		return tls_ctx_fail(s, err, "keyfile", keyfile);
	return true;
}

static bool tls_ctx_configure(SSL_CTX *s, const char *certfile,
			      const char *keyfile, const char *cafile,
			      const char *crlfile, bool require_certificate,
			      char *err)
{
	if (!tls_ctx_common(s, TLS1_2_VERSION, TLS1_3_VERSION, err) ||
	    !tls_ctx_use_cert(s, certfile, keyfile, err))
		return false;

	if (cafile) {
		STACK_OF(X509_NAME) *names;

		if (SSL_CTX_load_verify_locations(s, cafile, NULL) != 1)
			return tls_ctx_fail(s, err, "cafile", cafile);
		/* Tells clients which CA to pick their certificate for. */
		names = SSL_load_client_CA_file(cafile);
		if (!names)
			return tls_ctx_fail(s, err, "cafile", cafile);
		SSL_CTX_set_client_CA_list(s, names);
	}
	if (crlfile && !tls_ctx_load_crl(s, crlfile, err))
		return false;
	/* As mosquitto: no certificate is asked for unless required. */
	if (require_certificate) {
		if (!cafile) {
			snprintf(err, TLS_ERR_MAX,
				 "require_certificate needs a cafile");
			SSL_CTX_free(s);
			return false;
		}
		SSL_CTX_set_verify(s, SSL_VERIFY_PEER |
				      SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	} else {
		SSL_CTX_set_verify(s, SSL_VERIFY_NONE, NULL);
	}
	return true;
}

struct tls_server_ctx *tls_server_ctx_new(const char *certfile,
					  const char *keyfile,
					  const char *cafile,
					  const char *crlfile,
					  bool require_certificate,
					  char err[TLS_ERR_MAX])
{
	struct tls_server_ctx *ctx = malloc(sizeof(*ctx));

	if (!ctx) {
		snprintf(err, TLS_ERR_MAX, "out of memory");
		return NULL;
	}
	ERR_clear_error();
	ctx->ssl_ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx->ssl_ctx) {
		tls_openssl_reason(err, TLS_ERR_MAX, "SSL_CTX_new", "failed");
		free(ctx);
		return NULL;
	}
	if (!tls_ctx_configure(ctx->ssl_ctx, certfile, keyfile, cafile,
			       crlfile, require_certificate, err)) {
		free(ctx);
		return NULL;
	}
	return ctx;
}

void tls_server_ctx_free(struct tls_server_ctx *ctx)
{
	if (!ctx)
		return;
	SSL_CTX_free(ctx->ssl_ctx);
	free(ctx);
}

/* OpenSSL says "system lib" for a missing file: say what is wrong. */
static bool tls_ctx_readable(SSL_CTX *s, char *err, const char *what,
			     const char *path)
{
	if (!path || !access(path, R_OK))
		return true;
	snprintf(err, TLS_ERR_MAX, "%s %s: %s", what, path, strerror(errno));
	SSL_CTX_free(s);
	return false;
}

struct tls_client_ctx *tls_client_ctx_new(const struct tls_client_opts *o,
					  char err[TLS_ERR_MAX])
{
	struct tls_client_ctx *ctx = calloc(1, sizeof(*ctx));
	int min = o->version == TLS_VERSION_1_3 ? TLS1_3_VERSION :
						  TLS1_2_VERSION;
	int max = o->version == TLS_VERSION_1_2 ? TLS1_2_VERSION :
						  TLS1_3_VERSION;
	SSL_CTX *s;

	if (!ctx) {
		snprintf(err, TLS_ERR_MAX, "out of memory");
		return NULL;
	}
	ERR_clear_error();
	s = SSL_CTX_new(TLS_client_method());
	if (!s) {
		tls_openssl_reason(err, TLS_ERR_MAX, "SSL_CTX_new", "failed");
		free(ctx);
		return NULL;
	}
	if (!o->cafile && !o->capath) {
		snprintf(err, TLS_ERR_MAX, "no CA to verify the server with");
		SSL_CTX_free(s);
		free(ctx);
		return NULL;
	}
	/* Each step frees @s when it fails. */
	if (!tls_ctx_readable(s, err, "cafile", o->cafile) ||
	    !tls_ctx_readable(s, err, "capath", o->capath) ||
	    !tls_ctx_readable(s, err, "certfile", o->certfile) ||
	    !tls_ctx_readable(s, err, "keyfile", o->keyfile) ||
	    !tls_ctx_common(s, min, max, err) ||
	    (o->certfile && !tls_ctx_use_cert(s, o->certfile, o->keyfile,
					     err)) ||
	    (o->cafile && SSL_CTX_load_verify_file(s, o->cafile) != 1 &&
	     !tls_ctx_fail(s, err, "cafile", o->cafile)) ||
	    (o->capath && SSL_CTX_load_verify_dir(s, o->capath) != 1 &&
	     !tls_ctx_fail(s, err, "capath", o->capath))) {
		free(ctx);
		return NULL;
	}
	/* The chain always, as Mosquitto: insecure only spares the name. */
	SSL_CTX_set_verify(s, SSL_VERIFY_PEER, NULL);
	ctx->ssl_ctx = s;
	ctx->verify_host = !o->insecure;
	return ctx;
}

void tls_client_ctx_free(struct tls_client_ctx *ctx)
{
	if (!ctx)
		return;
	SSL_CTX_free(ctx->ssl_ctx);
	free(ctx);
}

static int tls_hex_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/*
 * OpenSSL hands each secret to the key log as "LABEL CLIENT_RANDOM SECRET"
 * in hex; keep the one kTLS needs for TLS 1.3 receive: the client's on a
 * server, the server's on a client.
 */
static void tls_keylog(const SSL *ssl, const char *line)
{
	struct tls_conn *c = SSL_get_app_data(ssl);
	const char *label = SSL_is_server(ssl) ? CLIENT_APP_SECRET_LABEL :
						 SERVER_APP_SECRET_LABEL;
	const char *hex;
	size_t i, n;

	if (!c || strncmp(line, label, strlen(label)))
		return;
	hex = strchr(line + strlen(label), ' ');
	if (!hex)
		return;
	hex++;
	n = strlen(hex);
	if (n % 2 || n / 2 > sizeof(c->peer_app_secret))
		return;
	for (i = 0; i < n / 2; i++) {
		int hi = tls_hex_digit(hex[2 * i]);
		int lo = tls_hex_digit(hex[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			OPENSSL_cleanse(c->peer_app_secret,
					sizeof(c->peer_app_secret));
			return;
		}
		c->peer_app_secret[i] = (uint8_t)(hi << 4 | lo);
	}
	c->peer_app_secret_len = n / 2;
}

/* Counts what the peer sends after the handshake; see struct tls_conn. */
static void tls_msg(int write_p, int version, int content_type,
		    const void *buf, size_t len, SSL *ssl, void *arg)
{
	struct tls_conn *c = SSL_get_app_data(ssl);

	(void)version;
	(void)arg;
	if (!c || write_p || !c->handshake_done)
		return;
	switch (content_type) {
	case SSL3_RT_HEADER:
		if (len == SSL3_RT_HEADER_LENGTH &&
		    ((const uint8_t *)buf)[0] == TLS_RECORD_TYPE_APP)
			c->app_headers_read++;
		break;
	case SSL3_RT_INNER_CONTENT_TYPE:
		c->app_records_read++;
		break;
	case SSL3_RT_HANDSHAKE:
		/*
		 * A TLS 1.3 server's tickets leave the keys as they are (the
		 * client never resumes with them); anything else, KeyUpdate
		 * above all, does not.
		 */
		if (SSL_is_server(ssl) || !len ||
		    ((const uint8_t *)buf)[0] != SSL3_MT_NEWSESSION_TICKET)
			c->post_handshake_msg = true;
		break;
	}
}

/* A connection of @ssl_ctx on @fd, either side. */
static struct tls_conn *tls_conn_alloc(SSL_CTX *ssl_ctx, int fd)
{
	struct tls_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	ERR_clear_error();
	c->ssl = SSL_new(ssl_ctx);
	/* SSL_set_fd's socket BIO does not close @fd (BIO_NOCLOSE). */
	if (!c->ssl || !SSL_set_fd(c->ssl, fd)) {
		SSL_free(c->ssl);
		free(c);
		ERR_clear_error();
		return NULL;
	}
	SSL_set_app_data(c->ssl, c);
	return c;
}

struct tls_conn *tls_conn_new(struct tls_server_ctx *ctx, int fd)
{
	struct tls_conn *c = tls_conn_alloc(ctx->ssl_ctx, fd);

	if (c)
		SSL_set_accept_state(c->ssl);
	return c;
}

/* True when @host is an IPv4 or IPv6 address rather than a name. */
static bool tls_host_is_ip(const char *host)
{
	ASN1_OCTET_STRING *ip = a2i_IPADDRESS(host);

	ASN1_OCTET_STRING_free(ip);
	ERR_clear_error();
	return ip != NULL;
}

struct tls_conn *tls_conn_new_client(struct tls_client_ctx *ctx, int fd,
				     const char *host)
{
	struct tls_conn *c = tls_conn_alloc(ctx->ssl_ctx, fd);
	bool ip = tls_host_is_ip(host), ok = true;

	if (!c)
		return NULL;
	/* SNI carries names only (RFC 6066, 3). */
	if (!ip)
		ok = SSL_set_tlsext_host_name(c->ssl, host) == 1;
	if (ok && ctx->verify_host && ip)
		ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl),
						   host) == 1;
	else if (ok && ctx->verify_host)
		ok = SSL_set1_host(c->ssl, host) == 1;
	if (!ok) {
		tls_conn_free(c);
		ERR_clear_error();
		return NULL;
	}
	SSL_set_connect_state(c->ssl);
	return c;
}

void tls_conn_free(struct tls_conn *c)
{
	if (!c)
		return;
	/* No SSL_shutdown: after the hand-off the kernel owns the records. */
	SSL_free(c->ssl);
	free(c->subject);
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
}

const char *tls_conn_error(const struct tls_conn *c)
{
	return c->error;
}

static enum tls_status tls_conn_fail(struct tls_conn *c, const char *fmt,
				     const char *arg)
{
	snprintf(c->error, sizeof(c->error), fmt, arg);
	return TLS_ERROR;
}

/* Map a failed SSL_* call's result @rc to a status, and say why. */
static enum tls_status tls_conn_status(struct tls_conn *c, int rc,
				       const char *what)
{
	int saved_errno = errno;
	unsigned long e;
	long verify;

	switch (SSL_get_error(c->ssl, rc)) {
	case SSL_ERROR_WANT_READ:
		return TLS_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return TLS_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		return TLS_CLOSED;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() == 0) {
			if (saved_errno == 0)
				return TLS_CLOSED;
			snprintf(c->error, sizeof(c->error), "%s: %s", what,
				 strerror(saved_errno));
			return TLS_ERROR;
		}
		break;
	case SSL_ERROR_SSL:
		e = ERR_peek_error();
		if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
		    ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
			ERR_clear_error();
			return TLS_CLOSED;
		}
		verify = SSL_get_verify_result(c->ssl);
		if (verify != X509_V_OK) {
			ERR_clear_error();
			snprintf(c->error, sizeof(c->error),
				 SSL_is_server(c->ssl) ?
				 "%s: client certificate: %s" :
				 "%s: certificate verify failed: %s", what,
				 X509_verify_cert_error_string(verify));
			return TLS_ERROR;
		}
		break;
	default:
		break;
	}
	tls_openssl_reason(c->error, sizeof(c->error), what, "failed");
	return TLS_ERROR;
}

/* The subject of @peer as X509_NAME_print_ex() prints it for RFC 2253. */
static char *tls_subject_rfc2253(X509 *peer)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *text = NULL, *data;
	long len;

	if (bio && X509_NAME_print_ex(bio, X509_get_subject_name(peer), 0,
				      XN_FLAG_RFC2253) >= 0) {
		len = BIO_get_mem_data(bio, &data);
		/* A NUL would make the name's end ambiguous: no identity. */
		if (len >= 0 && !memchr(data, '\0', (size_t)len))
			text = strndup(data, (size_t)len);
	}
	BIO_free(bio);
	ERR_clear_error();
	return text;
}

/*
 * Keep the verified client certificate's identity: its first CN, as
 * mosquitto uses for use_identity_as_username, and its whole subject for
 * use_subject_as_username.
 */
static void tls_conn_keep_identity(struct tls_conn *c)
{
	X509 *peer = SSL_get0_peer_certificate(c->ssl);
	X509_NAME_ENTRY *entry;
	unsigned char *utf8;
	int i, n;

	if (!peer || SSL_get_verify_result(c->ssl) != X509_V_OK)
		return;
	c->subject = tls_subject_rfc2253(peer);
	i = X509_NAME_get_index_by_NID(X509_get_subject_name(peer),
				       NID_commonName, -1);
	if (i < 0)
		return;
	entry = X509_NAME_get_entry(X509_get_subject_name(peer), i);
	n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(entry));
	if (n < 0) {
		ERR_clear_error();
		return;
	}
	if (n > 0 && n <= TLS_CN_MAX && !memchr(utf8, '\0', (size_t)n)) {
		memcpy(c->cn, utf8, (size_t)n);
		c->cn[n] = '\0';
		c->has_cn = true;
	}
	OPENSSL_free(utf8);
}

enum tls_status tls_conn_handshake(struct tls_conn *c)
{
	int rc;

	ERR_clear_error();
	errno = 0;
	rc = SSL_do_handshake(c->ssl);
	if (rc != 1)
		return tls_conn_status(c, rc, "TLS handshake");
	c->handshake_done = true;
	tls_conn_keep_identity(c);
	return TLS_DONE;
}

enum tls_status tls_conn_read(struct tls_conn *c, void *buf, size_t n,
			      size_t *got)
{
	int rc;

	*got = 0;
	ERR_clear_error();
	errno = 0;
	rc = SSL_read_ex(c->ssl, buf, n, got);
	if (rc != 1)
		return tls_conn_status(c, rc, "TLS read");
	return TLS_DONE;
}

enum tls_status tls_conn_write(struct tls_conn *c, const void *buf, size_t n)
{
	size_t done;
	int rc;

	ERR_clear_error();
	errno = 0;
	rc = SSL_write_ex(c->ssl, buf, n, &done);
	if (rc != 1)
		return tls_conn_status(c, rc, "TLS write");
	return TLS_DONE;
}

enum tls_status tls_conn_take_pending(struct tls_conn *c, uint8_t **buf,
				      size_t *len)
{
	size_t have = 0, got;
	uint8_t *p;
	int n;

	*buf = NULL;
	*len = 0;
	n = SSL_pending(c->ssl);
	if (n <= 0)
		return TLS_DONE;
	p = malloc((size_t)n);
	if (!p)
		return tls_conn_fail(c, "%s", "out of memory for pending data");
	/* Only decrypted bytes: these reads never touch the socket. */
	while (have < (size_t)n) {
		ERR_clear_error();
		if (SSL_read_ex(c->ssl, p + have, (size_t)n - have, &got) != 1) {
			OPENSSL_clear_free(p, (size_t)n);
			return tls_conn_status(c, 0, "reading pending data");
		}
		have += got;
	}
	*buf = p;
	*len = have;
	return TLS_DONE;
}

/* HKDF-Expand-Label(secret, label, "", len) of RFC 8446, 7.1. */
static bool tls13_expand_label(const EVP_MD *md, const uint8_t *secret,
			       size_t secret_len, const char *label,
			       uint8_t *out, size_t len)
{
	static const char prefix[] = "tls13 ";
	uint8_t info[2 + 1 + sizeof(prefix) - 1 + 32 + 1];
	size_t label_len = strlen(label), info_len = 0;
	OSSL_PARAM params[5];
	EVP_KDF_CTX *kctx;
	EVP_KDF *kdf;
	int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
	bool ok;

	if (label_len > 32)
		return false;
	info[info_len++] = (uint8_t)(len >> 8);
	info[info_len++] = (uint8_t)len;
	info[info_len++] = (uint8_t)(sizeof(prefix) - 1 + label_len);
	memcpy(info + info_len, prefix, sizeof(prefix) - 1);
	info_len += sizeof(prefix) - 1;
	memcpy(info + info_len, label, label_len);
	info_len += label_len;
	info[info_len++] = 0;	/* empty context */

	kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_HKDF, NULL);
	kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	EVP_KDF_free(kdf);
	if (!kctx)
		return false;
	params[0] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
			(char *)EVP_MD_get0_name(md), 0);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
			(void *)secret, secret_len);
	params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
			info, info_len);
	params[4] = OSSL_PARAM_construct_end();
	ok = EVP_KDF_derive(kctx, out, len, params) == 1;
	EVP_KDF_CTX_free(kctx);
	return ok;
}

/* Big-endian, as the record sequence number enters the nonce. */
static void tls_put_seq(uint8_t out[8], uint64_t seq)
{
	int i;

	for (i = 7; i >= 0; i--, seq >>= 8)
		out[i] = (uint8_t)seq;
}

enum tls_status tls_conn_tls13_rx_params(struct tls_conn *c,
					 union tls_crypto_params *p,
					 size_t *size)
{
	const SSL_CIPHER *cipher = SSL_get_current_cipher(c->ssl);
	const EVP_MD *md = cipher ? SSL_CIPHER_get_handshake_digest(cipher) :
				    NULL;
	uint8_t key[32], iv[TLS13_IV_LEN], *seq;
	size_t key_len;
	bool ok;

	memset(p, 0, sizeof(*p));
	if (!c->handshake_done || SSL_version(c->ssl) != TLS1_3_VERSION ||
	    !md)
		return tls_conn_fail(c, "%s", "not a completed TLS 1.3 handshake");
	if (c->post_handshake_msg)
		return tls_conn_fail(c, "%s",
				     SSL_is_server(c->ssl) ?
				     "client sent a post-handshake message (KeyUpdate?)" :
				     "server sent a post-handshake message (KeyUpdate?)");
	if (c->app_headers_read != c->app_records_read)
		return tls_conn_fail(c, "%s", "a TLS record is half read");
	if (c->peer_app_secret_len != (size_t)EVP_MD_get_size(md))
		return tls_conn_fail(c, "%s", "no peer application traffic secret");

	p->info.version = TLS_1_3_VERSION;
	switch (SSL_CIPHER_get_protocol_id(cipher)) {
	case TLS13_AES_128_GCM_SHA256:
		p->info.cipher_type = TLS_CIPHER_AES_GCM_128;
		key_len = TLS_CIPHER_AES_GCM_128_KEY_SIZE;
		*size = sizeof(p->aes_gcm_128);
		break;
	case TLS13_AES_256_GCM_SHA384:
		p->info.cipher_type = TLS_CIPHER_AES_GCM_256;
		key_len = TLS_CIPHER_AES_GCM_256_KEY_SIZE;
		*size = sizeof(p->aes_gcm_256);
		break;
	case TLS13_CHACHA20_POLY1305_SHA256:
		p->info.cipher_type = TLS_CIPHER_CHACHA20_POLY1305;
		key_len = TLS_CIPHER_CHACHA20_POLY1305_KEY_SIZE;
		*size = sizeof(p->chacha20_poly1305);
		break;
	default:
		return tls_conn_fail(c, "cipher %s cannot be offloaded",
				     SSL_CIPHER_get_name(cipher));
	}

	ok = tls13_expand_label(md, c->peer_app_secret,
				c->peer_app_secret_len, "key", key, key_len) &&
	     tls13_expand_label(md, c->peer_app_secret,
				c->peer_app_secret_len, "iv", iv, sizeof(iv));
	if (ok) {
		/* The kernel's nonce is salt || iv, XORed with rec_seq. */
		switch (p->info.cipher_type) {
		case TLS_CIPHER_AES_GCM_128:
			memcpy(p->aes_gcm_128.key, key, key_len);
			memcpy(p->aes_gcm_128.salt, iv, 4);
			memcpy(p->aes_gcm_128.iv, iv + 4, 8);
			seq = p->aes_gcm_128.rec_seq;
			break;
		case TLS_CIPHER_AES_GCM_256:
			memcpy(p->aes_gcm_256.key, key, key_len);
			memcpy(p->aes_gcm_256.salt, iv, 4);
			memcpy(p->aes_gcm_256.iv, iv + 4, 8);
			seq = p->aes_gcm_256.rec_seq;
			break;
		default:
			memcpy(p->chacha20_poly1305.key, key, key_len);
			memcpy(p->chacha20_poly1305.iv, iv, sizeof(iv));
			seq = p->chacha20_poly1305.rec_seq;
			break;
		}
		tls_put_seq(seq, c->app_records_read);
	}
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(iv, sizeof(iv));
	if (!ok) {
		OPENSSL_cleanse(p, sizeof(*p));
		ERR_clear_error();
		return tls_conn_fail(c, "%s", "HKDF-Expand-Label failed");
	}
	return TLS_DONE;
}

static enum tls_status tls_conn_offload_tls13_rx(struct tls_conn *c)
{
	union tls_crypto_params p;
	size_t size;
	int rc;

	if (tls_conn_tls13_rx_params(c, &p, &size) != TLS_DONE)
		return TLS_ERROR;
	rc = setsockopt(SSL_get_fd(c->ssl), SOL_TLS, TLS_RX, &p,
			(socklen_t)size);
	OPENSSL_cleanse(&p, sizeof(p));
	if (rc)
		return tls_conn_fail(c, "kernel TLS receive: %s",
				     strerror(errno));
	return TLS_DONE;
}

enum tls_status tls_conn_offload(struct tls_conn *c)
{
	if (!c->handshake_done)
		return tls_conn_fail(c, "%s", "handshake not complete");
	/*
	 * With read-ahead off OpenSSL holds at most the record it is
	 * reading; once tls_conn_take_pending() emptied it, the next byte on
	 * the socket starts a record.
	 */
	if (SSL_has_pending(c->ssl))
		return tls_conn_fail(c, "%s",
				     "decrypted data left in OpenSSL (take it first)");
	if (!BIO_get_ktls_send(SSL_get_wbio(c->ssl)))
		return tls_conn_fail(c, "kernel TLS transmit not active for %s (is tls.ko loaded?)",
				     SSL_get_cipher_name(c->ssl));
	if (BIO_get_ktls_recv(SSL_get_rbio(c->ssl)))
		return TLS_DONE;
	if (SSL_version(c->ssl) != TLS1_3_VERSION)
		return tls_conn_fail(c, "kernel TLS receive not active for %s",
				     SSL_get_cipher_name(c->ssl));
	return tls_conn_offload_tls13_rx(c);
}

const char *tls_conn_protocol(const struct tls_conn *c)
{
	return SSL_get_version(c->ssl);
}

const char *tls_conn_cipher(const struct tls_conn *c)
{
	return SSL_get_cipher_name(c->ssl);
}

const char *tls_conn_peer_cn(const struct tls_conn *c)
{
	return c->has_cn ? c->cn : NULL;
}

const char *tls_conn_peer_subject(const struct tls_conn *c)
{
	return c->subject;
}

ssize_t tls_sock_discard(int fd, void *buf, size_t n)
{
	/* With room for a record type, kTLS returns any record. */
	union {
		struct cmsghdr hdr;
		uint8_t space[CMSG_SPACE(sizeof(uint8_t))];
	} ctrl;
	struct iovec iov = { .iov_base = buf, .iov_len = n };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = &ctrl,
		.msg_controllen = sizeof(ctrl),
	};

	return recvmsg(fd, &msg, 0);
}

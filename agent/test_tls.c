// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of agent/tls.c on loopback, runnable without kernel TLS:
 * context options, handshakes for each offloadable cipher, exact reads of
 * the CONNECT, the bytes after it (tls_conn_take_pending), client
 * certificates, and the TLS 1.3 receive parameters, checked by decrypting
 * the records that follow CONNECT from the raw socket with them, as the
 * kernel would.  Needs KMQTT_TEST_CERTS (selftests/certs/mkcerts.sh).
 */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "test_tls_peer.h"
#include "tls.h"
#include "kselftest_harness.h"

#define AEAD_TAG_LEN	16
#define RECORD_MAX	(16384 + 256 + 5)

static struct tls_server_ctx *server_ctx_crl(const char *cafile,
					     const char *crlfile,
					     bool require_certificate)
{
	char err[TLS_ERR_MAX];
	struct tls_server_ctx *ctx;

	ctx = tls_server_ctx_new(tls_test_cert("server.pem"),
				 tls_test_cert("server.key"), cafile, crlfile,
				 require_certificate, err);
	if (!ctx)
		fprintf(stderr, "# tls_server_ctx_new: %s\n", err);
	return ctx;
}

static struct tls_server_ctx *server_ctx(const char *cafile,
					 bool require_certificate)
{
	return server_ctx_crl(cafile, NULL, require_certificate);
}

TEST(ctx_errors)
{
	char err[TLS_ERR_MAX];
	struct tls_server_ctx *ctx;

	ctx = tls_server_ctx_new("/nonexistent.pem",
				 tls_test_cert("server.key"), NULL, NULL, false,
				 err);
	ASSERT_EQ(NULL, ctx);
	EXPECT_NE(NULL, strstr(err, "certfile /nonexistent.pem")) TH_LOG("%s", err);

	ctx = tls_server_ctx_new(tls_test_cert("server.pem"),
				 tls_test_cert("client1.key"), NULL, NULL, false,
				 err);
	ASSERT_EQ(NULL, ctx);
	EXPECT_NE(NULL, strstr(err, "keyfile")) TH_LOG("%s", err);

	ctx = tls_server_ctx_new(tls_test_cert("server.pem"),
				 tls_test_cert("server.key"), NULL, NULL, true,
				 err);
	ASSERT_EQ(NULL, ctx);
	EXPECT_STREQ("require_certificate needs a cafile", err);

	ctx = tls_server_ctx_new(tls_test_cert("server.pem"),
				 tls_test_cert("server.key"), "/nonexistent",
				 NULL, true, err);
	ASSERT_EQ(NULL, ctx);
	EXPECT_NE(NULL, strstr(err, "cafile /nonexistent")) TH_LOG("%s", err);

	/* a CRL that is not one: the CA certificate */
	ctx = server_ctx_crl(tls_test_cert("ca.pem"), tls_test_cert("ca.pem"),
			     true);
	ASSERT_EQ(NULL, ctx);
	ctx = tls_server_ctx_new(tls_test_cert("server.pem"),
				 tls_test_cert("server.key"),
				 tls_test_cert("ca.pem"), "/nonexistent", true,
				 err);
	ASSERT_EQ(NULL, ctx);
	EXPECT_NE(NULL, strstr(err, "crlfile /nonexistent")) TH_LOG("%s", err);

	ctx = server_ctx(tls_test_cert("ca.pem"), true);
	ASSERT_NE(NULL, ctx);
	tls_server_ctx_free(ctx);
}

/* One client against one tls_conn; the test drives the server side. */
struct session {
	struct tls_server_ctx *ctx;
	struct tls_test_client client;
	struct tls_conn *conn;
	int lfd, fd;
	bool client_started;
	bool ended;
};

static bool session_start(struct session *s, struct tls_server_ctx *ctx)
{
	s->ctx = ctx;
	s->fd = -1;
	s->lfd = tls_test_listen(&s->client.port);
	if (!ctx || s->lfd < 0 || tls_test_client_start(&s->client))
		return false;
	s->client_started = true;
	s->fd = tls_test_accept(s->lfd);
	if (s->fd < 0)
		return false;
	s->conn = tls_conn_new(ctx, s->fd);
	return s->conn != NULL;
}

/* Close the server side, then wait for the client to see it. */
static void session_end(struct session *s)
{
	if (s->ended)
		return;
	s->ended = true;
	tls_conn_free(s->conn);
	if (s->fd >= 0)
		close(s->fd);
	if (s->client_started)
		tls_test_client_join(&s->client);
	if (s->lfd >= 0)
		close(s->lfd);
	tls_server_ctx_free(s->ctx);
}

/* The nonce the kernel uses for TLS 1.3 record @seq (RFC 8446, 5.3). */
static const EVP_CIPHER *kernel_nonce(const union tls_crypto_params *p,
				      uint64_t seq, uint8_t nonce[12],
				      const uint8_t **key)
{
	const EVP_CIPHER *cipher;
	int i;

	switch (p->info.cipher_type) {
	case TLS_CIPHER_AES_GCM_128:
		memcpy(nonce, p->aes_gcm_128.salt, 4);
		memcpy(nonce + 4, p->aes_gcm_128.iv, 8);
		*key = p->aes_gcm_128.key;
		cipher = EVP_aes_128_gcm();
		break;
	case TLS_CIPHER_AES_GCM_256:
		memcpy(nonce, p->aes_gcm_256.salt, 4);
		memcpy(nonce + 4, p->aes_gcm_256.iv, 8);
		*key = p->aes_gcm_256.key;
		cipher = EVP_aes_256_gcm();
		break;
	case TLS_CIPHER_CHACHA20_POLY1305:
		memcpy(nonce, p->chacha20_poly1305.iv, 12);
		*key = p->chacha20_poly1305.key;
		cipher = EVP_chacha20_poly1305();
		break;
	default:
		return NULL;
	}
	for (i = 0; i < 8; i++)
		nonce[11 - i] ^= (uint8_t)(seq >> (8 * i));
	return cipher;
}

/*
 * Read one TLS 1.3 record from the raw socket and decrypt it with @p as
 * record number @seq.  Returns the application data length, or -1.
 */
static int decrypt_record(int fd, const union tls_crypto_params *p,
			  uint64_t seq, uint8_t *out)
{
	static uint8_t rec[RECORD_MAX];
	const EVP_CIPHER *cipher;
	const uint8_t *key;
	uint8_t nonce[12];
	EVP_CIPHER_CTX *ctx;
	size_t len;
	int n, fin, ok;

	if (tls_test_recv(fd, rec, 5))
		return -1;
	len = (size_t)rec[3] << 8 | rec[4];
	if (rec[0] != 23 || len < AEAD_TAG_LEN + 1 || len > RECORD_MAX - 5 ||
	    tls_test_recv(fd, rec + 5, len))
		return -1;
	cipher = kernel_nonce(p, seq, nonce, &key);
	ctx = EVP_CIPHER_CTX_new();
	ok = cipher && ctx &&
	     EVP_DecryptInit_ex(ctx, cipher, NULL, key, nonce) &&
	     EVP_DecryptUpdate(ctx, NULL, &n, rec, 5) &&
	     EVP_DecryptUpdate(ctx, out, &n, rec + 5,
			       (int)(len - AEAD_TAG_LEN)) &&
	     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, AEAD_TAG_LEN,
				 rec + 5 + len - AEAD_TAG_LEN) &&
	     EVP_DecryptFinal_ex(ctx, out + n, &fin) == 1;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok)
		return -1;
	/* TLSInnerPlaintext: content, content type, zero padding. */
	while (n > 0 && out[n - 1] == 0)
		n--;
	if (n == 0 || out[n - 1] != 23)
		return -1;
	return n - 1;
}

static uint64_t rec_seq_of(const union tls_crypto_params *p)
{
	const uint8_t *s;
	uint64_t v = 0;
	int i;

	switch (p->info.cipher_type) {
	case TLS_CIPHER_AES_GCM_128:
		s = p->aes_gcm_128.rec_seq;
		break;
	case TLS_CIPHER_AES_GCM_256:
		s = p->aes_gcm_256.rec_seq;
		break;
	default:
		s = p->chacha20_poly1305.rec_seq;
		break;
	}
	for (i = 0; i < 8; i++)
		v = v << 8 | s[i];
	return v;
}

static bool ktls_loaded(void)
{
	return access("/proc/net/tls_stat", F_OK) == 0;
}

FIXTURE(cipher) {
	struct session s;
};

FIXTURE_VARIANT(cipher) {
	int version;
	const char *ciphers;
	const char *protocol;
	const char *cipher_name;
	int kernel_cipher;
};

FIXTURE_VARIANT_ADD(cipher, tls12_aes128gcm) {
	TLS1_2_VERSION, "ECDHE-RSA-AES128-GCM-SHA256", "TLSv1.2",
	"ECDHE-RSA-AES128-GCM-SHA256", TLS_CIPHER_AES_GCM_128,
};
FIXTURE_VARIANT_ADD(cipher, tls12_aes256gcm) {
	TLS1_2_VERSION, "ECDHE-RSA-AES256-GCM-SHA384", "TLSv1.2",
	"ECDHE-RSA-AES256-GCM-SHA384", TLS_CIPHER_AES_GCM_256,
};
FIXTURE_VARIANT_ADD(cipher, tls12_chacha20) {
	TLS1_2_VERSION, "ECDHE-RSA-CHACHA20-POLY1305", "TLSv1.2",
	"ECDHE-RSA-CHACHA20-POLY1305", TLS_CIPHER_CHACHA20_POLY1305,
};
FIXTURE_VARIANT_ADD(cipher, tls13_aes128gcm) {
	TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256", "TLSv1.3",
	"TLS_AES_128_GCM_SHA256", TLS_CIPHER_AES_GCM_128,
};
FIXTURE_VARIANT_ADD(cipher, tls13_aes256gcm) {
	TLS1_3_VERSION, "TLS_AES_256_GCM_SHA384", "TLSv1.3",
	"TLS_AES_256_GCM_SHA384", TLS_CIPHER_AES_GCM_256,
};
FIXTURE_VARIANT_ADD(cipher, tls13_chacha20) {
	TLS1_3_VERSION, "TLS_CHACHA20_POLY1305_SHA256", "TLSv1.3",
	"TLS_CHACHA20_POLY1305_SHA256", TLS_CIPHER_CHACHA20_POLY1305,
};

FIXTURE_SETUP(cipher)
{
	memset(&self->s, 0, sizeof(self->s));
	self->s.client.version = variant->version;
	self->s.client.ciphers = variant->ciphers;
	self->s.client.cafile = tls_test_cert("ca.pem");
}

FIXTURE_TEARDOWN(cipher)
{
	session_end(&self->s);
}

/*
 * Read "CONNECT" (7 bytes) sent as @records, take what followed it in the
 * same record, then check the records after it against what the kernel
 * would be given: TLS 1.3 parameters that decrypt them from the raw
 * socket, starting at rec_seq @records_read.
 */
static void check_handoff(struct __test_metadata *_metadata,
			  struct session *s,
			  const FIXTURE_VARIANT(cipher) *variant,
			  const char *pending_expected, uint64_t records_read)
{
	union tls_crypto_params p;
	uint8_t buf[RECORD_MAX], *pending;
	size_t len, size;
	enum tls_status st;

	ASSERT_EQ(TLS_DONE, tls_test_handshake(s->conn, s->fd))
		TH_LOG("%s", tls_conn_error(s->conn));
	EXPECT_STREQ(variant->protocol, tls_conn_protocol(s->conn));
	EXPECT_STREQ(variant->cipher_name, tls_conn_cipher(s->conn));
	EXPECT_EQ(NULL, tls_conn_peer_cn(s->conn));

	ASSERT_EQ(TLS_DONE, tls_test_read(s->conn, s->fd, buf, 7));
	ASSERT_EQ(0, memcmp(buf, "CONNECT", 7));
	ASSERT_EQ(TLS_DONE, tls_conn_take_pending(s->conn, &pending, &len));
	ASSERT_EQ(strlen(pending_expected), len);
	if (len)
		EXPECT_EQ(0, memcmp(pending, pending_expected, len));
	free(pending);
	/* Taken: nothing is left for a second call. */
	ASSERT_EQ(TLS_DONE, tls_conn_take_pending(s->conn, &pending, &len));
	EXPECT_EQ(0, len);
	EXPECT_EQ(NULL, pending);

	if (variant->version == TLS1_2_VERSION) {
		ASSERT_EQ(TLS_ERROR, tls_conn_tls13_rx_params(s->conn, &p, &size));
	} else {
		ASSERT_EQ(TLS_DONE, tls_conn_tls13_rx_params(s->conn, &p, &size))
			TH_LOG("%s", tls_conn_error(s->conn));
		EXPECT_EQ(TLS_1_3_VERSION, p.info.version);
		EXPECT_EQ(variant->kernel_cipher, p.info.cipher_type);
		EXPECT_EQ(records_read, rec_seq_of(&p));
		ASSERT_EQ(6, decrypt_record(s->fd, &p, records_read, buf));
		EXPECT_EQ(0, memcmp(buf, "NEXT-1", 6));
		ASSERT_EQ(6, decrypt_record(s->fd, &p, records_read + 1, buf));
		EXPECT_EQ(0, memcmp(buf, "NEXT-2", 6));
	}
	/* A kTLS listener never falls back to userspace TLS. */
	if (!ktls_loaded()) {
		st = tls_conn_offload(s->conn);
		EXPECT_EQ(TLS_ERROR, st);
		EXPECT_NE(NULL, strstr(tls_conn_error(s->conn),
				       "kernel TLS transmit not active"))
			TH_LOG("%s", tls_conn_error(s->conn));
	}
}

/* One record carries CONNECT and the start of the next packet. */
TEST_F(cipher, surplus_in_connect_record)
{
	self->s.client.records[0] = "CONNECTSURPLUS";
	self->s.client.records[1] = "NEXT-1";
	self->s.client.records[2] = "NEXT-2";
	ASSERT_TRUE(session_start(&self->s, server_ctx(NULL, false)));
	check_handoff(_metadata, &self->s, variant, "SURPLUS", 1);
}

/* CONNECT spans two records; the second ends with it. */
TEST_F(cipher, connect_over_two_records)
{
	self->s.client.records[0] = "CONN";
	self->s.client.records[1] = "ECT";
	self->s.client.records[2] = "NEXT-1";
	self->s.client.records[3] = "NEXT-2";
	ASSERT_TRUE(session_start(&self->s, server_ctx(NULL, false)));
	check_handoff(_metadata, &self->s, variant, "", 2);
}

/* A refusal CONNACK reaches the client through OpenSSL. */
TEST_F(cipher, refusal_write)
{
	static const uint8_t connack[4] = { 0x20, 2, 0, 5 };
	uint8_t buf[7];

	self->s.client.records[0] = "CONNECT";
	self->s.client.expect = sizeof(connack);
	ASSERT_TRUE(session_start(&self->s, server_ctx(NULL, false)));
	ASSERT_EQ(TLS_DONE, tls_test_handshake(self->s.conn, self->s.fd));
	ASSERT_EQ(TLS_DONE, tls_test_read(self->s.conn, self->s.fd, buf, 7));
	ASSERT_EQ(TLS_DONE, tls_conn_write(self->s.conn, connack,
					   sizeof(connack)));
	session_end(&self->s);
	ASSERT_EQ(sizeof(connack), self->s.client.reply_len);
	EXPECT_EQ(0, memcmp(connack, self->s.client.reply, sizeof(connack)));
}

FIXTURE(mtls) {
	struct session s;
};

FIXTURE_SETUP(mtls)
{
	memset(&self->s, 0, sizeof(self->s));
	self->s.client.cafile = tls_test_cert("ca.pem");
}

FIXTURE_TEARDOWN(mtls)
{
	session_end(&self->s);
}

/*
 * Start a session whose client presents certificate @name (or none), to
 * a server with @crlfile (or none).
 */
static bool mtls_start_crl(struct session *s, const char *name,
			   bool require_certificate, const char *crlfile)
{
	char key[64], pem[64];

	if (name) {
		snprintf(pem, sizeof(pem), "%s.pem", name);
		snprintf(key, sizeof(key), "%s.key", name);
		s->client.certfile = tls_test_cert(pem);
		s->client.keyfile = tls_test_cert(key);
	}
	s->client.records[0] = "CONNECT";
	return session_start(s, server_ctx_crl(tls_test_cert("ca.pem"),
					       crlfile, require_certificate));
}

static bool mtls_start(struct session *s, const char *name,
		       bool require_certificate)
{
	return mtls_start_crl(s, name, require_certificate, NULL);
}

TEST_F(mtls, trusted_client)
{
	uint8_t buf[7];

	ASSERT_TRUE(mtls_start(&self->s, "client1", true));
	ASSERT_EQ(TLS_DONE, tls_test_handshake(self->s.conn, self->s.fd))
		TH_LOG("%s", tls_conn_error(self->s.conn));
	ASSERT_NE(NULL, tls_conn_peer_cn(self->s.conn));
	EXPECT_STREQ("client1", tls_conn_peer_cn(self->s.conn));
	EXPECT_STREQ("CN=client1,O=kmqtt test",
		     tls_conn_peer_subject(self->s.conn));
	EXPECT_EQ(TLS_DONE, tls_test_read(self->s.conn, self->s.fd, buf, 7));
}

/*
 * use_subject_as_username: the subject as OpenSSL prints it for RFC 2253,
 * escapes and all (mkcerts.sh wrote what it must be); the CN for
 * use_identity_as_username is the first of two.
 */
TEST_F(mtls, subject_in_rfc2253_form)
{
	char want[512];
	FILE *f = fopen(tls_test_cert("subject.rfc2253"), "r");

	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(want, sizeof(want), f));
	fclose(f);
	want[strcspn(want, "\n")] = '\0';
	ASSERT_TRUE(mtls_start(&self->s, "subject", true));
	ASSERT_EQ(TLS_DONE, tls_test_handshake(self->s.conn, self->s.fd))
		TH_LOG("%s", tls_conn_error(self->s.conn));
	EXPECT_STREQ(want, tls_conn_peer_subject(self->s.conn));
	EXPECT_STREQ("first", tls_conn_peer_cn(self->s.conn));
}

/* A certificate without CN has a subject, but no identity. */
TEST_F(mtls, no_common_name)
{
	ASSERT_TRUE(mtls_start(&self->s, "nocn", true));
	ASSERT_EQ(TLS_DONE, tls_test_handshake(self->s.conn, self->s.fd))
		TH_LOG("%s", tls_conn_error(self->s.conn));
	EXPECT_EQ(NULL, tls_conn_peer_cn(self->s.conn));
	EXPECT_STREQ("OU=no common name,O=kmqtt test",
		     tls_conn_peer_subject(self->s.conn));
}

/* crlfile: a revoked certificate fails the handshake, others pass. */
TEST_F(mtls, revoked_client_certificate)
{
	ASSERT_TRUE(mtls_start_crl(&self->s, "revoked", true,
				   tls_test_cert("crl.pem")));
	ASSERT_EQ(TLS_ERROR, tls_test_handshake(self->s.conn, self->s.fd));
	EXPECT_NE(NULL, strstr(tls_conn_error(self->s.conn), "revoked"))
		TH_LOG("%s", tls_conn_error(self->s.conn));
	EXPECT_EQ(NULL, tls_conn_peer_subject(self->s.conn));
}

TEST_F(mtls, revoked_certificate_passes_without_crlfile)
{
	ASSERT_TRUE(mtls_start(&self->s, "revoked", true));
	ASSERT_EQ(TLS_DONE, tls_test_handshake(self->s.conn, self->s.fd))
		TH_LOG("%s", tls_conn_error(self->s.conn));
}

TEST_F(mtls, unrevoked_certificate_passes_with_crlfile)
{
	ASSERT_TRUE(mtls_start_crl(&self->s, "client1", true,
				   tls_test_cert("crl.pem")));
	ASSERT_EQ(TLS_DONE, tls_test_handshake(self->s.conn, self->s.fd))
		TH_LOG("%s", tls_conn_error(self->s.conn));
	EXPECT_STREQ("client1", tls_conn_peer_cn(self->s.conn));
}

TEST_F(mtls, no_client_certificate)
{
	ASSERT_TRUE(mtls_start(&self->s, NULL, true));
	ASSERT_EQ(TLS_ERROR, tls_test_handshake(self->s.conn, self->s.fd));
	TH_LOG("%s", tls_conn_error(self->s.conn));
	EXPECT_EQ(NULL, tls_conn_peer_cn(self->s.conn));
}

TEST_F(mtls, expired_client_certificate)
{
	ASSERT_TRUE(mtls_start(&self->s, "expired", true));
	ASSERT_EQ(TLS_ERROR, tls_test_handshake(self->s.conn, self->s.fd));
	EXPECT_NE(NULL, strstr(tls_conn_error(self->s.conn), "expired"))
		TH_LOG("%s", tls_conn_error(self->s.conn));
}

TEST_F(mtls, untrusted_client_certificate)
{
	ASSERT_TRUE(mtls_start(&self->s, "untrusted", true));
	ASSERT_EQ(TLS_ERROR, tls_test_handshake(self->s.conn, self->s.fd));
	EXPECT_NE(NULL, strstr(tls_conn_error(self->s.conn),
			       "unable to get local issuer certificate"))
		TH_LOG("%s", tls_conn_error(self->s.conn));
}

/* Without require_certificate no certificate is asked for, so no CN. */
TEST_F(mtls, certificate_not_required)
{
	ASSERT_TRUE(mtls_start(&self->s, "client1", false));
	ASSERT_EQ(TLS_DONE, tls_test_handshake(self->s.conn, self->s.fd));
	EXPECT_EQ(NULL, tls_conn_peer_cn(self->s.conn));
	EXPECT_EQ(NULL, tls_conn_peer_subject(self->s.conn));
}

FIXTURE(refused) {
	struct session s;
};

FIXTURE_SETUP(refused)
{
	memset(&self->s, 0, sizeof(self->s));
}

FIXTURE_TEARDOWN(refused)
{
	session_end(&self->s);
}

TEST_F(refused, tls11)
{
	self->s.client.version = TLS1_1_VERSION;
	self->s.client.ciphers = "DEFAULT:@SECLEVEL=0";
	ASSERT_TRUE(session_start(&self->s, server_ctx(NULL, false)));
	ASSERT_EQ(TLS_ERROR, tls_test_handshake(self->s.conn, self->s.fd));
	TH_LOG("%s", tls_conn_error(self->s.conn));
}

/* CBC suites cannot be offloaded: not offered. */
TEST_F(refused, cbc_cipher)
{
	self->s.client.version = TLS1_2_VERSION;
	self->s.client.ciphers = "ECDHE-RSA-AES128-SHA256";
	ASSERT_TRUE(session_start(&self->s, server_ctx(NULL, false)));
	ASSERT_EQ(TLS_ERROR, tls_test_handshake(self->s.conn, self->s.fd));
	EXPECT_NE(NULL, strstr(tls_conn_error(self->s.conn), "no shared cipher"))
		TH_LOG("%s", tls_conn_error(self->s.conn));
}

/* After a KeyUpdate the logged secret is stale: no hand-off. */
TEST_F(refused, key_update_before_connect)
{
	union tls_crypto_params p;
	uint8_t buf[7];
	size_t size;

	self->s.client.version = TLS1_3_VERSION;
	self->s.client.key_update = true;
	self->s.client.records[0] = "CONNECT";
	ASSERT_TRUE(session_start(&self->s, server_ctx(NULL, false)));
	ASSERT_EQ(TLS_DONE, tls_test_handshake(self->s.conn, self->s.fd));
	ASSERT_EQ(TLS_DONE, tls_test_read(self->s.conn, self->s.fd, buf, 7));
	ASSERT_EQ(TLS_ERROR, tls_conn_tls13_rx_params(self->s.conn, &p, &size));
	EXPECT_NE(NULL, strstr(tls_conn_error(self->s.conn), "KeyUpdate"));
	ASSERT_EQ(TLS_ERROR, tls_conn_offload(self->s.conn));
}

/* A client that goes away mid-handshake is a close, not an error. */
TEST(closed_during_handshake)
{
	struct tls_server_ctx *ctx = server_ctx(NULL, false);
	struct tls_conn *conn;
	uint16_t port;
	int lfd, cfd, fd;
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};

	ASSERT_NE(NULL, ctx);
	lfd = tls_test_listen(&port);
	ASSERT_LE(0, lfd);
	sin.sin_port = htons(port);
	cfd = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_EQ(0, connect(cfd, (struct sockaddr *)&sin, sizeof(sin)));
	fd = tls_test_accept(lfd);
	ASSERT_LE(0, fd);
	conn = tls_conn_new(ctx, fd);
	ASSERT_NE(NULL, conn);
	EXPECT_EQ(TLS_WANT_READ, tls_conn_handshake(conn));
	close(cfd);
	EXPECT_EQ(TLS_CLOSED, tls_test_handshake(conn, fd));
	tls_conn_free(conn);
	/* The socket is still the caller's to close. */
	EXPECT_EQ(0, close(fd));
	close(lfd);
	tls_server_ctx_free(ctx);
}

TEST_HARNESS_MAIN

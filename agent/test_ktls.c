// SPDX-License-Identifier: GPL-2.0
/*
 * kTLS hand-off of agent/tls.c, for the test VM (tls.ko loaded; run by
 * "make -f Makefile.security check-vm"): for TLS 1.2 and 1.3 and each
 * offloadable cipher, the server side does the handshake and reads the
 * CONNECT through OpenSSL, takes what followed it, offloads, and then
 * reads and writes plaintext on the socket with read()/write() while the
 * peer (openssl s_client, or an OpenSSL client thread) speaks TLS.  Every
 * connection goes through a TCP proxy that records the bytes on the wire:
 * none of the plaintext may appear there.  /proc/net/tls_stat must count
 * one more software TX and RX context per hand-off and no decrypt error.
 * A refused connection's drain (tls_sock_discard()) reads what follows
 * the hand-off, alert records included, to the client's close.
 *
 * Without tls.ko the tests skip, unless KMQTT_REQUIRE_KTLS=1 (the VM run)
 * makes that a failure.  Needs KMQTT_TEST_CERTS.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "test_tls_peer.h"
#include "tls.h"
#include "kselftest_harness.h"

#define CAPTURE_MAX	(256 * 1024)
#define STAT_LINE_MAX	128

/* What the kernel counts per hand-off, from /proc/net/tls_stat. */
struct tls_stat {
	long tx_sw, rx_sw, decrypt_error;
};

static bool tls_stat_read(struct tls_stat *st)
{
	FILE *f = fopen("/proc/net/tls_stat", "r");
	char name[STAT_LINE_MAX];
	long v;

	if (!f)
		return false;
	memset(st, 0, sizeof(*st));
	while (fscanf(f, "%127s %ld", name, &v) == 2) {
		if (!strcmp(name, "TlsTxSw"))
			st->tx_sw = v;
		else if (!strcmp(name, "TlsRxSw"))
			st->rx_sw = v;
		else if (!strcmp(name, "TlsDecryptError"))
			st->decrypt_error = v;
	}
	fclose(f);
	return true;
}

/*
 * A TCP proxy for one connection from its port to @upstream, recording
 * each direction, so the test sees what a capture on the wire would.
 */
struct proxy {
	uint16_t port, upstream;
	int lfd;
	uint8_t c2s[CAPTURE_MAX], s2c[CAPTURE_MAX];
	size_t c2s_len, s2c_len;
	pthread_t thread;
};

/*
 * Pass on one read from @from; its end (EOF, an error) is passed on as a
 * half close, so either side may go on sending.  A reset thus reaches the
 * other side as a FIN: no test here looks for one.  False once it ended.
 */
static bool proxy_pump(int from, int to, uint8_t *cap, size_t *cap_len)
{
	uint8_t buf[16384];
	ssize_t n;

	do
		n = read(from, buf, sizeof(buf));
	while (n < 0 && errno == EINTR);

	if (n > 0 && *cap_len + (size_t)n <= CAPTURE_MAX) {
		memcpy(cap + *cap_len, buf, (size_t)n);
		*cap_len += (size_t)n;
	}
	if (n > 0 && write(to, buf, (size_t)n) == n)
		return true;
	shutdown(to, SHUT_WR);
	return false;
}

static void *proxy_run(void *arg)
{
	struct proxy *p = arg;
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons(p->upstream),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	struct pollfd pfd[2];
	int c, s;

	if (!tls_test_wait(p->lfd, POLLIN))
		return NULL;
	c = accept(p->lfd, NULL, NULL);
	s = socket(AF_INET, SOCK_STREAM, 0);
	if (c < 0 || s < 0 || connect(s, (struct sockaddr *)&sin, sizeof(sin)))
		goto out;
	pfd[0] = (struct pollfd){ .fd = c, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = s, .events = POLLIN };
	/* A negative fd is one whose direction has ended: poll skips it. */
	while ((pfd[0].fd >= 0 || pfd[1].fd >= 0) &&
	       poll(pfd, 2, 2 * TLS_TEST_TIMEOUT_MS) > 0) {
		if (pfd[0].revents &&
		    !proxy_pump(c, s, p->c2s, &p->c2s_len))
			pfd[0].fd = -1;
		if (pfd[1].revents &&
		    !proxy_pump(s, c, p->s2c, &p->s2c_len))
			pfd[1].fd = -1;
	}
out:
	if (c >= 0)
		close(c);
	if (s >= 0)
		close(s);
	return NULL;
}

static bool captured(const uint8_t *cap, size_t len, const char *s)
{
	return memmem(cap, len, s, strlen(s)) != NULL;
}

/* openssl s_client with pipes for its stdin and stdout. */
struct s_client {
	pid_t pid;
	int in, out;
	char output[4096];
	size_t output_len;
};

static bool s_client_start(struct s_client *sc, uint16_t port, int version,
			   const char *ciphers)
{
	char addr[32];
	int in[2], out[2];

	snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC))
		return false;
	sc->pid = fork();
	if (sc->pid < 0)
		return false;
	if (sc->pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(null, 2);
		/* -quiet: only the data on stdout, and stdin EOF ignored. */
		execlp("openssl", "openssl", "s_client", "-quiet",
		       "-connect", addr, "-servername", "localhost",
		       "-CAfile", tls_test_cert("ca.pem"), "-verify_return_error",
		       version == TLS1_3_VERSION ? "-tls1_3" : "-tls1_2",
		       version == TLS1_3_VERSION ? "-ciphersuites" : "-cipher",
		       ciphers, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	sc->in = in[1];
	sc->out = out[0];
	sc->output_len = 0;
	return true;
}

/* One line on s_client's stdin: one read, so one TLS record. */
static bool s_client_send(struct s_client *sc, const char *line)
{
	size_t n = strlen(line);

	return write(sc->in, line, n) == (ssize_t)n;
}

/* Read s_client's stdout until it holds @s. */
static bool s_client_expect(struct s_client *sc, const char *s)
{
	ssize_t n;

	while (!memmem(sc->output, sc->output_len, s, strlen(s))) {
		if (sc->output_len == sizeof(sc->output) ||
		    !tls_test_wait(sc->out, POLLIN))
			return false;
		n = read(sc->out, sc->output + sc->output_len,
			 sizeof(sc->output) - sc->output_len);
		if (n <= 0)
			return false;
		sc->output_len += (size_t)n;
	}
	return true;
}

static void s_client_stop(struct s_client *sc)
{
	if (sc->pid <= 0)
		return;
	close(sc->in);
	close(sc->out);
	kill(sc->pid, SIGTERM);
	waitpid(sc->pid, NULL, 0);
	sc->pid = 0;
}

FIXTURE(ktls) {
	struct tls_server_ctx *ctx;
	struct proxy *proxy;
	struct tls_stat before;
	struct s_client sc;
	int lfd, fd;
	bool proxy_started;
};

FIXTURE_VARIANT(ktls) {
	int version;
	const char *ciphers;
};

FIXTURE_VARIANT_ADD(ktls, tls12_aes128gcm) {
	TLS1_2_VERSION, "ECDHE-RSA-AES128-GCM-SHA256",
};
FIXTURE_VARIANT_ADD(ktls, tls12_aes256gcm) {
	TLS1_2_VERSION, "ECDHE-RSA-AES256-GCM-SHA384",
};
FIXTURE_VARIANT_ADD(ktls, tls12_chacha20) {
	TLS1_2_VERSION, "ECDHE-RSA-CHACHA20-POLY1305",
};
FIXTURE_VARIANT_ADD(ktls, tls13_aes128gcm) {
	TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256",
};
FIXTURE_VARIANT_ADD(ktls, tls13_aes256gcm) {
	TLS1_3_VERSION, "TLS_AES_256_GCM_SHA384",
};
FIXTURE_VARIANT_ADD(ktls, tls13_chacha20) {
	TLS1_3_VERSION, "TLS_CHACHA20_POLY1305_SHA256",
};

FIXTURE_SETUP(ktls)
{
	char err[TLS_ERR_MAX];

	self->fd = -1;
	self->lfd = -1;
	signal(SIGPIPE, SIG_IGN);
	self->ctx = tls_server_ctx_new(tls_test_cert("server.pem"),
				       tls_test_cert("server.key"), NULL, NULL,
				       false, err);
	ASSERT_NE(NULL, self->ctx) TH_LOG("%s", err);
	self->proxy = calloc(1, sizeof(*self->proxy));
	ASSERT_NE(NULL, self->proxy);
	self->lfd = tls_test_listen(&self->proxy->upstream);
	ASSERT_LE(0, self->lfd);
	self->proxy->lfd = tls_test_listen(&self->proxy->port);
	ASSERT_LE(0, self->proxy->lfd);
	ASSERT_EQ(0, pthread_create(&self->proxy->thread, NULL, proxy_run,
				    self->proxy));
	self->proxy_started = true;
}

/*
 * The harness runs a test after a SKIP() in its setup, so each test checks
 * for itself.
 */
#define REQUIRE_KTLS() do {						\
	const char *require = getenv("KMQTT_REQUIRE_KTLS");		\
									\
	if (!tls_stat_read(&self->before)) {				\
		ASSERT_FALSE(require && !strcmp(require, "1"))		\
			TH_LOG("tls.ko is not loaded");			\
		SKIP(return, "tls.ko is not loaded (no /proc/net/tls_stat)"); \
	}								\
} while (0)

FIXTURE_TEARDOWN(ktls)
{
	s_client_stop(&self->sc);
	if (self->fd >= 0)
		close(self->fd);
	if (self->proxy_started)
		pthread_join(self->proxy->thread, NULL);
	if (self->proxy && self->proxy->lfd >= 0)
		close(self->proxy->lfd);
	free(self->proxy);
	if (self->lfd >= 0)
		close(self->lfd);
	tls_server_ctx_free(self->ctx);
}

/*
 * Accept, handshake, read "CONNECT" through OpenSSL, take the bytes after
 * it into @pending and offload.  Returns the status of the first failing
 * step, TLS_DONE when the socket now speaks plaintext.
 */
static enum tls_status handoff(struct __test_metadata *_metadata,
			       FIXTURE_DATA(ktls) *self, char *pending,
			       size_t *pending_len)
{
	struct tls_conn *c;
	enum tls_status st;
	uint8_t buf[7], *p;

	self->fd = tls_test_accept(self->lfd);
	if (self->fd < 0)
		return TLS_ERROR;
	c = tls_conn_new(self->ctx, self->fd);
	if (!c)
		return TLS_ERROR;
	st = tls_test_handshake(c, self->fd);
	if (st == TLS_DONE)
		st = tls_test_read(c, self->fd, buf, sizeof(buf));
	if (st == TLS_DONE && memcmp(buf, "CONNECT", sizeof(buf)))
		st = TLS_ERROR;
	if (st == TLS_DONE)
		st = tls_conn_take_pending(c, &p, pending_len);
	if (st == TLS_DONE) {
		if (*pending_len)
			memcpy(pending, p, *pending_len);
		free(p);
		st = tls_conn_offload(c);
	}
	TH_LOG("%s %s: %s", tls_conn_protocol(c), tls_conn_cipher(c),
	       st == TLS_DONE ? "offloaded" : tls_conn_error(c));
	tls_conn_free(c);
	return st;
}

/* The socket speaks plaintext: read exactly @s from it. */
static bool read_plain(int fd, const char *s)
{
	char buf[256];
	size_t n = strlen(s);

	return n <= sizeof(buf) && tls_test_recv(fd, buf, n) == 0 &&
	       !memcmp(buf, s, n);
}

static bool write_plain(int fd, const char *s)
{
	size_t n = strlen(s);

	return tls_test_wait(fd, POLLOUT) && write(fd, s, n) == (ssize_t)n;
}

static void check_counters(struct __test_metadata *_metadata,
			   const struct tls_stat *before)
{
	struct tls_stat after;

	ASSERT_TRUE(tls_stat_read(&after));
	EXPECT_EQ(before->tx_sw + 1, after.tx_sw);
	EXPECT_EQ(before->rx_sw + 1, after.rx_sw);
	EXPECT_EQ(before->decrypt_error, after.decrypt_error);
}

/* The proxy saw the whole exchange, and only ciphertext of it. */
static void check_wire(struct __test_metadata *_metadata, struct proxy *p,
		       const char *const *plain)
{
	pthread_join(p->thread, NULL);
	memset(&p->thread, 0, sizeof(p->thread));
	/* At least a ClientHello, and a ServerHello with a certificate. */
	EXPECT_LT(200, p->c2s_len);
	EXPECT_LT(1000, p->s2c_len);
	for (; *plain; plain++) {
		EXPECT_FALSE(captured(p->c2s, p->c2s_len, *plain))
			TH_LOG("client to server: %s in clear", *plain);
		EXPECT_FALSE(captured(p->s2c, p->s2c_len, *plain))
			TH_LOG("server to client: %s in clear", *plain);
	}
}

/* Against openssl s_client, three round trips after the hand-off. */
TEST_F(ktls, s_client)
{
	static const char *const plain[] = {
		"CONNECT", "-first-record", "SERVER-PLAIN-", "CLIENT-PLAIN-",
		NULL,
	};
	struct s_client *sc = &self->sc;
	char pending[256], line[64];
	size_t pending_len;
	int i;

	REQUIRE_KTLS();
	ASSERT_TRUE(s_client_start(sc, self->proxy->port, variant->version,
				   variant->ciphers));
	ASSERT_TRUE(s_client_send(sc, "CONNECT-first-record\n"));
	ASSERT_EQ(TLS_DONE, handoff(_metadata, self, pending, &pending_len));
	/* s_client sent the line in one record: the rest of it is pending. */
	ASSERT_EQ(strlen("-first-record\n"), pending_len);
	EXPECT_EQ(0, memcmp(pending, "-first-record\n", pending_len));
	for (i = 0; i < 3; i++) {
		snprintf(line, sizeof(line), "SERVER-PLAIN-%d\n", i);
		ASSERT_TRUE(write_plain(self->fd, line));
		ASSERT_TRUE(s_client_expect(sc, line)) TH_LOG("%s", line);
		snprintf(line, sizeof(line), "CLIENT-PLAIN-%d\n", i);
		ASSERT_TRUE(s_client_send(sc, line));
		ASSERT_TRUE(read_plain(self->fd, line)) TH_LOG("%s", line);
	}
	check_counters(_metadata, &self->before);
	close(self->fd);
	self->fd = -1;
	s_client_stop(sc);
	check_wire(_metadata, self->proxy, plain);
	self->proxy_started = false;
}

/*
 * Records queued behind CONNECT before the hand-off: whatever OpenSSL
 * already decrypted is pending, the kernel decrypts the rest, in order.
 */
static void queued_records(struct __test_metadata *_metadata,
			   FIXTURE_DATA(ktls) *self,
			   const FIXTURE_VARIANT(ktls) *variant,
			   const char *const *records, const char *after_connect)
{
	static const char *const plain[] = {
		"CONNECT", "SURPLUS", "NEXT-1", "NEXT-2", "REPLY", "AFTER",
		NULL,
	};
	struct tls_test_client tc = {
		.port = self->proxy->port,
		.version = variant->version,
		.ciphers = variant->ciphers,
		.cafile = tls_test_cert("ca.pem"),
		.expect = 5,
		.records_after = { "AFTER" },
	};
	char pending[256];
	size_t pending_len, n = strlen(after_connect);
	int i;

	REQUIRE_KTLS();
	for (i = 0; records[i]; i++)
		tc.records[i] = records[i];
	ASSERT_EQ(0, tls_test_client_start(&tc));
	ASSERT_EQ(TLS_DONE, handoff(_metadata, self, pending, &pending_len));
	ASSERT_LE(pending_len, n);
	EXPECT_EQ(0, memcmp(pending, after_connect, pending_len));
	TH_LOG("%zu bytes pending, %zu read by the kernel", pending_len,
	       n - pending_len);
	EXPECT_TRUE(read_plain(self->fd, after_connect + pending_len));
	EXPECT_TRUE(write_plain(self->fd, "REPLY"));
	EXPECT_TRUE(read_plain(self->fd, "AFTER"));
	close(self->fd);
	self->fd = -1;
	tls_test_client_join(&tc);
	EXPECT_TRUE(tc.sent) TH_LOG("%s", tc.error);
	ASSERT_EQ(5, tc.reply_len);
	EXPECT_EQ(0, memcmp(tc.reply, "REPLY", 5));
	check_counters(_metadata, &self->before);
	check_wire(_metadata, self->proxy, plain);
	self->proxy_started = false;
}

TEST_F(ktls, surplus_in_connect_record)
{
	static const char *const records[] = {
		"CONNECTSURPLUS", "NEXT-1", "NEXT-2", NULL,
	};

	queued_records(_metadata, self, variant, records,
		       "SURPLUSNEXT-1NEXT-2");
}

TEST_F(ktls, connect_over_two_records)
{
	static const char *const records[] = {
		"CONN", "ECT", "NEXT-1", "NEXT-2", NULL,
	};

	queued_records(_metadata, self, variant, records, "NEXT-1NEXT-2");
}

/*
 * A refused connection is read until the client closes (listener.c's
 * linger).  After the hand-off the client's close_notify comes in a
 * record of its own, which tls_sock_discard() reads where recv() fails
 * with EIO, leaving it unread: the close would then send a reset.
 */
TEST_F(ktls, discard_reads_close_notify)
{
	struct tls_test_client tc = {
		.port = self->proxy->port,
		.version = variant->version,
		.ciphers = variant->ciphers,
		.cafile = tls_test_cert("ca.pem"),
		.records = { "CONNECT" },
		.expect = strlen("REFUSED"),
		.records_after = { "LATE" },
		.close_notify = true,
	};
	char pending[256], buf[64];
	size_t pending_len, got = 0;
	ssize_t n;

	REQUIRE_KTLS();
	ASSERT_EQ(0, tls_test_client_start(&tc));
	ASSERT_EQ(TLS_DONE, handoff(_metadata, self, pending, &pending_len));
	ASSERT_EQ(0, pending_len);
	ASSERT_TRUE(write_plain(self->fd, "REFUSED"));
	ASSERT_EQ(0, shutdown(self->fd, SHUT_WR));
	do {
		ASSERT_TRUE(tls_test_wait(self->fd, POLLIN));
		n = tls_sock_discard(self->fd, buf, sizeof(buf));
		if (n < 0 && errno == EAGAIN)
			continue;
		ASSERT_LE(0, n) TH_LOG("after %zu bytes: %s", got,
				       strerror(errno));
		got += n;
	} while (n);
	/* "LATE", then the alert's level and description. */
	EXPECT_EQ(strlen("LATE") + 2, got);
	tls_test_client_join(&tc);
	EXPECT_TRUE(tc.sent) TH_LOG("%s", tc.error);
	ASSERT_EQ(tc.expect, tc.reply_len);
	EXPECT_EQ(0, memcmp(tc.reply, "REFUSED", tc.reply_len));
	check_counters(_metadata, &self->before);
}

TEST_HARNESS_MAIN

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TLS for one non-blocking socket, up to the hand-off to the kernel:
 * OpenSSL does the handshake and reads the CONNECT (server side, a
 * listener's client) or writes it and reads the CONNACK (client side, a
 * bridge's link), then both directions are switched to kernel TLS (kTLS)
 * so that kmqtt.ko reads and writes plaintext on the socket with
 * kernel_recvmsg/kernel_sendmsg.
 *
 * A kTLS listener never falls back to userspace TLS: a connection whose
 * keys cannot be installed in the kernel is refused (tls_conn_offload()).
 *
 * Ownership: the socket stays the caller's.  A tls_conn never closes it,
 * never sends close_notify (tls_conn_free() does not call SSL_shutdown,
 * which after the hand-off would write a record with a sequence number the
 * kernel also uses) and never changes its flags.
 *
 * Use, driven by epoll readiness on the socket:
 *	c = tls_conn_new(ctx, fd);
 *	tls_conn_handshake(c) until TLS_DONE (wait for what it asks)
 *	tls_conn_read(c, ...) exactly up to the end of CONNECT
 *	refused: tls_conn_write(c, connack), tls_conn_free(c), close(fd)
 *	accepted: tls_conn_take_pending(c, ...), tls_conn_offload(c),
 *		  ATTACH with the pending bytes, tls_conn_free(c), close(fd)
 *
 * A bridge does the same with c = tls_conn_new_client(ctx, fd, host):
 * handshake, tls_conn_write() of its CONNECT, tls_conn_read() of exactly
 * the CONNACK, tls_conn_write() of what follows, then the hand-off.
 */
#ifndef KMQTTD_TLS_H
#define KMQTTD_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/tls.h>

/* Size of the error buffers given to this API. */
#define TLS_ERR_MAX	256
/* Longest peer certificate common name kept (RFC 5280 ub-common-name). */
#define TLS_CN_MAX	64

struct tls_server_ctx;
struct tls_client_ctx;
struct tls_conn;

enum tls_status {
	TLS_DONE,		/* the call did its work */
	TLS_WANT_READ,		/* call again when the socket is readable */
	TLS_WANT_WRITE,		/* call again when the socket is writable */
	TLS_CLOSED,		/* the peer closed the connection */
	TLS_ERROR,		/* tls_conn_error() says why; close it */
};

/*
 * A server context: TLS 1.2 and 1.3 with the ciphers kTLS can offload
 * (AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305; ECDHE only in TLS 1.2),
 * no session tickets, no renegotiation, no read-ahead.  @cafile may be
 * NULL unless @require_certificate: then clients must present a
 * certificate that @cafile verifies and that @crlfile (PEM, or NULL) does
 * not revoke.  Returns NULL with @err set.
 */
struct tls_server_ctx *tls_server_ctx_new(const char *certfile,
					  const char *keyfile,
					  const char *cafile,
					  const char *crlfile,
					  bool require_certificate,
					  char err[TLS_ERR_MAX]);
void tls_server_ctx_free(struct tls_server_ctx *ctx);

/* The versions a client offers (Mosquitto's bridge_tls_version). */
enum tls_version {
	TLS_VERSION_ANY,	/* TLS 1.2 and 1.3 */
	TLS_VERSION_1_2,	/* tlsv1.2: TLS 1.2 only */
	TLS_VERSION_1_3,	/* tlsv1.3: TLS 1.3 only */
};

struct tls_client_opts {
	const char *cafile;	/* CAs to verify the server with: */
	const char *capath;	/* one of them at least (c_rehash'ed dir) */
	const char *certfile;	/* client certificate and its key, or NULL */
	const char *keyfile;
	bool insecure;		/* do not check the server's host name */
	enum tls_version version;
};

/*
 * A client context, as the server's (same ciphers and options) but for
 * dialling out: the server's certificate must chain to @o->cafile or
 * @o->capath, always; its name must match the host dialled unless
 * @o->insecure (as Mosquitto's bridge_insecure, which spares the name
 * only).  Returns NULL with @err set.
 */
struct tls_client_ctx *tls_client_ctx_new(const struct tls_client_opts *o,
					  char err[TLS_ERR_MAX]);
void tls_client_ctx_free(struct tls_client_ctx *ctx);

/* Server side of TLS on the connected socket @fd.  NULL: out of memory. */
struct tls_conn *tls_conn_new(struct tls_server_ctx *ctx, int fd);

/*
 * Client side of TLS on @fd, connected to @host (a name or an IP address
 * as written in the configuration): SNI for a name, and the certificate
 * checked against it unless the context is insecure.  NULL: out of memory.
 */
struct tls_conn *tls_conn_new_client(struct tls_client_ctx *ctx, int fd,
				     const char *host);

/* Release @c; the socket is left open and untouched (see above). */
void tls_conn_free(struct tls_conn *c);

/* Why the last call that returned TLS_ERROR failed. */
const char *tls_conn_error(const struct tls_conn *c);

/* Advance the handshake; TLS_DONE once it is complete. */
enum tls_status tls_conn_handshake(struct tls_conn *c);

/*
 * Read at most @n bytes of application data (*@got > 0 on TLS_DONE).
 * Asking for exactly what the CONNECT (or CONNACK) still lacks keeps what
 * follows it for tls_conn_offload() to hand to the kernel.
 */
enum tls_status tls_conn_read(struct tls_conn *c, void *buf, size_t n,
			      size_t *got);

/* Write all of @buf (a CONNACK, a bridge's CONNECT) in one record. */
enum tls_status tls_conn_write(struct tls_conn *c, const void *buf, size_t n);

/*
 * Take the plaintext OpenSSL decrypted beyond what was read: one record
 * can carry CONNECT and the packets after it, and the kernel never sees
 * those bytes again.  *@buf is a malloc()ed buffer the caller frees (NULL
 * when *@len is 0); the kernel must process it before anything it reads
 * from the socket.  TLS_DONE or TLS_ERROR.
 */
enum tls_status tls_conn_take_pending(struct tls_conn *c, uint8_t **buf,
				      size_t *len);

/*
 * Hand both directions to kernel TLS, after tls_conn_take_pending().
 * OpenSSL installs the transmit key (TLS 1.2 and 1.3) and the TLS 1.2
 * receive key itself; the TLS 1.3 receive key, which OpenSSL 3.0 leaves
 * in userspace, is installed here (tls_conn_tls13_rx_params()).  A
 * client's records read before (a server's session tickets) count.  After
 * TLS_DONE the socket reads and writes plaintext; after TLS_ERROR it must
 * be closed.  Never returns TLS_WANT_*.
 */
enum tls_status tls_conn_offload(struct tls_conn *c);

/* What setsockopt(SOL_TLS, TLS_RX) takes, for each offloaded cipher. */
union tls_crypto_params {
	struct tls_crypto_info info;
	struct tls12_crypto_info_aes_gcm_128 aes_gcm_128;
	struct tls12_crypto_info_aes_gcm_256 aes_gcm_256;
	struct tls12_crypto_info_chacha20_poly1305 chacha20_poly1305;
};

/*
 * The TLS 1.3 receive parameters tls_conn_offload() installs: key and IV
 * derived from the peer's application traffic secret, and as rec_seq the
 * number of records read under it.  Fills @p and its size in *@size;
 * TLS_DONE or TLS_ERROR.  The caller wipes @p after use.
 */
enum tls_status tls_conn_tls13_rx_params(struct tls_conn *c,
					 union tls_crypto_params *p,
					 size_t *size);

/* "TLSv1.2", "TLSv1.3" once the handshake is done. */
const char *tls_conn_protocol(const struct tls_conn *c);
/* OpenSSL's name of the negotiated cipher, e.g. "TLS_AES_128_GCM_SHA256". */
const char *tls_conn_cipher(const struct tls_conn *c);

/*
 * The common name of the verified client certificate (for
 * use_identity_as_username), or NULL when the client sent none or its CN
 * is missing, empty, longer than TLS_CN_MAX or contains a NUL byte.
 */
const char *tls_conn_peer_cn(const struct tls_conn *c);

/*
 * The subject of the verified client certificate as OpenSSL prints it
 * for RFC 2253 (X509_NAME_print_ex(), XN_FLAG_RFC2253), for
 * use_subject_as_username, or NULL when the client sent none.
 */
const char *tls_conn_peer_subject(const struct tls_conn *c);

/*
 * recv() up to @n bytes from @fd, which may run kernel TLS receive (after
 * tls_conn_offload(), or never had TLS), to be thrown away: a record
 * other than data, such as the peer's close_notify alert, is read as
 * bytes too, where a plain recv() fails with EIO and leaves it unread.
 * Returns what recv() does.
 */
ssize_t tls_sock_discard(int fd, void *buf, size_t n);

#endif /* KMQTTD_TLS_H */

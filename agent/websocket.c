// SPDX-License-Identifier: GPL-2.0
/*
 * The WebSocket opening handshake (RFC 6455 4.2) and the client's frames
 * before the hand-off.  Everything here is read from a client that has
 * not authenticated yet: the request is bounded (websockets_headers_size)
 * and parsed in place, frame lengths only count down what is read.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "base64.h"
#include "kmod/ws_frame.h"
#include "websocket.h"

/* RFC 6455 1.3: what the key is hashed with. */
static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

size_t ws_request_end(const char *buf, size_t len, size_t searched)
{
	/* The blank line may have begun in the last 3 bytes searched. */
	size_t from = searched > 3 ? searched - 3 : 0;
	const char *end = memmem(buf + from, len - from, "\r\n\r\n", 4);

	return end ? (size_t)(end - buf) + 4 : 0;
}

void ws_accept_key(const char *key, size_t key_len, char out[29])
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int digest_len = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	/* SHA-1 of key and GUID; RFC 6455 asks for it, not for security. */
	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) ||
	    !EVP_DigestUpdate(ctx, key, key_len) ||
	    !EVP_DigestUpdate(ctx, ws_guid, sizeof(ws_guid) - 1) ||
	    !EVP_DigestFinal_ex(ctx, digest, &digest_len) ||
	    digest_len != 20)
		digest_len = 0;
	EVP_MD_CTX_free(ctx);
	if (!digest_len) {
		out[0] = '\0';
		return;
	}
	base64_encode(digest, 20, out);
}

/* Is @token one of the comma-separated tokens of @list (@len bytes)? */
static bool ws_list_has(const char *list, size_t len, const char *token)
{
	size_t tlen = strlen(token);
	const char *p = list, *end = list + len;

	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *stop = comma ? comma : end;

		while (p < stop && (*p == ' ' || *p == '\t'))
			p++;
		while (stop > p && (stop[-1] == ' ' || stop[-1] == '\t'))
			stop--;
		if ((size_t)(stop - p) == tlen && !strncasecmp(p, token, tlen))
			return true;
		p = comma ? comma + 1 : end;
	}
	return false;
}

/* What the handshake needs of the request's header fields. */
struct ws_fields {
	bool upgrade, connection, version_13, version_seen;
	bool mqtt, mqttv31, protocol_seen;
	const char *key;
	size_t key_len;
};

static void ws_field(struct ws_fields *f, const char *name, size_t name_len,
		     const char *value, size_t len)
{
#define WS_IS(field) (name_len == sizeof(field) - 1 && \
		      !strncasecmp(name, field, name_len))
	if (WS_IS("Upgrade")) {
		f->upgrade |= ws_list_has(value, len, "websocket");
	} else if (WS_IS("Connection")) {
		f->connection |= ws_list_has(value, len, "Upgrade");
	} else if (WS_IS("Sec-WebSocket-Version")) {
		f->version_seen = true;
		f->version_13 = len == 2 && !memcmp(value, "13", 2);
	} else if (WS_IS("Sec-WebSocket-Key")) {
		f->key = value;
		f->key_len = len;
	} else if (WS_IS("Sec-WebSocket-Protocol")) {
		f->protocol_seen = true;
		f->mqtt |= ws_list_has(value, len, "mqtt");
		f->mqttv31 |= ws_list_has(value, len, "mqttv3.1");
	}
#undef WS_IS
}

static int ws_refuse(struct ws_handshake *hs, int status, const char *reason)
{
	hs->reason = reason;
	return status;
}

/* The answer's status; the rest of it, or why not, into @hs. */
static int ws_decide(const char *req, size_t len, struct ws_handshake *hs)
{
	const char *p = req, *end = req + len, *eol;
	struct ws_fields f = { 0 };
	uint8_t key[16 + 1];
	bool first = true;

	for (; p < end; p = eol + 2) {
		const char *colon, *value, *vend;

		eol = memmem(p, (size_t)(end - p), "\r\n", 2);
		if (!eol)
			return ws_refuse(hs, 400, "malformed request");
		if (eol == p)
			break;
		if (first) {
			first = false;
			/* "GET target HTTP/1.1"; a later version would do. */
			if (eol - p < 14 || memcmp(p, "GET ", 4) ||
			    memcmp(eol - 9, " HTTP/1.", 8) || eol[-1] < '1' ||
			    eol[-1] > '9')
				return ws_refuse(hs, 400,
						 "not an HTTP/1.1 GET");
			continue;
		}
		colon = memchr(p, ':', (size_t)(eol - p));
		if (!colon || colon == p)
			return ws_refuse(hs, 400, "malformed header field");
		value = colon + 1;
		vend = eol;
		while (value < vend && (*value == ' ' || *value == '\t'))
			value++;
		while (vend > value && (vend[-1] == ' ' || vend[-1] == '\t'))
			vend--;
		ws_field(&f, p, (size_t)(colon - p), value,
			 (size_t)(vend - value));
	}
	if (first)
		return ws_refuse(hs, 400, "empty request");
	if (!f.upgrade || !f.connection)
		return ws_refuse(hs, 400, "not a WebSocket upgrade");
	if (!f.version_13)
		return ws_refuse(hs, 426, f.version_seen ?
				 "WebSocket version other than 13" :
				 "no WebSocket version");
	/* 4.1: 16 random bytes, base64. */
	if (!f.key || base64_decode(f.key, f.key_len, key, sizeof(key)) != 16)
		return ws_refuse(hs, 400, "bad Sec-WebSocket-Key");
	if (f.protocol_seen && !f.mqtt && !f.mqttv31)
		return ws_refuse(hs, 400,
				 "subprotocol offered is not mqtt (MQTT-6.0.0-3)");
	hs->subprotocol = f.mqtt ? WS_SUBPROTOCOL_MQTT :
			  f.mqttv31 ? WS_SUBPROTOCOL_MQTTV31 :
				      WS_SUBPROTOCOL_NONE;
	ws_accept_key(f.key, f.key_len, hs->accept);
	if (!hs->accept[0])
		return ws_refuse(hs, 500, "SHA-1 failed");
	return 101;
}

void ws_handshake(const char *req, size_t len, struct ws_handshake *hs)
{
	memset(hs, 0, sizeof(*hs));
	hs->status = ws_decide(req, len, hs);
}

size_t ws_response(const struct ws_handshake *hs, char *buf, size_t cap)
{
	static const char *const protocols[] = {
		[WS_SUBPROTOCOL_MQTT] = "mqtt",
		[WS_SUBPROTOCOL_MQTTV31] = "mqttv3.1",
	};
	const char *text;
	int n;

	if (hs->status == 101) {
		n = snprintf(buf, cap,
			     "HTTP/1.1 101 Switching Protocols\r\n"
			     "Upgrade: websocket\r\n"
			     "Connection: Upgrade\r\n"
			     "Sec-WebSocket-Accept: %s\r\n"
			     "%s%s%s"
			     "\r\n", hs->accept,
			     hs->subprotocol ? "Sec-WebSocket-Protocol: " : "",
			     hs->subprotocol ? protocols[hs->subprotocol] : "",
			     hs->subprotocol ? "\r\n" : "");
	} else {
		text = hs->status == 426 ? "Upgrade Required" :
		       hs->status == 431 ? "Request Header Fields Too Large" :
		       hs->status == 500 ? "Internal Server Error" :
					   "Bad Request";
		n = snprintf(buf, cap,
			     "HTTP/1.1 %d %s\r\n"
			     "%s"
			     "Connection: close\r\n"
			     "Content-Length: 0\r\n"
			     "\r\n", hs->status, text,
			     hs->status == 426 ? "Sec-WebSocket-Version: 13\r\n" : "");
	}
	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

/* A control frame read whole: NULL, or why the connection ends. */
static const char *ws_control(struct kmqtt_ws_rx *r,
			      const struct ws_transport *t)
{
	const char *why;
	uint8_t status[2];
	uint16_t code;

	r->in_frame = false;
	if (r->opcode == KMQTT_WS_OP_PING &&
	    !t->answer(t->ctx, KMQTT_WS_OP_PONG, r->control, r->control_len))
		return "Pong not sent";
	if (r->opcode != KMQTT_WS_OP_CLOSE)
		return NULL;
	/* Answered as the module answers it (kmod/websocket.c). */
	why = kmqtt_ws_close_status(r, &code);
	if (why)
		code = KMQTT_WS_CLOSE_PROTOCOL;
	status[0] = code >> 8;
	status[1] = code & 0xff;
	t->answer(t->ctx, KMQTT_WS_OP_CLOSE, status, code ? 2 : 0);
	return why ? why : "closed the WebSocket";
}

ssize_t ws_read(struct kmqtt_ws_rx *r, const struct ws_transport *t,
		unsigned int *idle, void *buf, size_t n, const char **reason)
{
	ssize_t got;
	size_t want;

	for (;;) {
		if (!r->in_frame) {
			/* Frames without data are few (WS_IDLE_FRAMES_MAX). */
			if (!*idle) {
				*reason = "too many WebSocket frames without data";
				return -1;
			}
			got = t->read(t->ctx, r->hdr + r->hdr_len,
				      kmqtt_ws_hdr_missing(r), reason);
			if (got <= 0)
				return got;
			r->hdr_len += (uint8_t)got;
			if (kmqtt_ws_hdr_missing(r))
				continue;
			*reason = kmqtt_ws_frame_start(r);
			if (*reason)
				return -1;
		} else if (kmqtt_ws_data(r)) {
			if (!r->left) {
				r->in_frame = false;
				(*idle)--;
				continue;
			}
			want = r->left < n ? (size_t)r->left : n;
			got = t->read(t->ctx, buf, want, reason);
			if (got <= 0)
				return got;
			kmqtt_ws_unmask(r, buf, buf, (uint32_t)got);
			if (!r->left)
				r->in_frame = false;
			return got;
		} else {
			got = r->left ? t->read(t->ctx,
						r->control + r->control_len,
						(size_t)r->left, reason) : 0;
			if (got < 0 || (r->left && !got))
				return got;
			kmqtt_ws_unmask(r, r->control + r->control_len,
					r->control + r->control_len,
					(uint32_t)got);
			r->control_len += (uint8_t)got;
			if (r->left)
				continue;
			(*idle)--;
			*reason = ws_control(r, t);
			if (*reason)
				return -1;
		}
	}
}

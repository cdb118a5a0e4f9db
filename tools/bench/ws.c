// SPDX-License-Identifier: GPL-2.0
/*
 * RFC 6455 for an MQTT client: the opening handshake (a GET asking for
 * the "mqtt" subprotocol, the 101 and its Sec-WebSocket-Accept checked)
 * and the frames.  The client masks each frame it sends with a fresh mask
 * (5.3); the broker's frames are unmasked, and MQTT bytes come in binary
 * frames only, split and joined at any place (MQTT-6.0.0-1, -2).
 * Everything read from the network is bounds-checked here.
 */
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ws.h"

/* RFC 6455 1.3: what the server appends to the key before hashing it. */
static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

void ws_key(const uint8_t nonce[WS_NONCE_LEN], char key[WS_KEY_LEN + 1])
{
	EVP_EncodeBlock((unsigned char *)key, nonce, WS_NONCE_LEN);
}

/* base64(SHA-1(key + GUID)), what the 101 must carry (4.2.2). */
void ws_accept(const char *key, char accept[WS_ACCEPT_LEN + 1])
{
	unsigned char digest[SHA_DIGEST_LENGTH];
	char text[WS_KEY_LEN + sizeof(ws_guid)];

	snprintf(text, sizeof(text), "%s%s", key, ws_guid);
	SHA1((const unsigned char *)text, strlen(text), digest);
	EVP_EncodeBlock((unsigned char *)accept, digest, sizeof(digest));
}

/* The opening GET (4.1); 0 if it does not fit. */
size_t ws_put_request(char *buf, size_t size, const char *host,
		      const char *port, const char *path, const char *key)
{
	bool v6 = strchr(host, ':');
	int n = snprintf(buf, size,
			 "GET %s HTTP/1.1\r\n"
			 "Host: %s%s%s:%s\r\n"
			 "Upgrade: websocket\r\n"
			 "Connection: Upgrade\r\n"
			 "Sec-WebSocket-Key: %s\r\n"
			 "Sec-WebSocket-Version: 13\r\n"
			 "Sec-WebSocket-Protocol: mqtt\r\n"
			 "\r\n",
			 path, v6 ? "[" : "", host, v6 ? "]" : "", port, key);

	return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

/* Narrows [*b, *e) to leave out the whitespace around it. */
static void trim(const char **b, const char **e)
{
	while (*b < *e && (**b == ' ' || **b == '\t'))
		(*b)++;
	while (*e > *b && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
		(*e)--;
}

/*
 * The value of the first header line NAME in head[0, len) (the lines
 * after the status line), trimmed; NULL if there is none.
 */
static const char *header_value(const char *head, size_t len,
				const char *name, size_t *value_len)
{
	const char *end = head + len, *p = head, *eol, *v;
	size_t n = strlen(name);

	for (; p < end; p = eol + 2) {
		eol = memmem(p, end - p, "\r\n", 2);
		if (!eol)
			eol = end;
		if ((size_t)(eol - p) <= n || p[n] != ':' ||
		    strncasecmp(p, name, n))
			continue;
		v = p + n + 1;
		trim(&v, &eol);
		*value_len = eol - v;
		return v;
	}
	return NULL;
}

static bool value_is(const char *v, size_t len, const char *want)
{
	return v && len == strlen(want) && !strncasecmp(v, want, len);
}

/* Connection is a comma-separated list of tokens (RFC 9110 7.6.1). */
static bool list_has(const char *v, size_t len, const char *token)
{
	const char *end = v + len, *comma, *t;

	for (;; v = comma + 1) {
		comma = memchr(v, ',', end - v);
		if (!comma)
			comma = end;
		t = comma;
		trim(&v, &t);
		if (value_is(v, t - v, token))
			return true;
		if (comma == end)
			return false;
	}
}

/*
 * The broker's answer to the GET (4.1, the client's checks): the length
 * of the response, 0 if it is not all there yet, -1 (and why) if the
 * upgrade failed.  Frames may follow it in the same read.
 */
ssize_t ws_parse_response(const uint8_t *buf, size_t len, const char *key,
			  const char **why)
{
	const char *text = (const char *)buf, *head, *v;
	size_t scan = len < WS_RESPONSE_MAX ? len : WS_RESPONSE_MAX, vlen;
	char accept[WS_ACCEPT_LEN + 1];
	const char *end = memmem(text, scan, "\r\n\r\n", 4);

	if (!end) {
		*why = "WebSocket handshake: response too long";
		return len >= WS_RESPONSE_MAX ? -1 : 0;
	}
	*why = "WebSocket handshake refused: no 101 Switching Protocols";
	if (end - text < 12 || memcmp(text, "HTTP/1.1 101", 12) ||
	    (text[12] != ' ' && text[12] != '\r'))
		return -1;
	head = memmem(text, end + 2 - text, "\r\n", 2) + 2;
	len = end + 2 - head;	/* the header lines, each ending in CRLF */
	v = header_value(head, len, "Upgrade", &vlen);
	*why = "WebSocket handshake: no Upgrade: websocket";
	if (!value_is(v, vlen, "websocket"))
		return -1;
	v = header_value(head, len, "Connection", &vlen);
	*why = "WebSocket handshake: no Connection: Upgrade";
	if (!v || !list_has(v, vlen, "upgrade"))
		return -1;
	ws_accept(key, accept);
	v = header_value(head, len, "Sec-WebSocket-Accept", &vlen);
	*why = "WebSocket handshake: wrong Sec-WebSocket-Accept";
	if (!v || vlen != WS_ACCEPT_LEN || memcmp(v, accept, vlen))
		return -1;
	/* MQTT-6.0.0-4: the broker selects "mqtt" */
	v = header_value(head, len, "Sec-WebSocket-Protocol", &vlen);
	*why = "WebSocket handshake: subprotocol not mqtt";
	if (!v || vlen != 4 || memcmp(v, "mqtt", 4))
		return -1;
	/* We offered no extension, so the broker may not use one (4.1). */
	*why = "WebSocket handshake: an extension we did not ask for";
	if (header_value(head, len, "Sec-WebSocket-Extensions", &vlen))
		return -1;
	return end + 4 - text;
}

/*
 * A mask per frame (5.3) from a xorshift64* seeded per connection from
 * getrandom(): a syscall per frame would cost the generator more than
 * the framing it measures, and masking only guards proxies' caches.
 */
void ws_mask_next(uint64_t *state, uint8_t mask[4])
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	x *= 0x2545f4914f6cdd1dull;
	memcpy(mask, (uint8_t *)&x + 4, 4);
}

/* dst = src XOR mask (5.3); dst may be src.  Eight bytes at a time. */
void ws_mask_copy(uint8_t *dst, const uint8_t *src, size_t len,
		  const uint8_t mask[4])
{
	uint8_t m8[8];
	uint64_t m, w;
	size_t i = 0;

	memcpy(m8, mask, 4);
	memcpy(m8 + 4, mask, 4);
	memcpy(&m, m8, 8);
	for (; i + 8 <= len; i += 8) {
		memcpy(&w, src + i, 8);
		w ^= m;
		memcpy(dst + i, &w, 8);
	}
	for (; i < len; i++)
		dst[i] = src[i] ^ mask[i & 3];
}

/*
 * One frame, header and payload, masked with mask if not NULL; the
 * shortest length encoding (5.2).  Returns its size, 0 if it does not
 * fit in size.
 */
size_t ws_put_frame(uint8_t *dst, size_t size, uint8_t fin_opcode,
		    const uint8_t *payload, size_t len, const uint8_t *mask)
{
	size_t ext = len > 65535 ? 8 : len > 125 ? 2 : 0;
	size_t hdr = 2 + ext + (mask ? 4 : 0), i;

	if (size < hdr || size - hdr < len)
		return 0;
	dst[0] = fin_opcode;
	dst[1] = ext == 8 ? 127 : ext == 2 ? 126 : len;
	for (i = 0; i < ext; i++)
		dst[2 + i] = (uint64_t)len >> (8 * (ext - 1 - i));
	if (mask) {
		dst[1] |= 0x80;
		memcpy(dst + hdr - 4, mask, 4);
		ws_mask_copy(dst + hdr, payload, len, mask);
	} else if (len) {
		memcpy(dst + hdr, payload, len);
	}
	return hdr + len;
}

/*
 * A frame header at buf: its size, 0 if incomplete, -1 if malformed (RSV
 * bits without an extension, a length with its top bit set, a control
 * frame fragmented or over 125 bytes: 5.2, 5.5).
 */
ssize_t ws_parse_header(const uint8_t *buf, size_t len, struct ws_frame *f)
{
	size_t need = 2, i;
	uint8_t len7;

	if (len < 2)
		return 0;
	if (buf[0] & 0x70)
		return -1;
	f->fin = buf[0] & WS_FIN;
	f->opcode = buf[0] & 0x0f;
	f->masked = buf[1] & 0x80;
	len7 = buf[1] & 0x7f;
	need += len7 == 127 ? 8 : len7 == 126 ? 2 : 0;
	need += f->masked ? 4 : 0;
	if (len < need)
		return 0;
	f->len = len7;
	if (len7 >= 126) {
		f->len = 0;
		for (i = 2; i < (len7 == 127 ? 10u : 4u); i++)
			f->len = f->len << 8 | buf[i];
		if (f->len >> 63)
			return -1;
	}
	if (f->masked)
		memcpy(f->mask, buf + need - 4, 4);
	if ((f->opcode & 0x8) && (!f->fin || f->len > WS_CONTROL_MAX))
		return -1;
	return need;
}

/*
 * Decodes the broker's frames in in[0, len): the payload of binary and
 * continuation frames goes to out (at most room bytes, *out_len of them),
 * and the first control frame, once whole, to ctl, where decoding stops
 * so that the caller answers it in order.  Returns the bytes of in used;
 * the rest (a partial header or control frame, or what out had no room
 * for) waits for the next call.  -1 and why: the stream breaks RFC 6455
 * or MQTT-6.0.0-1 (binary frames only).
 */
ssize_t ws_decode(struct ws_rx *s, const uint8_t *in, size_t len,
		  uint8_t *out, size_t room, size_t *out_len,
		  struct ws_ctl *ctl, const char **why)
{
	struct ws_frame f;
	size_t used = 0, n;
	ssize_t hdr;

	*out_len = 0;
	ctl->opcode = 0;
	while (used < len) {
		if (s->left) {
			n = len - used < room - *out_len ? len - used :
			    room - *out_len;
			if (n > s->left)
				n = s->left;
			if (!n)
				break;
			memcpy(out + *out_len, in + used, n);
			*out_len += n;
			used += n;
			s->left -= n;
			continue;
		}
		hdr = ws_parse_header(in + used, len - used, &f);
		if (hdr == 0)
			break;
		*why = "malformed WebSocket frame";
		if (hdr < 0)
			return -1;
		*why = "masked WebSocket frame from the broker";
		if (f.masked)
			return -1;
		if (f.opcode & 0x8) {
			*why = "unknown WebSocket control frame";
			if (f.opcode != WS_CLOSE && f.opcode != WS_PING &&
			    f.opcode != WS_PONG)
				return -1;
			if (len - used - hdr < f.len)
				break;
			ctl->opcode = f.opcode;
			ctl->len = f.len;
			memcpy(ctl->data, in + used + hdr, f.len);
			return used + hdr + f.len;
		}
		*why = "WebSocket continuation frame outside a message";
		if (f.opcode == WS_CONTINUATION && !s->fragmented)
			return -1;
		*why = "WebSocket message inside a fragmented one";
		if (f.opcode == WS_BINARY && s->fragmented)
			return -1;
		*why = "WebSocket frame neither binary nor continuation";
		if (f.opcode != WS_BINARY && f.opcode != WS_CONTINUATION)
			return -1;
		s->fragmented = !f.fin;
		s->left = f.len;
		used += hdr;
	}
	return used;
}

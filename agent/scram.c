// SPDX-License-Identifier: GPL-2.0
/*
 * SCRAM-SHA-256, server side (RFC 5802 section 5 and 7 for the
 * messages, RFC 7677 for the hash).  Only what RFC 5802 calls
 * client-first-message and client-final-message is parsed, strictly: a
 * gs2 header "n,," or "y,," (the server offers no channel binding), no
 * authorization identity, no mandatory extension.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <linux/kmqtt.h>

#include "base64.h"
#include "scram.h"
#include "scram_file.h"

/* Random bytes of the server's part of the nonce. */
#define SCRAM_SERVER_NONCE_BYTES	18
/* Longest client's part: server-first must fit AUTH_METHOD_DATA_MAX. */
#define SCRAM_CLIENT_NONCE_MAX		256

struct scram_exchange {
	bool final_done;		/* no step after the final one */
	bool known;			/* the user is in the file */
	struct scram_secret secret;	/* copied: a reload frees the file */
	char user[KMQTT_USERNAME_MAX + 1];
	/* base64 of the gs2 header, what client-final's c= must be */
	char channel_binding[8];
	char *nonce;			/* the client's and the server's */
	/* RFC 5802's AuthMessage up to the client-final part */
	char *auth_message;
	uint8_t out[AUTH_METHOD_DATA_MAX];
};

static void fail(struct auth_method_result *res, const char *why)
{
	*res = (struct auth_method_result){ .verdict = AUTH_METHOD_FAIL,
					    .reason = why };
}

int scram_derive(const uint8_t *password, size_t len, const uint8_t *salt,
		 size_t salt_len, uint32_t iterations,
		 struct scram_secret *out)
{
	uint8_t salted[SCRAM_KEY_LEN], client_key[SCRAM_KEY_LEN];
	int ok;

	memset(out, 0, sizeof(*out));
	if (salt_len > sizeof(out->salt) || len > INT32_MAX)
		return -1;
	out->iterations = iterations;
	memcpy(out->salt, salt, salt_len);
	out->salt_len = salt_len;
	ok = PKCS5_PBKDF2_HMAC((const char *)password, (int)len, salt,
			       (int)salt_len, (int)iterations, EVP_sha256(),
			       SCRAM_KEY_LEN, salted) == 1 &&
	     HMAC(EVP_sha256(), salted, SCRAM_KEY_LEN,
		  (const uint8_t *)"Client Key", 10, client_key, NULL) &&
	     EVP_Digest(client_key, SCRAM_KEY_LEN, out->stored_key, NULL,
			EVP_sha256(), NULL) == 1 &&
	     HMAC(EVP_sha256(), salted, SCRAM_KEY_LEN,
		  (const uint8_t *)"Server Key", 10, out->server_key, NULL);
	OPENSSL_cleanse(salted, sizeof(salted));
	OPENSSL_cleanse(client_key, sizeof(client_key));
	return ok ? 0 : -1;
}

/* @msg as a string: no NUL inside, at most SCRAM_MESSAGE_MAX bytes. */
static char *message_string(const uint8_t *msg, size_t len)
{
	/* No Authentication Data at all: msg may be NULL. */
	if (!len)
		return strdup("");
	if (len > SCRAM_MESSAGE_MAX || memchr(msg, '\0', len))
		return NULL;
	return strndup((const char *)msg, len);
}

/*
 * The value of attribute @name at *@pos ("N=VALUE," or "N=VALUE" at the
 * end), NUL-terminated in place; *@pos moves past it.  NULL when absent.
 */
static char *take_attr(char **pos, char name)
{
	char *p = *pos, *comma;

	if (!p || p[0] != name || p[1] != '=')
		return NULL;
	comma = strchr(p + 2, ',');
	if (comma)
		*comma = '\0';
	*pos = comma ? comma + 1 : NULL;
	return p + 2;
}

/* RFC 5802 saslname to @out: "=2C" is ',', "=3D" is '=', nothing else. */
static bool decode_saslname(const char *in, char *out, size_t max)
{
	size_t n = 0;

	for (; *in; in++) {
		if (n == max)
			return false;
		if (*in != '=') {
			out[n++] = *in;
			continue;
		}
		if (!strncmp(in, "=2C", 3))
			out[n++] = ',';
		else if (!strncmp(in, "=3D", 3))
			out[n++] = '=';
		else
			return false;
		in += 2;
	}
	out[n] = '\0';
	return n > 0;
}

/* RFC 5802 printable: %x21-7E except ','. */
static bool nonce_valid(const char *s)
{
	if (!*s || strlen(s) > SCRAM_CLIENT_NONCE_MAX)
		return false;
	for (; *s; s++)
		if (*s < 0x21 || *s > 0x7e || *s == ',')
			return false;
	return true;
}

/*
 * Parse client-first @msg: its gs2 header into @x, the bare message into
 * *@bare (in @msg), the user name (saslname) and nonce into *@name and
 * *@client_nonce, in *@copy (the caller frees it).  Returns NULL, or why
 * the client is refused.
 */
static const char *parse_client_first(struct scram_exchange *x, char *msg,
				      const char **bare, char **copy,
				      char **name, char **client_nonce)
{
	char *pos;

	if (!strncmp(msg, "p=", 2))
		return "SCRAM: channel binding asked for (not offered)";
	if (strncmp(msg, "n,", 2) && strncmp(msg, "y,", 2))
		return "SCRAM: malformed gs2 header";
	if (msg[2] != ',')
		return "SCRAM: authorization identity given (not supported)";
	/* base64 of "n,," or "y,," */
	snprintf(x->channel_binding, sizeof(x->channel_binding), "%s",
		 msg[0] == 'n' ? "biws" : "eSws");
	*bare = msg + 3;
	if (!strncmp(*bare, "m=", 2))
		return "SCRAM: mandatory extension (not supported)";
	/* Cut apart a copy: @bare stays whole for the AuthMessage. */
	pos = *copy = strdup(*bare);
	if (!pos)
		return "out of memory";
	*name = take_attr(&pos, 'n');
	if (!*name)
		return "SCRAM: client-first without n=";
	*client_nonce = take_attr(&pos, 'r');
	if (!*client_nonce || !nonce_valid(*client_nonce))
		return "SCRAM: client-first without a valid r=";
	/* Extensions after the nonce are ignored (RFC 5802 5.1). */
	return NULL;
}

struct scram_exchange *scram_first(const struct scram_file *f,
				   const uint8_t *msg, size_t len,
				   const char *server_nonce,
				   struct auth_method_result *res)
{
	struct scram_exchange *x = calloc(1, sizeof(*x));
	char *text = message_string(msg, len), *copy = NULL;
	char *name = NULL, *nonce = NULL;
	char salt[BASE64_ENCODED_LEN(SCRAM_SALT_MAX) + 1];
	const char *bare = NULL, *why, *known_as;
	int n;

	if (!x || !text) {
		fail(res, x ? "SCRAM: client-first too long or with NUL" :
			      "out of memory");
		goto out;
	}
	why = parse_client_first(x, text, &bare, &copy, &name, &nonce);
	if (!why && !decode_saslname(name, x->user, KMQTT_USERNAME_MAX))
		why = "SCRAM: malformed user name";
	if (why) {
		fail(res, why);
		goto out;
	}
	known_as = scram_file_find(f, (const uint8_t *)x->user,
				   strlen(x->user), &x->secret);
	x->known = known_as != NULL;
	base64_encode(x->secret.salt, x->secret.salt_len, salt);
	if (asprintf(&x->nonce, "%s%s", nonce, server_nonce) < 0)
		x->nonce = NULL;
	n = x->nonce ? snprintf((char *)x->out, sizeof(x->out),
				"r=%s,s=%s,i=%u", x->nonce, salt,
				x->secret.iterations) : -1;
	if (n < 0 || (size_t)n >= sizeof(x->out) ||
	    asprintf(&x->auth_message, "%s,%s", bare, x->out) < 0) {
		x->auth_message = NULL;
		fail(res, "out of memory");
		goto out;
	}
	*res = (struct auth_method_result){ .verdict = AUTH_METHOD_CONTINUE,
					    .data = x->out,
					    .data_len = (size_t)n };
out:
	free(text);
	free(copy);
	return x;
}

/* Whether @proof (base64) proves the password of @x's user. */
static bool proof_valid(struct scram_exchange *x, const char *proof,
			const char *auth_message)
{
	uint8_t given[SCRAM_KEY_LEN], signature[SCRAM_KEY_LEN];
	uint8_t client_key[SCRAM_KEY_LEN], stored[SCRAM_KEY_LEN];
	bool ok;
	int i;

	if (base64_decode(proof, strlen(proof), given, sizeof(given)) !=
	    SCRAM_KEY_LEN)
		return false;
	ok = HMAC(EVP_sha256(), x->secret.stored_key, SCRAM_KEY_LEN,
		  (const uint8_t *)auth_message, strlen(auth_message),
		  signature, NULL) != NULL;
	for (i = 0; i < SCRAM_KEY_LEN; i++)
		client_key[i] = given[i] ^ signature[i];
	ok = ok && EVP_Digest(client_key, SCRAM_KEY_LEN, stored, NULL,
			      EVP_sha256(), NULL) == 1 &&
	     !CRYPTO_memcmp(stored, x->secret.stored_key, SCRAM_KEY_LEN) &&
	     x->known;
	OPENSSL_cleanse(client_key, sizeof(client_key));
	return ok;
}

/*
 * Check client-final @msg (cut apart) against @x; the AuthMessage's last
 * part is client-final up to its proof.  Returns NULL or why not.
 */
static const char *check_client_final(struct scram_exchange *x, char *msg,
				      char **auth_message)
{
	char *proof_at = strstr(msg, ",p="), *pos = msg, *attr;

	/* The proof comes last (RFC 5802 7). */
	while (proof_at && strstr(proof_at + 1, ",p="))
		proof_at = strstr(proof_at + 1, ",p=");
	if (!proof_at || strchr(proof_at + 3, ','))
		return "SCRAM: client-final without p= last";
	*proof_at = '\0';
	if (asprintf(auth_message, "%s,%s", x->auth_message, msg) < 0) {
		*auth_message = NULL;
		return "out of memory";
	}
	attr = take_attr(&pos, 'c');
	if (!attr || strcmp(attr, x->channel_binding))
		return "SCRAM: c= is not the gs2 header of client-first";
	attr = take_attr(&pos, 'r');
	if (!attr || strcmp(attr, x->nonce))
		return "SCRAM: r= is not the nonce of server-first";
	if (!proof_valid(x, proof_at + 3, *auth_message))
		return x->known ? "SCRAM: wrong proof (password)" :
				  "SCRAM: unknown user";
	return NULL;
}

void scram_final(struct scram_exchange *x, const uint8_t *msg, size_t len,
		 struct auth_method_result *res)
{
	uint8_t signature[SCRAM_KEY_LEN];
	char *text, *auth_message = NULL;
	const char *why;

	if (x->final_done) {
		fail(res, "SCRAM: a step after client-final");
		return;
	}
	x->final_done = true;
	text = message_string(msg, len);
	why = text ? check_client_final(x, text, &auth_message) :
		     "SCRAM: client-final too long or with NUL";
	if (!why && !HMAC(EVP_sha256(), x->secret.server_key, SCRAM_KEY_LEN,
			  (const uint8_t *)auth_message,
			  strlen(auth_message), signature, NULL))
		why = "SCRAM: HMAC failed";
	free(text);
	free(auth_message);
	if (why) {
		fail(res, why);
		return;
	}
	memcpy(x->out, "v=", 2);
	*res = (struct auth_method_result){
		.verdict = AUTH_METHOD_SUCCESS,
		.data = x->out,
		.data_len = 2 + base64_encode(signature, SCRAM_KEY_LEN,
					      (char *)x->out + 2),
		.identity = x->user,
	};
}

void scram_end(struct scram_exchange *x)
{
	if (!x)
		return;
	free(x->nonce);
	free(x->auth_message);
	OPENSSL_cleanse(x, sizeof(*x));
	free(x);
}

static void method_start(const void *config, const uint8_t *data,
			 size_t len, void **session,
			 struct auth_method_result *res)
{
	uint8_t bytes[SCRAM_SERVER_NONCE_BYTES];
	char nonce[BASE64_ENCODED_LEN(SCRAM_SERVER_NONCE_BYTES) + 1];

	*session = NULL;
	if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
		fail(res, "no random bytes for the nonce");
		return;
	}
	base64_encode(bytes, sizeof(bytes), nonce);
	*session = scram_first(config, data, len, nonce, res);
}

static void method_step(void *session, const uint8_t *data, size_t len,
			struct auth_method_result *res)
{
	scram_final(session, data, len, res);
}

static void method_end(void *session)
{
	scram_end(session);
}

const struct auth_method scram_sha256_method = {
	.name = "SCRAM-SHA-256",
	.start = method_start,
	.step = method_step,
	.end = method_end,
};

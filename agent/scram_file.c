// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <linux/kmqtt.h>

#include "base64.h"
#include "credfile.h"
#include "kmod/codec.h"
#include "scram_file.h"

#define SCRAM_FILE_PREFIX	"SCRAM-SHA-256$"

struct scram_file {
	struct credfile users;
	/* Makes the salts of unknown users: random, for this load only. */
	uint8_t unknown_key[SCRAM_KEY_LEN];
};

/* "FIELD" of @len characters, base64 of exactly @want bytes (0: any). */
static int decode_field(const char *s, size_t len, uint8_t *out, size_t max,
			size_t want)
{
	int n = base64_decode(s, len, out, max);

	return n <= 0 || (want && (size_t)n != want) ? -1 : n;
}

/* "ITERATIONS:SALT$STOREDKEY:SERVERKEY" after the prefix. */
static const char *parse_secret(char *text, void *secret)
{
	struct scram_secret *s = secret;
	char *salt, *stored, *server, *end;
	unsigned long iterations;
	int n;

	if (strncmp(text, SCRAM_FILE_PREFIX, strlen(SCRAM_FILE_PREFIX)))
		return "secret does not start with " SCRAM_FILE_PREFIX;
	text += strlen(SCRAM_FILE_PREFIX);
	salt = strchr(text, ':');
	stored = salt ? strchr(salt, '$') : NULL;
	server = stored ? strchr(stored, ':') : NULL;
	if (!server || strpbrk(server + 1, ":$"))
		return "expected " SCRAM_FILE_PREFIX "ITERATIONS:SALT$STOREDKEY:SERVERKEY";
	*salt++ = '\0';
	*stored++ = '\0';
	*server++ = '\0';
	errno = 0;
	iterations = strtoul(text, &end, 10);
	if (*text < '0' || *text > '9' || *end || errno ||
	    iterations < SCRAM_ITERATIONS_MIN ||
	    iterations > SCRAM_ITERATIONS_MAX)
		return "iteration count is not a number from 4096 to 10000000";
	s->iterations = (uint32_t)iterations;
	n = decode_field(salt, strlen(salt), s->salt, sizeof(s->salt), 0);
	if (n < 0)
		return "salt is not base64 of 1 to 64 bytes";
	s->salt_len = (size_t)n;
	if (decode_field(stored, strlen(stored), s->stored_key,
			 SCRAM_KEY_LEN, SCRAM_KEY_LEN) < 0 ||
	    decode_field(server, strlen(server), s->server_key,
			 SCRAM_KEY_LEN, SCRAM_KEY_LEN) < 0)
		return "StoredKey and ServerKey must be base64 of 32 bytes";
	return NULL;
}

struct scram_file *scram_file_load(const char *path, char *err,
				   size_t errlen)
{
	struct scram_file *f = calloc(1, sizeof(*f));

	if (!f) {
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	if (RAND_bytes(f->unknown_key, sizeof(f->unknown_key)) != 1) {
		snprintf(err, errlen, "%s: no random bytes", path);
		free(f);
		return NULL;
	}
	if (credfile_load(&f->users, path, sizeof(struct scram_secret),
			  parse_secret, err, errlen)) {
		scram_file_free(f);
		return NULL;
	}
	return f;
}

void scram_file_free(struct scram_file *f)
{
	if (!f)
		return;
	credfile_free(&f->users);
	OPENSSL_cleanse(f, sizeof(*f));
	free(f);
}

const char *scram_file_find(const struct scram_file *f, const uint8_t *user,
			    size_t len, struct scram_secret *secret)
{
	const struct credfile_entry *e = credfile_find(&f->users, user, len);
	uint8_t mac[EVP_MAX_MD_SIZE] = { 0 };
	unsigned int mac_len = 0;

	if (e) {
		memcpy(secret, e->secret, sizeof(*secret));
		return e->username;
	}
	/* Keys nobody knows a password for: the proof cannot match. */
	memset(secret, 0, sizeof(*secret));
	HMAC(EVP_sha256(), f->unknown_key, sizeof(f->unknown_key), user, len,
	     mac, &mac_len);
	secret->iterations = SCRAM_FILE_ITERATIONS;
	secret->salt_len = SCRAM_FILE_SALT_LEN;
	memcpy(secret->salt, mac, SCRAM_FILE_SALT_LEN);
	memcpy(secret->stored_key, mac, SCRAM_KEY_LEN);
	memcpy(secret->server_key, mac, SCRAM_KEY_LEN);
	OPENSSL_cleanse(mac, sizeof(mac));
	return NULL;
}

/* Why @user cannot be a name of the file, or NULL. */
static const char *check_user(const char *user)
{
	size_t len = strlen(user);

	if (!len)
		return "empty user name";
	if (len > KMQTT_USERNAME_MAX)
		return "user name longer than 1024 bytes";
	if (strchr(user, ':'))
		return "user name with ':' (the file's separator)";
	if (strpbrk(user, "\r\n") || user[0] == '#' ||
	    strchr(" \t", user[len - 1]))
		return "user name the file cannot hold (a newline, a leading #, a trailing blank)";
	if (!kmqtt_codec_utf8_valid((const uint8_t *)user, len))
		return "user name is not valid UTF-8";
	return NULL;
}

char *scram_file_line(const char *user, const uint8_t *password, size_t len,
		      char *err, size_t errlen)
{
	char salt[BASE64_ENCODED_LEN(SCRAM_FILE_SALT_LEN) + 1];
	char stored[BASE64_ENCODED_LEN(SCRAM_KEY_LEN) + 1];
	char server[BASE64_ENCODED_LEN(SCRAM_KEY_LEN) + 1];
	uint8_t salt_bytes[SCRAM_FILE_SALT_LEN];
	struct scram_secret s;
	const char *why = check_user(user);
	char *line = NULL;

	if (why) {
		snprintf(err, errlen, "%s", why);
		return NULL;
	}
	if (RAND_bytes(salt_bytes, sizeof(salt_bytes)) != 1 ||
	    scram_derive(password, len, salt_bytes, sizeof(salt_bytes),
			 SCRAM_FILE_ITERATIONS, &s)) {
		snprintf(err, errlen, "OpenSSL failed");
		return NULL;
	}
	base64_encode(salt_bytes, sizeof(salt_bytes), salt);
	base64_encode(s.stored_key, SCRAM_KEY_LEN, stored);
	base64_encode(s.server_key, SCRAM_KEY_LEN, server);
	if (asprintf(&line, "%s:" SCRAM_FILE_PREFIX "%u:%s$%s:%s", user,
		     SCRAM_FILE_ITERATIONS, salt, stored, server) < 0) {
		line = NULL;
		snprintf(err, errlen, "out of memory");
	}
	OPENSSL_cleanse(&s, sizeof(s));
	return line;
}

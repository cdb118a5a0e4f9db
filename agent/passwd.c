// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "base64.h"
#include "credfile.h"
#include "passwd.h"

#define PASSWD_HASH_LEN		64	/* SHA-512 */
#define PASSWD_SALT_MAX		64
/*
 * Each PBKDF2-SHA512 iteration costs about a microsecond: a bigger count
 * would let one line of the file stall every login of its user.
 */
#define PASSWD_MAX_ITERATIONS	1000000
/* What mosquitto_passwd uses, for the hash an unknown user costs. */
#define PASSWD_DEFAULT_ITERATIONS	101

enum passwd_kind {
	PASSWD_SHA512,		/* $6$ */
	PASSWD_PBKDF2_SHA512,	/* $7$ */
};

/* What a line's hash says. */
struct passwd_entry {
	enum passwd_kind kind;
	int iterations;
	uint8_t salt[PASSWD_SALT_MAX];
	size_t salt_len;
	uint8_t hash[PASSWD_HASH_LEN];
};

struct passwd_file {
	struct credfile users;
};

/* Parse "$6$SALT$HASH" or "$7$ITERATIONS$SALT$HASH"; NULL or why not. */
static const char *passwd_parse_hash(char *s, void *secret)
{
	struct passwd_entry *e = secret;
	char *fields[4], *save = NULL, *end;
	long iterations;
	int n = 0, salt_len, hash_len;
	const char *salt, *hash;

	if (s[0] != '$')
		return "hash does not start with $6$ or $7$";
	for (char *f = strtok_r(s + 1, "$", &save); f;
	     f = strtok_r(NULL, "$", &save)) {
		if (n == 4)
			return "too many $ fields in hash";
		fields[n++] = f;
	}
	if (n >= 1 && !strcmp(fields[0], "6")) {
		if (n != 3)
			return "$6$ hash needs $6$SALT$HASH";
		e->kind = PASSWD_SHA512;
		e->iterations = 0;
		salt = fields[1];
		hash = fields[2];
	} else if (n >= 1 && !strcmp(fields[0], "7")) {
		if (n != 4)
			return "$7$ hash needs $7$ITERATIONS$SALT$HASH";
		errno = 0;
		iterations = strtol(fields[1], &end, 10);
		if (errno || *end || end == fields[1] || iterations < 1 ||
		    iterations > PASSWD_MAX_ITERATIONS)
			return "bad iteration count in $7$ hash (1 to 1000000)";
		e->kind = PASSWD_PBKDF2_SHA512;
		e->iterations = (int)iterations;
		salt = fields[2];
		hash = fields[3];
	} else {
		return "unknown hash type (not $6$ or $7$)";
	}
	salt_len = base64_decode(salt, strlen(salt), e->salt, sizeof(e->salt));
	if (salt_len <= 0)
		return "salt is not valid base64";
	e->salt_len = (size_t)salt_len;
	hash_len = base64_decode(hash, strlen(hash), e->hash, sizeof(e->hash));
	if (hash_len != PASSWD_HASH_LEN)
		return "hash is not 64 bytes of base64";
	return NULL;
}

void passwd_free(struct passwd_file *pf)
{
	if (!pf)
		return;
	credfile_free(&pf->users);
	free(pf);
}

size_t passwd_count(const struct passwd_file *pf)
{
	return pf->users.count;
}

struct passwd_file *passwd_load(const char *path, char *err, size_t errlen)
{
	struct passwd_file *pf = calloc(1, sizeof(*pf));

	if (!pf) {
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	if (credfile_load(&pf->users, path, sizeof(struct passwd_entry),
			  passwd_parse_hash, err, errlen)) {
		free(pf);
		return NULL;
	}
	return pf;
}

static bool passwd_hash(const struct passwd_entry *e, const uint8_t *password,
			size_t password_len, uint8_t out[PASSWD_HASH_LEN])
{
	unsigned int n = PASSWD_HASH_LEN;
	EVP_MD_CTX *md;
	bool ok;

	if (e->kind == PASSWD_PBKDF2_SHA512)
		return password_len <= INT_MAX &&
		       PKCS5_PBKDF2_HMAC((const char *)password,
					 (int)password_len, e->salt,
					 (int)e->salt_len, e->iterations,
					 EVP_sha512(), PASSWD_HASH_LEN,
					 out) == 1;
	md = EVP_MD_CTX_new();
	ok = md && EVP_DigestInit_ex(md, EVP_sha512(), NULL) &&
	     EVP_DigestUpdate(md, password, password_len) &&
	     EVP_DigestUpdate(md, e->salt, e->salt_len) &&
	     EVP_DigestFinal_ex(md, out, &n) && n == PASSWD_HASH_LEN;
	EVP_MD_CTX_free(md);
	return ok;
}

bool passwd_verify(const struct passwd_file *pf, const uint8_t *username,
		   size_t username_len, const uint8_t *password,
		   size_t password_len)
{
	/* Stands in for an unknown user, so that it costs a hash too. */
	static const struct passwd_entry unknown = {
		.kind = PASSWD_PBKDF2_SHA512,
		.iterations = PASSWD_DEFAULT_ITERATIONS,
		.salt_len = 12,
	};
	const struct credfile_entry *user = credfile_find(&pf->users, username,
							 username_len);
	const struct passwd_entry *e = user ? user->secret : NULL;
	uint8_t hash[PASSWD_HASH_LEN];
	bool ok;

	ok = passwd_hash(e ? e : &unknown, password, password_len, hash) &&
	     e && CRYPTO_memcmp(hash, e->hash, PASSWD_HASH_LEN) == 0;
	OPENSSL_cleanse(hash, sizeof(hash));
	return ok;
}

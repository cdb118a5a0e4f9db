// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

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

struct passwd_entry {
	char *username;
	size_t username_len;
	enum passwd_kind kind;
	int iterations;
	uint8_t salt[PASSWD_SALT_MAX];
	size_t salt_len;
	uint8_t hash[PASSWD_HASH_LEN];
};

struct passwd_file {
	struct passwd_entry *entries;	/* sorted by username */
	size_t count;
};

/* Strict base64 with padding, as mosquitto_passwd writes; -1: invalid. */
static int passwd_base64(const char *in, uint8_t *out, size_t max)
{
	size_t len = strlen(in), pad = 0;
	uint8_t buf[((PASSWD_SALT_MAX > PASSWD_HASH_LEN ? PASSWD_SALT_MAX :
		      PASSWD_HASH_LEN) + 2) / 3 * 3];
	int n;

	if (len == 0 || len % 4 || len / 4 * 3 > sizeof(buf) ||
	    strspn(in, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") != len)
		return -1;
	while (pad < 2 && in[len - 1 - pad] == '=')
		pad++;
	if (memchr(in, '=', len - pad))
		return -1;
	n = EVP_DecodeBlock(buf, (const unsigned char *)in, (int)len);
	if (n < 0 || (size_t)n < pad || (size_t)n - pad > max)
		return -1;
	memcpy(out, buf, (size_t)n - pad);
	OPENSSL_cleanse(buf, sizeof(buf));
	return n - (int)pad;
}

/* Parse "$6$SALT$HASH" or "$7$ITERATIONS$SALT$HASH"; NULL or why not. */
static const char *passwd_parse_hash(char *s, struct passwd_entry *e)
{
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
	salt_len = passwd_base64(salt, e->salt, sizeof(e->salt));
	if (salt_len <= 0)
		return "salt is not valid base64";
	e->salt_len = (size_t)salt_len;
	hash_len = passwd_base64(hash, e->hash, sizeof(e->hash));
	if (hash_len != PASSWD_HASH_LEN)
		return "hash is not 64 bytes of base64";
	return NULL;
}

static int passwd_entry_cmp(const void *a, const void *b)
{
	const struct passwd_entry *x = a, *y = b;
	size_t n = x->username_len < y->username_len ? x->username_len :
						       y->username_len;
	int c = memcmp(x->username, y->username, n);

	if (c)
		return c;
	return (x->username_len > y->username_len) -
	       (x->username_len < y->username_len);
}

static void passwd_entries_free(struct passwd_entry *entries, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++)
		free(entries[i].username);
	if (entries)
		OPENSSL_cleanse(entries, count * sizeof(*entries));
	free(entries);
}

void passwd_free(struct passwd_file *pf)
{
	if (!pf)
		return;
	passwd_entries_free(pf->entries, pf->count);
	free(pf);
}

size_t passwd_count(const struct passwd_file *pf)
{
	return pf->count;
}

/* Parse one line (no newline) into @e; NULL, or why it is malformed. */
static const char *passwd_parse_line(char *line, struct passwd_entry *e)
{
	char *colon = strchr(line, ':');

	if (!colon)
		return "expected username:hash";
	if (colon == line)
		return "empty username";
	*colon = '\0';
	if (!colon[1])
		return "no password hash (mosquitto would accept any password)";
	e->username_len = (size_t)(colon - line);
	if (e->username_len > UINT16_MAX)
		return "username longer than 65535 bytes";
	e->username = strdup(line);
	if (!e->username)
		return "out of memory";
	return passwd_parse_hash(colon + 1, e);
}

static bool passwd_fail(char *err, size_t errlen, const char *path,
			unsigned long lineno, const char *what)
{
	snprintf(err, errlen, "%s:%lu: %s", path, lineno, what);
	return false;
}

static bool passwd_read(FILE *f, const char *path, struct passwd_file *pf,
			char *err, size_t errlen)
{
	unsigned long lineno = 0;
	char *line = NULL;
	size_t cap = 0, alloc = 0, len;
	const char *why;
	bool ok = true;

	while (ok && getline(&line, &cap, f) >= 0) {
		struct passwd_entry *e;

		lineno++;
		len = strlen(line);
		while (len && strchr(" \t\r\n", line[len - 1]))
			line[--len] = '\0';
		if (!len || line[0] == '#')
			continue;
		if (pf->count == alloc) {
			size_t n = alloc ? 2 * alloc : 16;
			struct passwd_entry *p = reallocarray(pf->entries, n,
							      sizeof(*p));

			if (!p) {
				ok = passwd_fail(err, errlen, path, lineno,
						 "out of memory");
				break;
			}
			pf->entries = p;
			alloc = n;
		}
		e = &pf->entries[pf->count];
		memset(e, 0, sizeof(*e));
		why = passwd_parse_line(line, e);
		pf->count++;	/* so that its username is freed */
		if (why)
			ok = passwd_fail(err, errlen, path, lineno, why);
	}
	if (ok && ferror(f)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		ok = false;
	}
	if (line)
		OPENSSL_cleanse(line, cap);
	free(line);
	return ok;
}

struct passwd_file *passwd_load(const char *path, char *err, size_t errlen)
{
	struct passwd_file *pf = calloc(1, sizeof(*pf));
	FILE *f;
	size_t i;

	if (!pf) {
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	f = fopen(path, "re");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(pf);
		return NULL;
	}
	if (!passwd_read(f, path, pf, err, errlen)) {
		fclose(f);
		passwd_free(pf);
		return NULL;
	}
	fclose(f);
	if (pf->count)
		qsort(pf->entries, pf->count, sizeof(*pf->entries),
		      passwd_entry_cmp);
	for (i = 1; i < pf->count; i++) {
		if (!passwd_entry_cmp(&pf->entries[i - 1], &pf->entries[i])) {
			snprintf(err, errlen, "%s: user %s is given twice",
				 path, pf->entries[i].username);
			passwd_free(pf);
			return NULL;
		}
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
	struct passwd_entry key = {
		.username = (char *)username,
		.username_len = username_len,
	};
	const struct passwd_entry *e = NULL;
	uint8_t hash[PASSWD_HASH_LEN];
	bool ok;

	if (pf->count)
		e = bsearch(&key, pf->entries, pf->count, sizeof(*e),
			    passwd_entry_cmp);
	ok = passwd_hash(e ? e : &unknown, password, password_len, hash) &&
	     e && CRYPTO_memcmp(hash, e->hash, PASSWD_HASH_LEN) == 0;
	OPENSSL_cleanse(hash, sizeof(hash));
	return ok;
}

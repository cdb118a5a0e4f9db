// SPDX-License-Identifier: GPL-2.0
/*
 * agent/passwd.c: passwd_load() on the input as a password file, then
 * passwd_verify() for the users its lines name (with their own name as the
 * password: the seeds are made that way, so the success path runs too).
 *
 * Checked: a failed load says where; a loaded file has at most one user
 * per line; names the file cannot hold (empty, with ':') never verify.
 *
 * passwd.c takes $7$ iteration counts up to INT_MAX, so one line can make
 * each login of its user cost minutes of CPU (reported as a finding).  So
 * that an input costs milliseconds here, PKCS5_PBKDF2_HMAC() is wrapped
 * with a cap on the count: the file is parsed unchanged, only the hashing
 * is shortened.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "agent/passwd.h"

#include "fuzz.h"

#define ITERATIONS_CAP	1000
#define VERIFIED_USERS	4

int PKCS5_PBKDF2_HMAC(const char *pass, int passlen, const unsigned char *salt,
		      int saltlen, int iter, const EVP_MD *digest, int keylen,
		      unsigned char *out)
{
	static typeof(PKCS5_PBKDF2_HMAC) *real;

	if (!real)
		real = (typeof(real))dlsym(RTLD_NEXT, "PKCS5_PBKDF2_HMAC");
	FUZZ_CHECK(real);
	return real(pass, passlen, salt, saltlen,
		    iter < ITERATIONS_CAP ? iter : ITERATIONS_CAP, digest,
		    keylen, out);
}

static bool verify(const struct passwd_file *pf, const char *user,
		   size_t len)
{
	return passwd_verify(pf, (const uint8_t *)user, len,
			     (const uint8_t *)user, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_write_file("passwd", data, size);
	size_t lines = 1, users = 0;
	const uint8_t *p, *end = data + size, *colon, *nl;
	struct passwd_file *pf;
	char err[512];

	for (p = data; p < end; p++)
		lines += *p == '\n';
	err[0] = '\0';
	pf = passwd_load(path, err, sizeof(err));
	if (!pf) {
		FUZZ_CHECK(!strncmp(err, path, strlen(path)));
		return 0;
	}
	FUZZ_CHECK(passwd_count(pf) <= lines);
	FUZZ_CHECK(!verify(pf, "", 0));
	FUZZ_CHECK(!verify(pf, "a:b", 3));

	for (p = data; p < end && users < VERIFIED_USERS; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		colon = memchr(p, ':', (size_t)(nl - p));
		if (colon && colon > p && *p != '#') {
			verify(pf, (const char *)p, (size_t)(colon - p));
			users++;
		}
	}
	passwd_free(pf);
	return 0;
}

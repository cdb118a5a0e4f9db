/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Mosquitto password files (password_file), as mosquitto_passwd writes
 * them: one "username:hash" per line, hash one of
 *	$7$ITERATIONS$SALT$HASH  PBKDF2-HMAC-SHA512 (mosquitto 2.0's default)
 *	$6$SALT$HASH             SHA-512(password || salt) (mosquitto <= 1.6)
 * with SALT and HASH in base64.  Lines starting with '#' and blank lines
 * are ignored; trailing blanks and CR are not part of a line.
 *
 * Stricter than mosquitto, which skips what it cannot use: a line without
 * a hash (mosquitto would let that user in with any password), a hash it
 * cannot decode, or a username given twice fails the whole load, so that
 * a typo cannot lock users out or let anyone in unnoticed.
 */
#ifndef KMQTTD_PASSWD_H
#define KMQTTD_PASSWD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct passwd_file;

/*
 * Load @path.  Returns NULL with @err set, "PATH:LINE: what is wrong" for
 * a malformed line.
 */
struct passwd_file *passwd_load(const char *path, char *err, size_t errlen);
void passwd_free(struct passwd_file *pf);

/* Number of users in @pf. */
size_t passwd_count(const struct passwd_file *pf);

/*
 * True when @username is in @pf and @password (binary, as in CONNECT)
 * hashes to its entry.  Hashes are compared in constant time, and an
 * unknown user costs a hash too.
 */
bool passwd_verify(const struct passwd_file *pf, const uint8_t *username,
		   size_t username_len, const uint8_t *password,
		   size_t password_len);

#endif /* KMQTTD_PASSWD_H */

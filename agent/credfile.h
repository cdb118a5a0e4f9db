/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Credential files: one "username:secret" per line, what password_file
 * and scram_file have in common.  Lines starting with '#' and blank lines
 * are ignored; trailing blanks and CR are not part of a line.  A user
 * name is everything before the first ':'.  The secret's form is the
 * caller's: a parse function turns its text into a struct of a fixed
 * size.  Strict: a line the parse function refuses, an empty user name
 * or secret, or a user given twice fails the whole load.
 */
#ifndef KMQTTD_CREDFILE_H
#define KMQTTD_CREDFILE_H

#include <stddef.h>
#include <stdint.h>

struct credfile_entry {
	char *username;
	size_t username_len;
	void *secret;		/* credfile.secret_size bytes */
};

struct credfile {
	struct credfile_entry *entries;	/* sorted by username */
	size_t count;
	size_t secret_size;
};

/*
 * Turn the text of a secret (NUL-terminated, may be changed) into
 * @secret (zeroed).  Returns NULL, or what is wrong with it.
 */
typedef const char *(*credfile_parse_fn)(char *text, void *secret);

/*
 * Load @path into @cf with secrets of @secret_size bytes.  Returns 0, or
 * -1 with @err "PATH:LINE: what is wrong" (or "PATH: ...") and @cf empty.
 */
int credfile_load(struct credfile *cf, const char *path, size_t secret_size,
		  credfile_parse_fn parse, char *err, size_t errlen);

/* Secrets are wiped. */
void credfile_free(struct credfile *cf);

/* The entry of @username (binary, @len bytes), or NULL. */
const struct credfile_entry *credfile_find(const struct credfile *cf,
					   const uint8_t *username,
					   size_t len);

#endif /* KMQTTD_CREDFILE_H */

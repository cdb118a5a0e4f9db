// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "credfile.h"

static int entry_cmp(const void *a, const void *b)
{
	const struct credfile_entry *x = a, *y = b;
	size_t n = x->username_len < y->username_len ? x->username_len :
						       y->username_len;
	int c = memcmp(x->username, y->username, n);

	if (c)
		return c;
	return (x->username_len > y->username_len) -
	       (x->username_len < y->username_len);
}

void credfile_free(struct credfile *cf)
{
	size_t i;

	for (i = 0; i < cf->count; i++) {
		free(cf->entries[i].username);
		if (cf->entries[i].secret)
			OPENSSL_cleanse(cf->entries[i].secret,
					cf->secret_size);
		free(cf->entries[i].secret);
	}
	free(cf->entries);
	memset(cf, 0, sizeof(*cf));
}

/* One line (no newline) into @e; NULL, or why it is malformed. */
static const char *parse_line(const struct credfile *cf, char *line,
			      credfile_parse_fn parse,
			      struct credfile_entry *e)
{
	char *colon = strchr(line, ':');

	if (!colon)
		return "expected username:secret";
	if (colon == line)
		return "empty username";
	*colon = '\0';
	if (!colon[1])
		return "no secret after the username";
	e->username_len = (size_t)(colon - line);
	if (e->username_len > UINT16_MAX)
		return "username longer than 65535 bytes";
	e->username = strdup(line);
	e->secret = calloc(1, cf->secret_size);
	if (!e->username || !e->secret)
		return "out of memory";
	return parse(colon + 1, e->secret);
}

static int fail(char *err, size_t errlen, const char *path,
		unsigned long lineno, const char *what)
{
	snprintf(err, errlen, "%s:%lu: %s", path, lineno, what);
	return -1;
}

static int read_lines(FILE *f, const char *path, struct credfile *cf,
		      credfile_parse_fn parse, char *err, size_t errlen)
{
	unsigned long lineno = 0;
	size_t cap = 0, alloc = 0, len;
	char *line = NULL;
	const char *why;
	int rc = 0;

	while (!rc && getline(&line, &cap, f) >= 0) {
		struct credfile_entry *e;

		lineno++;
		len = strlen(line);
		while (len && strchr(" \t\r\n", line[len - 1]))
			line[--len] = '\0';
		if (!len || line[0] == '#')
			continue;
		if (cf->count == alloc) {
			size_t n = alloc ? 2 * alloc : 16;

			e = reallocarray(cf->entries, n, sizeof(*e));
			if (!e) {
				rc = fail(err, errlen, path, lineno,
					  "out of memory");
				break;
			}
			cf->entries = e;
			alloc = n;
		}
		e = &cf->entries[cf->count++];	/* freed with the file */
		memset(e, 0, sizeof(*e));
		why = parse_line(cf, line, parse, e);
		if (why)
			rc = fail(err, errlen, path, lineno, why);
	}
	if (!rc && ferror(f)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		rc = -1;
	}
	if (line)
		OPENSSL_cleanse(line, cap);
	free(line);
	return rc;
}

int credfile_load(struct credfile *cf, const char *path, size_t secret_size,
		  credfile_parse_fn parse, char *err, size_t errlen)
{
	FILE *f;
	size_t i;
	int rc;

	memset(cf, 0, sizeof(*cf));
	cf->secret_size = secret_size;
	f = fopen(path, "re");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	rc = read_lines(f, path, cf, parse, err, errlen);
	fclose(f);
	if (!rc && cf->count)
		qsort(cf->entries, cf->count, sizeof(*cf->entries), entry_cmp);
	for (i = 1; !rc && i < cf->count; i++) {
		if (!entry_cmp(&cf->entries[i - 1], &cf->entries[i])) {
			snprintf(err, errlen, "%s: user %s is given twice",
				 path, cf->entries[i].username);
			rc = -1;
		}
	}
	if (rc)
		credfile_free(cf);
	return rc;
}

const struct credfile_entry *credfile_find(const struct credfile *cf,
					   const uint8_t *username,
					   size_t len)
{
	struct credfile_entry key = { .username = (char *)username,
				      .username_len = len };

	if (!cf->count)
		return NULL;
	return bsearch(&key, cf->entries, cf->count, sizeof(key), entry_cmp);
}

// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "kmod/topic.h"

/* The rules of one section of the file, in file order. */
struct acl_list {
	char *username;		/* NULL: the anonymous list, or the patterns */
	struct acl_rule *rule;
	size_t count, cap;
};

struct acl {
	struct acl_list *lists;	/* the anonymous list and each user's */
	size_t count, cap;
	struct acl_list patterns;
};

/* Characters that would let a substituted name widen a pattern. */
#define ACL_UNSAFE_IN_PATTERN	"+#/"

static void acl_list_fini(struct acl_list *l)
{
	size_t i;

	for (i = 0; i < l->count; i++)
		free(l->rule[i].filter);
	free(l->rule);
	free(l->username);
}

void acl_free(struct acl *acl)
{
	size_t i;

	if (!acl)
		return;
	for (i = 0; i < acl->count; i++)
		acl_list_fini(&acl->lists[i]);
	free(acl->lists);
	acl_list_fini(&acl->patterns);
	free(acl);
}

static bool acl_same_user(const char *a, const char *b)
{
	return a && b ? !strcmp(a, b) : a == b;
}

static const struct acl_list *acl_find_list(const struct acl *acl,
					    const char *username)
{
	size_t i;

	for (i = 0; i < acl->count; i++)
		if (acl_same_user(acl->lists[i].username, username))
			return &acl->lists[i];
	return NULL;
}

/* The list of @username (NULL: anonymous), created when missing. */
static struct acl_list *acl_get_list(struct acl *acl, const char *username)
{
	struct acl_list *l = (struct acl_list *)acl_find_list(acl, username);

	if (l)
		return l;
	if (acl->count == acl->cap) {
		size_t n = acl->cap ? 2 * acl->cap : 8;

		l = reallocarray(acl->lists, n, sizeof(*l));
		if (!l)
			return NULL;
		acl->lists = l;
		acl->cap = n;
	}
	l = &acl->lists[acl->count];
	memset(l, 0, sizeof(*l));
	if (username) {
		l->username = strdup(username);
		if (!l->username)
			return NULL;
	}
	acl->count++;
	return l;
}

static int acl_list_add(struct acl_list *l, const char *filter,
			uint8_t access)
{
	if (l->count == l->cap) {
		size_t n = l->cap ? 2 * l->cap : 8;
		struct acl_rule *r = reallocarray(l->rule, n, sizeof(*r));

		if (!r)
			return -ENOMEM;
		l->rule = r;
		l->cap = n;
	}
	l->rule[l->count].filter = strdup(filter);
	if (!l->rule[l->count].filter)
		return -ENOMEM;
	l->rule[l->count].access = access;
	l->count++;
	return 0;
}

/* What kmqtt.ko accepts for a rule (kmqtt_acl_add()). */
static bool acl_filter_valid(const char *filter)
{
	return kmqtt_topic_filter_valid((const uint8_t *)filter,
					strlen(filter));
}

static bool acl_parse_access(const char *word, uint8_t *access)
{
	if (!strcmp(word, "read"))
		*access = KMQTT_ACL_READ;
	else if (!strcmp(word, "write"))
		*access = KMQTT_ACL_WRITE;
	else if (!strcmp(word, "readwrite"))
		*access = KMQTT_ACL_READ | KMQTT_ACL_WRITE;
	else if (!strcmp(word, "deny"))
		*access = KMQTT_ACL_DENY;
	else
		return false;
	return true;
}

static char *acl_skip_blanks(char *s)
{
	return s + strspn(s, " \t");
}

/* Parse one line into @acl; NULL, or why it is malformed. */
static const char *acl_parse_line(struct acl *acl, char *line, char **user)
{
	char *word = acl_skip_blanks(line), *rest, *filter;
	uint8_t access = KMQTT_ACL_READ | KMQTT_ACL_WRITE;
	struct acl_list *l;

	if (!*word)
		return NULL;
	rest = word + strcspn(word, " \t");
	if (*rest)
		*rest++ = '\0';
	rest = acl_skip_blanks(rest);

	if (!strcmp(word, "user")) {
		if (!*rest)
			return "user needs a name";
		free(*user);
		*user = strdup(rest);
		return *user ? NULL : "out of memory";
	}
	if (strcmp(word, "topic") && strcmp(word, "pattern"))
		return "expected topic, pattern or user";
	if (!*rest)
		return "no topic filter";
	/* One word is the filter; with more, the first is the access. */
	filter = rest + strcspn(rest, " \t");
	if (*filter) {
		*filter++ = '\0';
		filter = acl_skip_blanks(filter);
		if (!acl_parse_access(rest, &access))
			return "access must be read, write, readwrite or deny";
	} else {
		filter = rest;
	}
	if (!acl_filter_valid(filter))
		return "invalid topic filter";
	if (!strcmp(word, "pattern"))
		l = &acl->patterns;
	else
		l = acl_get_list(acl, *user);
	if (!l || acl_list_add(l, filter, access))
		return "out of memory";
	return NULL;
}

static bool acl_read(FILE *f, const char *path, struct acl *acl, char *err,
		     size_t errlen)
{
	unsigned long lineno = 0;
	char *line = NULL, *user = NULL;
	const char *why = NULL;
	size_t cap = 0, len;

	while (!why && getline(&line, &cap, f) >= 0) {
		lineno++;
		len = strlen(line);
		while (len && strchr(" \t\r\n", line[len - 1]))
			line[--len] = '\0';
		if (line[0] == '#')
			continue;
		why = acl_parse_line(acl, line, &user);
	}
	if (why)
		snprintf(err, errlen, "%s:%lu: %s", path, lineno, why);
	else if (ferror(f))
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	free(line);
	free(user);
	return !why && !ferror(f);
}

struct acl *acl_load(const char *path, char *err, size_t errlen)
{
	struct acl *acl = calloc(1, sizeof(*acl));
	FILE *f;
	bool ok;

	if (!acl) {
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	f = fopen(path, "re");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(acl);
		return NULL;
	}
	ok = acl_read(f, path, acl, err, errlen);
	fclose(f);
	if (!ok) {
		acl_free(acl);
		return NULL;
	}
	return acl;
}

/* What level @level (of @n bytes) of a pattern stands for, or NULL. */
static const char *acl_level_value(const char *level, size_t n,
				   const char *client_id, const char *username)
{
	if (n == 2 && !memcmp(level, "%c", 2))
		return client_id;
	if (n == 2 && !memcmp(level, "%u", 2))
		return username;
	return NULL;
}

/*
 * @pattern with its %c and %u levels replaced, in @out when not NULL;
 * returns the length of the result, or -1 when the pattern does not apply
 * (a %u level and no username).
 */
static long acl_substitute(const char *pattern, const char *client_id,
			   const char *username, char *out)
{
	const char *level = pattern, *end, *value;
	size_t len = 0, n;

	for (;;) {
		end = strchrnul(level, '/');
		n = (size_t)(end - level);
		value = acl_level_value(level, n, client_id, username);
		if (n == 2 && !memcmp(level, "%u", 2) && !username)
			return -1;
		if (value)
			n = strlen(value);
		if (out)
			memcpy(out + len, value ? value : level, n);
		len += n;
		if (!*end)
			break;
		if (out)
			out[len] = '/';
		len++;
		level = end + 1;
	}
	if (out)
		out[len] = '\0';
	return (long)len;
}

static int acl_emit(struct acl_rules *out, char *filter, uint8_t access)
{
	if (!filter)
		return -ENOMEM;
	out->rule[out->count].filter = filter;
	out->rule[out->count].access = access;
	out->count++;
	return 0;
}

/* Append @l's deny rules (@deny) or its others, substituted if @pattern. */
static int acl_emit_list(struct acl_rules *out, const struct acl_list *l,
			 bool deny, bool pattern, const char *client_id,
			 const char *username)
{
	size_t i;
	long len;

	for (i = 0; l && i < l->count; i++) {
		const struct acl_rule *r = &l->rule[i];
		char *filter;

		if ((r->access == KMQTT_ACL_DENY) != deny)
			continue;
		if (!pattern) {
			filter = strdup(r->filter);
		} else {
			len = acl_substitute(r->filter, client_id, username,
					     NULL);
			if (len < 0)
				continue;
			filter = malloc((size_t)len + 1);
			if (filter)
				acl_substitute(r->filter, client_id, username,
					       filter);
			/* e.g. "%u" for an empty username: matches nothing */
			if (filter && !acl_filter_valid(filter)) {
				free(filter);
				continue;
			}
		}
		if (acl_emit(out, filter, r->access))
			return -ENOMEM;
	}
	return 0;
}

int acl_compile(const struct acl *acl, const char *client_id,
		const char *username, struct acl_rules *out)
{
	const struct acl_list *l = acl_find_list(acl, username);
	bool patterns = client_id &&
			!strpbrk(client_id, ACL_UNSAFE_IN_PATTERN) &&
			!(username && strpbrk(username, ACL_UNSAFE_IN_PATTERN));
	size_t max = (l ? l->count : 0) + (patterns ? acl->patterns.count : 0);

	out->count = 0;
	out->rule = calloc(max ? max : 1, sizeof(*out->rule));
	if (!out->rule)
		return -ENOMEM;
	if (acl_emit_list(out, l, true, false, NULL, NULL) ||
	    acl_emit_list(out, l, false, false, NULL, NULL) ||
	    (patterns &&
	     (acl_emit_list(out, &acl->patterns, true, true, client_id,
			    username) ||
	      acl_emit_list(out, &acl->patterns, false, true, client_id,
			    username)))) {
		acl_rules_free(out);
		return -ENOMEM;
	}
	return 0;
}

void acl_rules_free(struct acl_rules *rules)
{
	size_t i;

	for (i = 0; i < rules->count; i++)
		free(rules->rule[i].filter);
	free(rules->rule);
	rules->rule = NULL;
	rules->count = 0;
}

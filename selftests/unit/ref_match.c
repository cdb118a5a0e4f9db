// SPDX-License-Identifier: GPL-2.0
/*
 * Naive reference matcher: split both strings into an array of levels, then
 * walk them side by side.  Slow on purpose; nothing shared with kmod/topic.c.
 */
#include <stdlib.h>
#include <string.h>

#include "ref_match.h"

struct level {
	const char *s;
	size_t len;
};

/* "a//b" is three levels, "/a" two (the first empty), "" one (empty). */
static struct level *split(const char *s, size_t len, size_t *n)
{
	struct level *v;
	size_t i, start = 0, k = 0;

	*n = 1;
	for (i = 0; i < len; i++)
		*n += s[i] == '/';
	v = calloc(*n, sizeof(*v));
	if (!v)
		abort();
	for (i = 0; i <= len; i++) {
		if (i == len || s[i] == '/') {
			v[k].s = s + start;
			v[k].len = i - start;
			k++;
			start = i + 1;
		}
	}
	return v;
}

static bool is(const struct level *l, const char *word)
{
	return l->len == strlen(word) && !memcmp(l->s, word, l->len);
}

bool ref_match(const char *filter, size_t filter_len,
	       const char *topic, size_t topic_len)
{
	struct level *f, *t;
	size_t nf, nt, i;
	bool match = false;

	f = split(filter, filter_len, &nf);
	t = split(topic, topic_len, &nt);

	/* MQTT-4.7.2-1: wildcards in the first level never match '$' topics. */
	if (topic_len && topic[0] == '$' && (is(&f[0], "+") || is(&f[0], "#")))
		goto out;

	for (i = 0; i < nf; i++) {
		if (is(&f[i], "#")) {
			/* The rest, and the parent level: "a/#" matches "a". */
			match = true;
			goto out;
		}
		if (i >= nt)
			goto out;
		if (is(&f[i], "+"))
			continue;
		if (f[i].len != t[i].len || memcmp(f[i].s, t[i].s, t[i].len))
			goto out;
	}
	match = nf == nt;
out:
	free(f);
	free(t);
	return match;
}

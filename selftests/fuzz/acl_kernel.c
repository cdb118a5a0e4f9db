// SPDX-License-Identifier: GPL-2.0
/*
 * The module's ACL decisions (kmod/acl.c) against brute force over every
 * topic of a small alphabet, matched with the reference matcher
 * (selftests/unit/ref_match.c).  Rule filters and the subscribed filter
 * use the words a, b, "", $a, + and # and at most MAX_LEVELS levels; the
 * topics tried are all those of up to MAX_LEVELS + 1 levels over a, b, "",
 * $a and c (a word no filter has, standing for any other), one level more
 * than the deepest filter of the input needs.  Any topic two
 * such filters share, or one has and the other lacks, has a twin among
 * those, so the brute force is exact.
 *
 * Checked:
 *  - kmqtt_acl_allows() is the first matching rule that denies or grants
 *    the access (acl.h), for every topic and both accesses;
 *  - kmqtt_acl_may_subscribe() is what acl.h documents: false when a deny
 *    rule covers the filter before any readable rule overlaps it, or when
 *    none overlaps; so it is never false for a filter with a readable
 *    topic, and true only where such a rule is first;
 *  - kmqtt_acl_add() refuses bad access values and rules past the room;
 *  - without rules (NULL) everything is allowed.
 *
 * Input: byte 0: rule count (bit 7 clear) and whether the allocation
 * holds one byte less than the filters need; then per rule an access byte
 * and a filter (level count byte, one byte per level); then the filter to
 * subscribe.
 */
#include <stdlib.h>
#include <string.h>

#include <linux/types.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/kmqtt.h>
#include "kmod/acl.h"
#include "kmod/topic.h"
#include "ref_match.h"

#include "fuzz.h"

#define MAX_RULES	6
#define MAX_LEVELS	3
#define STR_MAX		((MAX_LEVELS + 1) * 3)
/* 5 + 5^2 + 5^3 + 5^4 topics of up to MAX_LEVELS + 1 levels. */
#define TOPICS		781

static const char *const filter_words[] = { "a", "b", "", "$a", "+", "#" };
static const char *const topic_words[] = { "a", "b", "", "$a", "c" };

struct str {
	char s[STR_MAX + 1];
	size_t len;
};

static struct str topics[TOPICS];
/* Topics of up to L levels are topics[0 .. upto[L]). */
static unsigned int upto[MAX_LEVELS + 2];
/* Those tried: one level more than the longest filter of the input. */
static unsigned int ntopics;

/* Every topic name of 1..MAX_LEVELS + 1 levels over topic_words. */
static void make_topics(void)
{
	unsigned int levels, i, k, n, pick;

	for (levels = 1; levels <= MAX_LEVELS + 1; levels++) {
		for (n = 1, i = 0; i < levels; i++)
			n *= ARRAY_SIZE(topic_words);
		for (i = 0; i < n; i++) {
			struct str *t = &topics[ntopics];

			t->len = 0;
			for (pick = i, k = 0; k < levels; k++) {
				const char *w = topic_words[pick %
						ARRAY_SIZE(topic_words)];

				pick /= ARRAY_SIZE(topic_words);
				if (k)
					t->s[t->len++] = '/';
				memcpy(t->s + t->len, w, strlen(w));
				t->len += strlen(w);
			}
			t->s[t->len] = '\0';
			/* "" counts for SUBSCRIBE only: see acl.h */
			ntopics++;
		}
		upto[levels] = ntopics;
	}
	FUZZ_CHECK(ntopics < TOPICS);
}

/* Returns the filter's level count. */
static unsigned int read_filter(struct fuzz_in *in, struct str *f)
{
	unsigned int levels = 1 + fuzz_byte(in) % MAX_LEVELS, i;

	f->len = 0;
	for (i = 0; i < levels; i++) {
		const char *w = filter_words[fuzz_byte(in) %
					     ARRAY_SIZE(filter_words)];

		if (i)
			f->s[f->len++] = '/';
		memcpy(f->s + f->len, w, strlen(w));
		f->len += strlen(w);
		if (!strcmp(w, "#"))
			break;
	}
	f->s[f->len] = '\0';
	return levels;
}

struct rule {
	struct str f;
	u8 access;
	bool matches[TOPICS];
};

static void match_all(const struct str *f, bool *matches)
{
	unsigned int t;

	for (t = 0; t < ntopics; t++)
		matches[t] = f->len && ref_match(f->s, f->len, topics[t].s,
						 topics[t].len);
}

/* The first rule matching @t that denies or grants @access decides. */
static bool ref_allows(const struct rule *rules, unsigned int n,
		       unsigned int t, u8 access)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (!rules[i].matches[t])
			continue;
		if (rules[i].access & KMQTT_ACL_DENY)
			return false;
		if (rules[i].access & access)
			return true;
	}
	return false;
}

/* acl.h's rule for SUBSCRIBE, with covers and overlaps by brute force. */
static bool ref_may_subscribe(const struct rule *rules, unsigned int n,
			      const bool *sub)
{
	unsigned int i, t;

	for (i = 0; i < n; i++) {
		bool covers = true, overlaps = false;

		for (t = 0; t < ntopics; t++) {
			covers &= !sub[t] || rules[i].matches[t];
			overlaps |= sub[t] && rules[i].matches[t];
		}
		if (rules[i].access & KMQTT_ACL_DENY) {
			if (covers)
				return false;
		} else if (rules[i].access & KMQTT_ACL_READ && overlaps) {
			return true;
		}
	}
	return false;
}

static bool access_valid(u8 access)
{
	return access == KMQTT_ACL_DENY ||
	       (access && !(access & ~(KMQTT_ACL_READ | KMQTT_ACL_WRITE)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rule rules[MAX_RULES];
	static struct str wanted[MAX_RULES];
	static bool sub[TOPICS];
	struct fuzz_in in = { data, size };
	u8 head = fuzz_byte(&in), access[MAX_RULES];
	unsigned int count = head % (MAX_RULES + 1), n = 0, i, t, deepest;
	bool short_room = head & 0x80, may, readable = false;
	struct kmqtt_acl *acl;
	struct str filter;
	size_t bytes = 0;
	int ret;

	if (!upto[1])
		make_topics();
	for (deepest = 0, i = 0; i < count; i++) {
		access[i] = fuzz_byte(&in) & 7;
		deepest = max(deepest, read_filter(&in, &wanted[i]));
		bytes += wanted[i].len;
	}
	deepest = max(deepest, read_filter(&in, &filter));
	ntopics = upto[deepest + 1];
	if (short_room && bytes)
		bytes--;

	acl = kmqtt_acl_alloc(count, bytes);
	FUZZ_CHECK(acl);
	for (i = 0; i < count; i++) {
		bool valid = access_valid(access[i]) && wanted[i].len;

		ret = kmqtt_acl_add(acl, (const u8 *)wanted[i].s,
				    wanted[i].len, access[i]);
		if (!valid) {
			FUZZ_CHECK(ret == -EINVAL);
			continue;
		}
		if (ret == -ENOSPC) {	/* only the byte held back */
			FUZZ_CHECK(short_room && acl->bytes_used +
				   wanted[i].len > bytes);
			continue;
		}
		FUZZ_CHECK(ret == 0);
		rules[n].f = wanted[i];
		rules[n].access = access[i];
		match_all(&rules[n].f, rules[n].matches);
		n++;
	}
	FUZZ_CHECK(acl->count == n);

	for (t = 0; t < ntopics; t++) {
		const u8 *name = (const u8 *)topics[t].s;

		if (!topics[t].len)	/* no topic name */
			continue;
		FUZZ_CHECK(kmqtt_acl_allows(acl, name, topics[t].len,
					    KMQTT_ACL_READ) ==
			   ref_allows(rules, n, t, KMQTT_ACL_READ));
		FUZZ_CHECK(kmqtt_acl_allows(acl, name, topics[t].len,
					    KMQTT_ACL_WRITE) ==
			   ref_allows(rules, n, t, KMQTT_ACL_WRITE));
		FUZZ_CHECK(kmqtt_acl_allows(NULL, name, topics[t].len,
					    KMQTT_ACL_READ));
	}

	if (filter.len) {
		match_all(&filter, sub);
		for (t = 0; t < ntopics; t++)
			readable |= sub[t] && topics[t].len &&
				    ref_allows(rules, n, t, KMQTT_ACL_READ);
		may = kmqtt_acl_may_subscribe(acl, (const u8 *)filter.s,
					      filter.len);
		FUZZ_CHECK(may || !readable);
		FUZZ_CHECK(may == ref_may_subscribe(rules, n, sub));
		FUZZ_CHECK(kmqtt_acl_may_subscribe(NULL, (const u8 *)filter.s,
						   filter.len));
	}
	kmqtt_acl_free(acl);
	return 0;
}

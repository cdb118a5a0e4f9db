// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of agent/acl.c: the file syntax, the decisions of mosquitto
 * 2.0 on hand-picked cases, and a randomized comparison with a model
 * written the way mosquitto decides (two lists walked in turn, deny rules
 * first, filters matched by the naive reference matcher of
 * selftests/unit/ref_match.c) on random ACL files, clients and topics.
 * The compiled rules are decided as kmqtt.ko decides them: they are
 * loaded into kmod/acl.c, built here in userspace (test_acl_kmod.c), and
 * asked with kmqtt_acl_allows().
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acl.h"
#include "test_acl_kmod.h"
#include "kmod/acl.h"
#include "selftests/unit/ref_match.h"
#include "kselftest_harness.h"

FIXTURE(acl) {
	char dir[64];
	char path[128];
	char err[512];
	struct acl *acl;
	struct acl_rules rules;
	struct kmqtt_acl *kacl;		/* the rules as kmqtt.ko holds them */
};

FIXTURE_SETUP(acl)
{
	strcpy(self->dir, "/tmp/test_acl.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->path, sizeof(self->path), "%s/acl", self->dir);
	self->acl = NULL;
	memset(&self->rules, 0, sizeof(self->rules));
	self->kacl = NULL;
}

FIXTURE_TEARDOWN(acl)
{
	kmqtt_acl_free(self->kacl);
	acl_rules_free(&self->rules);
	acl_free(self->acl);
	unlink(self->path);
	rmdir(self->dir);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	fputs(text, f);
	fclose(f);
}

/* Load @text, compile it for @client_id and @username, hand it over. */
static bool load(FIXTURE_DATA(acl) *self, const char *text,
		 const char *client_id, const char *username)
{
	write_file(self->path, text);
	kmqtt_acl_free(self->kacl);
	self->kacl = NULL;
	acl_rules_free(&self->rules);
	acl_free(self->acl);
	self->acl = acl_load(self->path, self->err, sizeof(self->err));
	if (!self->acl ||
	    acl_compile(self->acl, client_id, username, &self->rules))
		return false;
	self->kacl = test_acl_to_module(&self->rules);
	return self->kacl;
}

static bool can(FIXTURE_DATA(acl) *self, const char *topic,
		unsigned int access)
{
	return kmqtt_acl_allows(self->kacl, (const u8 *)topic, strlen(topic),
				access);
}

/* Each malformed line fails the load and names itself. */
TEST_F(acl, malformed_lines)
{
	static const struct {
		const char *line, *error;
	} cases[] = {
		{ "topic", "no topic filter" },
		{ "topic   ", "no topic filter" },
		{ "topic readonly a/b", "access must be" },
		{ "pattern rw a/%c", "access must be" },
		{ "topic read a/#/b", "invalid topic filter" },
		{ "pattern a+", "invalid topic filter" },
		{ "user", "user needs a name" },
		{ "users alice", "expected topic, pattern or user" },
		{ " # indented comments are not comments", "expected topic" },
	};
	char text[256], want[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "# ok\ntopic a\n%s\n", cases[i].line);
		write_file(self->path, text);
		ASSERT_EQ(NULL, acl_load(self->path, self->err,
					 sizeof(self->err)))
			TH_LOG("accepted: %s", cases[i].line);
		snprintf(want, sizeof(want), "%s:3: %s", self->path,
			 cases[i].error);
		EXPECT_EQ(0, strncmp(self->err, want, strlen(want)))
			TH_LOG("%s", self->err);
	}
	EXPECT_EQ(NULL, acl_load("/nonexistent/acl", self->err,
				 sizeof(self->err)));
	EXPECT_NE(NULL, strstr(self->err, "No such file"));
}

TEST_F(acl, syntax)
{
	ASSERT_TRUE(load(self,
			 "# comment\n"
			 "\n"
			 "topic   a/default\r\n"
			 "topic read   a b/with space  \n"
			 "topic read\n"		/* the filter "read" */
			 "topic\twrite\tw/tab\n"
			 "user alice\n"
			 "topic alice/x\n",
			 "c1", NULL)) TH_LOG("%s", self->err);
	EXPECT_TRUE(can(self, "a/default", KMQTT_ACL_READ));
	EXPECT_TRUE(can(self, "a/default", KMQTT_ACL_WRITE));
	EXPECT_TRUE(can(self, "a b/with space", KMQTT_ACL_READ));
	EXPECT_FALSE(can(self, "a b/with space", KMQTT_ACL_WRITE));
	EXPECT_TRUE(can(self, "read", KMQTT_ACL_WRITE));
	EXPECT_TRUE(can(self, "w/tab", KMQTT_ACL_WRITE));
	EXPECT_FALSE(can(self, "w/tab", KMQTT_ACL_READ));
	EXPECT_FALSE(can(self, "alice/x", KMQTT_ACL_READ));
	ASSERT_EQ(4, self->rules.count);
}

/* Topic lines before any user line are for anonymous clients only. */
TEST_F(acl, anonymous_list)
{
	static const char text[] =
		"topic read public/#\n"
		"user alice\n"
		"topic readwrite alice/#\n"
		"user bob\n"
		"topic read bob/#\n"
		"user alice\n"
		"topic write shared/alice\n";

	ASSERT_TRUE(load(self, text, "c1", NULL));
	EXPECT_TRUE(can(self, "public/x", KMQTT_ACL_READ));
	EXPECT_FALSE(can(self, "public/x", KMQTT_ACL_WRITE));
	EXPECT_FALSE(can(self, "alice/x", KMQTT_ACL_READ));

	ASSERT_TRUE(load(self, text, "c1", "alice"));
	EXPECT_FALSE(can(self, "public/x", KMQTT_ACL_READ));
	EXPECT_TRUE(can(self, "alice/x", KMQTT_ACL_WRITE));
	EXPECT_TRUE(can(self, "shared/alice", KMQTT_ACL_WRITE));	/* 2nd section */
	EXPECT_FALSE(can(self, "bob/x", KMQTT_ACL_READ));

	/* A user without a section has no rules: everything refused. */
	ASSERT_TRUE(load(self, text, "c1", "carol"));
	EXPECT_EQ(0, self->rules.count);
	EXPECT_FALSE(can(self, "public/x", KMQTT_ACL_READ));
}

TEST_F(acl, deny_wins_within_a_list)
{
	ASSERT_TRUE(load(self,
			 "user alice\n"
			 "topic readwrite a/#\n"
			 "topic deny a/secret/#\n",
			 "c1", "alice"));
	EXPECT_TRUE(can(self, "a/x", KMQTT_ACL_READ));
	EXPECT_FALSE(can(self, "a/secret", KMQTT_ACL_READ));
	EXPECT_FALSE(can(self, "a/secret/y", KMQTT_ACL_WRITE));
	/* Denies come first in the compiled list. */
	EXPECT_EQ(KMQTT_ACL_DENY, self->rules.rule[0].access);
	EXPECT_STREQ("a/secret/#", self->rules.rule[0].filter);
}

TEST_F(acl, user_list_before_patterns)
{
	static const char text[] =
		"user alice\n"
		"topic deny dev/alice/locked\n"
		"topic read open/#\n"
		"pattern readwrite dev/%u/#\n"
		"pattern deny open/%u\n";

	ASSERT_TRUE(load(self, text, "c1", "alice"));
	/* A user deny also blocks what a pattern would grant... */
	EXPECT_FALSE(can(self, "dev/alice/locked", KMQTT_ACL_WRITE));
	EXPECT_TRUE(can(self, "dev/alice/other", KMQTT_ACL_WRITE));
	/* ...but a pattern deny does not take back a user grant. */
	EXPECT_TRUE(can(self, "open/alice", KMQTT_ACL_READ));
	/* A user rule lacking the access falls through to the patterns. */
	EXPECT_FALSE(can(self, "open/alice", KMQTT_ACL_WRITE));
}

TEST_F(acl, pattern_substitution)
{
	static const char text[] =
		"pattern write sensor/%u/data\n"
		"pattern read clients/%c/#\n"
		"pattern read literal/x%c/%u-y\n"
		"pattern read both/%c/%u\n";

	ASSERT_TRUE(load(self, text, "dev42", "alice"));
	EXPECT_TRUE(can(self, "sensor/alice/data", KMQTT_ACL_WRITE));
	EXPECT_FALSE(can(self, "sensor/alice/data", KMQTT_ACL_READ));
	EXPECT_FALSE(can(self, "sensor/bob/data", KMQTT_ACL_WRITE));
	EXPECT_TRUE(can(self, "clients/dev42/a/b", KMQTT_ACL_READ));
	EXPECT_FALSE(can(self, "clients/dev43/a", KMQTT_ACL_READ));
	EXPECT_TRUE(can(self, "both/dev42/alice", KMQTT_ACL_READ));
	/* Only whole levels are substituted. */
	EXPECT_TRUE(can(self, "literal/x%c/%u-y", KMQTT_ACL_READ));
	EXPECT_FALSE(can(self, "literal/xdev42/alice-y", KMQTT_ACL_READ));

	/* Without a username, patterns with %u do not apply. */
	ASSERT_TRUE(load(self, text, "dev42", NULL));
	EXPECT_EQ(2, self->rules.count);
	EXPECT_TRUE(can(self, "clients/dev42/a", KMQTT_ACL_READ));
	EXPECT_FALSE(can(self, "sensor//data", KMQTT_ACL_WRITE));
	EXPECT_FALSE(can(self, "both/dev42/", KMQTT_ACL_READ));
}

/* A name with '+', '#' or '/' must not widen a pattern: none applies. */
TEST_F(acl, unsafe_names_disable_patterns)
{
	static const char text[] =
		"topic read anon/#\n"
		"user a+\n"
		"topic read own/plus\n"
		"pattern readwrite home/%u/#\n"
		"pattern readwrite clients/%c/#\n"
		"pattern read everyone/#\n";
	static const struct {
		const char *client_id, *username, *probe;
	} cases[] = {
		{ "c1", "#", "home/alice/x" },
		{ "c1", "a+", "home/alice/x" },
		{ "c1", "alice/x", "home/alice/x/y" },
		{ "#", "alice", "clients/c1/x" },
		{ "+", NULL, "clients/c1/x" },
		{ "victim/x", "alice", "clients/victim/x/y" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ASSERT_TRUE(load(self, text, cases[i].client_id,
				 cases[i].username));
		EXPECT_FALSE(can(self, cases[i].probe, KMQTT_ACL_READ))
			TH_LOG("%s/%s", cases[i].client_id,
			       cases[i].username ? cases[i].username : "-");
		/* Not even a pattern without %c or %u applies. */
		EXPECT_FALSE(can(self, "everyone/x", KMQTT_ACL_READ));
	}
	/* The user's or anonymous list still does. */
	ASSERT_TRUE(load(self, text, "c1", "a+"));
	EXPECT_TRUE(can(self, "own/plus", KMQTT_ACL_READ));
	ASSERT_TRUE(load(self, text, "c#", NULL));
	EXPECT_TRUE(can(self, "anon/x", KMQTT_ACL_READ));
	/* A safe client gets them all. */
	ASSERT_TRUE(load(self, text, "c1", "alice"));
	EXPECT_TRUE(can(self, "home/alice/x", KMQTT_ACL_WRITE));
	EXPECT_TRUE(can(self, "everyone/x", KMQTT_ACL_READ));
}

TEST_F(acl, dollar_topics)
{
	ASSERT_TRUE(load(self, "topic read #\ntopic read $SYS/broker/#\n",
			 "c1", NULL));
	EXPECT_TRUE(can(self, "a", KMQTT_ACL_READ));
	EXPECT_FALSE(can(self, "$SYS/x", KMQTT_ACL_READ));
	EXPECT_TRUE(can(self, "$SYS/broker/uptime", KMQTT_ACL_READ));
}

/*
 * The broker's own topics, which kmqtt.ko refuses to clients whatever
 * their rules say (bridge links aside): Mosquitto's acl__check_dollar(),
 * every topic beginning with "$SYS" but another broker's bridge state.
 */
TEST_F(acl, broker_owned_topics)
{
	static const struct {
		const char *topic;
		bool owned;
	} cases[] = {
		{ "$SYS", true }, { "$SYS/", true },
		{ "$SYS/broker/uptime", true }, { "$SYSx", true },
		{ "$SYS/x/y", true }, { "$SYS/broker/connection/a", true },
		{ "$SYS/broker/connection/a/state/x", true },
		{ "$SYS/broker/connection//state/", true },
		{ "$SY", false }, { "SYS/x", false }, { "$sys/x", false },
		{ "a/$SYS", false }, { "$app/x", false }, { "", false },
		{ "$SYS/broker/connection/edge1/state", false },
		{ "$SYS/broker/connection//state", false },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *t = cases[i].topic;

		EXPECT_EQ(cases[i].owned,
			  kmqtt_acl_broker_owned((const u8 *)t, strlen(t)))
			TH_LOG("\"%.64s\"", t);
	}
}

TEST_F(acl, empty_file_denies_all)
{
	ASSERT_TRUE(load(self, "# nothing\n", "c1", "alice"));
	EXPECT_EQ(0, self->rules.count);
	EXPECT_FALSE(can(self, "a", KMQTT_ACL_READ));
}

/*
 * The model: mosquitto's decision written as mosquitto does it, on the
 * rule tables the random file was written from.
 */
struct model_rule {
	int user;		/* -1: anonymous list, -2: pattern, else users[] */
	const char *filter;
	unsigned int access;	/* KMQTT_ACL_READ/KMQTT_ACL_WRITE bits, 0 for deny */
};

static const char *const users[] = { "alice", "bob" };
static const char *const access_words[] = { "deny", "read", "write",
					     "readwrite" };
static const char *const filters[] = {
	"a", "a/b", "a/+", "a/#", "#", "+/b", "$SYS/#", "%c", "%c/#", "%u/+",
	"a/%u", "x/%c/%u", "+", "b/#",
};
static const char *const topics[] = {
	"a", "a/b", "a/c", "b", "b/b", "$SYS/a", "alice", "alice/b", "c1",
	"c1/a", "bob/b", "a/alice", "a/bob", "x/c1/alice", "x/c1/bob", "c/b",
	"a+", "a+/b", "x/a+/alice",
};
static const char *const client_ids[] = { "c1", "alice", "c#", "a+" };
static const char *const usernames[] = { NULL, "alice", "bob", "carol",
					 "a/b" };

/* A pattern with %c/%u levels replaced, the way the module must not do. */
static void model_substitute(const char *pattern, const char *client_id,
			     const char *username, char *out)
{
	char buf[128], *level, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", pattern);
	out[0] = '\0';
	for (level = strtok_r(buf, "/", &save); level;
	     level = strtok_r(NULL, "/", &save)) {
		if (out[0])
			strcat(out, "/");
		if (!strcmp(level, "%c"))
			strcat(out, client_id);
		else if (!strcmp(level, "%u"))
			strcat(out, username);
		else
			strcat(out, level);
	}
}

/* 1 granted, 0 denied, -1 nothing matched in this pass. */
static int model_pass(const struct model_rule *r, size_t n, int list,
		      bool deny, const char *client_id, const char *username,
		      const char *topic, unsigned int access)
{
	char filter[256];
	size_t i;

	for (i = 0; i < n; i++) {
		if (r[i].user != list || (r[i].access == 0) != deny)
			continue;
		if (list == -2) {
			if (strstr(r[i].filter, "%u") && !username)
				continue;
			model_substitute(r[i].filter, client_id,
					 username ? username : "", filter);
		} else {
			snprintf(filter, sizeof(filter), "%s", r[i].filter);
		}
		if (!ref_match(filter, strlen(filter), topic, strlen(topic)))
			continue;
		if (r[i].access == 0)
			return 0;
		if (r[i].access & access)
			return 1;
	}
	return -1;
}

static bool model_check(const struct model_rule *r, size_t n,
			const char *client_id, const char *username,
			const char *topic, unsigned int access)
{
	int list = -1, res;
	size_t u;

	if (username) {
		list = -3;	/* no section */
		for (u = 0; u < sizeof(users) / sizeof(users[0]); u++)
			if (!strcmp(users[u], username))
				list = (int)u;
	}
	res = model_pass(r, n, list, true, client_id, username, topic, access);
	if (res < 0)
		res = model_pass(r, n, list, false, client_id, username, topic,
				 access);
	if (res >= 0)
		return res;
	if (strpbrk(client_id, "+#/") || (username && strpbrk(username, "+#/")))
		return false;
	res = model_pass(r, n, -2, true, client_id, username, topic, access);
	if (res < 0)
		res = model_pass(r, n, -2, false, client_id, username, topic,
				 access);
	return res == 1;
}

#define RANDOM_FILES	300
#define RANDOM_RULES	12

TEST_F(acl, random_against_model)
{
	struct model_rule r[RANDOM_RULES];
	unsigned int seed = 1, checks = 0, granted = 0;
	char text[4096];
	size_t n, i, c, u, t;
	int f, access;

	for (f = 0; f < RANDOM_FILES; f++) {
		FILE *out = fmemopen(text, sizeof(text), "w");
		int section = -1;

		fprintf(out, "# random file %d\n", f);
		n = (size_t)rand_r(&seed) % RANDOM_RULES;
		for (i = 0; i < n; i++) {
			int kind = rand_r(&seed) % 4;

			if (kind == 0 && section < 1) {
				section++;	/* user lines, in order */
				fprintf(out, "user %s\n", users[section]);
			}
			r[i].user = kind == 1 ? -2 : section;
			r[i].filter = filters[rand_r(&seed) %
					      (sizeof(filters) / sizeof(filters[0]))];
			if (r[i].user != -2 && strchr(r[i].filter, '%'))
				r[i].filter = "a/b";
			access = rand_r(&seed) % 5;	/* 4: no access word */
			r[i].access = access == 4 ? (KMQTT_ACL_READ | KMQTT_ACL_WRITE) :
				      (unsigned int)access;
			fprintf(out, "%s %s %s\n",
				r[i].user == -2 ? "pattern" : "topic",
				access == 4 ? "" : access_words[access],
				r[i].filter);
		}
		fclose(out);
		for (c = 0; c < sizeof(client_ids) / sizeof(client_ids[0]); c++) {
			for (u = 0; u < sizeof(usernames) / sizeof(usernames[0]); u++) {
				ASSERT_TRUE(load(self, text, client_ids[c],
						 usernames[u]))
					TH_LOG("%s\n%s", self->err, text);
				for (t = 0; t < sizeof(topics) / sizeof(topics[0]); t++) {
					for (access = KMQTT_ACL_READ; access <= KMQTT_ACL_WRITE; access++) {
						bool want = model_check(r, n,
							client_ids[c], usernames[u],
							topics[t], (unsigned int)access);

						checks++;
						granted += want;
						ASSERT_EQ(want, can(self, topics[t],
								    (unsigned int)access))
							TH_LOG("file:\n%s\nclient %s user %s topic %s access %d",
							       text, client_ids[c],
							       usernames[u] ? usernames[u] : "(none)",
							       topics[t], access);
					}
				}
			}
		}
	}
	/* Both outcomes were exercised. */
	EXPECT_LT(checks / 20, granted);
	EXPECT_LT(checks / 20, checks - granted);
	TH_LOG("%u checks, %u granted", checks, granted);
}

TEST_HARNESS_MAIN

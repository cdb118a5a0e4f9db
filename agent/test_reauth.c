// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of agent/reauth.c: re-authentication of attached connections as
 * kmqtt.ko relays their AUTH packets.  kmqtt_nl_auth_reply() is a fake
 * that records the answers the module would get, auth_policies_method()
 * one that offers what the test's configuration has: SCRAM-SHA-256 with
 * a scram_file (the RFC 7677 user "user", password "pencil", and
 * "other", password "secret"), and a method that never ends.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kmqtt/mqtt.h>

#include "auth.h"
#include "auth_method.h"
#include "kmqtt_nl.h"
#include "log.h"
#include "reauth.h"
#include "scram.h"
#include "scram_file.h"
#include "test_scram_client.h"
#include "kselftest_harness.h"

#define RFC_USER_LINE \
	"user:SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=\n"
#define BARE		"n=user,r=rOprNGfwEbeRWgbNEkqO"
#define OTHER_BARE	"n=other,r=fyko+d2lbbFgONRv9qkxdawL"
#define TIMEOUT_MS	10000
#define REAUTHENTICATE	0x19

/* The answers the fake module got. */
#define MAX_REPLIES	16
static struct {
	struct {
		uint64_t conn_id;
		char client_id[KMQTT_CLIENT_ID_MAX + 1];
		uint8_t reason;
		char data[256];
		size_t len;
	} reply[MAX_REPLIES];
	size_t count;
	int result;		/* what kmqtt_nl_auth_reply() returns */
} module;

int kmqtt_nl_auth_reply(struct kmqtt_nl *nl, uint64_t conn_id,
			const char *client_id, uint8_t reason,
			const uint8_t *data, size_t len)
{
	size_t n = module.count++ % MAX_REPLIES;

	snprintf(nl->error, sizeof(nl->error), "AUTH: fake failure");
	module.reply[n].conn_id = conn_id;
	snprintf(module.reply[n].client_id, sizeof(module.reply[n].client_id),
		 "%s", client_id);
	module.reply[n].reason = reason;
	module.reply[n].len = len;
	snprintf(module.reply[n].data, sizeof(module.reply[n].data), "%.*s",
		 (int)len, data ? (const char *)data : "");
	return module.result;
}

/* The method that always asks for more; how many of its sessions live. */
static int endless_sessions;

static void endless_start(const void *config, const uint8_t *data,
			  size_t len, void **session,
			  struct auth_method_result *res)
{
	(void)config;
	(void)data;
	(void)len;
	*session = malloc(1);
	endless_sessions++;
	*res = (struct auth_method_result){ .verdict = AUTH_METHOD_CONTINUE,
					    .data = (const uint8_t *)"more",
					    .data_len = 4 };
}

static void endless_step(void *session, const uint8_t *data, size_t len,
			 struct auth_method_result *res)
{
	endless_start(NULL, data, len, &session, res);
	free(session);
	endless_sessions--;
}

static void endless_end(void *session)
{
	free(session);
	endless_sessions--;
}

static const struct auth_method endless_method = {
	.name = "ENDLESS",
	.start = endless_start,
	.step = endless_step,
	.end = endless_end,
};

/* The configuration in force: its scram_file, or none. */
static struct scram_file *offered_scram;

const struct auth_method *auth_policies_method(const struct auth_policies *ps,
					      const char *listener,
					      const char *name,
					      const void **config)
{
	(void)ps;
	(void)listener;
	if (!strcmp(name, endless_method.name))
		return &endless_method;
	if (!offered_scram || strcmp(name, scram_sha256_method.name))
		return NULL;
	*config = offered_scram;
	return &scram_sha256_method;
}

FIXTURE(reauth) {
	char path[64];
	char err[256];
	struct kmqtt_nl nl;
	struct reauth r;
	uint64_t now;
};

/* A scram_file of "user" and of "other" with @other_password. */
static struct scram_file *load_scram(FIXTURE_DATA(reauth) *self,
				     const char *other_password)
{
	char *other = scram_file_line("other", (const uint8_t *)other_password,
				      strlen(other_password), self->err,
				      sizeof(self->err));
	int fd = mkstemp(strcpy(self->path, "/tmp/test_reauth.XXXXXX"));
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	struct scram_file *loaded = NULL;

	if (f && other) {
		fprintf(f, "%s%s\n", RFC_USER_LINE, other);
		fclose(f);
		loaded = scram_file_load(self->path, self->err,
					 sizeof(self->err));
	} else if (f) {
		fclose(f);
	}
	unlink(self->path);
	free(other);
	return loaded;
}

FIXTURE_SETUP(reauth)
{
	log_init(false);
	memset(&module, 0, sizeof(module));
	endless_sessions = 0;
	offered_scram = load_scram(self, "secret");
	ASSERT_NE(NULL, offered_scram) TH_LOG("%s", self->err);
	memset(&self->nl, 0, sizeof(self->nl));
	/* the fake lookup ignores the policies */
	reauth_init(&self->r, &self->nl, NULL, TIMEOUT_MS);
	self->now = 1000;
	ASSERT_EQ(0, reauth_attached(&self->r, 7, "c7", NULL, "SCRAM-SHA-256",
				     "user"));
}

FIXTURE_TEARDOWN(reauth)
{
	reauth_fini(&self->r);
	scram_file_free(offered_scram);
	offered_scram = NULL;
}

/* The client's AUTH with @reason and @data (a string, NULL: none). */
static void client_auth(FIXTURE_DATA(reauth) *self, uint64_t conn_id,
			uint8_t reason, const char *data)
{
	struct kmqtt_nl_auth ev = { .conn_id = conn_id, .reason = reason };

	snprintf(ev.client_id, sizeof(ev.client_id), "c%llu",
		 (unsigned long long)conn_id);
	ev.data = (const uint8_t *)data;
	ev.data_len = data ? strlen(data) : 0;
	reauth_event(&self->r, &ev, self->now);
}

#define LAST	(module.reply[(module.count - 1) % MAX_REPLIES])

/* AUTH 0x19 with client-first @bare: the server-first message in LAST. */
static void client_first(FIXTURE_DATA(reauth) *self, uint64_t conn_id,
			const char *bare)
{
	char first[128];

	snprintf(first, sizeof(first), "n,,%s", bare);
	client_auth(self, conn_id, REAUTHENTICATE, first);
}

/* AUTH 0x18 with client-final for @password, after client_first(). */
static void client_final(FIXTURE_DATA(reauth) *self, uint64_t conn_id,
			const char *bare, const char *password)
{
	char final[192];

	scram_client_final(password, bare, LAST.data, LAST.len, final,
			   sizeof(final));
	client_auth(self, conn_id, MQTT_RC_CONTINUE_AUTH, final);
}

/*
 * The right password: server-first in AUTH 0x18, then 0x00 with the
 * server's signature; the connection may re-authenticate again.
 */
TEST_F(reauth, scram_success)
{
	int round;

	for (round = 0; round < 2; round++) {
		client_first(self, 7, BARE);
		ASSERT_EQ(2 * round + 1, module.count);
		EXPECT_EQ(7, LAST.conn_id);
		EXPECT_STREQ("c7", LAST.client_id);
		EXPECT_EQ(MQTT_RC_CONTINUE_AUTH, LAST.reason);
		EXPECT_EQ(0, strncmp("r=rOprNGfwEbeRWgbNEkqO", LAST.data, 22));
		EXPECT_EQ(TIMEOUT_MS, reauth_timeout(&self->r, self->now));
		client_final(self, 7, BARE, "pencil");
		ASSERT_EQ(2 * round + 2, module.count);
		EXPECT_EQ(MQTT_RC_SUCCESS, LAST.reason);
		EXPECT_EQ(46, LAST.len);
		EXPECT_EQ(0, strncmp("v=", LAST.data, 2));
		EXPECT_EQ(1, self->r.count);
		EXPECT_EQ(-1, reauth_timeout(&self->r, self->now));
	}
}

/* A wrong proof: 0x87, and the connection is forgotten. */
TEST_F(reauth, wrong_proof_fails_with_0x87)
{
	client_first(self, 7, BARE);
	client_final(self, 7, BARE, "pencils");
	ASSERT_EQ(2, module.count);
	EXPECT_EQ(MQTT_RC_NOT_AUTHORIZED, LAST.reason);
	EXPECT_EQ(0, LAST.len);
	EXPECT_EQ(0, self->r.count);
	EXPECT_EQ(-1, reauth_timeout(&self->r, self->now));
}

/* Another user's right password does not re-authenticate "user". */
TEST_F(reauth, another_user_fails_with_0x87)
{
	client_first(self, 7, OTHER_BARE);
	EXPECT_EQ(MQTT_RC_CONTINUE_AUTH, LAST.reason);
	client_final(self, 7, OTHER_BARE, "secret");
	ASSERT_EQ(2, module.count);
	EXPECT_EQ(MQTT_RC_NOT_AUTHORIZED, LAST.reason);
	EXPECT_EQ(0, self->r.count);
}

/* A connection attached by another kmqttd (a restart): 0x87 at once. */
TEST_F(reauth, unknown_connection_fails_with_0x87)
{
	client_first(self, 8, BARE);
	ASSERT_EQ(1, module.count);
	EXPECT_EQ(8, LAST.conn_id);
	EXPECT_STREQ("c8", LAST.client_id);
	EXPECT_EQ(MQTT_RC_NOT_AUTHORIZED, LAST.reason);
	EXPECT_EQ(1, self->r.count);
}

/* 0x18 without an exchange, 0x19 or another reason within one: 0x82. */
TEST_F(reauth, out_of_order_auth_fails_with_0x82)
{
	client_auth(self, 7, MQTT_RC_CONTINUE_AUTH, "c=biws");
	ASSERT_EQ(1, module.count);
	EXPECT_EQ(MQTT_RC_PROTOCOL_ERROR, LAST.reason);
	EXPECT_EQ(0, self->r.count);

	ASSERT_EQ(0, reauth_attached(&self->r, 9, "c9", NULL, "ENDLESS",
				     "user"));
	client_auth(self, 9, REAUTHENTICATE, NULL);
	EXPECT_EQ(1, endless_sessions);
	client_auth(self, 9, REAUTHENTICATE, NULL);
	ASSERT_EQ(3, module.count);
	EXPECT_EQ(MQTT_RC_PROTOCOL_ERROR, LAST.reason);
	EXPECT_EQ(0, endless_sessions);
	EXPECT_EQ(0, self->r.count);

	ASSERT_EQ(0, reauth_attached(&self->r, 9, "c9", NULL, "ENDLESS",
				     "user"));
	client_auth(self, 9, REAUTHENTICATE, NULL);
	client_auth(self, 9, MQTT_RC_SUCCESS, NULL);
	EXPECT_EQ(MQTT_RC_PROTOCOL_ERROR, LAST.reason);
	EXPECT_EQ(0, endless_sessions);
}

/* As at CONNECT: at most AUTH_METHOD_STEPS_MAX AUTH 0x18 per exchange. */
TEST_F(reauth, steps_bounded)
{
	int i;

	ASSERT_EQ(0, reauth_attached(&self->r, 9, "c9", NULL, "ENDLESS",
				     "user"));
	client_auth(self, 9, REAUTHENTICATE, NULL);
	for (i = 1; i < AUTH_METHOD_STEPS_MAX; i++) {
		client_auth(self, 9, MQTT_RC_CONTINUE_AUTH, "x");
		EXPECT_EQ(MQTT_RC_CONTINUE_AUTH, LAST.reason);
		EXPECT_STREQ("more", LAST.data);
	}
	client_auth(self, 9, MQTT_RC_CONTINUE_AUTH, "x");
	ASSERT_EQ(AUTH_METHOD_STEPS_MAX + 1, module.count);
	EXPECT_EQ(MQTT_RC_NOT_AUTHORIZED, LAST.reason);
	EXPECT_EQ(0, endless_sessions);
	EXPECT_EQ(1, self->r.count);
}

/*
 * A client that does not continue within the timeout, counted from the
 * server's last AUTH: 0x87, its exchange freed.
 */
TEST_F(reauth, deadline_fails_with_0x87)
{
	ASSERT_EQ(0, reauth_attached(&self->r, 9, "c9", NULL, "ENDLESS",
				     "user"));
	client_auth(self, 9, REAUTHENTICATE, NULL);
	self->now += 500;
	client_first(self, 7, BARE);
	self->now += 500;
	client_auth(self, 9, MQTT_RC_CONTINUE_AUTH, "x");
	ASSERT_EQ(3, module.count);
	/* 7's is the sooner deadline now */
	EXPECT_EQ(TIMEOUT_MS - 500, reauth_timeout(&self->r, self->now));
	reauth_expire(&self->r, self->now + TIMEOUT_MS - 501);
	EXPECT_EQ(3, module.count);
	reauth_expire(&self->r, self->now + TIMEOUT_MS - 500);
	ASSERT_EQ(4, module.count);
	EXPECT_EQ(7, LAST.conn_id);
	EXPECT_EQ(MQTT_RC_NOT_AUTHORIZED, LAST.reason);
	EXPECT_EQ(500, reauth_timeout(&self->r,
				      self->now + TIMEOUT_MS - 500));
	reauth_expire(&self->r, self->now + TIMEOUT_MS);
	ASSERT_EQ(5, module.count);
	EXPECT_EQ(9, LAST.conn_id);
	EXPECT_EQ(0, endless_sessions);
	EXPECT_EQ(0, self->r.count);
	EXPECT_EQ(-1, reauth_timeout(&self->r, self->now));
}

/* The connection closes mid-exchange: its state goes, nothing is sent. */
TEST_F(reauth, closed_mid_exchange_frees_it)
{
	ASSERT_EQ(0, reauth_attached(&self->r, 9, "c9", NULL, "ENDLESS",
				     "user"));
	client_auth(self, 9, REAUTHENTICATE, NULL);
	EXPECT_EQ(1, endless_sessions);
	reauth_closed(&self->r, 9);
	reauth_closed(&self->r, 10);
	EXPECT_EQ(0, endless_sessions);
	EXPECT_EQ(1, self->r.count);
	EXPECT_EQ(1, module.count);
	EXPECT_EQ(-1, reauth_timeout(&self->r, self->now));
	reauth_closed(&self->r, 7);
	EXPECT_EQ(0, self->r.count);
}

/*
 * A reload: an exchange under way ends with the secret it started with;
 * the next one uses the new scram_file; none offered: 0x87.
 */
TEST_F(reauth, reload_takes_the_new_scram_file)
{
	ASSERT_EQ(0, reauth_attached(&self->r, 8, "c8", NULL, "SCRAM-SHA-256",
				     "other"));
	client_first(self, 8, OTHER_BARE);
	scram_file_free(offered_scram);
	offered_scram = load_scram(self, "changed");
	ASSERT_NE(NULL, offered_scram);
	client_final(self, 8, OTHER_BARE, "secret");
	EXPECT_EQ(MQTT_RC_SUCCESS, LAST.reason);

	client_first(self, 8, OTHER_BARE);
	client_final(self, 8, OTHER_BARE, "secret");
	EXPECT_EQ(MQTT_RC_NOT_AUTHORIZED, LAST.reason);
	EXPECT_EQ(1, self->r.count);

	scram_file_free(offered_scram);
	offered_scram = NULL;
	client_first(self, 7, BARE);
	ASSERT_EQ(5, module.count);
	EXPECT_EQ(MQTT_RC_NOT_AUTHORIZED, LAST.reason);
	EXPECT_EQ(0, self->r.count);
}

/* An answer the module does not take forgets the connection. */
TEST_F(reauth, failed_answer_forgets_the_connection)
{
	module.result = -ENOENT;
	client_first(self, 7, BARE);
	EXPECT_EQ(1, module.count);
	EXPECT_EQ(0, self->r.count);
	EXPECT_EQ(-1, reauth_timeout(&self->r, self->now));
}

/*
 * An answer the module refuses for another reason than a closed
 * connection is followed by a failure, so that the client is not left
 * waiting; the connection is forgotten.
 */
TEST_F(reauth, refused_answer_fails_with_0x87)
{
	module.result = -EINVAL;
	client_first(self, 7, BARE);
	ASSERT_EQ(2, module.count);
	EXPECT_EQ(MQTT_RC_CONTINUE_AUTH, module.reply[0].reason);
	EXPECT_EQ(MQTT_RC_NOT_AUTHORIZED, module.reply[1].reason);
	EXPECT_EQ(7, module.reply[1].conn_id);
	EXPECT_EQ(0, self->r.count);
	EXPECT_EQ(-1, reauth_timeout(&self->r, self->now));
}

/* One entry per connection, at most REAUTH_CONNS_MAX. */
TEST_F(reauth, table_bounded)
{
	uint64_t id;

	EXPECT_EQ(-EEXIST, reauth_attached(&self->r, 7, "c7", NULL,
					   "SCRAM-SHA-256", "user"));
	for (id = 100; self->r.count < REAUTH_CONNS_MAX; id++)
		ASSERT_EQ(0, reauth_attached(&self->r, id, "c", "1883 *",
					     "SCRAM-SHA-256", "user"));
	EXPECT_EQ(-ENOSPC, reauth_attached(&self->r, id, "c", NULL,
					   "SCRAM-SHA-256", "user"));
	reauth_closed(&self->r, 100);
	EXPECT_EQ(0, reauth_attached(&self->r, id, "c", NULL,
				     "SCRAM-SHA-256", "user"));
}

TEST_HARNESS_MAIN

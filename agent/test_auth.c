// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of agent/auth.c: the CONNACK codes of refused credentials as
 * Mosquitto 2.0 gives them, certificate identities, one policy per
 * listener with per_listener_settings true, and the rules a reload sends
 * each session (kmqtt_nl_dump_sessions() and kmqtt_nl_set_acl() are
 * fakes that record what would go to kmqtt.ko), and the connections a
 * method authenticated, recorded for re-authentication.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kmqtt/mqtt.h>

#include "acl.h"
#include "auth.h"
#include "config.h"
#include "connect.h"
#include "kmqtt_nl.h"
#include "log.h"
#include "origins.h"
#include "reauth.h"
#include "scram.h"
#include "kselftest_harness.h"

/* mosquitto_passwd's hashes: X has password "xpass", Y "ypass". */
#define PASSWORDS \
	"X:$7$101$pFRN0Rz/WcTtfN6K$TIgcck+Cx70s8mZMro/+ue/z69L94ZnYtwW9zkQRYyzMbaxotlYwuss0jKG+N2tSI46nbHx56Iie34IdcTNLow==\n" \
	"Y:$7$101$dgT/XMNvGn1VxjDP$f3G7/ssSsgpdzjRapcHyv/koioY3610EREB24aEX6E8K+O3b8+XqwNOSI6+hFAzlEPF047LlF4MR+ONYEFpRNQ==\n"

#define MAX_SESSIONS	4

/* The sessions the fake module holds, and the rules each was sent. */
static struct {
	struct kmqtt_nl_session session[MAX_SESSIONS];
	size_t count;
	struct {
		char client_id[KMQTT_CLIENT_ID_MAX + 1];
		bool allow_all;		/* sent without rules */
		size_t rules;
		char first[64];		/* the first rule's filter */
		uint8_t first_access;
	} sent[MAX_SESSIONS];
	size_t sent_count;
} module;

int kmqtt_nl_dump_sessions(struct kmqtt_nl *nl,
			   void (*fn)(const struct kmqtt_nl_session *s,
				      void *arg),
			   void *arg)
{
	size_t i;

	(void)nl;
	for (i = 0; i < module.count; i++)
		fn(&module.session[i], arg);
	return 0;
}

int kmqtt_nl_set_acl(struct kmqtt_nl *nl, const char *client_id,
		     const struct acl_rules *acl)
{
	size_t n = module.sent_count++;

	(void)nl;
	snprintf(module.sent[n].client_id, sizeof(module.sent[n].client_id),
		 "%s", client_id);
	module.sent[n].allow_all = !acl;
	module.sent[n].rules = acl ? acl->count : 0;
	if (acl && acl->count) {
		snprintf(module.sent[n].first, sizeof(module.sent[n].first),
			 "%s", acl->rule[0].filter);
		module.sent[n].first_access = acl->rule[0].access;
	}
	return 0;
}

/* Re-authentication does not run here: its answers are never sent. */
int kmqtt_nl_auth_reply(struct kmqtt_nl *nl, uint64_t conn_id,
			const char *client_id, uint8_t reason,
			const uint8_t *data, size_t len)
{
	(void)nl;
	(void)conn_id;
	(void)client_id;
	(void)reason;
	(void)data;
	(void)len;
	return -ENOSYS;
}

FIXTURE(auth) {
	char dir[64];
	char conf[128];
	char err[512];
	struct config cfg;
	struct auth_policies ps;
	struct origins origins;
	struct reauth reauth;
	struct connect_packet c;
	struct listener_conn_info ci;
};

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

FIXTURE_SETUP(auth)
{
	log_init(false);
	strcpy(self->dir, "/tmp/test_auth.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->conf, sizeof(self->conf), "%s/conf", self->dir);
	write_file(self->dir, "pw", PASSWORDS);
	write_file(self->dir, "acl.a", "topic read a/#\n");
	write_file(self->dir, "acl.b", "topic read b/#\n");
	memset(&self->cfg, 0, sizeof(self->cfg));
	memset(&self->ps, 0, sizeof(self->ps));
	origins_init(&self->origins);
	reauth_init(&self->reauth, NULL, &self->ps, 1000);
	memset(&self->c, 0, sizeof(self->c));
	strcpy(self->c.client_id, "c1");
	self->c.client_id_len = 2;
	self->c.clean_session = true;
	self->ci = (struct listener_conn_info){ .connect = &self->c,
						.peer = "127.0.0.1:1" };
}

FIXTURE_TEARDOWN(auth)
{
	char cmd[128];

	reauth_fini(&self->reauth);
	auth_policies_free(&self->ps);
	origins_fini(&self->origins);
	config_free(&self->cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
	if (system(cmd))
		TH_LOG("could not remove %s", self->dir);
}

/* Load @text (DIR in it stands for the test's directory). */
static int load(FIXTURE_DATA(auth) *self, const char *text)
{
	char conf[1024], *at;
	const char *from = text;
	size_t n = 0;

	while ((at = strstr(from, "DIR"))) {
		n += snprintf(conf + n, sizeof(conf) - n, "%.*s%s",
			      (int)(at - from), from, self->dir);
		from = at + 3;
	}
	snprintf(conf + n, sizeof(conf) - n, "%s", from);
	write_file(self->dir, "conf", conf);
	if (config_load(&self->cfg, self->conf, NULL, NULL, NULL, NULL,
			self->err, sizeof(self->err)))
		return -1;
	return auth_policies_load(&self->ps, &self->cfg, &self->origins,
				  &self->reauth,
				  self->err, sizeof(self->err));
}

#define LOAD_OK(text)	ASSERT_EQ(0, load(self, text)) TH_LOG("%s", self->err)

static void credentials(struct connect_packet *c, const char *user,
			const char *password)
{
	c->has_username = user != NULL;
	c->username = (struct connect_bytes){
		(const uint8_t *)user, user ? (uint16_t)strlen(user) : 0 };
	c->has_password = password != NULL;
	c->password = (struct connect_bytes){
		(const uint8_t *)password,
		password ? (uint16_t)strlen(password) : 0 };
}

/* The CONNACK code listener @i gives @user/@password; the grant in @g. */
static uint8_t check(FIXTURE_DATA(auth) *self, size_t i, const char *user,
		     const char *password, char *username, size_t size)
{
	const struct listener_auth *hooks = auth_policies_hooks(&self->ps, i);
	struct listener_grant g;
	uint8_t code;

	credentials(&self->c, user, password);
	code = hooks->check(&self->ci, &g, hooks->arg);
	if (username)
		snprintf(username, size, "%s", g.username ? g.username : "");
	hooks->finish(&g, &self->c, 0, hooks->arg);
	return code;
}

#define CODE(user, password)	check(self, 0, user, password, NULL, 0)

/* Mosquitto 2.0: 5 for every refused password check, never 4. */
TEST_F(auth, password_file_refusals_are_5)
{
	char name[64];

	LOAD_OK("listener 1883\nallow_anonymous false\npassword_file DIR/pw\n");
	EXPECT_EQ(MQTT_CONNACK_NOT_AUTHORIZED, CODE(NULL, NULL));
	EXPECT_EQ(MQTT_CONNACK_NOT_AUTHORIZED, CODE("nobody", "xpass"));
	EXPECT_EQ(MQTT_CONNACK_NOT_AUTHORIZED, CODE("X", "ypass"));
	EXPECT_EQ(MQTT_CONNACK_NOT_AUTHORIZED, CODE("X", NULL));
	EXPECT_EQ(MQTT_CONNACK_NOT_AUTHORIZED, CODE("", ""));
	EXPECT_EQ(MQTT_CONNACK_ACCEPTED,
		  check(self, 0, "X", "xpass", name, sizeof(name)));
	EXPECT_STREQ("X", name);
}

/* allow_anonymous true lets in clients without a name, not bad names. */
TEST_F(auth, anonymous_allowed_but_names_checked)
{
	LOAD_OK("listener 1883\nallow_anonymous true\npassword_file DIR/pw\n");
	EXPECT_EQ(MQTT_CONNACK_ACCEPTED, CODE(NULL, NULL));
	EXPECT_EQ(MQTT_CONNACK_NOT_AUTHORIZED, CODE("nobody", "x"));
	EXPECT_EQ(MQTT_CONNACK_ACCEPTED, CODE("Y", "ypass"));
}

/* No password file: nothing to check a name against. */
TEST_F(auth, without_password_file_allow_anonymous_decides)
{
	char name[64];

	LOAD_OK("listener 1883\n");
	EXPECT_EQ(MQTT_CONNACK_NOT_AUTHORIZED, CODE(NULL, NULL));
	EXPECT_EQ(MQTT_CONNACK_NOT_AUTHORIZED, CODE("X", "xpass"));
	auth_policies_free(&self->ps);
	config_free(&self->cfg);
	LOAD_OK("listener 1883\nallow_anonymous true\n");
	EXPECT_EQ(MQTT_CONNACK_ACCEPTED,
		  check(self, 0, "anyone", "any", name, sizeof(name)));
	EXPECT_STREQ("anyone", name);
}

/* The certificate is the identity; no certificate (or no CN): 4. */
TEST_F(auth, certificate_identity)
{
	char name[64];

	LOAD_OK("listener 1883\nallow_anonymous false\npassword_file DIR/pw\n");
	self->ci.identity = LISTENER_IDENTITY_CERT_CN;
	EXPECT_EQ(MQTT_CONNACK_BAD_USERNAME_PASSWORD, CODE("X", "xpass"));
	self->ci.cert_cn = "client1";
	self->ci.cert_subject = "CN=client1,O=kmqtt test";
	/* the password file is not consulted, the CONNECT's name unused */
	EXPECT_EQ(MQTT_CONNACK_ACCEPTED,
		  check(self, 0, "X", "wrong", name, sizeof(name)));
	EXPECT_STREQ("client1", name);
	self->ci.identity = LISTENER_IDENTITY_CERT_SUBJECT;
	EXPECT_EQ(MQTT_CONNACK_ACCEPTED,
		  check(self, 0, NULL, NULL, name, sizeof(name)));
	EXPECT_STREQ("CN=client1,O=kmqtt test", name);
	self->ci.cert_subject = NULL;
	EXPECT_EQ(MQTT_CONNACK_BAD_USERNAME_PASSWORD, CODE(NULL, NULL));
}

/* The RFC 7677 user: "user", password "pencil". */
#define SCRAM_USER \
	"user:SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=\n"

/* The method listener @i offers for @name: NULL, or with its config. */
static const struct auth_method *method(FIXTURE_DATA(auth) *self, size_t i,
					const char *name)
{
	const struct listener_auth *hooks = auth_policies_hooks(&self->ps, i);
	const void *config = NULL;
	const struct auth_method *m;

	m = hooks->method(&self->ci, name, &config, hooks->arg);
	return m && config ? m : NULL;
}

/*
 * SCRAM-SHA-256 where a scram_file is, per listener too, not where a
 * certificate names the client, and no other method.
 */
TEST_F(auth, scram_offered_with_scram_file)
{
	write_file(self->dir, "scram", SCRAM_USER);
	LOAD_OK("per_listener_settings true\n"
		"listener 1883\nscram_file DIR/scram\n"
		"listener 1884\nallow_anonymous true\n");
	EXPECT_NE(NULL, method(self, 0, "SCRAM-SHA-256"));
	EXPECT_EQ(NULL, method(self, 0, "SCRAM-SHA-1"));
	EXPECT_EQ(NULL, method(self, 0, "scram-sha-256"));
	EXPECT_EQ(NULL, method(self, 1, "SCRAM-SHA-256"));
	self->ci.identity = LISTENER_IDENTITY_CERT_CN;
	EXPECT_EQ(NULL, method(self, 0, "SCRAM-SHA-256"));
}

/* A bad scram_file line fails the load with both places named. */
TEST_F(auth, scram_file_errors_name_the_line)
{
	char want[512];

	write_file(self->dir, "scram", "user:SCRAM-SHA-256$1:x$y:z\n");
	ASSERT_EQ(-1, load(self, "listener 1883\nscram_file DIR/scram\n"));
	snprintf(want, sizeof(want),
		 "%s:2: scram_file: %s/scram:1: iteration count",
		 self->conf, self->dir);
	EXPECT_EQ(0, strncmp(want, self->err, strlen(want)))
		TH_LOG("%s", self->err);
}

/*
 * The user a method proved is the client's, whatever allow_anonymous and
 * password_file say; a CONNECT that names another user, or carries a
 * password: 5.
 */
TEST_F(auth, method_identity_is_the_user)
{
	char name[64];

	write_file(self->dir, "acl", "user user\ntopic read u/#\n");
	LOAD_OK("listener 1883\nallow_anonymous false\npassword_file DIR/pw\n"
		"acl_file DIR/acl\n");
	self->ci.auth_identity = "user";
	EXPECT_EQ(MQTT_CONNACK_ACCEPTED,
		  check(self, 0, NULL, NULL, name, sizeof(name)));
	EXPECT_STREQ("user", name);
	EXPECT_EQ(MQTT_CONNACK_ACCEPTED,
		  check(self, 0, "user", NULL, name, sizeof(name)));
	EXPECT_EQ(MQTT_CONNACK_NOT_AUTHORIZED, CODE("X", NULL));
	EXPECT_EQ(MQTT_CONNACK_NOT_AUTHORIZED, CODE("use", NULL));
	EXPECT_EQ(MQTT_CONNACK_NOT_AUTHORIZED, CODE("user", "pencil"));
	EXPECT_EQ(MQTT_CONNACK_NOT_AUTHORIZED, CODE(NULL, "pencil"));
}

/* One policy per listener, each with its own files and defaults. */
TEST_F(auth, per_listener_policies)
{
	LOAD_OK("per_listener_settings true\n"
		"listener 1883\nallow_anonymous true\n"
		"listener 1884\npassword_file DIR/pw\n");
	ASSERT_EQ(2, self->ps.count);
	EXPECT_NE(auth_policies_hooks(&self->ps, 0)->arg,
		  auth_policies_hooks(&self->ps, 1)->arg);
	EXPECT_EQ(MQTT_CONNACK_ACCEPTED, check(self, 0, NULL, NULL, NULL, 0));
	EXPECT_EQ(MQTT_CONNACK_ACCEPTED,
		  check(self, 0, "nobody", "x", NULL, 0));
	EXPECT_EQ(MQTT_CONNACK_NOT_AUTHORIZED,
		  check(self, 1, NULL, NULL, NULL, 0));
	EXPECT_EQ(MQTT_CONNACK_NOT_AUTHORIZED,
		  check(self, 1, "nobody", "x", NULL, 0));
	EXPECT_EQ(MQTT_CONNACK_ACCEPTED, check(self, 1, "X", "xpass", NULL, 0));
	EXPECT_FALSE(auth_policies_have_acl(&self->ps));
}

/* Without per_listener_settings every listener shares one policy. */
TEST_F(auth, global_policy_shared)
{
	LOAD_OK("listener 1883\nlistener 1884\nacl_file DIR/acl.a\n");
	ASSERT_EQ(1, self->ps.count);
	EXPECT_EQ(auth_policies_hooks(&self->ps, 0),
		  auth_policies_hooks(&self->ps, 1));
	EXPECT_TRUE(auth_policies_have_acl(&self->ps));
}

/* Attach @client_id through listener @i, as the listener does. */
static void attach(FIXTURE_DATA(auth) *self, size_t i, const char *client_id,
		   uint64_t conn_id)
{
	const struct listener_auth *hooks = auth_policies_hooks(&self->ps, i);
	struct listener_grant g;

	snprintf(self->c.client_id, sizeof(self->c.client_id), "%s",
		 client_id);
	credentials(&self->c, NULL, NULL);
	hooks->check(&self->ci, &g, hooks->arg);
	hooks->finish(&g, &self->c, conn_id, hooks->arg);
}

/*
 * A connection a method authenticated is recorded once attached, for
 * re-authentication under its listener's policy; others are not.
 */
TEST_F(auth, method_connections_recorded_for_reauth)
{
	const struct listener_auth *hooks;
	const void *config = NULL;
	struct listener_grant g;

	write_file(self->dir, "scram", SCRAM_USER);
	LOAD_OK("per_listener_settings true\n"
		"listener 1883\nscram_file DIR/scram\n"
		"listener 1884\nallow_anonymous true\n");
	hooks = auth_policies_hooks(&self->ps, 0);
	self->c.has_auth_method = true;
	self->c.auth_method = (struct connect_bytes){
		(const uint8_t *)"SCRAM-SHA-256", 13 };
	self->ci.auth_identity = "user";
	hooks->check(&self->ci, &g, hooks->arg);
	hooks->finish(&g, &self->c, 0, hooks->arg);
	EXPECT_EQ(0, self->reauth.count);
	hooks->check(&self->ci, &g, hooks->arg);
	hooks->finish(&g, &self->c, 5, hooks->arg);
	EXPECT_EQ(1, self->reauth.count);
	self->ci.auth_identity = NULL;
	self->c.has_auth_method = false;
	attach(self, 1, "anonymous", 6);
	EXPECT_EQ(1, self->reauth.count);
	/* what re-authentication looks up, by the policy's listener name */
	EXPECT_EQ(&scram_sha256_method,
		  auth_policies_method(&self->ps, "1883 *", "SCRAM-SHA-256",
				       &config));
	EXPECT_EQ(self->ps.policy[0].scram, config);
	EXPECT_EQ(NULL, auth_policies_method(&self->ps, "1884 *",
					     "SCRAM-SHA-256", &config));
	EXPECT_EQ(NULL, auth_policies_method(&self->ps, NULL,
					     "SCRAM-SHA-256", &config));
	EXPECT_EQ(NULL, auth_policies_method(&self->ps, "1885 *",
					     "SCRAM-SHA-256", &config));
}

/* Without per_listener_settings the one policy offers it to all. */
TEST_F(auth, reauth_method_of_the_global_policy)
{
	const void *config = NULL;

	write_file(self->dir, "scram", SCRAM_USER);
	LOAD_OK("listener 1883\nscram_file DIR/scram\n");
	EXPECT_EQ(&scram_sha256_method,
		  auth_policies_method(&self->ps, NULL, "SCRAM-SHA-256",
				       &config));
	EXPECT_EQ(NULL, auth_policies_method(&self->ps, NULL, "PLAIN",
					     &config));
}

static struct kmqtt_nl_session *hold_session(const char *client_id)
{
	struct kmqtt_nl_session *s = &module.session[module.count++];

	memset(s, 0, sizeof(*s));
	snprintf(s->client_id, sizeof(s->client_id), "%s", client_id);
	return s;
}

/*
 * A reload sends each session the rules of the listener it attached
 * through; one kmqttd does not know gets none at all.
 */
TEST_F(auth, push_per_listener_rules)
{
	struct kmqtt_nl nl = { 0 };

	LOAD_OK("per_listener_settings true\n"
		"listener 1883\nallow_anonymous true\nacl_file DIR/acl.a\n"
		"listener 1884\nallow_anonymous true\nacl_file DIR/acl.b\n"
		"listener 1885\nallow_anonymous true\n");
	attach(self, 0, "on-a", 1);
	attach(self, 1, "on-b", 2);
	attach(self, 2, "on-c", 3);
	hold_session("on-a");
	hold_session("on-b");
	hold_session("on-c");
	hold_session("unknown");
	ASSERT_EQ(0, auth_push_acls(&self->ps, &self->origins, &nl));
	ASSERT_EQ(4, module.sent_count);
	EXPECT_STREQ("on-a", module.sent[0].client_id);
	EXPECT_STREQ("a/#", module.sent[0].first);
	EXPECT_EQ(KMQTT_ACL_READ, module.sent[0].first_access);
	EXPECT_STREQ("b/#", module.sent[1].first);
	EXPECT_TRUE(module.sent[2].allow_all);
	EXPECT_FALSE(module.sent[3].allow_all);
	EXPECT_EQ(0, module.sent[3].rules);
	EXPECT_EQ(3, self->origins.count);
}

/* Global policy: sessions are not recorded, all get the one file. */
TEST_F(auth, push_global_rules)
{
	struct kmqtt_nl nl = { 0 };

	LOAD_OK("listener 1883\nallow_anonymous true\nacl_file DIR/acl.a\n");
	attach(self, 0, "s", 1);
	EXPECT_EQ(0, self->origins.count);
	hold_session("s");
	hold_session("earlier");
	hold_session("local.up")->bridge = true;
	ASSERT_EQ(0, auth_push_acls(&self->ps, &self->origins, &nl));
	ASSERT_EQ(3, module.sent_count);
	EXPECT_STREQ("a/#", module.sent[0].first);
	EXPECT_STREQ("a/#", module.sent[1].first);
	EXPECT_TRUE(module.sent[2].allow_all);
}

/*
 * A bridge's session here is allowed everything, whatever the files
 * say (Mosquitto does not check a bridge's local side either): the same
 * client id of a client's session gets the client's rules.
 */
TEST_F(auth, bridge_sessions_allowed_everything)
{
	struct kmqtt_nl nl = { 0 };

	LOAD_OK("per_listener_settings true\n"
		"listener 1883\nallow_anonymous true\nacl_file DIR/acl.a\n");
	hold_session("local.up")->bridge = true;
	hold_session("local.other");
	ASSERT_EQ(0, auth_push_acls(&self->ps, &self->origins, &nl));
	ASSERT_EQ(2, module.sent_count);
	EXPECT_STREQ("local.up", module.sent[0].client_id);
	EXPECT_TRUE(module.sent[0].allow_all);
	EXPECT_FALSE(module.sent[1].allow_all);
	EXPECT_EQ(0, module.sent[1].rules);
	EXPECT_EQ(0, self->origins.count);
}

TEST_HARNESS_MAIN

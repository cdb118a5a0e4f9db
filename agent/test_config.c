// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of the configuration file parser: good files and their effect,
 * bad files and their exact "FILE:LINE: reason", warnings for directives
 * kmqtt ignores.  Each test writes its files in a fresh directory.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "config.h"
#include "connect.h"
#include "limits.h"
#include "kselftest_harness.h"

#define MAX_WARNINGS	16

struct warnings {
	unsigned int count;
	char msg[MAX_WARNINGS][512];
};

static void collect_warning(const char *msg, void *arg)
{
	struct warnings *w = arg;

	if (w->count < MAX_WARNINGS)
		snprintf(w->msg[w->count], sizeof(w->msg[0]), "%s", msg);
	w->count++;
}

FIXTURE(config) {
	char dir[64];
	char main_path[128];
	struct config cfg;
	struct warnings warn;
	char err[512];
};

FIXTURE_SETUP(config)
{
	snprintf(self->dir, sizeof(self->dir), "/tmp/kmqtt-config-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->main_path, sizeof(self->main_path), "%s/main.conf",
		 self->dir);
	memset(&self->cfg, 0, sizeof(self->cfg));
	memset(&self->warn, 0, sizeof(self->warn));
	self->err[0] = '\0';
}

FIXTURE_TEARDOWN(config)
{
	char cmd[128];

	config_free(&self->cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
	if (system(cmd))
		TH_LOG("could not remove %s", self->dir);
}

/* Write @text to DIR/@name (@name may be "sub/file.conf"). */
static void write_file(struct __test_metadata *_metadata, const char *dir,
		       const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ASSERT_NE(NULL, f) TH_LOG("%s", path);
	fputs(text, f);
	ASSERT_EQ(0, fclose(f));
}

static int load_cli(struct __test_metadata *_metadata,
		    FIXTURE_DATA(config) *self, const char *text,
		    const char *cli_addr, const char *cli_port)
{
	write_file(_metadata, self->dir, "main.conf", text);
	return config_load(&self->cfg, self->main_path, cli_addr, cli_port,
			   collect_warning, &self->warn, self->err,
			   sizeof(self->err));
}

#define LOAD(text)	load_cli(_metadata, self, text, NULL, NULL)

/* The file must load; shows the error when it does not. */
#define LOAD_OK(text) \
	ASSERT_EQ(0, LOAD(text)) TH_LOG("%s", self->err)

/* The file must fail with "main.conf:LINE: reason". */
static void expect_error(struct __test_metadata *_metadata,
			 FIXTURE_DATA(config) *self, const char *text,
			 unsigned int line, const char *reason)
{
	char want[512];

	snprintf(want, sizeof(want), "%s:%u: %s", self->main_path, line,
		 reason);
	ASSERT_EQ(-1, LOAD(text));
	EXPECT_STREQ(want, self->err);
	/* nothing half-built is left behind */
	EXPECT_EQ(0, self->cfg.listener_count);
	EXPECT_EQ(NULL, self->cfg.listeners);
	EXPECT_EQ(0, self->cfg.limits.mask);
}

#define BAD(text, line, reason)	expect_error(_metadata, self, text, line, reason)

static void expect_warning(struct __test_metadata *_metadata,
			   FIXTURE_DATA(config) *self, unsigned int i,
			   const char *file, unsigned int line,
			   const char *text)
{
	char want[512];

	snprintf(want, sizeof(want), "%s:%u: %s", file, line, text);
	ASSERT_LT(i, self->warn.count);
	EXPECT_STREQ(want, self->warn.msg[i]);
}

#define WARNED(i, line, text) \
	expect_warning(_metadata, self, i, self->main_path, line, text)

/* Mosquitto 2.0 local only mode: no listener at all. */
TEST_F(config, empty_file_is_local_only)
{
	LOAD_OK("");
	ASSERT_EQ(1, self->cfg.listener_count);
	EXPECT_STREQ(CONFIG_LOCAL_ONLY_ADDR, self->cfg.listeners[0].addr);
	EXPECT_STREQ("1883", self->cfg.listeners[0].port);
	EXPECT_TRUE(self->cfg.listeners[0].is_default);
	EXPECT_TRUE(self->cfg.local_only);
	EXPECT_TRUE(self->cfg.security.allow_anonymous);
	EXPECT_TRUE(self->cfg.security.allow_zero_length_clientid);
	EXPECT_EQ(NULL, self->cfg.security.auto_id_prefix);
	EXPECT_FALSE(self->cfg.per_listener_settings);
	EXPECT_EQ(0, self->cfg.limits.mask);
	EXPECT_FALSE(self->cfg.log_type_set);
	EXPECT_EQ(0, self->warn.count);
}

TEST_F(config, comments_blank_lines_and_crlf)
{
	LOAD_OK("# a comment\n"
		"\n"
		"   \t\n"
		"  # indented comment\n"
		"\tlistener   1884\t\r\n"
		"allow_anonymous true\r\n");
	ASSERT_EQ(1, self->cfg.listener_count);
	EXPECT_STREQ("1884", self->cfg.listeners[0].port);
	EXPECT_TRUE(self->cfg.security.allow_anonymous);
}

/*
 * The configuration `make install` puts in /etc/kmqtt: loads, and only
 * this machine can connect until the operator says otherwise.
 */
TEST_F(config, installed_default_listens_on_localhost_only)
{
	ASSERT_EQ(0, config_load(&self->cfg, "../tools/package/kmqtt.conf",
				 NULL, NULL, collect_warning, &self->warn,
				 self->err, sizeof(self->err)))
		TH_LOG("%s", self->err);
	EXPECT_EQ(0, self->warn.count);
	ASSERT_EQ(1, self->cfg.listener_count);
	EXPECT_STREQ("127.0.0.1", self->cfg.listeners[0].addr);
	EXPECT_STREQ("1883", self->cfg.listeners[0].port);
	EXPECT_TRUE(self->cfg.persistence.enabled);
	EXPECT_STREQ("/var/lib/kmqtt/", self->cfg.persistence.location);
}

/* A listener ends local only mode: anonymous clients refused by default. */
TEST_F(config, listener_on_every_interface)
{
	LOAD_OK("listener 1883\n");
	ASSERT_EQ(1, self->cfg.listener_count);
	EXPECT_EQ(NULL, self->cfg.listeners[0].addr);
	EXPECT_STREQ("1883", self->cfg.listeners[0].port);
	EXPECT_FALSE(self->cfg.listeners[0].is_default);
	EXPECT_FALSE(self->cfg.local_only);
	EXPECT_FALSE(self->cfg.security.allow_anonymous);
}

TEST_F(config, port_and_bind_address_make_the_default_listener)
{
	LOAD_OK("port 1884\nbind_address 10.1.2.3\nallow_anonymous true\n");
	ASSERT_EQ(1, self->cfg.listener_count);
	EXPECT_STREQ("10.1.2.3", self->cfg.listeners[0].addr);
	EXPECT_STREQ("1884", self->cfg.listeners[0].port);
	EXPECT_TRUE(self->cfg.listeners[0].is_default);
	EXPECT_FALSE(self->cfg.local_only);
	EXPECT_TRUE(self->cfg.security.allow_anonymous);
}

TEST_F(config, per_listener_tls_settings)
{
	const struct config_listener *l;
	char want[256];

	LOAD_OK("port 1883\n"
		"certfile /certs/default.pem\n"
		"keyfile /keys/default.key\n"
		"listener 8883 ::1\n"
		"cafile /ca/a.pem\n"
		"certfile /certs/my cert.pem\n"
		"keyfile /keys/a.key\n"
		"require_certificate true\n"
		"use_identity_as_username true\n"
		"listener 8884 127.0.0.1\n"
		"certfile /certs/b.pem\n"
		"keyfile /keys/b.key\n"
		"password_file /etc/kmqtt/pw file\n"
		"acl_file /etc/kmqtt/acl\n");
	ASSERT_EQ(3, self->cfg.listener_count);
	l = &self->cfg.listeners[0];
	EXPECT_TRUE(l->is_default);
	EXPECT_EQ(NULL, l->addr);
	EXPECT_EQ(NULL, l->cafile);
	EXPECT_STREQ("/certs/default.pem", l->certfile);
	l = &self->cfg.listeners[1];
	EXPECT_STREQ("::1", l->addr);
	EXPECT_STREQ("8883", l->port);
	EXPECT_STREQ("/ca/a.pem", l->cafile);
	EXPECT_STREQ("/certs/my cert.pem", l->certfile);
	EXPECT_STREQ("/keys/a.key", l->keyfile);
	EXPECT_TRUE(l->require_certificate);
	EXPECT_TRUE(l->use_identity_as_username);
	l = &self->cfg.listeners[2];
	EXPECT_STREQ("127.0.0.1", l->addr);
	EXPECT_EQ(NULL, l->cafile);
	EXPECT_STREQ("/certs/b.pem", l->certfile);
	EXPECT_FALSE(l->require_certificate);
	/* auth settings are global even after a listener line */
	EXPECT_STREQ("/etc/kmqtt/pw file", self->cfg.security.password_file);
	EXPECT_STREQ("/etc/kmqtt/acl", self->cfg.security.acl_file);
	EXPECT_EQ(NULL, l->security.password_file);
	EXPECT_EQ(&self->cfg.security, config_security_of(&self->cfg, l));
	snprintf(want, sizeof(want), "%s:13", self->main_path);
	EXPECT_STREQ(want, self->cfg.security.password_file_where);
	snprintf(want, sizeof(want), "%s:4", self->main_path);
	EXPECT_STREQ(want, self->cfg.listeners[1].where);
}

/* Settings that would leave a listener plain or unverifiable. */
TEST_F(config, tls_settings_must_fit_together)
{
	BAD("listener 8883\ncafile /ca.pem\n", 1,
	    "listener 8883 on every interface: TLS settings without certfile (TLS needs certfile and keyfile)");
	BAD("listener 1883\nlistener 8883 ::1\nrequire_certificate true\n", 2,
	    "listener 8883 on ::1: TLS settings without certfile (TLS needs certfile and keyfile)");
	BAD("listener 8883\ncertfile /c.pem\n", 1,
	    "listener 8883 on every interface: certfile without keyfile");
	BAD("listener 8883\ncertfile /c.pem\nkeyfile /k.pem\nrequire_certificate true\n",
	    1, "listener 8883 on every interface: require_certificate needs a cafile to verify clients with");
	BAD("listener 8883\ncrlfile /crl.pem\n", 1,
	    "listener 8883 on every interface: TLS settings without certfile (TLS needs certfile and keyfile)");
	BAD("listener 8883\nuse_subject_as_username true\n", 1,
	    "listener 8883 on every interface: TLS settings without certfile (TLS needs certfile and keyfile)");
	LOAD_OK("listener 8883\ncertfile /c.pem\nkeyfile /k.pem\ncafile /ca.pem\n"
		"require_certificate true\nuse_identity_as_username true\n"
		"crlfile /crl.pem\n");
	EXPECT_STREQ("/crl.pem", self->cfg.listeners[0].crlfile);
	EXPECT_EQ(0, self->warn.count);
}

/*
 * Accepted as Mosquitto accepts them, with a warning: no certificate is
 * asked for, so every client is refused, or the CRL is never used.
 */
TEST_F(config, certificate_settings_without_require_certificate_warn)
{
	LOAD_OK("listener 8883\ncertfile /c.pem\nkeyfile /k.pem\n"
		"use_identity_as_username true\n"
		"listener 8884\ncertfile /c.pem\nkeyfile /k.pem\n"
		"use_subject_as_username true\ncafile /ca.pem\ncrlfile /crl.pem\n");
	EXPECT_TRUE(self->cfg.listeners[0].use_identity_as_username);
	EXPECT_TRUE(self->cfg.listeners[1].use_subject_as_username);
	ASSERT_EQ(3, self->warn.count);
	WARNED(0, 1, "listener 8883 on every interface: use_identity_as_username or use_subject_as_username without require_certificate true: every client is refused (CONNACK 4), as in Mosquitto");
	WARNED(1, 5, "listener 8884 on every interface: crlfile is not used without require_certificate true: no client certificate is asked for");
	WARNED(2, 5, "listener 8884 on every interface: use_identity_as_username or use_subject_as_username without require_certificate true: every client is refused (CONNACK 4), as in Mosquitto");
}

TEST_F(config, tls_before_listener_without_default_listener_warns)
{
	LOAD_OK("certfile /c.pem\nlistener 8883\n");
	ASSERT_EQ(1, self->cfg.listener_count);
	EXPECT_EQ(NULL, self->cfg.listeners[0].certfile);
	ASSERT_EQ(1, self->warn.count);
	WARNED(0, 1, "listener settings before the first listener are unused: they belong to the default listener, which port or bind_address would start");
}

/*
 * per_listener_settings true: the security settings after a listener
 * line are that listener's, those before any the default listener's;
 * each listener has Mosquitto's defaults.
 */
TEST_F(config, per_listener_settings)
{
	const struct config_listener *l;
	const struct config_security *sec;

	LOAD_OK("per_listener_settings true\n"
		"port 1884\n"
		"allow_anonymous true\n"
		"acl_file /acl.default\n"
		"listener 1883\n"
		"password_file /pw.a\n"
		"allow_zero_length_clientid false\n"
		"listener 1885\n"
		"allow_anonymous false\n"
		"auto_id_prefix pre-\n"
		"acl_file /acl.c\n"
		"scram_file /scram c\n");
	ASSERT_EQ(3, self->cfg.listener_count);
	EXPECT_TRUE(self->cfg.per_listener_settings);
	l = &self->cfg.listeners[0];
	sec = config_security_of(&self->cfg, l);
	EXPECT_EQ(&l->security, sec);
	EXPECT_STREQ("1884", l->port);
	EXPECT_TRUE(sec->allow_anonymous);
	EXPECT_STREQ("/acl.default", sec->acl_file);
	EXPECT_EQ(NULL, sec->password_file);
	sec = config_security_of(&self->cfg, &self->cfg.listeners[1]);
	EXPECT_STREQ("1883", self->cfg.listeners[1].port);
	EXPECT_FALSE(sec->allow_anonymous);	/* Mosquitto 2.0's default */
	EXPECT_STREQ("/pw.a", sec->password_file);
	EXPECT_EQ(NULL, sec->acl_file);
	EXPECT_FALSE(sec->allow_zero_length_clientid);
	EXPECT_EQ(NULL, sec->auto_id_prefix);
	sec = config_security_of(&self->cfg, &self->cfg.listeners[2]);
	EXPECT_FALSE(sec->allow_anonymous);
	EXPECT_TRUE(sec->allow_anonymous_set);
	EXPECT_TRUE(sec->allow_zero_length_clientid);
	EXPECT_STREQ("pre-", sec->auto_id_prefix);
	EXPECT_STREQ("/acl.c", sec->acl_file);
	EXPECT_STREQ("/scram c", sec->scram_file);
	EXPECT_EQ(NULL, config_security_of(&self->cfg,
					   &self->cfg.listeners[1])->scram_file);
	/* nothing went to the global set */
	EXPECT_EQ(NULL, self->cfg.security.acl_file);
	EXPECT_EQ(NULL, self->cfg.security.scram_file);
	EXPECT_EQ(0, self->warn.count);
}

/* Without per_listener_settings the last one wins wherever it is. */
TEST_F(config, security_settings_global_by_default)
{
	char want[512];

	LOAD_OK("listener 1883\nallow_anonymous false\n"
		"listener 1884\nallow_anonymous true\n"
		"allow_zero_length_clientid false\nauto_id_prefix x\n"
		"scram_file /scram\n");
	EXPECT_TRUE(self->cfg.security.allow_anonymous);
	EXPECT_STREQ("/scram", self->cfg.security.scram_file);
	snprintf(want, sizeof(want), "%s:7", self->main_path);
	EXPECT_STREQ(want, self->cfg.security.scram_file_where);
	EXPECT_FALSE(self->cfg.security.allow_zero_length_clientid);
	EXPECT_STREQ("x", self->cfg.security.auto_id_prefix);
	EXPECT_EQ(&self->cfg.security,
		  config_security_of(&self->cfg, &self->cfg.listeners[0]));
}

/* Mosquitto: an error, the settings before it went to the global set. */
TEST_F(config, per_listener_settings_after_a_security_setting)
{
	char want[512];

	snprintf(want, sizeof(want),
		 "per_listener_settings true must come before any security setting (one is at %s:2)",
		 self->main_path);
	BAD("listener 1883\nallow_anonymous true\nper_listener_settings true\n",
	    3, want);
	snprintf(want, sizeof(want),
		 "per_listener_settings true must come before any security setting (one is at %s:1)",
		 self->main_path);
	BAD("auto_id_prefix a\nper_listener_settings true\n", 2, want);
	/* false is what it was anyway */
	LOAD_OK("acl_file /acl\nper_listener_settings false\n");
}

/* Settings before the first listener that no default listener takes. */
TEST_F(config, per_listener_security_before_listener_warns)
{
	LOAD_OK("per_listener_settings true\nallow_anonymous true\n"
		"listener 1883\n");
	EXPECT_FALSE(config_security_of(&self->cfg,
					&self->cfg.listeners[0])->allow_anonymous);
	ASSERT_EQ(1, self->warn.count);
	WARNED(0, 2, "listener settings before the first listener are unused: they belong to the default listener, which port or bind_address would start");
}

/* max_topic_alias: per listener, 0 to 65535, Mosquitto's 10 unset. */
TEST_F(config, max_topic_alias)
{
	LOAD_OK("listener 1883\nmax_topic_alias 0\nlistener 1884\n"
		"max_topic_alias 65535\nlistener 1885\n");
	EXPECT_TRUE(self->cfg.listeners[0].max_topic_alias_set);
	EXPECT_EQ(0, self->cfg.listeners[0].max_topic_alias);
	EXPECT_EQ(65535, self->cfg.listeners[1].max_topic_alias);
	EXPECT_FALSE(self->cfg.listeners[2].max_topic_alias_set);
	config_free(&self->cfg);
	BAD("listener 1883\nmax_topic_alias 65536\n", 2,
	    "max_topic_alias: \"65536\" is not a number from 0 to 65535");
	BAD("listener 1883\nmax_topic_alias -1\n", 2,
	    "max_topic_alias: \"-1\" is not a number from 0 to 65535");
}

/* max_keepalive: global wherever it is, 0 (none) to 65535. */
TEST_F(config, max_keepalive)
{
	LOAD_OK("listener 1883\n");
	EXPECT_FALSE(self->cfg.max_keepalive_set);
	config_free(&self->cfg);
	LOAD_OK("listener 1883\nlistener 1884\nmax_keepalive 30\n");
	EXPECT_TRUE(self->cfg.max_keepalive_set);
	EXPECT_EQ(30, self->cfg.max_keepalive);
	config_free(&self->cfg);
	LOAD_OK("per_listener_settings true\nmax_keepalive 0\n"
		"listener 1883\nmax_keepalive 65535\n");
	EXPECT_TRUE(self->cfg.max_keepalive_set);
	EXPECT_EQ(65535, self->cfg.max_keepalive);
	EXPECT_EQ(0, self->warn.count);
	config_free(&self->cfg);
	BAD("max_keepalive 65536\n", 1,
	    "max_keepalive: \"65536\" is not a number from 0 to 65535");
	BAD("max_keepalive -1\n", 1,
	    "max_keepalive: \"-1\" is not a number from 0 to 65535");
	BAD("max_keepalive\n", 1, "max_keepalive: missing value");
}

/*
 * websockets_headers_size: global wherever it is, 0 to 65535 as
 * Mosquitto; 0 or none is kmqttd's 8 KiB.
 */
TEST_F(config, websockets_headers_size)
{
	LOAD_OK("listener 1883\n");
	EXPECT_EQ(CONFIG_WEBSOCKETS_HEADERS_SIZE_DEFAULT,
		  self->cfg.websockets_headers_size);
	EXPECT_EQ(8192, CONFIG_WEBSOCKETS_HEADERS_SIZE_DEFAULT);
	config_free(&self->cfg);
	LOAD_OK("websockets_headers_size 100\nlistener 1883\n"
		"protocol websockets\nwebsockets_headers_size 65535\n");
	EXPECT_EQ(65535, self->cfg.websockets_headers_size);
	EXPECT_EQ(0, self->warn.count);
	config_free(&self->cfg);
	LOAD_OK("per_listener_settings true\nlistener 1883\n"
		"websockets_headers_size 1\n");
	EXPECT_EQ(1, self->cfg.websockets_headers_size);
	config_free(&self->cfg);
	LOAD_OK("websockets_headers_size 4096\nwebsockets_headers_size 0\n");
	EXPECT_EQ(CONFIG_WEBSOCKETS_HEADERS_SIZE_DEFAULT,
		  self->cfg.websockets_headers_size);
	config_free(&self->cfg);
	BAD("listener 1883\nwebsockets_headers_size 65536\n", 2,
	    "websockets_headers_size: \"65536\" is not a number from 0 to 65535");
	BAD("websockets_headers_size -1\n", 1,
	    "websockets_headers_size: \"-1\" is not a number from 0 to 65535");
	BAD("websockets_headers_size abc\n", 1,
	    "websockets_headers_size: \"abc\" is not a number from 0 to 65535");
	BAD("websockets_headers_size\n", 1,
	    "websockets_headers_size: missing value");
}

/* sys_interval: 0 (no $SYS topics) unless set, up to 65535 as Mosquitto. */
TEST_F(config, sys_interval)
{
	LOAD_OK("listener 1883\n");
	EXPECT_EQ(0, self->cfg.sys_interval);
	config_free(&self->cfg);
	LOAD_OK("sys_interval 10\nlistener 1883\nsys_interval 1\n");
	EXPECT_EQ(1, self->cfg.sys_interval);
	EXPECT_EQ(0, self->warn.count);
	config_free(&self->cfg);
	BAD("sys_interval 65536\n", 1,
	    "sys_interval: \"65536\" is not a number from 0 to 65535");
	BAD("sys_interval\n", 1, "sys_interval: missing value");
}

/* metrics_listener PORT [ADDRESS]: off unless set, the last one wins. */
TEST_F(config, metrics_listener)
{
	LOAD_OK("listener 1883\n");
	EXPECT_STREQ("", self->cfg.metrics.port);
	config_free(&self->cfg);
	LOAD_OK("metrics_listener 9100\n");
	EXPECT_STREQ("9100", self->cfg.metrics.port);
	EXPECT_EQ(NULL, self->cfg.metrics.addr);
	/* Not an MQTT listener: still local only mode. */
	EXPECT_TRUE(self->cfg.local_only);
	EXPECT_EQ(1, self->cfg.listener_count);
	config_free(&self->cfg);
	LOAD_OK("metrics_listener 9100\nlistener 1883\n"
		"metrics_listener 9200 [::1]\n");
	EXPECT_STREQ("9200", self->cfg.metrics.port);
	EXPECT_STREQ("[::1]", self->cfg.metrics.addr);
	EXPECT_NE(NULL, strstr(self->cfg.metrics.where, "main.conf:3"));
	config_free(&self->cfg);
	LOAD_OK("metrics_listener 9100 0.0.0.0\nmetrics_listener 9101\n");
	EXPECT_STREQ("9101", self->cfg.metrics.port);
	EXPECT_EQ(NULL, self->cfg.metrics.addr);
	EXPECT_EQ(0, self->warn.count);
	config_free(&self->cfg);
	BAD("metrics_listener\n", 1, "metrics_listener: missing port");
	BAD("metrics_listener 0\n", 1,
	    "metrics_listener: \"0\" is not a port from 1 to 65535");
	BAD("metrics_listener 65536\n", 1,
	    "metrics_listener: \"65536\" is not a port from 1 to 65535");
	BAD("metrics_listener 9100 localhost\n", 1,
	    "metrics_listener: \"localhost\" is not an IPv4 or IPv6 address");
	BAD("metrics_listener 9100 127.0.0.1 x\n", 1,
	    "metrics_listener: expected PORT [ADDRESS]");
	/* A bad line leaves nothing of an earlier one behind. */
	BAD("metrics_listener 9100\nmetrics_listener x\n", 2,
	    "metrics_listener: \"x\" is not a port from 1 to 65535");
	EXPECT_STREQ("", self->cfg.metrics.port);
}

/* Mosquitto's spelling: the listener above takes MQTT over WebSocket. */
TEST_F(config, protocol_websockets)
{
	LOAD_OK("listener 1883\nprotocol mqtt\nlistener 8080\n"
		"protocol websockets\nlistener 8081\nprotocol websockets\n"
		"protocol mqtt\n");
	EXPECT_FALSE(self->cfg.listeners[0].websockets);
	EXPECT_TRUE(self->cfg.listeners[1].websockets);
	EXPECT_FALSE(self->cfg.listeners[2].websockets);
	LOAD_OK("protocol mqtt\n");
}

TEST_F(config, mount_point)
{
	char longest[KMQTT_MOUNT_POINT_MAX + 32];

	LOAD_OK("listener 1883\nmount_point tenant 1/\nlistener 1884\n");
	EXPECT_STREQ("tenant 1/", self->cfg.listeners[0].mount_point);
	EXPECT_EQ(NULL, self->cfg.listeners[1].mount_point);
	config_free(&self->cfg);
	BAD("mount_point a/\nlistener 1883\n", 1,
	    "mount_point must follow a listener line");
	BAD("listener 1883\nmount_point a/+/\n", 2,
	    "mount_point \"a/+/\": a topic prefix cannot contain + or #");
	BAD("listener 1883\nmount_point #\n", 2,
	    "mount_point \"#\": a topic prefix cannot contain + or #");
	BAD("listener 1883\nmount_point $share/g/\n", 2,
	    "mount_point \"$share/g/\": a topic prefix cannot begin $share/");
	BAD("listener 1883\nmount_point $shar\n", 2,
	    "mount_point \"$shar\": a topic prefix cannot begin $share/");
	LOAD_OK("listener 1883\nmount_point $shared/\n");
	BAD("listener 1883\nmount_point a\xff/\n", 2,
	    "mount_point: not valid UTF-8");
	BAD("listener 1883\nmount_point\n", 2, "mount_point: missing value");
	snprintf(longest, sizeof(longest), "listener 1883\nmount_point %0*d\n",
		 KMQTT_MOUNT_POINT_MAX, 0);
	LOAD_OK(longest);
	config_free(&self->cfg);
	snprintf(longest, sizeof(longest), "listener 1883\nmount_point %0*d\n",
		 KMQTT_MOUNT_POINT_MAX + 1, 0);
	BAD(longest, 2, "mount_point: longer than 1024 bytes");
}

TEST_F(config, auto_id_prefix)
{
	char line[512];

	/* the prefix and 36 characters must fit a client id */
	snprintf(line, sizeof(line), "auto_id_prefix %0*d\n",
		 KMQTT_CLIENT_ID_MAX - CONNECT_ASSIGNED_ID_RANDOM_LEN, 0);
	LOAD_OK(line);
	config_free(&self->cfg);
	snprintf(line, sizeof(line), "auto_id_prefix %0*d\n",
		 KMQTT_CLIENT_ID_MAX - CONNECT_ASSIGNED_ID_RANDOM_LEN + 1, 0);
	BAD(line, 1,
	    "auto_id_prefix: longer than 220 bytes (client ids have at most 256)");
	BAD("auto_id_prefix \xc0\x80\n", 1, "auto_id_prefix: not valid UTF-8");
}

TEST_F(config, limits_go_to_the_module)
{
	const struct kmqtt_nl_limits *l = &self->cfg.limits;

	LOAD_OK("max_connections -1\n"
		"max_inflight_messages 10\n"
		"max_queued_messages 100\n"
		"max_queued_bytes 1000000\n"
		"memory_limit 67108864\n"
		"persistent_client_expiration 2d\n"
		"queue_qos0_messages true\n"
		"retain_available false\n"
		"kmqtt_max_retained_messages 50\n"
		"kmqtt_max_retained_bytes 5000\n"
		"kmqtt_max_subscriptions 20\n"
		"kmqtt_max_topic_levels 32\n");
	EXPECT_EQ(0, l->value[KMQTT_LIMIT_MAX_CONNECTIONS]);
	EXPECT_EQ(10, l->value[KMQTT_LIMIT_MAX_INFLIGHT]);
	EXPECT_EQ(100, l->value[KMQTT_LIMIT_MAX_QUEUED_MESSAGES]);
	EXPECT_EQ(1000000, l->value[KMQTT_LIMIT_MAX_QUEUED_BYTES]);
	EXPECT_EQ(67108864, l->value[KMQTT_LIMIT_MEMORY]);
	EXPECT_EQ(2 * 86400, l->value[KMQTT_LIMIT_SESSION_EXPIRY]);
	EXPECT_EQ(1, l->value[KMQTT_LIMIT_QUEUE_QOS0]);
	EXPECT_EQ(0, l->value[KMQTT_LIMIT_RETAIN_AVAILABLE]);
	EXPECT_EQ(50, l->value[KMQTT_LIMIT_MAX_RETAINED]);
	EXPECT_EQ(5000, l->value[KMQTT_LIMIT_MAX_RETAINED_BYTES]);
	EXPECT_EQ(20, l->value[KMQTT_LIMIT_MAX_SUBSCRIPTIONS]);
	EXPECT_EQ(32, l->value[KMQTT_LIMIT_MAX_TOPIC_LEVELS]);
	/* all but max_packet_size and message_size_limit */
	EXPECT_EQ(((1u << (KMQTT_LIMIT_MAX + 1)) - 1) &
		  ~(KMQTT_NL_LIMIT_BIT(KMQTT_LIMIT_UNSPEC) |
		    KMQTT_NL_LIMIT_BIT(KMQTT_LIMIT_PAD) |
		    KMQTT_NL_LIMIT_BIT(KMQTT_LIMIT_MAX_PACKET_SIZE) |
		    KMQTT_NL_LIMIT_BIT(KMQTT_LIMIT_MESSAGE_SIZE)), l->mask);
}

TEST_F(config, unset_limits_are_not_sent)
{
	LOAD_OK("listener 1883\nmax_queued_messages 5\n");
	EXPECT_EQ(KMQTT_NL_LIMIT_BIT(KMQTT_LIMIT_MAX_QUEUED_MESSAGES),
		  self->cfg.limits.mask);
}

TEST_F(config, last_value_wins)
{
	LOAD_OK("max_queued_messages 5\nmax_queued_messages 7\n");
	EXPECT_EQ(7, self->cfg.limits.value[KMQTT_LIMIT_MAX_QUEUED_MESSAGES]);
}

/* Two limits, as in Mosquitto: payload bytes, and whole packets. */
TEST_F(config, message_size_limit_apart_from_max_packet_size)
{
	LOAD_OK("message_size_limit 1000\nmax_packet_size 2000000\n");
	EXPECT_EQ(1000, self->cfg.limits.value[KMQTT_LIMIT_MESSAGE_SIZE]);
	EXPECT_EQ(2000000, self->cfg.limits.value[KMQTT_LIMIT_MAX_PACKET_SIZE]);
	EXPECT_EQ(KMQTT_NL_LIMIT_BIT(KMQTT_LIMIT_MESSAGE_SIZE) |
		  KMQTT_NL_LIMIT_BIT(KMQTT_LIMIT_MAX_PACKET_SIZE),
		  self->cfg.limits.mask);
	config_free(&self->cfg);
	LOAD_OK("message_size_limit 1000\n");
	EXPECT_EQ(KMQTT_NL_LIMIT_BIT(KMQTT_LIMIT_MESSAGE_SIZE),
		  self->cfg.limits.mask);
}

TEST_F(config, log_type)
{
	LOAD_OK("log_type error\nlog_type warning\n");
	EXPECT_TRUE(self->cfg.log_type_set);
	EXPECT_FALSE(self->cfg.log_verbose);
	config_free(&self->cfg);
	LOAD_OK("log_type error\nlog_type notice\n");
	EXPECT_TRUE(self->cfg.log_verbose);
	config_free(&self->cfg);
	LOAD_OK("log_type all\n");
	EXPECT_TRUE(self->cfg.log_verbose);
}

/* Settings kmqtt only has in their default form load quietly. */
TEST_F(config, mosquitto_defaults_accepted)
{
	LOAD_OK("per_listener_settings false\n"
		"allow_zero_length_clientid true\n"
		"auto_id_prefix auto-\n"
		"upgrade_outgoing_qos false\n"
		"listener 1883\n"
		"protocol mqtt\n"
		"max_qos 2\n");
	EXPECT_EQ(0, self->warn.count);
}

/* Debian's /etc/mosquitto/mosquitto.conf, with its conf.d. */
TEST_F(config, debian_mosquitto_conf_loads_with_warnings)
{
	char text[512];

	ASSERT_EQ(0, mkdir(strcat(strcpy(text, self->dir), "/conf.d"), 0700));
	write_file(_metadata, self->dir, "conf.d/README", "not a conf file\n");
	snprintf(text, sizeof(text),
		 "# Place your local configuration in /etc/mosquitto/conf.d/\n"
		 "\n"
		 "pid_file /run/mosquitto/mosquitto.pid\n"
		 "\n"
		 "persistence true\n"
		 "persistence_location /var/lib/mosquitto/\n"
		 "\n"
		 "log_dest file /var/log/mosquitto/mosquitto.log\n"
		 "\n"
		 "include_dir %s/conf.d\n", self->dir);
	LOAD_OK(text);
	EXPECT_TRUE(self->cfg.local_only);
	ASSERT_EQ(2, self->warn.count);
	WARNED(0, 3, "pid_file ignored: run kmqttd under a service manager");
	WARNED(1, 8, "log_dest ignored: kmqttd logs to stderr");
	EXPECT_TRUE(self->cfg.persistence.enabled);
	EXPECT_STREQ("/var/lib/mosquitto/", self->cfg.persistence.location);
}

/*
 * Mosquitto's persistence directives and defaults; the file is the
 * location followed by the file name, a slash put between if missing.
 */
TEST_F(config, persistence)
{
	char dir[256], name[256];

	LOAD_OK("listener 1883\n");
	EXPECT_FALSE(self->cfg.persistence.enabled);
	EXPECT_EQ(1800, self->cfg.persistence.autosave_interval);
	EXPECT_FALSE(self->cfg.persistence.autosave_on_changes);
	EXPECT_FALSE(self->cfg.persistence.save_before_ack);
	ASSERT_EQ(0, config_persistence_path(&self->cfg.persistence, dir,
					     sizeof(dir), name, sizeof(name)));
	EXPECT_STREQ(".", dir);
	EXPECT_STREQ("kmqtt.db", name);
	config_free(&self->cfg);

	LOAD_OK("persistence true\npersistence_location /var/lib/kmqtt\n"
		"persistence_file state.db\nautosave_interval 0\n"
		"autosave_on_changes true\nkmqtt_save_before_ack true\n");
	EXPECT_TRUE(self->cfg.persistence.enabled);
	EXPECT_EQ(0, self->cfg.persistence.autosave_interval);
	EXPECT_TRUE(self->cfg.persistence.autosave_on_changes);
	EXPECT_TRUE(self->cfg.persistence.save_before_ack);
	ASSERT_EQ(0, config_persistence_path(&self->cfg.persistence, dir,
					     sizeof(dir), name, sizeof(name)));
	EXPECT_STREQ("/var/lib/kmqtt", dir);
	EXPECT_STREQ("state.db", name);
	EXPECT_EQ(0, self->warn.count);
	config_free(&self->cfg);

	/* No location: a file with a path is used as it is. */
	LOAD_OK("persistence_file /srv/m.db\nautosave_interval 4294967295\n");
	EXPECT_EQ(4294967295u, self->cfg.persistence.autosave_interval);
	ASSERT_EQ(0, config_persistence_path(&self->cfg.persistence, dir,
					     sizeof(dir), name, sizeof(name)));
	EXPECT_STREQ("/srv", dir);
	EXPECT_STREQ("m.db", name);
	config_free(&self->cfg);
	LOAD_OK("persistence_file /m.db\n");
	ASSERT_EQ(0, config_persistence_path(&self->cfg.persistence, dir,
					     sizeof(dir), name, sizeof(name)));
	EXPECT_STREQ("/", dir);
	EXPECT_STREQ("m.db", name);
	config_free(&self->cfg);
	LOAD_OK("persistence_location /var/lib/\npersistence_file d/\n");
	EXPECT_EQ(-EINVAL,
		  config_persistence_path(&self->cfg.persistence, dir,
					  sizeof(dir), name, sizeof(name)));
	config_free(&self->cfg);

	BAD("persistence yes\n", 1,
	    "persistence: \"yes\" is neither true nor false");
	BAD("autosave_interval 4294967296\n", 1,
	    "autosave_interval: \"4294967296\" is not a number from 0 to 4294967295");
	BAD("autosave_interval\n", 1, "autosave_interval: missing value");
	BAD("persistence_location\n", 1, "persistence_location: missing value");
}

/* Mosquitto's documented example: 00, 01, A, a, B, b. */
TEST_F(config, include_dir_order_and_locations)
{
	static const char *const names[] = {
		"b.conf", "A.conf", "01.conf", "a.conf", "B.conf", "00.conf",
	};
	static const char *const order[] = {
		"00.conf", "01.conf", "A.conf", "a.conf", "B.conf", "b.conf",
	};
	char text[256], path[256];
	unsigned int i;

	snprintf(path, sizeof(path), "%s/d", self->dir);
	ASSERT_EQ(0, mkdir(path, 0700));
	for (i = 0; i < 6; i++) {
		snprintf(text, sizeof(text), "\nlistener %u\nset_tcp_nodelay true\n",
			 2000 + i);
		snprintf(path, sizeof(path), "d/%s", names[i]);
		write_file(_metadata, self->dir, path, text);
	}
	write_file(_metadata, self->dir, "d/skipped.conf.bak", "nonsense\n");
	snprintf(text, sizeof(text), "listener 1883\ninclude_dir %s/d\nuser x\n",
		 self->dir);
	LOAD_OK(text);
	ASSERT_EQ(7, self->cfg.listener_count);
	for (i = 0; i < 6; i++) {
		unsigned int from = 0;

		while (strcmp(names[from], order[i]))
			from++;
		snprintf(text, sizeof(text), "%u", 2000 + from);
		EXPECT_STREQ(text, self->cfg.listeners[i + 1].port);
		snprintf(path, sizeof(path), "%s/d/%s:2", self->dir, order[i]);
		EXPECT_STREQ(path, self->cfg.listeners[i + 1].where);
		snprintf(path, sizeof(path), "%s/d/%s", self->dir, order[i]);
		expect_warning(_metadata, self, i, path, 3,
			       "set_tcp_nodelay ignored: kmqtt.ko manages client sockets");
	}
	/* back in the main file, at its own line */
	WARNED(6, 3, "user ignored: kmqttd keeps the user it was started as");
}

TEST_F(config, error_in_included_file_names_it)
{
	char text[256], want[256];

	snprintf(text, sizeof(text), "%s/d", self->dir);
	ASSERT_EQ(0, mkdir(text, 0700));
	write_file(_metadata, self->dir, "d/x.conf", "listener 1\n\nbogus 1\n");
	snprintf(text, sizeof(text), "include_dir %s/d\n", self->dir);
	ASSERT_EQ(-1, LOAD(text));
	snprintf(want, sizeof(want), "%s/d/x.conf:3: unknown directive \"bogus\"",
		 self->dir);
	EXPECT_STREQ(want, self->err);
	EXPECT_EQ(0, self->cfg.listener_count);
}

TEST_F(config, include_dir_only_in_main_file)
{
	char text[256], want[256];

	snprintf(text, sizeof(text), "%s/d", self->dir);
	ASSERT_EQ(0, mkdir(text, 0700));
	snprintf(text, sizeof(text), "include_dir %s\n", self->dir);
	write_file(_metadata, self->dir, "d/x.conf", text);
	snprintf(text, sizeof(text), "include_dir %s/d\n", self->dir);
	ASSERT_EQ(-1, LOAD(text));
	snprintf(want, sizeof(want),
		 "%s/d/x.conf:1: include_dir is only allowed in the main configuration file",
		 self->dir);
	EXPECT_STREQ(want, self->err);
}

/* -p and -b: change the default listener, or add one. */
TEST_F(config, command_line_overrides)
{
	ASSERT_EQ(0, load_cli(_metadata, self, "port 1884\n", NULL, "1999"));
	ASSERT_EQ(1, self->cfg.listener_count);
	EXPECT_STREQ("1999", self->cfg.listeners[0].port);
	config_free(&self->cfg);

	ASSERT_EQ(0, load_cli(_metadata, self, "listener 8883\n", "::1", NULL));
	ASSERT_EQ(2, self->cfg.listener_count);
	EXPECT_TRUE(self->cfg.listeners[0].is_default);
	EXPECT_STREQ("::1", self->cfg.listeners[0].addr);
	EXPECT_STREQ("1883", self->cfg.listeners[0].port);
	EXPECT_STREQ("8883", self->cfg.listeners[1].port);
	config_free(&self->cfg);

	/* no longer local only: every interface, anonymous refused */
	ASSERT_EQ(0, load_cli(_metadata, self, "", NULL, "1884"));
	ASSERT_EQ(1, self->cfg.listener_count);
	EXPECT_EQ(NULL, self->cfg.listeners[0].addr);
	EXPECT_FALSE(self->cfg.local_only);
	EXPECT_FALSE(self->cfg.security.allow_anonymous);
}

TEST_F(config, without_a_file)
{
	ASSERT_EQ(0, config_from_command_line(&self->cfg, "0.0.0.0", "1883"));
	ASSERT_EQ(1, self->cfg.listener_count);
	EXPECT_STREQ("0.0.0.0", self->cfg.listeners[0].addr);
	EXPECT_STREQ("1883", self->cfg.listeners[0].port);
	EXPECT_TRUE(self->cfg.security.allow_anonymous);
	EXPECT_EQ(0, self->cfg.limits.mask);
}

TEST_F(config, missing_file)
{
	char want[256];

	ASSERT_EQ(-1, config_load(&self->cfg, "/nonexistent/kmqtt.conf", NULL,
				  NULL, NULL, NULL, self->err,
				  sizeof(self->err)));
	snprintf(want, sizeof(want),
		 "/nonexistent/kmqtt.conf: No such file or directory");
	EXPECT_STREQ(want, self->err);
}

TEST_F(config, bad_directives)
{
	char first[256];

	BAD("listener 1883\nfoo bar\n", 2, "unknown directive \"foo\"");
	BAD("\n\nmax_inflight 3\n", 3, "unknown directive \"max_inflight\"");
	BAD("listener\n", 1, "listener: missing port");
	BAD("listener 70000\n", 1,
	    "listener: \"70000\" is not a port from 1 to 65535");
	BAD("listener 1883 ::1 extra\n", 1,
	    "listener: expected PORT [ADDRESS]");
	BAD("listener 0 /run/mqtt.sock\n", 1,
	    "listener: unix socket listeners are not supported");
	snprintf(first, sizeof(first),
		 "listener 1883 on every interface is already defined at %s:1",
		 self->main_path);
	BAD("listener 1883\nlistener 1884\nlistener 1883\n", 3, first);
	BAD("port 1883\nlistener 1883\n", 2,
	    "listener 1883 on every interface is also the default listener (port/bind_address)");
	BAD("port abc\n", 1, "port: \"abc\" is not a port from 1 to 65535");
	BAD("port\n", 1, "port: missing value");
	BAD("bind_address 1.2.3.4 5.6.7.8\n", 1,
	    "bind_address: expected one value, got \"1.2.3.4 5.6.7.8\"");
	BAD("allow_anonymous yes\n", 1,
	    "allow_anonymous: \"yes\" is neither true nor false");
	BAD("listener 8883\nrequire_certificate 1\n", 2,
	    "require_certificate: \"1\" is neither true nor false");
	BAD("password_file\n", 1, "password_file: missing value");
	BAD("scram_file\n", 1, "scram_file: missing value");
	BAD("max_connections -2\n", 1,
	    "max_connections: \"-2\" is not a number from -1 or 0 to 4294967295");
	BAD("max_connections 10 # ten\n", 1,
	    "max_connections: \"10 # ten\" is not a number from -1 or 0 to 4294967295");
	BAD("max_inflight_messages 65536\n", 1,
	    "max_inflight_messages: \"65536\" is not a number from 1 to 65534");
	BAD("persistent_client_expiration 3600\n", 1,
	    "persistent_client_expiration: \"3600\" is not a duration like 12h, 2d, 1w, 1m or 1y (at most 4294967295 seconds)");
	BAD("listener 1883\nkmqtt_max_topic_levels 0\n", 2,
	    "kmqtt_max_topic_levels: 0 is below the minimum, 1");
	BAD("kmqtt_max_topic_levels 1025\n", 1,
	    "kmqtt_max_topic_levels: \"1025\" is not a number from 1 to 1024");
	BAD("retain_available 0\n", 1,
	    "retain_available: \"0\" is neither true nor false");
	BAD("log_type verbose\n", 1, "log_type: unknown type \"verbose\"");
	BAD("topic a/b\n", 1,
	    "topic is only valid in a bridge (after connection)");
	BAD("connection\n", 1, "connection: missing value");
	BAD("include_dir /nonexistent/dir\n", 1,
	    "include_dir: cannot read /nonexistent/dir: No such file or directory");
}

/* Ignoring these would quietly change what clients get. */
TEST_F(config, refused_directives)
{
	BAD("listener 8080\nprotocol http\n", 2,
	    "protocol http is not supported: the protocols are mqtt and websockets");
	BAD("protocol websockets\nlistener 8080\n", 1,
	    "protocol websockets must follow a listener line");
	BAD("listener 1883\nmax_qos 1\n", 2,
	    "max_qos 1 is not supported: kmqtt grants every QoS level");
	BAD("upgrade_outgoing_qos true\n", 1,
	    "upgrade_outgoing_qos true is not supported: kmqtt delivers at the lower of the two QoS levels, as MQTT requires");
	BAD("bind_interface eth0\n", 1,
	    "bind_interface is not supported by kmqtt: use a listener address");
	BAD("listener 8883\ntls_version tlsv1.3\n", 2,
	    "tls_version is not supported by kmqtt: not implemented");
	BAD("auth_opt_backend mysql\n", 1,
	    "auth_opt_backend is not supported by kmqtt: plugins are not supported");
	BAD("plugin /usr/lib/x.so\n", 1,
	    "plugin is not supported by kmqtt: plugins are not supported");
}

/* What kmqttd does with a directive of mosquitto.conf(5). */
enum directive_status {
	SUPPORTED,	/* loads without a word */
	IGNORED,	/* loads with a warning "NAME ignored: why" */
	REFUSED,	/* "FILE:LINE: NAME ... not supported ...: why" */
};

struct mosquitto_directive {
	const char *text;	/* the file; the directive is on its last line */
	enum directive_status status;
};

/*
 * Every directive of Mosquitto 2.0's mosquitto.conf(5), with a value it
 * takes (TLS ones on a TLS listener, bridge ones in a bridge): none is
 * "unknown", each does what Documentation/configuration.rst says.
 */
static const struct mosquitto_directive mosquitto_directives[] = {
#define TLS_LISTENER "listener 8883\ncertfile /c.pem\nkeyfile /k.pem\n"
#define BRIDGE "connection b\naddress 10.0.0.1\ntopic #\n"
	{ "acl_file /acl\n", SUPPORTED },
	{ "allow_anonymous true\n", SUPPORTED },
	{ "allow_duplicate_messages true\n", IGNORED },
	{ "allow_zero_length_clientid false\n", SUPPORTED },
	{ "auth_plugin /p.so\n", REFUSED },
	{ "auth_opt_db x\n", REFUSED },
	{ "auth_plugin_deny_special_chars true\n", REFUSED },
	{ "auto_id_prefix a-\n", SUPPORTED },
	{ "autosave_interval 1800\n", SUPPORTED },
	{ "autosave_on_changes false\n", SUPPORTED },
	{ "check_retain_source true\n", IGNORED },
	{ "clientid_prefixes sec-\n", REFUSED },
	{ "connection_messages true\n", IGNORED },
	{ "include_dir /\n", SUPPORTED },
	{ "log_dest stderr\n", IGNORED },
	{ "log_facility 5\n", IGNORED },
	{ "log_timestamp true\n", IGNORED },
	{ "log_timestamp_format %H\n", IGNORED },
	{ "log_type all\n", SUPPORTED },
	{ "max_inflight_bytes 0\n", IGNORED },
	{ "max_inflight_messages 20\n", SUPPORTED },
	{ "max_keepalive 65535\n", SUPPORTED },
	{ "max_packet_size 1000\n", SUPPORTED },
	{ "max_queued_bytes 0\n", SUPPORTED },
	{ "max_queued_messages 1000\n", SUPPORTED },
	{ "memory_limit 0\n", SUPPORTED },
	{ "message_size_limit 0\n", SUPPORTED },
	{ "password_file /pw\n", SUPPORTED },
	{ "per_listener_settings true\n", SUPPORTED },
	{ "persistence true\n", SUPPORTED },
	{ "persistence_file m.db\n", SUPPORTED },
	{ "persistence_location /var/lib\n", SUPPORTED },
	{ "persistent_client_expiration 1d\n", SUPPORTED },
	{ "pid_file /run/m.pid\n", IGNORED },
	{ "plugin /p.so\n", REFUSED },
	{ "plugin_opt_db x\n", REFUSED },
	{ "psk_file /psk\n", REFUSED },
	{ "queue_qos0_messages false\n", SUPPORTED },
	{ "retain_available true\n", SUPPORTED },
	{ "set_tcp_nodelay false\n", IGNORED },
	{ "sys_interval 10\n", SUPPORTED },
	{ "upgrade_outgoing_qos false\n", SUPPORTED },
	{ "upgrade_outgoing_qos true\n", REFUSED },
	{ "user mosquitto\n", IGNORED },
	{ "websockets_headers_size 4096\n", SUPPORTED },
	/* listeners */
	{ "bind_address 127.0.0.1\n", SUPPORTED },
	{ "bind_interface eth0\n", REFUSED },
	{ "listener 1883\nhttp_dir /www\n", IGNORED },
	{ "listener 1883 127.0.0.1\n", SUPPORTED },
	{ "listener 0 /run/m.sock\n", REFUSED },
	{ "listener 1883\nmax_connections -1\n", SUPPORTED },
	{ "listener 1883\nmax_qos 2\n", SUPPORTED },
	{ "listener 1883\nmax_qos 1\n", REFUSED },
	{ "listener 1883\nmax_topic_alias 10\n", SUPPORTED },
	{ "listener 1883\nmount_point m/\n", SUPPORTED },
	{ "port 1883\n", SUPPORTED },
	{ "listener 1883\nprotocol mqtt\n", SUPPORTED },
	{ "listener 1883\nprotocol websockets\n", SUPPORTED },
	{ "listener 1883\nsocket_domain ipv4\n", REFUSED },
	{ "listener 1883\nuse_username_as_clientid true\n", REFUSED },
	{ "listener 1883\nwebsockets_log_level 0\n", IGNORED },
	/* TLS */
	{ TLS_LISTENER "cafile /ca.pem\n", SUPPORTED },
	{ TLS_LISTENER "capath /ca\n", REFUSED },
	{ TLS_LISTENER "ciphers HIGH\n", REFUSED },
	{ TLS_LISTENER "ciphers_tls1.3 TLS_AES_128_GCM_SHA256\n", REFUSED },
	{ TLS_LISTENER "cafile /ca.pem\nrequire_certificate true\ncrlfile /crl.pem\n",
	  SUPPORTED },
	{ TLS_LISTENER "dhparamfile /dh.pem\n", REFUSED },
	{ TLS_LISTENER "cafile /ca.pem\nrequire_certificate true\n", SUPPORTED },
	{ TLS_LISTENER "tls_engine e\n", REFUSED },
	{ TLS_LISTENER "tls_engine_kpass_sha1 00\n", REFUSED },
	{ TLS_LISTENER "tls_keyform pem\n", REFUSED },
	{ TLS_LISTENER "tls_version tlsv1.2\n", REFUSED },
	{ TLS_LISTENER "cafile /ca.pem\nrequire_certificate true\nuse_identity_as_username true\n",
	  SUPPORTED },
	{ TLS_LISTENER "cafile /ca.pem\nrequire_certificate true\nuse_subject_as_username true\n",
	  SUPPORTED },
	{ "listener 1883\npsk_hint h\n", REFUSED },
	/* bridges (agent/test_bridge.c tests them further) */
	{ BRIDGE, SUPPORTED },
	{ BRIDGE "address 10.0.0.1:1883\n", SUPPORTED },
	{ BRIDGE "addresses 10.0.0.1:1883 10.0.0.2\n", SUPPORTED },
	{ BRIDGE "bridge_attempt_unsubscribe true\n", REFUSED },
	{ BRIDGE "bridge_bind_address 10.0.0.2\n", REFUSED },
	{ BRIDGE "bridge_max_packet_size 0\n", REFUSED },
	{ BRIDGE "bridge_outgoing_retain true\n", REFUSED },
	{ BRIDGE "bridge_protocol_version mqttv311\n", SUPPORTED },
	{ BRIDGE "bridge_protocol_version mqttv31\n", SUPPORTED },
	{ BRIDGE "bridge_protocol_version mqttv50\n", REFUSED },
	{ BRIDGE "cleansession false\n", SUPPORTED },
	{ BRIDGE "local_cleansession false\n", SUPPORTED },
	{ BRIDGE "keepalive_interval 60\n", SUPPORTED },
	{ BRIDGE "idle_timeout 60\n", SUPPORTED },
	{ BRIDGE "local_clientid x\n", SUPPORTED },
	{ BRIDGE "local_password x\n", IGNORED },
	{ BRIDGE "local_username x\n", IGNORED },
	{ BRIDGE "notifications true\n", SUPPORTED },
	{ BRIDGE "notifications_local_only false\n", SUPPORTED },
	{ BRIDGE "notifications_local_only true\n", SUPPORTED },
	{ BRIDGE "notification_topic t\n", SUPPORTED },
	{ BRIDGE "remote_clientid x\n", SUPPORTED },
	{ BRIDGE "remote_username u\nremote_password x\n", SUPPORTED },
	{ BRIDGE "remote_username x\n", SUPPORTED },
	{ BRIDGE "restart_timeout 30\n", SUPPORTED },
	{ BRIDGE "restart_timeout 5 60\n", SUPPORTED },
	{ BRIDGE "round_robin false\n", SUPPORTED },
	{ BRIDGE "start_type automatic\n", SUPPORTED },
	{ BRIDGE "start_type once\n", SUPPORTED },
	{ BRIDGE "start_type lazy\n", SUPPORTED },
	{ BRIDGE "threshold 10\n", SUPPORTED },
	{ BRIDGE "topic # both 0\n", SUPPORTED },
	{ BRIDGE "try_private true\n", SUPPORTED },
	{ BRIDGE "bridge_alpn x\n", REFUSED },
	{ BRIDGE "bridge_cafile /ca.pem\n", SUPPORTED },
	{ BRIDGE "bridge_capath /ca\n", SUPPORTED },
	{ BRIDGE "bridge_cafile /ca.pem\nbridge_certfile /c.pem\n"
		 "bridge_keyfile /k.pem\n", SUPPORTED },
	{ BRIDGE "bridge_identity x\n", REFUSED },
	{ BRIDGE "bridge_cafile /ca.pem\nbridge_insecure false\n", SUPPORTED },
	{ BRIDGE "bridge_psk 00\n", REFUSED },
	{ BRIDGE "bridge_require_ocsp false\n", REFUSED },
	{ BRIDGE "bridge_cafile /ca.pem\nbridge_tls_version tlsv1.2\n",
		 SUPPORTED },
	{ BRIDGE "bridge_tls_version tlsv1.1\n", REFUSED },
#undef TLS_LISTENER
#undef BRIDGE
};

TEST_F(config, every_mosquitto_directive)
{
	size_t i;

	for (i = 0; i < sizeof(mosquitto_directives) /
		    sizeof(mosquitto_directives[0]); i++) {
		const struct mosquitto_directive *d = &mosquitto_directives[i];
		const char *last = d->text + strlen(d->text) - 1;
		unsigned int lines = 0;
		char where[256];
		const char *c;
		int rc;

		for (c = d->text; *c; c++)
			lines += *c == '\n';
		while (last > d->text && last[-1] != '\n')
			last--;
		memset(&self->warn, 0, sizeof(self->warn));
		self->err[0] = '\0';
		rc = LOAD(d->text);
		config_free(&self->cfg);
		snprintf(where, sizeof(where), "%s:%u: ", self->main_path,
			 lines);
		switch (d->status) {
		case SUPPORTED:
			EXPECT_EQ(0, rc) TH_LOG("%s: %s", d->text, self->err);
			EXPECT_EQ(0, self->warn.count)
				TH_LOG("%s: %s", d->text, self->warn.msg[0]);
			break;
		case IGNORED:
			EXPECT_EQ(0, rc) TH_LOG("%s: %s", d->text, self->err);
			EXPECT_EQ(1, self->warn.count) TH_LOG("%s", d->text);
			EXPECT_NE(NULL, strstr(self->warn.msg[0], "ignored"))
				TH_LOG("%s: %s", d->text, self->warn.msg[0]);
			break;
		case REFUSED:
			EXPECT_EQ(-1, rc) TH_LOG("%s", d->text);
			EXPECT_EQ(0, strncmp(self->err, where, strlen(where)))
				TH_LOG("%s: %s", d->text, self->err);
			EXPECT_NE(NULL, strstr(self->err, "not supported"))
				TH_LOG("%s: %s", d->text, self->err);
			/* and a reason after the colon */
			EXPECT_NE(NULL, strstr(self->err + strlen(where), ": "))
				TH_LOG("%s: %s", d->text, self->err);
			break;
		}
	}
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of the configuration file parser: good files and their effect,
 * bad files and their exact "FILE:LINE: reason", warnings for directives
 * kmqtt ignores.  Each test writes its files in a fresh directory.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "config.h"
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
	EXPECT_TRUE(self->cfg.allow_anonymous);
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
	EXPECT_TRUE(self->cfg.allow_anonymous);
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
	EXPECT_FALSE(self->cfg.allow_anonymous);
}

TEST_F(config, port_and_bind_address_make_the_default_listener)
{
	LOAD_OK("port 1884\nbind_address 10.1.2.3\nallow_anonymous true\n");
	ASSERT_EQ(1, self->cfg.listener_count);
	EXPECT_STREQ("10.1.2.3", self->cfg.listeners[0].addr);
	EXPECT_STREQ("1884", self->cfg.listeners[0].port);
	EXPECT_TRUE(self->cfg.listeners[0].is_default);
	EXPECT_FALSE(self->cfg.local_only);
	EXPECT_TRUE(self->cfg.allow_anonymous);
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
	EXPECT_STREQ("/etc/kmqtt/pw file", self->cfg.password_file);
	EXPECT_STREQ("/etc/kmqtt/acl", self->cfg.acl_file);
	snprintf(want, sizeof(want), "%s:13", self->main_path);
	EXPECT_STREQ(want, self->cfg.password_file_where);
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
	BAD("listener 8883\ncertfile /c.pem\nkeyfile /k.pem\ncafile /ca.pem\nuse_identity_as_username true\n",
	    1, "listener 8883 on every interface: use_identity_as_username needs require_certificate true");
	LOAD_OK("listener 8883\ncertfile /c.pem\nkeyfile /k.pem\ncafile /ca.pem\n"
		"require_certificate true\nuse_identity_as_username true\n");
}

TEST_F(config, tls_before_listener_without_default_listener_warns)
{
	LOAD_OK("certfile /c.pem\nlistener 8883\n");
	ASSERT_EQ(1, self->cfg.listener_count);
	EXPECT_EQ(NULL, self->cfg.listeners[0].certfile);
	ASSERT_EQ(1, self->warn.count);
	WARNED(0, 1, "TLS settings before the first listener are unused: they belong to the default listener, which port or bind_address would start");
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
	/* all but max_packet_size */
	EXPECT_EQ(((1u << (KMQTT_LIMIT_MAX + 1)) - 1) &
		  ~(KMQTT_NL_LIMIT_BIT(KMQTT_LIMIT_UNSPEC) |
		    KMQTT_NL_LIMIT_BIT(KMQTT_LIMIT_PAD) |
		    KMQTT_NL_LIMIT_BIT(KMQTT_LIMIT_MAX_PACKET_SIZE)), l->mask);
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

/* Both checks exist in Mosquitto: the stricter one applies. */
TEST_F(config, packet_size_takes_the_smaller)
{
	LOAD_OK("message_size_limit 1000\nmax_packet_size 2000000\n");
	EXPECT_EQ(1000 + LIMITS_PUBLISH_HEADER_MAX,
		  self->cfg.limits.value[KMQTT_LIMIT_MAX_PACKET_SIZE]);
	config_free(&self->cfg);
	LOAD_OK("max_packet_size 5000\nmessage_size_limit 1000\n");
	EXPECT_EQ(5000, self->cfg.limits.value[KMQTT_LIMIT_MAX_PACKET_SIZE]);
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
	ASSERT_EQ(4, self->warn.count);
	WARNED(0, 3, "pid_file ignored: run kmqttd under a service manager");
	WARNED(1, 5, "persistence ignored: sessions live in kernel memory, not on disk");
	WARNED(2, 6, "persistence_location ignored: no persistence");
	WARNED(3, 8, "log_dest ignored: kmqttd logs to stderr");
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
		snprintf(text, sizeof(text), "\nlistener %u\nsys_interval 10\n",
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
			       "sys_interval ignored: no $SYS topics; use kmqttctl show");
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

TEST_F(config, bridges_are_ignored_whole)
{
	LOAD_OK("listener 1883\n"
		"connection cloud\n"
		"address mqtt.example.com:8883\n"
		"topic sensors/# out 1\n"
		"bridge_cafile /ca.pem\n"
		"remote_username edge\n"
		"listener 1884\n");
	EXPECT_EQ(2, self->cfg.listener_count);
	ASSERT_EQ(1, self->warn.count);
	WARNED(0, 2, "bridge \"cloud\" ignored: kmqtt has no bridges yet");
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
	EXPECT_FALSE(self->cfg.allow_anonymous);
}

TEST_F(config, without_a_file)
{
	ASSERT_EQ(0, config_from_command_line(&self->cfg, "0.0.0.0", "1883"));
	ASSERT_EQ(1, self->cfg.listener_count);
	EXPECT_STREQ("0.0.0.0", self->cfg.listeners[0].addr);
	EXPECT_STREQ("1883", self->cfg.listeners[0].port);
	EXPECT_TRUE(self->cfg.allow_anonymous);
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
	BAD("listener 8080\nprotocol websockets\n", 2,
	    "protocol websockets is not supported: kmqtt serves MQTT over TCP (and TLS) only");
	BAD("listener 8080\nprotocol http\n", 2,
	    "protocol http is not supported: the only protocol is mqtt");
	BAD("per_listener_settings true\n", 1,
	    "per_listener_settings true is not supported: authentication settings are global in kmqtt");
	BAD("allow_zero_length_clientid false\n", 1,
	    "allow_zero_length_clientid false is not supported: kmqtt assigns an id to clients that send none");
	BAD("listener 1883\nmax_qos 1\n", 2,
	    "max_qos 1 is not supported: kmqtt grants every QoS level");
	BAD("upgrade_outgoing_qos true\n", 1,
	    "upgrade_outgoing_qos true is not supported: kmqtt delivers at the lower of the two QoS levels, as MQTT requires");
	BAD("bind_interface eth0\n", 1,
	    "bind_interface is not supported by kmqtt: use a listener address");
	BAD("listener 1883\nmount_point tenant1/\n", 2,
	    "mount_point is not supported by kmqtt: topic isolation per listener is not implemented");
	BAD("listener 8883\ntls_version tlsv1.3\n", 2,
	    "tls_version is not supported by kmqtt: not implemented");
	BAD("auth_opt_backend mysql\n", 1,
	    "auth_opt_backend is not supported by kmqtt: plugins are not supported");
	BAD("plugin /usr/lib/x.so\n", 1,
	    "plugin is not supported by kmqtt: plugins are not supported");
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of bridges: their `connection` blocks as config.c reads them
 * (every directive, defaults, refusals), and the handshake bridge.c does
 * against a fake remote broker on loopback, with the module's side
 * (ATTACH, DISCONNECT, the connection dump) replaced by fakes that record
 * what they were asked and what is left unread on the socket.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <kmqtt/mqtt.h>

#include "bridge.h"
#include "config.h"
#include "kmod/codec.h"
#include "log.h"
#include "loop.h"
#include "test_tls_peer.h"
#include "kselftest_harness.h"


/* ---- configuration ---- */

struct conf {
	char dir[64];
	char path[128];
	struct config cfg;
	char err[512];
	unsigned int warnings;
	char warning[512];
};

static void collect_warning(const char *msg, void *arg)
{
	struct conf *c = arg;

	snprintf(c->warning, sizeof(c->warning), "%s", msg);
	c->warnings++;
}

static void conf_init(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->dir, sizeof(c->dir), "/tmp/kmqtt-bridge-XXXXXX");
	if (!mkdtemp(c->dir))
		abort();
	snprintf(c->path, sizeof(c->path), "%s/main.conf", c->dir);
}

static void conf_fini(struct conf *c)
{
	config_free(&c->cfg);
	unlink(c->path);
	rmdir(c->dir);
}

/* Load @text; 0 or -1 with c->err. */
static int conf_load(struct conf *c, const char *text)
{
	FILE *f = fopen(c->path, "w");

	if (!f)
		abort();
	fputs(text, f);
	fclose(f);
	config_free(&c->cfg);
	c->warnings = 0;
	c->err[0] = '\0';
	return config_load(&c->cfg, c->path, NULL, NULL, collect_warning, c,
			   c->err, sizeof(c->err));
}

FIXTURE(conf) {
	struct conf c;
};

FIXTURE_SETUP(conf)
{
	conf_init(&self->c);
}

FIXTURE_TEARDOWN(conf)
{
	conf_fini(&self->c);
}

#define LOAD_OK(text) \
	ASSERT_EQ(0, conf_load(&self->c, text)) TH_LOG("%s", self->c.err)

/* @text must fail with "main.conf:@line: @reason". */
static void expect_error(struct __test_metadata *_metadata, struct conf *c,
			 const char *text, unsigned int line,
			 const char *reason)
{
	char want[512];

	snprintf(want, sizeof(want), "%s:%u: %s", c->path, line, reason);
	EXPECT_EQ(-1, conf_load(c, text)) TH_LOG("%s", text);
	EXPECT_STREQ(want, c->err) TH_LOG("%s", text);
	EXPECT_EQ(0, c->cfg.bridge_count);
	EXPECT_EQ(NULL, c->cfg.bridges);
}

#define BAD(text, line, reason) \
	expect_error(_metadata, &self->c, text, line, reason)

#define MIN_BRIDGE	"connection b\naddress 10.0.0.1\ntopic t\n"

TEST_F(conf, defaults)
{
	const struct config_bridge *b;
	char host[256], want[600];

	ASSERT_EQ(0, gethostname(host, sizeof(host)));
	LOAD_OK("listener 1883\nconnection cloud\naddress 10.0.0.1\n"
		"topic sensors/#\n");
	EXPECT_EQ(0, self->c.warnings);
	ASSERT_EQ(1, self->c.cfg.bridge_count);
	b = &self->c.cfg.bridges[0];
	EXPECT_STREQ("cloud", b->name);
	ASSERT_EQ(1, b->address_count);
	EXPECT_STREQ("10.0.0.1", b->addresses[0].host);
	EXPECT_STREQ("1883", b->addresses[0].port);
	ASSERT_EQ(1, b->topic_count);
	EXPECT_EQ(KMQTT_BRIDGE_OUT, b->topics[0].direction);
	EXPECT_EQ(0, b->topics[0].qos);
	EXPECT_STREQ("sensors/#", b->topics[0].local);
	EXPECT_STREQ("sensors/#", b->topics[0].remote);
	EXPECT_EQ(0, b->topics[0].local_prefix_len);
	EXPECT_EQ(0, b->topics[0].remote_prefix_len);
	/* Mosquitto's: HOSTNAME.NAME, local. in front for the local one */
	snprintf(want, sizeof(want), "%s.cloud", host);
	EXPECT_STREQ(want, b->remote_clientid);
	snprintf(want, sizeof(want), "local.%s.cloud", host);
	EXPECT_STREQ(want, b->local_clientid);
	snprintf(want, sizeof(want), "$SYS/broker/connection/%s.cloud/state",
		 host);
	EXPECT_STREQ(want, b->notification_topic);
	EXPECT_EQ(NULL, b->remote_username);
	EXPECT_EQ(NULL, b->remote_password);
	EXPECT_FALSE(b->cleansession);
	EXPECT_FALSE(b->local_cleansession);
	EXPECT_EQ(60, b->keepalive);
	EXPECT_EQ(5, b->restart_base);
	EXPECT_EQ(30, b->restart_cap);
	EXPECT_FALSE(b->round_robin);
	EXPECT_EQ(CONFIG_START_AUTOMATIC, b->start_type);
	EXPECT_EQ(10, b->threshold);
	EXPECT_EQ(60, b->idle_timeout);
	EXPECT_TRUE(b->try_private);
	EXPECT_TRUE(b->notifications);
	EXPECT_FALSE(b->notifications_local_only);
	EXPECT_EQ(MQTT_PROTO_V311, b->proto_level);
	/* the listener after it is still a listener */
	EXPECT_EQ(1, self->c.cfg.listener_count);
}

TEST_F(conf, every_directive)
{
	const struct config_bridge *b;

	LOAD_OK("connection one\n"
		"addresses [::1]:8883 broker.example.com host:1884\n"
		"address 10.0.0.2 [fe80::1]\n"
		"topic sensors/# out 1 local/ remote/\n"
		"topic \"\" in 2 cmd/in site1/cmd\n"
		"topic # both 0 \"\" up/\n"
		"topic a/+/b in\n"
		"clientid edge-1\n"
		"username edge user\n"
		"password pass word\n"
		"local_clientid mine\n"
		"cleansession true\n"
		"keepalive_interval 30\n"
		"restart_timeout 10\n"
		"round_robin true\n"
		"start_type once\n"
		"try_private false\n"
		"notifications false\n"
		"notification_topic state/edge\n"
		"bridge_protocol_version mqttv31\n"
		"notifications_local_only true\n"
		"connection two\n"
		"address 10.0.0.3:1\n"
		"topic x\n"
		"remote_clientid r2\n"
		"remote_username u\n"
		"remote_password p\n"
		"cleansession true\n"
		"local_cleansession false\n"
		"restart_timeout 2 2\n"
		"start_type automatic\n");
	EXPECT_EQ(0, self->c.warnings) TH_LOG("%s", self->c.warning);
	ASSERT_EQ(2, self->c.cfg.bridge_count);
	b = &self->c.cfg.bridges[0];
	ASSERT_EQ(5, b->address_count);
	EXPECT_STREQ("::1", b->addresses[0].host);
	EXPECT_STREQ("8883", b->addresses[0].port);
	EXPECT_STREQ("broker.example.com", b->addresses[1].host);
	EXPECT_STREQ("1883", b->addresses[1].port);
	EXPECT_STREQ("host", b->addresses[2].host);
	EXPECT_STREQ("1884", b->addresses[2].port);
	EXPECT_STREQ("10.0.0.2", b->addresses[3].host);
	EXPECT_STREQ("fe80::1", b->addresses[4].host);
	EXPECT_STREQ("1883", b->addresses[4].port);
	ASSERT_EQ(4, b->topic_count);
	EXPECT_EQ(KMQTT_BRIDGE_OUT, b->topics[0].direction);
	EXPECT_EQ(1, b->topics[0].qos);
	EXPECT_STREQ("local/sensors/#", b->topics[0].local);
	EXPECT_STREQ("remote/sensors/#", b->topics[0].remote);
	EXPECT_EQ(6, b->topics[0].local_prefix_len);
	EXPECT_EQ(7, b->topics[0].remote_prefix_len);
	/* an empty pattern: the prefixes are the topics */
	EXPECT_EQ(KMQTT_BRIDGE_IN, b->topics[1].direction);
	EXPECT_EQ(2, b->topics[1].qos);
	EXPECT_STREQ("cmd/in", b->topics[1].local);
	EXPECT_STREQ("site1/cmd", b->topics[1].remote);
	EXPECT_EQ(6, b->topics[1].local_prefix_len);
	EXPECT_EQ(9, b->topics[1].remote_prefix_len);
	EXPECT_EQ(KMQTT_BRIDGE_IN | KMQTT_BRIDGE_OUT, b->topics[2].direction);
	EXPECT_STREQ("#", b->topics[2].local);
	EXPECT_STREQ("up/#", b->topics[2].remote);
	EXPECT_EQ(0, b->topics[2].local_prefix_len);
	EXPECT_EQ(3, b->topics[2].remote_prefix_len);
	EXPECT_EQ(KMQTT_BRIDGE_IN, b->topics[3].direction);
	EXPECT_EQ(0, b->topics[3].qos);
	EXPECT_STREQ("edge-1", b->remote_clientid);
	EXPECT_STREQ("edge user", b->remote_username);
	EXPECT_STREQ("pass word", b->remote_password);
	EXPECT_STREQ("mine", b->local_clientid);
	EXPECT_TRUE(b->cleansession);
	/* local_cleansession follows cleansession unless set */
	EXPECT_TRUE(b->local_cleansession);
	EXPECT_EQ(30, b->keepalive);
	EXPECT_EQ(10, b->restart_base);
	EXPECT_EQ(0, b->restart_cap);
	EXPECT_TRUE(b->round_robin);
	EXPECT_EQ(CONFIG_START_ONCE, b->start_type);
	EXPECT_FALSE(b->try_private);
	EXPECT_FALSE(b->notifications);
	EXPECT_TRUE(b->notifications_local_only);
	EXPECT_STREQ("state/edge", b->notification_topic);
	EXPECT_EQ(MQTT_PROTO_V31, b->proto_level);

	b = &self->c.cfg.bridges[1];
	EXPECT_STREQ("r2", b->remote_clientid);
	EXPECT_STREQ("local.r2", b->local_clientid);
	EXPECT_STREQ("$SYS/broker/connection/r2/state", b->notification_topic);
	EXPECT_TRUE(b->cleansession);
	EXPECT_FALSE(b->local_cleansession);
	EXPECT_EQ(2, b->restart_base);
	EXPECT_EQ(2, b->restart_cap);
	EXPECT_EQ(CONFIG_START_AUTOMATIC, b->start_type);
	EXPECT_EQ(MQTT_PROTO_V311, b->proto_level);
}

TEST_F(conf, warnings)
{
	char want[512];

	LOAD_OK(MIN_BRIDGE "keepalive_interval 2\n");
	EXPECT_EQ(5, self->c.cfg.bridges[0].keepalive);
	snprintf(want, sizeof(want),
		 "%s:4: keepalive_interval 2 is too low, using 5 seconds",
		 self->c.path);
	EXPECT_STREQ(want, self->c.warning);
	LOAD_OK(MIN_BRIDGE "local_username me\n");
	EXPECT_EQ(1, self->c.warnings);
	snprintf(want, sizeof(want),
		 "%s:4: local_username ignored: the local side of a bridge is kmqtt.ko itself, which needs no login",
		 self->c.path);
	EXPECT_STREQ(want, self->c.warning);
	LOAD_OK(MIN_BRIDGE "local_password pw\n");
	EXPECT_EQ(1, self->c.warnings);
}

TEST_F(conf, bad_lines)
{
	char want[512];

	BAD("address 10.0.0.1\n", 1,
	    "address is only valid in a bridge (after connection)");
	BAD("connection\n", 1, "connection: missing value");
	BAD("connection a b\n", 1, "connection: expected one value, got \"a b\"");
	snprintf(want, sizeof(want), "bridge \"b\" is already defined at %s:1",
		 self->c.path);
	BAD(MIN_BRIDGE "connection b\n", 4, want);
	BAD(MIN_BRIDGE "address\n", 4, "address: missing value");
	BAD(MIN_BRIDGE "address ::1\n", 4,
	    "address: \"::1\": an IPv6 address goes in brackets, [ADDRESS]:PORT");
	BAD(MIN_BRIDGE "address [::1\n", 4,
	    "address: \"[::1\" is not HOST[:PORT] or [IPv6][:PORT]");
	BAD(MIN_BRIDGE "address []:1\n", 4,
	    "address: \"[]:1\" is not HOST[:PORT] or [IPv6][:PORT]");
	BAD(MIN_BRIDGE "address h:0\n", 4,
	    "address: \"0\" is not a port from 1 to 65535");
	BAD(MIN_BRIDGE "address :1883\n", 4, "address: missing host");
	BAD(MIN_BRIDGE "topic\n", 4,
	    "topic: expected PATTERN [in|out|both] [QOS] [LOCAL_PREFIX REMOTE_PREFIX]");
	BAD(MIN_BRIDGE "topic a out 0 l/\n", 4,
	    "topic: expected PATTERN [in|out|both] [QOS] [LOCAL_PREFIX REMOTE_PREFIX]");
	BAD(MIN_BRIDGE "topic a out 0 l/ r/ x\n", 4,
	    "topic: expected PATTERN [in|out|both] [QOS] [LOCAL_PREFIX REMOTE_PREFIX]");
	BAD(MIN_BRIDGE "topic a sideways\n", 4,
	    "topic: direction \"sideways\" is not in, out or both");
	BAD(MIN_BRIDGE "topic a in 3\n", 4, "topic: QoS \"3\" is not 0, 1 or 2");
	BAD(MIN_BRIDGE "topic a in 01\n", 4,
	    "topic: QoS \"01\" is not 0, 1 or 2");
	BAD(MIN_BRIDGE "topic a in 1 l/+/ r/\n", 4,
	    "topic: prefix \"l/+/\" cannot contain + or #");
	BAD(MIN_BRIDGE "topic a in 1 l/ r/#\n", 4,
	    "topic: prefix \"r/#\" cannot contain + or #");
	BAD(MIN_BRIDGE "topic a/#/b\n", 4,
	    "topic: \"a/#/b\" is not a valid topic filter");
	BAD(MIN_BRIDGE "topic a# in 0 l/ r/\n", 4,
	    "topic: \"l/a#\" is not a valid topic filter");
	BAD(MIN_BRIDGE "topic \"\"\n", 4,
	    "topic: an empty pattern needs both prefixes, which are then the topics");
	BAD(MIN_BRIDGE "topic \"\" in 0 l \"\"\n", 4,
	    "topic: \"\" is not a valid topic filter");
	BAD(MIN_BRIDGE "cleansession yes\n", 4,
	    "cleansession: \"yes\" is neither true nor false");
	BAD(MIN_BRIDGE "keepalive_interval 65536\n", 4,
	    "keepalive_interval: \"65536\" is not a number from 0 to 65535");
	BAD(MIN_BRIDGE "restart_timeout 0\n", 4,
	    "restart_timeout: \"0\" is not a number from 1 to 86400");
	BAD(MIN_BRIDGE "restart_timeout 10 5\n", 4,
	    "restart_timeout: \"5\" is not a number from 10 to 86400");
	BAD(MIN_BRIDGE "restart_timeout 1 2 3\n", 4,
	    "restart_timeout: expected SECONDS or BASE CAP");
	BAD(MIN_BRIDGE "start_type sometimes\n", 4,
	    "start_type: \"sometimes\" is not automatic, lazy or once");
	BAD(MIN_BRIDGE "bridge_protocol_version mqttv4\n", 4,
	    "bridge_protocol_version: \"mqttv4\" is not mqttv31, mqttv311 or mqttv50");
	BAD(MIN_BRIDGE "notification_topic a/+\n", 4,
	    "notification_topic: \"a/+\" is not a valid topic name");
	BAD(MIN_BRIDGE "local_clientid a\xff\n", 4,
	    "local_clientid: not valid UTF-8");
	BAD(MIN_BRIDGE "bridge_nonsense 1\n", 4,
	    "unknown directive \"bridge_nonsense\"");
}

/* What kmqtt cannot do yet is an error, never a silent difference. */
TEST_F(conf, refusals)
{
	BAD(MIN_BRIDGE "bridge_protocol_version mqttv50\n", 4,
	    "bridge_protocol_version mqttv50 is not supported yet: use mqttv311");
	BAD(MIN_BRIDGE "bridge_psk 0123abcd\n", 4,
	    "bridge_psk is not supported: TLS-PSK is not supported");
	BAD(MIN_BRIDGE "bridge_identity me\n", 4,
	    "bridge_identity is not supported: TLS-PSK is not supported");
	BAD(MIN_BRIDGE "bridge_alpn mqtt\n", 4,
	    "bridge_alpn is not supported: ALPN is not implemented for bridges");
	BAD(MIN_BRIDGE "bridge_ciphers ECDHE-RSA-AES128-GCM-SHA256\n", 4,
	    "bridge_ciphers is not supported: kmqtt offers the ciphers kernel TLS can offload, no others");
	BAD(MIN_BRIDGE "bridge_ciphers_tls1.3 TLS_AES_128_GCM_SHA256\n", 4,
	    "bridge_ciphers_tls1.3 is not supported: kmqtt offers the ciphers kernel TLS can offload, no others");
	BAD(MIN_BRIDGE "bridge_require_ocsp true\n", 4,
	    "bridge_require_ocsp is not supported: OCSP is not implemented");
	BAD(MIN_BRIDGE "bridge_tls_version tlsv1.1\n", 4,
	    "bridge_tls_version tlsv1.1 is not supported: kernel TLS carries TLS 1.2 and 1.3 only");
	BAD(MIN_BRIDGE "bridge_outgoing_retain false\n", 4,
	    "bridge_outgoing_retain is not supported yet: kmqtt's bridges do not implement it");
}

/* Bridge TLS: off unless a CA is given, Mosquitto's defaults. */
TEST_F(conf, tls_directives)
{
	const struct config_bridge *b;
	char want[512];

	LOAD_OK(MIN_BRIDGE);
	b = &self->c.cfg.bridges[0];
	EXPECT_FALSE(b->tls);
	EXPECT_EQ(NULL, b->tls_cafile);
	EXPECT_EQ(NULL, b->tls_capath);
	EXPECT_EQ(NULL, b->tls_certfile);
	EXPECT_EQ(NULL, b->tls_keyfile);
	EXPECT_FALSE(b->tls_insecure);
	EXPECT_EQ(TLS_VERSION_ANY, b->tls_version);

	/* paths are the rest of the line, as cafile's */
	LOAD_OK(MIN_BRIDGE "bridge_cafile /etc/my certs/ca.pem\n"
		"bridge_certfile /etc/my certs/edge.pem\n"
		"bridge_keyfile /etc/my certs/edge.key\n"
		"bridge_insecure false\n"
		"bridge_tls_version tlsv1.3\n"
		"connection c2\naddress h\ntopic t\n"
		"bridge_capath /etc/ssl/certs\n"
		"bridge_tls_version tlsv1.2\n");
	EXPECT_EQ(0, self->c.warnings) TH_LOG("%s", self->c.warning);
	b = &self->c.cfg.bridges[0];
	EXPECT_TRUE(b->tls);
	EXPECT_STREQ("/etc/my certs/ca.pem", b->tls_cafile);
	EXPECT_EQ(NULL, b->tls_capath);
	EXPECT_STREQ("/etc/my certs/edge.pem", b->tls_certfile);
	EXPECT_STREQ("/etc/my certs/edge.key", b->tls_keyfile);
	EXPECT_FALSE(b->tls_insecure);
	EXPECT_EQ(TLS_VERSION_1_3, b->tls_version);
	b = &self->c.cfg.bridges[1];
	EXPECT_TRUE(b->tls);
	EXPECT_EQ(NULL, b->tls_cafile);
	EXPECT_STREQ("/etc/ssl/certs", b->tls_capath);
	EXPECT_EQ(NULL, b->tls_certfile);
	EXPECT_EQ(TLS_VERSION_1_2, b->tls_version);

	/* insecure is accepted, with a word */
	LOAD_OK(MIN_BRIDGE "bridge_cafile ca.pem\nbridge_insecure true\n");
	EXPECT_TRUE(self->c.cfg.bridges[0].tls_insecure);
	EXPECT_EQ(1, self->c.warnings);
	snprintf(want, sizeof(want),
		 "%s:5: bridge_insecure true: the remote broker's certificate is not checked against its host name; never use it in production",
		 self->c.path);
	EXPECT_STREQ(want, self->c.warning);
}

TEST_F(conf, tls_bad)
{
	char want[512];

	BAD(MIN_BRIDGE "bridge_cafile\n", 4, "bridge_cafile: missing value");
	BAD(MIN_BRIDGE "bridge_keyfile\n", 4, "bridge_keyfile: missing value");
	BAD(MIN_BRIDGE "bridge_insecure yes\n", 4,
	    "bridge_insecure: \"yes\" is neither true nor false");
	BAD(MIN_BRIDGE "bridge_tls_version tlsv1.4\n", 4,
	    "bridge_tls_version: \"tlsv1.4\" is not tlsv1.2 or tlsv1.3");
	BAD(MIN_BRIDGE "bridge_tls_version\n", 4,
	    "bridge_tls_version: missing value");
	BAD("bridge_cafile /ca.pem\n", 1,
	    "bridge_cafile is only valid in a bridge (after connection)");

	/* what only makes sense together, named at the connection line */
	ASSERT_EQ(-1, conf_load(&self->c, MIN_BRIDGE "bridge_cafile ca.pem\n"
				"bridge_certfile c.pem\n"));
	snprintf(want, sizeof(want),
		 "%s:1: bridge \"b\": bridge_certfile and bridge_keyfile go together",
		 self->c.path);
	EXPECT_STREQ(want, self->c.err);
	ASSERT_EQ(-1, conf_load(&self->c, MIN_BRIDGE "bridge_capath /d\n"
				"bridge_keyfile c.key\n"));
	EXPECT_STREQ(want, self->c.err);
	/* no CA: Mosquitto would dial in plain TCP, kmqtt refuses */
	snprintf(want, sizeof(want),
		 "%s:1: bridge \"b\": TLS settings without bridge_cafile or bridge_capath (TLS needs one of them, as in Mosquitto)",
		 self->c.path);
	ASSERT_EQ(-1, conf_load(&self->c, MIN_BRIDGE "bridge_certfile c.pem\n"
				"bridge_keyfile c.key\n"));
	EXPECT_STREQ(want, self->c.err);
	ASSERT_EQ(-1, conf_load(&self->c, MIN_BRIDGE "bridge_insecure false\n"));
	EXPECT_STREQ(want, self->c.err);
	ASSERT_EQ(-1, conf_load(&self->c, MIN_BRIDGE "bridge_tls_version tlsv1.2\n"));
	EXPECT_STREQ(want, self->c.err);
	EXPECT_EQ(0, self->c.cfg.bridge_count);
}

/* A bridge's block must be whole: named at its connection line. */
TEST_F(conf, incomplete_bridges)
{
	char want[512];

	ASSERT_EQ(-1, conf_load(&self->c, "listener 1883\nconnection a\ntopic t\n"));
	snprintf(want, sizeof(want), "%s:2: bridge \"a\": no address",
		 self->c.path);
	EXPECT_STREQ(want, self->c.err);
	ASSERT_EQ(-1, conf_load(&self->c, "connection a\naddress h\n"));
	snprintf(want, sizeof(want), "%s:1: bridge \"a\": no topic line",
		 self->c.path);
	EXPECT_STREQ(want, self->c.err);
	ASSERT_EQ(-1, conf_load(&self->c, MIN_BRIDGE "remote_password p\n"));
	snprintf(want, sizeof(want),
		 "%s:1: bridge \"b\": remote_password without remote_username (MQTT-3.1.2-22)",
		 self->c.path);
	EXPECT_STREQ(want, self->c.err);
	ASSERT_EQ(-1, conf_load(&self->c, MIN_BRIDGE "local_clientid x\n"
				"connection c\naddress h\ntopic t\n"
				"remote_clientid y\nlocal_clientid x\n"));
	snprintf(want, sizeof(want),
		 "%s:5: bridge \"c\": its local client id is another bridge's: set local_clientid",
		 self->c.path);
	EXPECT_STREQ(want, self->c.err);
	EXPECT_EQ(0, self->c.cfg.bridge_count);
}

/*
 * start_type lazy with its two settings; what would never start is
 * refused (Mosquitto would load it and never dial).
 */
TEST_F(conf, lazy)
{
	const struct config_bridge *b;
	char want[512];

	LOAD_OK(MIN_BRIDGE "start_type lazy\nthreshold 3\nidle_timeout 7\n");
	b = &self->c.cfg.bridges[0];
	EXPECT_EQ(CONFIG_START_LAZY, b->start_type);
	EXPECT_EQ(3, b->threshold);
	EXPECT_EQ(7, b->idle_timeout);
	EXPECT_EQ(0, self->c.warnings);
	LOAD_OK(MIN_BRIDGE "start_type lazy\nthreshold 0\nidle_timeout 0\n");
	b = &self->c.cfg.bridges[0];
	EXPECT_EQ(1, b->threshold);
	EXPECT_EQ(1, b->idle_timeout);
	EXPECT_EQ(2, self->c.warnings);
	snprintf(want, sizeof(want), "%s:6: idle_timeout 0 is too low, using 1",
		 self->c.path);
	EXPECT_STREQ(want, self->c.warning);
	BAD(MIN_BRIDGE "threshold 4294967296\n", 4,
	    "threshold: \"4294967296\" is not a number from 0 to 4294967295");

	ASSERT_EQ(-1, conf_load(&self->c, MIN_BRIDGE "start_type lazy\n"
				"local_cleansession true\n"));
	snprintf(want, sizeof(want),
		 "%s:1: bridge \"b\": start_type lazy needs local_cleansession false: nothing waits for a bridge whose session ends with its link",
		 self->c.path);
	EXPECT_STREQ(want, self->c.err);
	/* cleansession true is local_cleansession's default too */
	ASSERT_EQ(-1, conf_load(&self->c, MIN_BRIDGE "start_type lazy\n"
				"cleansession true\n"));
	EXPECT_STREQ(want, self->c.err);
	LOAD_OK(MIN_BRIDGE "start_type lazy\ncleansession true\n"
		"local_cleansession false\n");
	ASSERT_EQ(-1, conf_load(&self->c, "connection b\naddress h\n"
				"topic t in\nstart_type lazy\n"));
	snprintf(want, sizeof(want),
		 "%s:1: bridge \"b\": start_type lazy needs a topic line going out: only messages waiting to go out start it",
		 self->c.path);
	EXPECT_STREQ(want, self->c.err);
	LOAD_OK("connection b\naddress h\ntopic t in\ntopic u both\n"
		"start_type lazy\n");
	ASSERT_EQ(-1, conf_load(&self->c, "max_queued_messages 5\n" MIN_BRIDGE
				"start_type lazy\nthreshold 6\n"));
	snprintf(want, sizeof(want),
		 "%s:2: bridge \"b\": threshold is above max_queued_messages (1000 unless set): it would never start",
		 self->c.path);
	EXPECT_STREQ(want, self->c.err);
	/* the module's default when the file says nothing */
	ASSERT_EQ(-1, conf_load(&self->c, MIN_BRIDGE
				"start_type lazy\nthreshold 1001\n"));
	snprintf(want, sizeof(want),
		 "%s:1: bridge \"b\": threshold is above max_queued_messages (1000 unless set): it would never start",
		 self->c.path);
	EXPECT_STREQ(want, self->c.err);
	LOAD_OK(MIN_BRIDGE "start_type lazy\nthreshold 1000\n");
	LOAD_OK("max_queued_messages 5\n" MIN_BRIDGE
		"start_type lazy\nthreshold 5\n");
	LOAD_OK("max_queued_messages 0\n" MIN_BRIDGE
		"start_type lazy\nthreshold 50\n");
	EXPECT_EQ(50, self->c.cfg.bridges[0].threshold);
}

/*
 * threshold and idle_timeout matter to a lazy bridge only: changed on
 * another, a reload leaves its link up.
 */
TEST_F(conf, lazy_settings_compared_when_lazy)
{
	struct config_bridge other;

	LOAD_OK(MIN_BRIDGE "threshold 5\nidle_timeout 9\n");
	other = self->c.cfg.bridges[0];
	other.threshold = 6;
	other.idle_timeout = 10;
	EXPECT_TRUE(config_bridge_equal(&self->c.cfg.bridges[0], &other));
	LOAD_OK(MIN_BRIDGE "start_type lazy\nthreshold 5\n");
	other = self->c.cfg.bridges[0];
	EXPECT_TRUE(config_bridge_equal(&self->c.cfg.bridges[0], &other));
	other.threshold = 6;
	EXPECT_FALSE(config_bridge_equal(&self->c.cfg.bridges[0], &other));
	other.threshold = 5;
	other.idle_timeout = 61;
	EXPECT_FALSE(config_bridge_equal(&self->c.cfg.bridges[0], &other));
}

TEST_F(conf, at_most_256_topic_lines)
{
	size_t len = strlen(MIN_BRIDGE), cap = len + 300 * 16, i;
	char *text = malloc(cap), want[256];

	ASSERT_NE(NULL, text);
	memcpy(text, MIN_BRIDGE, len + 1);
	for (i = 1; i < KMQTT_BRIDGE_TOPICS_MAX; i++)
		len += (size_t)snprintf(text + len, cap - len, "topic t%zu\n", i);
	ASSERT_EQ(0, conf_load(&self->c, text)) TH_LOG("%s", self->c.err);
	EXPECT_EQ(KMQTT_BRIDGE_TOPICS_MAX, self->c.cfg.bridges[0].topic_count);
	snprintf(text + len, cap - len, "topic one/more\n");
	snprintf(want, sizeof(want),
		 "topic: more than %d topic lines in bridge \"b\"",
		 KMQTT_BRIDGE_TOPICS_MAX);
	BAD(text, 3 + KMQTT_BRIDGE_TOPICS_MAX, want);
	free(text);
}

#define LINE	MIN_BRIDGE "topic u in 1 l/ r/\n"
#define TLS	"bridge_cafile ca.pem\nbridge_certfile c.pem\nbridge_keyfile c.key\n"

TEST(bridge_equal)
{
	/* Each against the first of its pair: alike, or not. */
	static const struct {
		const char *a, *b;
		bool equal;
	} cases[] = {
		/* the place in the file does not count */
		{ LINE, "\n" LINE, true },
		{ LINE, MIN_BRIDGE "topic u in 2 l/ r/\n", false },
		{ LINE, MIN_BRIDGE "topic u in 1 l/ r2/\n", false },
		{ LINE, LINE "keepalive_interval 61\n", false },
		{ LINE, LINE "address h2\n", false },
		{ LINE, LINE "notifications_local_only true\n", false },
		/* each TLS setting counts, and TLS or not */
		{ LINE TLS, LINE TLS, true },
		{ LINE TLS, LINE "bridge_cafile ca2.pem\nbridge_certfile c.pem\n"
		  "bridge_keyfile c.key\n", false },
		{ LINE TLS, LINE "bridge_cafile ca.pem\nbridge_certfile c.pem\n"
		  "bridge_keyfile c2.key\n", false },
		{ LINE TLS, LINE "bridge_capath /d\n" TLS, false },
		{ LINE TLS, LINE TLS "bridge_insecure true\n", false },
		{ LINE TLS, LINE TLS "bridge_tls_version tlsv1.2\n", false },
		{ LINE TLS, LINE, false },
	};
	struct conf a, b;
	size_t i;

	conf_init(&a);
	conf_init(&b);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ASSERT_EQ(0, conf_load(&a, cases[i].a));
		ASSERT_EQ(0, conf_load(&b, cases[i].b));
		EXPECT_EQ(cases[i].equal,
			  config_bridge_equal(&a.cfg.bridges[0],
					      &b.cfg.bridges[0]))
			TH_LOG("case %zu", i);
	}
	conf_fini(&a);
	conf_fini(&b);
}

#undef LINE
#undef TLS

/* ---- backoff ---- */

TEST(backoff)
{
	unsigned int d = 5, i, seen_above_base = 0;

	/* one value: a constant delay */
	EXPECT_EQ(7, bridge_backoff_next(7, 7, 0, 12345));
	EXPECT_EQ(5, bridge_backoff_next(5, 5, 30, 0));
	/* from base to three times the last one */
	EXPECT_EQ(15, bridge_backoff_next(5, 5, 30, 10));
	EXPECT_EQ(5, bridge_backoff_next(5, 5, 30, 11));
	EXPECT_EQ(30, bridge_backoff_next(15, 5, 30, 40));	/* capped */
	EXPECT_EQ(5, bridge_backoff_next(30, 5, 30, 0));
	for (i = 0; i < 1000; i++) {
		unsigned int next = bridge_backoff_next(d, 5, 30,
							 (uint32_t)random());

		EXPECT_GE(next, 5);
		EXPECT_LE(next, 30);
		EXPECT_LE(next, d * 3);
		seen_above_base += next > 5;
		d = next;
	}
	EXPECT_GT(seen_above_base, 0);
}

/* ---- the handshake, against a fake remote broker ---- */

#define FAKE_CONNS	4

/* One connection to the fake broker: what it got and what it answers. */
struct fake_conn {
	const uint8_t *reply;		/* sent after the CONNECT */
	size_t reply_len;
	/* TLS: sent as a second record right after the reply */
	const uint8_t *later;
	size_t later_len;
	uint8_t connect[1024];
	size_t connect_len;
	uint8_t after[1024];		/* what follows it, to EOF: the start */
	size_t after_len;
	size_t after_total;		/* and how many bytes in all */
	int read_delay_ms;		/* before reading what follows */
	/* TLS: the handshake, its version, the client certificate's CN */
	bool tls_ok;
	int tls_version;
	char peer_cn[64];
	char error[256];		/* why the fake gave up, for the log */
};

struct fake_broker {
	int fd;
	const char *ip;			/* where it listens; NULL: 127.0.0.1 */
	char port[6];
	pthread_t thread;
	int conns;			/* to accept */
	int accepted;
	int rcvbuf;			/* SO_RCVBUF of its sockets; 0: none */
	SSL_CTX *tls;			/* NULL: plain TCP */
	struct fake_conn conn[FAKE_CONNS];
};

/* One side of a fake broker's connection: plain or TLS. */
struct fake_io {
	int fd;
	SSL *ssl;
};

static ssize_t fake_recv(struct fake_io *io, uint8_t *buf, size_t len)
{
	size_t got;

	if (!io->ssl)
		return recv(io->fd, buf, len, 0);
	return SSL_read_ex(io->ssl, buf, len, &got) == 1 ? (ssize_t)got : -1;
}

static bool fake_send(struct fake_io *io, const uint8_t *buf, size_t len)
{
	size_t done;

	if (!io->ssl)
		return send(io->fd, buf, len, MSG_NOSIGNAL) == (ssize_t)len;
	return SSL_write_ex(io->ssl, buf, len, &done) == 1;
}

/* OpenSSL's reason, or errno's, into @c->error. */
static void fake_error(struct fake_conn *c, const char *what)
{
	unsigned long e = ERR_peek_error();

	snprintf(c->error, sizeof(c->error), "%s: %s", what,
		 e ? ERR_error_string(e, NULL) : strerror(errno));
	ERR_clear_error();
}

static bool read_full(struct fake_io *io, uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = fake_recv(io, buf, len);

		if (n <= 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

/* The CONNECT, framed by its fixed header, into c->connect. */
static bool read_connect(struct fake_io *fd, struct fake_conn *c)
{
	size_t rem = 0, shift = 0;

	if (!read_full(fd, c->connect, 1))
		return false;
	c->connect_len = 1;
	do {
		if (!read_full(fd, c->connect + c->connect_len, 1))
			return false;
		rem |= (size_t)(c->connect[c->connect_len] & 0x7f) << shift;
		shift += 7;
	} while (c->connect[c->connect_len++] & 0x80);
	if (c->connect_len + rem > sizeof(c->connect))
		return false;
	if (!read_full(fd, c->connect + c->connect_len, rem))
		return false;
	c->connect_len += rem;
	return true;
}

/* TLS: the server's handshake, and who the client is. */
static bool fake_tls_accept(struct fake_broker *fb, struct fake_conn *c,
			    struct fake_io *io)
{
	X509 *peer;

	io->ssl = SSL_new(fb->tls);
	if (!io->ssl || !SSL_set_fd(io->ssl, io->fd) ||
	    SSL_accept(io->ssl) != 1) {
		fake_error(c, "SSL_accept");
		return false;
	}
	c->tls_ok = true;
	c->tls_version = SSL_version(io->ssl);
	peer = SSL_get0_peer_certificate(io->ssl);
	if (peer)
		X509_NAME_get_text_by_NID(X509_get_subject_name(peer),
					  NID_commonName, c->peer_cn,
					  sizeof(c->peer_cn));
	return true;
}

static void *fake_broker_run(void *arg)
{
	struct fake_broker *fb = arg;
	/*
	 * TLS: the first kernel TLS socket of a fresh test VM loads the
	 * crypto modules, which takes the bridge seconds under emulation.
	 */
	struct timeval tv = {
		.tv_sec = fb->tls ? TLS_TEST_TIMEOUT_MS / 1000 : 5,
	};

	while (fb->accepted < fb->conns) {
		struct fake_conn *c = &fb->conn[fb->accepted];
		struct fake_io io = { .fd = accept(fb->fd, NULL, NULL) };
		ssize_t n;

		if (io.fd < 0)
			break;
		fb->accepted++;
		setsockopt(io.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (fb->tls && !fake_tls_accept(fb, c, &io)) {
			SSL_free(io.ssl);
			close(io.fd);
			continue;
		}
		/* Reply and later: two records, the second left for kTLS. */
		if (!read_connect(&io, c))
			fake_error(c, "reading the CONNECT");
		else if (c->reply_len &&
			 (!fake_send(&io, c->reply, c->reply_len) ||
			  (c->later_len &&
			   !fake_send(&io, c->later, c->later_len))))
			c->connect_len = 0;
		/* what the bridge sends until it closes its socket */
		usleep(c->read_delay_ms * 1000);
		for (;;) {
			uint8_t scratch[4096], *to = scratch;
			size_t room = sizeof(scratch);

			if (c->after_len < sizeof(c->after)) {
				to = c->after + c->after_len;
				room = sizeof(c->after) - c->after_len;
			}
			n = fake_recv(&io, to, room);
			if (n <= 0)
				break;
			if (to != scratch)
				c->after_len += (size_t)n;
			c->after_total += (size_t)n;
		}
		ERR_clear_error();
		SSL_free(io.ssl);
		close(io.fd);
	}
	return NULL;
}

/* A listening socket on @ip (NULL: 127.0.0.1): the port in @port. */
static int listen_on(const char *ip, char port[6], bool listening)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	struct timeval tv = { .tv_sec = 5 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (inet_pton(AF_INET, ip ? ip : "127.0.0.1", &sin.sin_addr) != 1) {
		close(fd);
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    (listening && listen(fd, 8)) ||
	    getsockname(fd, (struct sockaddr *)&sin, &len)) {
		close(fd);
		return -1;
	}
	/* accept() gives up, the test fails rather than hangs */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	snprintf(port, 6, "%u", ntohs(sin.sin_port));
	return fd;
}

static int listen_any(char port[6], bool listening)
{
	return listen_on(NULL, port, listening);
}

static int fake_broker_start(struct fake_broker *fb, int conns)
{
	fb->conns = conns;
	fb->fd = listen_on(fb->ip, fb->port, true);
	if (fb->fd < 0)
		return -1;
	/* Inherited by the connections it accepts from now on. */
	if (fb->rcvbuf)
		setsockopt(fb->fd, SOL_SOCKET, SO_RCVBUF, &fb->rcvbuf,
			   sizeof(fb->rcvbuf));
	return pthread_create(&fb->thread, NULL, fake_broker_run, fb);
}

static void fake_broker_stop(struct fake_broker *fb)
{
	pthread_join(fb->thread, NULL);
	close(fb->fd);
}

/* What the fake ATTACH saw. */
static struct {
	int calls;
	int result;
	char client_id[KMQTT_CLIENT_ID_MAX + 1];
	uint8_t proto_level;
	uint16_t keepalive;
	bool clean_session;
	bool will;
	bool peer_bridge;
	bool acl;
	bool queue_qos0;
	const struct kmqtt_nl_bridge_topic *topics;
	size_t topic_count;
	uint8_t pending[64];		/* TLS: decrypted past the CONNACK */
	size_t pending_len;
	uint8_t unread[64];		/* left on the socket after the CONNACK */
	ssize_t unread_len;
	/* written to the socket, as the module would (kTLS encrypts it) */
	const uint8_t *write;
	size_t write_len;
	ssize_t written;
} attach;

static int fake_attach(struct kmqtt_nl *nl, const struct kmqtt_nl_attach *req,
		       struct kmqtt_nl_attached *reply)
{
	struct pollfd pfd = { .fd = req->fd, .events = POLLIN };

	(void)nl;
	attach.calls++;
	snprintf(attach.client_id, sizeof(attach.client_id), "%.*s",
		 (int)req->client_id_len, req->client_id);
	attach.proto_level = req->proto_level;
	attach.keepalive = req->keepalive;
	attach.clean_session = req->clean_session;
	attach.will = req->will;
	attach.peer_bridge = req->peer_bridge;
	attach.acl = req->acl;
	attach.topics = req->bridge_topics;
	attach.queue_qos0 = req->bridge_queue_qos0;
	attach.topic_count = req->bridge_topics_count;
	attach.pending_len = req->pending_len;
	if (req->pending_len <= sizeof(attach.pending) && req->pending_len)
		memcpy(attach.pending, req->pending, req->pending_len);
	if (attach.write)
		attach.written = send(req->fd, attach.write, attach.write_len,
				      MSG_NOSIGNAL);
	attach.unread_len = 0;
	if (poll(&pfd, 1, 1000) == 1)
		attach.unread_len = recv(req->fd, attach.unread,
					 sizeof(attach.unread), MSG_DONTWAIT);
	reply->conn_id = 100 + (uint64_t)attach.calls;
	reply->session_present = false;
	return attach.result;
}

static struct {
	int calls;
	char client_id[4][KMQTT_CLIENT_ID_MAX + 1];
} disconnect;

static int fake_disconnect(struct kmqtt_nl *nl, const char *client_id)
{
	(void)nl;
	if (disconnect.calls < 4)
		snprintf(disconnect.client_id[disconnect.calls],
			 sizeof(disconnect.client_id[0]), "%s", client_id);
	disconnect.calls++;
	return 0;
}

/* The connections the module holds, for adoption. */
static struct kmqtt_nl_conn module_conns[4];
static size_t module_conn_count;

/* Connection @i of the module: @id, @client_id, a bridge link or not. */
static void module_conn(size_t i, uint64_t id, const char *client_id,
			bool bridge)
{
	module_conns[i] = (struct kmqtt_nl_conn){ .id = id, .bridge = bridge };
	snprintf(module_conns[i].client_id, sizeof(module_conns[i].client_id),
		 "%s", client_id);
}

static int fake_dump_conns(struct kmqtt_nl *nl,
			   void (*fn)(const struct kmqtt_nl_conn *conn,
				      void *arg),
			   void *arg)
{
	size_t i;

	(void)nl;
	for (i = 0; i < module_conn_count; i++)
		fn(&module_conns[i], arg);
	return 0;
}

/*
 * The notifications published on this broker, "TOPIC PAYLOAD" each, and
 * those refused (with @result, when set).
 */
static struct {
	int calls;
	char note[8][160];
	bool all_retained_qos1;
	int result;
	int refused;
} published;

static int fake_publish(struct kmqtt_nl *nl, const struct kmqtt_nl_msg *m,
			bool retain)
{
	struct kmqtt_publish pub;

	(void)nl;
	if (kmqtt_codec_parse_stored(m->data, m->len, &pub))
		return -EINVAL;
	if (published.result) {
		published.refused++;
		return published.result;
	}
	if (published.calls < 8)
		snprintf(published.note[published.calls],
			 sizeof(published.note[0]), "%.*s %.*s",
			 (int)pub.topic_len, (const char *)pub.topic,
			 (int)pub.payload_len, (const char *)pub.payload);
	published.all_retained_qos1 &= retain && m->qos == 1 &&
				       !pub.props.len;
	published.calls++;
	return 0;
}

/*
 * The module's session of a lazy bridge: absent until made, its counts
 * set by a test; and the subscriptions it was given.
 */
static struct {
	int gets;
	int result;			/* of every request when set */
	bool exists;
	struct kmqtt_nl_session s;	/* as made, then as a test sets it */
	int sets_result;		/* of SET_BRIDGE_SUBSCRIPTIONS when set */
	int sets;			/* of its subscriptions, each whole */
	int subs;			/* as the last set left them */
	char filter[4][64];
	uint8_t qos[4];
	bool queue_qos0;
} lazy;

static int fake_get_session(struct kmqtt_nl *nl, const char *client_id,
			    struct kmqtt_nl_session *s)
{
	(void)nl;
	lazy.gets++;
	if (lazy.result)
		return lazy.result;
	if (!lazy.exists || strcmp(client_id, lazy.s.client_id))
		return -ENOENT;
	*s = lazy.s;
	return 0;
}

static int fake_set_session(struct kmqtt_nl *nl,
			    const struct kmqtt_nl_session *s)
{
	(void)nl;
	if (lazy.result)
		return lazy.result;
	lazy.exists = true;
	lazy.s = *s;
	return 0;
}

/* As the module does: its out lines' local filters, and no others. */
static int fake_set_bridge_subscriptions(struct kmqtt_nl *nl,
					 const char *client_id,
					 const struct kmqtt_nl_bridge_topic *t,
					 size_t count, bool queue_qos0)
{
	size_t i;

	(void)nl;
	if (!lazy.exists || strcmp(client_id, lazy.s.client_id))
		return -ENOENT;
	if (lazy.sets_result)
		return lazy.sets_result;
	lazy.sets++;
	lazy.subs = 0;
	lazy.queue_qos0 = queue_qos0;
	for (i = 0; i < count; i++) {
		if (!(t[i].direction & KMQTT_BRIDGE_OUT))
			continue;
		if (lazy.subs < 4) {
			snprintf(lazy.filter[lazy.subs],
				 sizeof(lazy.filter[0]), "%s", t[i].local);
			lazy.qos[lazy.subs] = t[i].qos;
		}
		lazy.subs++;
	}
	return 0;
}

static const struct bridge_ops fake_ops = {
	.attach = fake_attach,
	.disconnect = fake_disconnect,
	.dump_conns = fake_dump_conns,
	.publish = fake_publish,
	.get_session = fake_get_session,
	.set_session = fake_set_session,
	.set_bridge_subscriptions = fake_set_bridge_subscriptions,
};

FIXTURE(link) {
	struct conf c;
	struct loop loop;
	struct kmqtt_nl nl;
	struct bridges bs;
	struct fake_broker fb;
	bool fb_started;
};

FIXTURE_SETUP(link)
{
	conf_init(&self->c);
	memset(&attach, 0, sizeof(attach));
	memset(&disconnect, 0, sizeof(disconnect));
	memset(&published, 0, sizeof(published));
	memset(&lazy, 0, sizeof(lazy));
	published.all_retained_qos1 = true;
	module_conn_count = 0;
	memset(&self->nl, 0, sizeof(self->nl));
	memset(&self->fb, 0, sizeof(self->fb));
	self->fb_started = false;
	ASSERT_EQ(0, loop_init(&self->loop));
	bridges_init(&self->bs, &self->loop, &self->nl, &fake_ops);
}

FIXTURE_TEARDOWN(link)
{
	bridges_fini(&self->bs);
	if (self->fb_started)
		fake_broker_stop(&self->fb);
	SSL_CTX_free(self->fb.tls);
	loop_fini(&self->loop);
	conf_fini(&self->c);
}

/* Load @fmt with the fake broker's port for each %s. */
static int load_with_port(struct conf *c, const char *fmt, const char *port)
{
	char text[2048];

	snprintf(text, sizeof(text), fmt, port, port, port);
	return conf_load(c, text);
}

static void start_broker(struct __test_metadata *_metadata,
			 FIXTURE_DATA(link) *self, int conns)
{
	ASSERT_EQ(0, fake_broker_start(&self->fb, conns));
	self->fb_started = true;
}

/* Run the loop until @b is in @state (or some seconds have passed). */
static bool run_until(FIXTURE_DATA(link) *self, const struct bridge *b,
		      enum bridge_state state)
{
	int i;

	for (i = 0; i < 100 && b->state != state; i++) {
		loop_run_once(&self->loop, 50);
		bridges_expire(&self->bs, loop_now_ms());
	}
	return b->state == state;
}

/* Have an IDLE bridge dial now rather than after its delay. */
static void dial_now(FIXTURE_DATA(link) *self, const struct bridge *b)
{
	bridges_expire(&self->bs, b->deadline_ms);
}

/* @s with its two byte length, as MQTT writes strings, at @p. */
static size_t put_str(uint8_t *p, const char *s)
{
	size_t len = strlen(s);

	p[0] = (uint8_t)(len >> 8);
	p[1] = (uint8_t)len;
	memcpy(p + 2, s, len);
	return len + 2;
}

/*
 * The fake broker's first connection got a bare CONNECT (protocol @name,
 * @level, no flags, keepalive 60, client id @id) and nothing after it.
 */
static void expect_bare_connect(struct __test_metadata *_metadata,
				FIXTURE_DATA(link) *self, const char *name,
				uint8_t level, const char *id)
{
	uint8_t want[128], *p = want + 2;
	size_t n;

	p += put_str(p, name);
	*p++ = level;
	*p++ = 0;
	*p++ = 0;
	*p++ = 60;
	p += put_str(p, id);
	n = (size_t)(p - want);
	want[0] = MQTT_CONNECT << 4;
	want[1] = (uint8_t)(n - 2);
	ASSERT_EQ(n, self->fb.conn[0].connect_len);
	EXPECT_EQ(0, memcmp(want, self->fb.conn[0].connect, n));
	EXPECT_EQ(0, self->fb.conn[0].after_len);
}

static const uint8_t connack_ok_and_suback[] = {
	0x20, 2, 0, 0,
	/* for the module to read: a SUBACK */
	0x90, 4, 0, 1, 1, 2,
};

TEST_F(link, handshake_bytes_and_attach)
{
	uint8_t want[512], *p;
	const struct bridge *b;
	struct fake_conn *fc;
	size_t n;

	start_broker(_metadata, self, 1);
	self->fb.conn[0].reply = connack_ok_and_suback;
	self->fb.conn[0].reply_len = sizeof(connack_ok_and_suback);
	ASSERT_EQ(0, load_with_port(&self->c,
		"connection cloud\n"
		"address 127.0.0.1:%s\n"
		"remote_clientid edge1\n"
		"remote_username user\n"
		"remote_password pw\n"
		"keepalive_interval 30\n"
		"cleansession true\n"
		"topic sensors/# out 1 local/ remote/\n"
		"topic cmd/# in 2 \"\" site1/\n"
		"topic both/+ both 1\n", self->fb.port)) TH_LOG("%s", self->c.err);
	ASSERT_EQ(0, bridges_start(&self->bs, &self->c.cfg, loop_now_ms()));
	ASSERT_EQ(1, self->bs.count);
	b = self->bs.bridge[0];
	EXPECT_EQ(0, bridges_timeout(&self->bs, loop_now_ms()));
	ASSERT_TRUE(run_until(self, b, BRIDGE_LINKED));
	fake_broker_stop(&self->fb);
	self->fb_started = false;
	fc = &self->fb.conn[0];

	/* CONNECT: MQTT 3.1.1 with Mosquitto's bridge bit, the will */
	p = want + 2;
	p += put_str(p, "MQTT");
	*p++ = 0x84;
	*p++ = MQTT_CONNECT_USERNAME | MQTT_CONNECT_PASSWORD |
	       MQTT_CONNECT_WILL_RETAIN | 1 << MQTT_CONNECT_WILL_QOS_SHIFT |
	       MQTT_CONNECT_WILL | MQTT_CONNECT_CLEAN_SESSION;
	*p++ = 0;
	*p++ = 30;
	p += put_str(p, "edge1");
	p += put_str(p, "$SYS/broker/connection/edge1/state");
	p += put_str(p, "0");
	p += put_str(p, "user");
	p += put_str(p, "pw");
	n = (size_t)(p - want);
	want[0] = MQTT_CONNECT << 4;
	want[1] = (uint8_t)(n - 2);
	ASSERT_EQ(n, fc->connect_len);
	EXPECT_EQ(0, memcmp(want, fc->connect, n));

	/* a retained QoS 0 "1", then SUBSCRIBE of the in lines, remote side */
	p = want + 2;
	p += put_str(p, "$SYS/broker/connection/edge1/state");
	*p++ = '1';
	want[0] = MQTT_PUBLISH << 4 | MQTT_PUBLISH_RETAIN;
	want[1] = (uint8_t)(p - want - 2);
	n = (size_t)(p - want);
	p = want + n + 2;
	*p++ = 0;
	*p++ = 1;			/* packet id */
	p += put_str(p, "site1/cmd/#");
	*p++ = 2;
	p += put_str(p, "both/+");
	*p++ = 1;
	want[n] = MQTT_SUBSCRIBE << 4 | 2;
	want[n + 1] = (uint8_t)(p - want - n - 2);
	n = (size_t)(p - want);
	ASSERT_EQ(n, fc->after_len);
	EXPECT_EQ(0, memcmp(want, fc->after, n));

	/* ATTACH: the local side, and nothing past the CONNACK was read */
	EXPECT_EQ(1, attach.calls);
	EXPECT_STREQ("local.edge1", attach.client_id);
	EXPECT_EQ(MQTT_PROTO_V311, attach.proto_level);
	EXPECT_EQ(30, attach.keepalive);
	EXPECT_TRUE(attach.clean_session);
	EXPECT_FALSE(attach.will);
	EXPECT_FALSE(attach.peer_bridge);
	EXPECT_FALSE(attach.acl);
	ASSERT_EQ(3, attach.topic_count);
	EXPECT_EQ(self->c.cfg.bridges[0].topics, attach.topics);
	ASSERT_EQ(6, attach.unread_len);
	EXPECT_EQ(0, memcmp(connack_ok_and_suback + 4, attach.unread, 6));
	EXPECT_EQ(BRIDGE_LINKED, b->state);
	EXPECT_EQ(101, b->conn_id);
	EXPECT_EQ(-1, bridges_timeout(&self->bs, loop_now_ms()));
	/* the socket is the module's: kmqttd's fd is closed */
	EXPECT_EQ(-1, b->src.fd);
	/* on this broker: "0" from the start, "1" once linked */
	ASSERT_EQ(2, published.calls);
	EXPECT_STREQ("$SYS/broker/connection/edge1/state 0", published.note[0]);
	EXPECT_STREQ("$SYS/broker/connection/edge1/state 1", published.note[1]);
	EXPECT_TRUE(published.all_retained_qos1);
}

/*
 * The bridge of @fmt (the fake broker's port for %s) linked through a
 * fake broker that answers CONNACK 0, which then saw the link's end.
 */
static const struct bridge *linked_once(struct __test_metadata *_metadata,
					FIXTURE_DATA(link) *self,
					const char *fmt)
{
	const struct bridge *b;

	start_broker(_metadata, self, 1);
	self->fb.conn[0].reply = connack_ok_and_suback;
	self->fb.conn[0].reply_len = 4;
	ASSERT_EQ(0, load_with_port(&self->c, fmt, self->fb.port))
		TH_LOG("%s", self->c.err);
	ASSERT_EQ(0, bridges_start(&self->bs, &self->c.cfg, loop_now_ms()));
	b = self->bs.bridge[0];
	ASSERT_TRUE(run_until(self, b, BRIDGE_LINKED));
	fake_broker_stop(&self->fb);
	self->fb_started = false;
	return b;
}

/*
 * notifications_local_only: no will and no "1" on the remote broker,
 * the state on this one all the same.
 */
TEST_F(link, notifications_local_only)
{
	const struct bridge *b = linked_once(_metadata, self,
		"connection c\naddress 127.0.0.1:%s\nclientid e\n"
		"try_private false\nnotifications_local_only true\n"
		"notification_topic up/e\ntopic out/#\n");

	expect_bare_connect(_metadata, self, "MQTT", 4, "e");
	ASSERT_EQ(2, published.calls);
	EXPECT_STREQ("up/e 0", published.note[0]);
	EXPECT_STREQ("up/e 1", published.note[1]);
	/* the link goes: "0" again */
	bridges_closed(&self->bs, b->conn_id, "socket error");
	ASSERT_EQ(3, published.calls);
	EXPECT_STREQ("up/e 0", published.note[2]);
	EXPECT_TRUE(published.all_retained_qos1);
}

/* MQTT 3.1, no bridge bit, no will, no "in" line: CONNECT alone. */
TEST_F(link, plain_v31_without_notifications)
{
	linked_once(_metadata, self,
		    "connection c\naddress 127.0.0.1:%s\nclientid e\n"
		    "bridge_protocol_version mqttv31\ntry_private false\n"
		    "notifications false\nlocal_cleansession true\n"
		    "topic out/#\n");
	expect_bare_connect(_metadata, self, "MQIsdp", 3, "e");
	EXPECT_EQ(0, published.calls);
	EXPECT_EQ(MQTT_PROTO_V31, attach.proto_level);
	EXPECT_TRUE(attach.clean_session);
	EXPECT_STREQ("local.e", attach.client_id);
	EXPECT_EQ(0, attach.unread_len);
}

/* The first address refuses: the next attempt dials the second. */
TEST_F(link, failover_to_the_second_address)
{
	const struct bridge *b;
	char closed_port[6];
	int closed;
	char text[512];

	/* bound, not listening: connections to it are refused */
	closed = listen_any(closed_port, false);
	ASSERT_LE(0, closed);
	start_broker(_metadata, self, 1);
	self->fb.conn[0].reply = connack_ok_and_suback;
	self->fb.conn[0].reply_len = 4;
	snprintf(text, sizeof(text),
		 "connection c\naddresses 127.0.0.1:%s 127.0.0.1:%s\n"
		 "restart_timeout 3\ntopic t\n", closed_port, self->fb.port);
	ASSERT_EQ(0, conf_load(&self->c, text)) TH_LOG("%s", self->c.err);
	ASSERT_EQ(0, bridges_start(&self->bs, &self->c.cfg, loop_now_ms()));
	b = self->bs.bridge[0];
	bridges_expire(&self->bs, loop_now_ms());
	ASSERT_TRUE(run_until(self, b, BRIDGE_IDLE));
	EXPECT_EQ(0, attach.calls);
	EXPECT_EQ(1, b->address);
	/* after restart_timeout, not before */
	EXPECT_LE(loop_now_ms() + 2500, b->deadline_ms);
	EXPECT_GE(loop_now_ms() + 3000, b->deadline_ms);
	EXPECT_LT(2500, bridges_timeout(&self->bs, loop_now_ms()));
	dial_now(self, b);
	ASSERT_TRUE(run_until(self, b, BRIDGE_LINKED));
	EXPECT_EQ(1, attach.calls);
	close(closed);
}

/*
 * In a mount namespace of this test's own: @path replaced by a file of
 * @text.  Before any thread starts (unshare() refuses threaded callers).
 * 0, or -1 with errno (EPERM: not root).
 */
static int replace_file(const char *dir, const char *path, const char *text)
{
	char copy[128];
	FILE *f;
	int rc;

	snprintf(copy, sizeof(copy), "%s/%s", dir, strrchr(path, '/') + 1);
	f = fopen(copy, "w");
	if (!f)
		return -1;
	fputs(text, f);
	fclose(f);
	rc = mount(copy, path, NULL, MS_BIND, NULL);
	/* The mount keeps it; the directory goes at teardown. */
	unlink(copy);
	return rc;
}

static int private_mounts(void)
{
	if (unshare(CLONE_NEWNS))
		return -1;
	return mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
}

/* A name comes from a lookup off the loop, then the link as with an IP. */
TEST_F(link, name_looked_up_off_the_loop)
{
	const struct bridge *b;

	if (private_mounts())
		SKIP(return, "no mount namespace: %s", strerror(errno));
	ASSERT_EQ(0, replace_file(self->c.dir, "/etc/hosts",
				  "127.0.0.1 remote.kmqtt.test\n"));
	start_broker(_metadata, self, 1);
	self->fb.conn[0].reply = connack_ok_and_suback;
	self->fb.conn[0].reply_len = 4;
	ASSERT_EQ(0, load_with_port(&self->c,
				    "connection c\naddress remote.kmqtt.test:%s\ntopic t\n",
				    self->fb.port)) TH_LOG("%s", self->c.err);
	ASSERT_EQ(0, bridges_start(&self->bs, &self->c.cfg, loop_now_ms()));
	b = self->bs.bridge[0];
	bridges_expire(&self->bs, loop_now_ms());
	EXPECT_EQ(BRIDGE_RESOLVING, b->state);
	ASSERT_TRUE(run_until(self, b, BRIDGE_LINKED));
	EXPECT_EQ(1, attach.calls);
	/* The lookup's process was reaped. */
	EXPECT_EQ(-1, waitpid(-1, NULL, WNOHANG));
	EXPECT_EQ(ECHILD, errno);
}

/*
 * A DNS server that does not answer (the uplink is down): the loop, and
 * with it every local client's CONNECT, does not wait for the resolver's
 * timeout; the attempt fails when the lookup does.
 */
TEST_F(link, silent_dns_server_holds_up_nothing)
{
	struct sockaddr_in dns = { .sin_family = AF_INET,
				   .sin_port = htons(53) };
	uint64_t start, end, longest = 0;
	const struct bridge *b;
	uint8_t query[512];
	int fd;

	if (private_mounts())
		SKIP(return, "no mount namespace: %s", strerror(errno));
	/* Bound, never answering. */
	inet_pton(AF_INET, "127.0.0.77", &dns.sin_addr);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, fd);
	if (bind(fd, (struct sockaddr *)&dns, sizeof(dns)))
		SKIP(close(fd); return, "port 53 taken here: %s",
		     strerror(errno));
	ASSERT_EQ(0, replace_file(self->c.dir, "/etc/hosts", ""));
	ASSERT_EQ(0, replace_file(self->c.dir, "/etc/resolv.conf",
				  "nameserver 127.0.0.77\nsearch kmqtt.test\n"
				  "options timeout:1 attempts:1\n"));
	ASSERT_EQ(0, conf_load(&self->c,
			       "connection c\naddress silent.kmqtt.test:1883\ntopic t\n"))
		TH_LOG("%s", self->c.err);
	ASSERT_EQ(0, bridges_start(&self->bs, &self->c.cfg, loop_now_ms()));
	b = self->bs.bridge[0];
	start = loop_now_ms();
	bridges_expire(&self->bs, loop_now_ms());
	EXPECT_GT(start + 200, loop_now_ms());
	EXPECT_EQ(BRIDGE_RESOLVING, b->state);
	end = loop_now_ms() + 8000;
	while (b->state == BRIDGE_RESOLVING && loop_now_ms() < end) {
		start = loop_now_ms();
		loop_run_once(&self->loop, 50);
		bridges_expire(&self->bs, loop_now_ms());
		if (loop_now_ms() - start > longest)
			longest = loop_now_ms() - start;
	}
	EXPECT_EQ(BRIDGE_IDLE, b->state);
	EXPECT_GT(200, longest);
	/* The lookup did ask the silent server, and its process is gone. */
	EXPECT_LT(0, recv(fd, query, sizeof(query), MSG_DONTWAIT));
	EXPECT_EQ(-1, waitpid(-1, NULL, WNOHANG));
	EXPECT_EQ(ECHILD, errno);
	close(fd);
}

#define BIG_LINES	120
#define BIG_LEVEL	200

/*
 * A network namespace of this test's own, its loopback up, whose TCP
 * sockets send from buffers of at most @wmem bytes.  Before any thread
 * starts.  0, or -1 with errno (EPERM: not root).
 */
static int small_send_buffers(const char *wmem)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd, rc = -1;
	FILE *f;

	if (unshare(CLONE_NEWNET))
		return -1;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (!ioctl(fd, SIOCGIFFLAGS, &ifr)) {
		ifr.ifr_flags |= IFF_UP;
		rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
	f = fopen("/proc/sys/net/ipv4/tcp_wmem", "w");
	if (rc || !f || fprintf(f, "%s\n", wmem) < 0)
		rc = -1;
	if (f && fclose(f))
		rc = -1;
	return rc;
}

/*
 * A SUBSCRIBE larger than the socket takes at once (120 lines of 205
 * bytes, sockets of 8 KiB) to a remote that reads slowly: sent in parts as
 * the remote takes them, then the link is the module's.
 */
TEST_F(link, large_subscribe_sent_in_parts)
{
	/* Its fixed header (3 bytes of length), packet id, then each filter */
	const size_t rem = 2 + BIG_LINES * (2 + BIG_LEVEL + 5 + 1);
	char *text = malloc(BIG_LINES * (BIG_LEVEL + 32) + 256), *p;
	const struct bridge *b;
	int i;

	ASSERT_NE(NULL, text);
	if (small_send_buffers("4096 8192 8192"))
		SKIP(free(text); return, "no network namespace: %s",
		     strerror(errno));
	self->fb.rcvbuf = 4096;
	start_broker(_metadata, self, 1);
	self->fb.conn[0].reply = connack_ok_and_suback;
	self->fb.conn[0].reply_len = 4;
	self->fb.conn[0].read_delay_ms = 300;
	p = text + sprintf(text, "connection c\naddress 127.0.0.1:%s\n"
			   "notifications false\n", self->fb.port);
	for (i = 0; i < BIG_LINES; i++)
		p += sprintf(p, "topic in/%0*d/# in 1\n", BIG_LEVEL, i);
	ASSERT_EQ(0, conf_load(&self->c, text)) TH_LOG("%s", self->c.err);
	free(text);
	ASSERT_EQ(0, bridges_start(&self->bs, &self->c.cfg, loop_now_ms()));
	b = self->bs.bridge[0];
	ASSERT_TRUE(run_until(self, b, BRIDGE_LINKED));
	fake_broker_stop(&self->fb);
	self->fb_started = false;
	EXPECT_EQ(1, attach.calls);
	EXPECT_EQ(MQTT_SUBSCRIBE << 4 | 2, self->fb.conn[0].after[0]);
	EXPECT_EQ(1 + 3 + rem, self->fb.conn[0].after_total);
}

/* Refusals back off from base, at most to the cap. */
TEST_F(link, backoff_between_attempts)
{
	struct bridge *b;
	char closed_port[6], text[256];
	unsigned int prev = 5, wait;
	uint64_t start;
	int closed, i;

	closed = listen_any(closed_port, false);
	ASSERT_LE(0, closed);
	snprintf(text, sizeof(text),
		 "connection c\naddress 127.0.0.1:%s\nrestart_timeout 5 30\n"
		 "topic t\n", closed_port);
	ASSERT_EQ(0, conf_load(&self->c, text)) TH_LOG("%s", self->c.err);
	ASSERT_EQ(0, bridges_start(&self->bs, &self->c.cfg, loop_now_ms()));
	b = self->bs.bridge[0];
	for (i = 0; i < 8; i++) {
		/*
		 * The wait after this failure was chosen after the last one:
		 * checked as chosen, and against when the failure came,
		 * which a slow run does not make shorter.
		 */
		wait = b->delay_s;
		start = loop_now_ms();
		dial_now(self, b);
		ASSERT_EQ(BRIDGE_CONNECTING, b->state);
		ASSERT_TRUE(run_until(self, b, BRIDGE_IDLE));
		if (i == 0)	/* the first wait is the base */
			EXPECT_EQ(5, wait);
		EXPECT_LE(5, wait);
		EXPECT_GE(30, wait);
		EXPECT_GE(prev * 3, wait);
		EXPECT_LE(start + wait * 1000ULL, b->deadline_ms);
		EXPECT_GE(loop_now_ms() + wait * 1000ULL, b->deadline_ms);
		prev = wait;
	}
	close(closed);
}

/*
 * A fake broker that answers the first CONNECT with @refused (a CONNACK
 * of 4 bytes) and the second with CONNACK 0, and one bridge to it.
 */
static const struct bridge *refused_first(struct __test_metadata *_metadata,
					  FIXTURE_DATA(link) *self,
					  const uint8_t *refused)
{
	start_broker(_metadata, self, 2);
	self->fb.conn[0].reply = refused;
	self->fb.conn[0].reply_len = 4;
	self->fb.conn[1].reply = connack_ok_and_suback;
	self->fb.conn[1].reply_len = 4;
	EXPECT_EQ(0, load_with_port(&self->c,
		"connection c\naddress 127.0.0.1:%s\ntopic t\n",
		self->fb.port));
	EXPECT_EQ(0, bridges_start(&self->bs, &self->c.cfg, loop_now_ms()));
	return self->bs.bridge[0];
}

/* CONNACK 5: no attach, a new attempt that then succeeds. */
TEST_F(link, refused_connack_retries)
{
	static const uint8_t refused[] = { 0x20, 2, 0, 5 };
	const struct bridge *b = refused_first(_metadata, self, refused);

	ASSERT_TRUE(_metadata->passed);
	bridges_expire(&self->bs, loop_now_ms());
	ASSERT_TRUE(run_until(self, b, BRIDGE_IDLE));
	EXPECT_EQ(0, attach.calls);
	EXPECT_LT(loop_now_ms() + 4000, b->deadline_ms);
	dial_now(self, b);
	ASSERT_TRUE(run_until(self, b, BRIDGE_LINKED));
	EXPECT_EQ(1, attach.calls);
	fake_broker_stop(&self->fb);
	self->fb_started = false;
	EXPECT_EQ(2, self->fb.accepted);
	/* the bridge bit both times: only CONNACK 1 drops it */
	EXPECT_EQ(0x84, self->fb.conn[1].connect[8]);
}

/* A remote that does not know Mosquitto's bridge bit: dialled without. */
TEST_F(link, try_private_refused_then_plain)
{
	static const uint8_t refused[] = { 0x20, 2, 0, 1 };
	const struct bridge *b = refused_first(_metadata, self, refused);

	ASSERT_TRUE(_metadata->passed);
	dial_now(self, b);
	ASSERT_TRUE(run_until(self, b, BRIDGE_IDLE));
	dial_now(self, b);
	ASSERT_TRUE(run_until(self, b, BRIDGE_LINKED));
	fake_broker_stop(&self->fb);
	self->fb_started = false;
	/* fixed header 2, name 6: the level */
	EXPECT_EQ(0x84, self->fb.conn[0].connect[8]);
	EXPECT_EQ(0x04, self->fb.conn[1].connect[8]);
}

/* Neither a CONNACK nor a close: the attempt times out. */
TEST_F(link, connack_timeout)
{
	const struct bridge *b;

	start_broker(_metadata, self, 1);
	ASSERT_EQ(0, load_with_port(&self->c,
		"connection c\naddress 127.0.0.1:%s\ntopic t\n",
		self->fb.port));
	ASSERT_EQ(0, bridges_start(&self->bs, &self->c.cfg, loop_now_ms()));
	b = self->bs.bridge[0];
	ASSERT_TRUE(run_until(self, b, BRIDGE_CONNACK));
	EXPECT_LT(BRIDGE_TIMEOUT_MS - 1000,
		  bridges_timeout(&self->bs, loop_now_ms()));
	bridges_expire(&self->bs, b->deadline_ms - 1);
	EXPECT_EQ(BRIDGE_CONNACK, b->state);
	bridges_expire(&self->bs, b->deadline_ms);
	EXPECT_EQ(BRIDGE_IDLE, b->state);
	EXPECT_EQ(-1, b->src.fd);
	EXPECT_EQ(0, attach.calls);
}

/* The module's ATTACH fails: a new attempt later, the fd closed. */
TEST_F(link, attach_failure_retries)
{
	const struct bridge *b;

	start_broker(_metadata, self, 1);
	self->fb.conn[0].reply = connack_ok_and_suback;
	self->fb.conn[0].reply_len = 4;
	attach.result = -EUSERS;
	ASSERT_EQ(0, load_with_port(&self->c,
		"connection c\naddress 127.0.0.1:%s\ntopic t\n",
		self->fb.port));
	ASSERT_EQ(0, bridges_start(&self->bs, &self->c.cfg, loop_now_ms()));
	b = self->bs.bridge[0];
	dial_now(self, b);
	ASSERT_TRUE(run_until(self, b, BRIDGE_IDLE));
	EXPECT_EQ(1, attach.calls);
	EXPECT_EQ(-1, b->src.fd);
	EXPECT_LT(loop_now_ms(), b->deadline_ms);
}

/* The module closes the link: dialled again, from the first address. */
TEST_F(link, link_closed_redials)
{
	struct bridge *b;
	char want[160];

	ASSERT_EQ(0, conf_load(&self->c,
		"connection a\naddresses 127.0.0.1:1 127.0.0.1:2\ntopic t\n"
		"restart_timeout 7\n"
		"connection r\naddresses 127.0.0.1:1 127.0.0.1:2\ntopic t\n"
		"round_robin true\nstart_type automatic\n"
		"connection o\naddress 127.0.0.1:1\ntopic t\nstart_type once\n"));
	module_conn(0, 7, self->c.cfg.bridges[0].local_clientid, true);
	module_conn(1, 8, self->c.cfg.bridges[1].local_clientid, true);
	module_conn(2, 9, self->c.cfg.bridges[2].local_clientid, true);
	module_conn_count = 3;
	ASSERT_EQ(0, bridges_start(&self->bs, &self->c.cfg, loop_now_ms()));
	ASSERT_EQ(3, self->bs.count);
	self->bs.bridge[0]->address = 1;
	self->bs.bridge[1]->address = 0;
	/* adopted links are up: "1" again */
	ASSERT_EQ(3, published.calls);
	snprintf(want, sizeof(want), "%s 1",
		 self->c.cfg.bridges[0].notification_topic);
	EXPECT_STREQ(want, published.note[0]);
	/* another connection's close is none of theirs */
	bridges_closed(&self->bs, 70, "keepalive timeout");
	EXPECT_EQ(BRIDGE_LINKED, self->bs.bridge[0]->state);
	EXPECT_EQ(3, published.calls);
	bridges_closed(&self->bs, 7, "keepalive timeout");
	ASSERT_EQ(4, published.calls);
	snprintf(want, sizeof(want), "%s 0",
		 self->c.cfg.bridges[0].notification_topic);
	EXPECT_STREQ(want, published.note[3]);
	b = self->bs.bridge[0];
	EXPECT_EQ(BRIDGE_IDLE, b->state);
	EXPECT_EQ(0, b->address);		/* round_robin false */
	EXPECT_LE(loop_now_ms() + 6500, b->deadline_ms);
	EXPECT_GE(loop_now_ms() + 7000, b->deadline_ms);
	bridges_closed(&self->bs, 8, "keepalive timeout");
	EXPECT_EQ(1, self->bs.bridge[1]->address);	/* round_robin: the next */
	bridges_closed(&self->bs, 9, "keepalive timeout");
	EXPECT_EQ(BRIDGE_STOPPED, self->bs.bridge[2]->state);
	EXPECT_EQ(0, disconnect.calls);
	EXPECT_EQ(6, published.calls);
}

/* The module holds the bridge's session, online on link @conn_id. */
static void module_link_session(FIXTURE_DATA(link) *self, uint64_t conn_id)
{
	lazy.exists = true;
	snprintf(lazy.s.client_id, sizeof(lazy.s.client_id), "%s",
		 self->c.cfg.bridges[0].local_clientid);
	lazy.s.online = true;
	lazy.s.bridge = true;
	lazy.s.conn_id = conn_id;
}

/* A lazy bridge's next count is due within a second, not now. */
static void expect_next_count(struct __test_metadata *_metadata,
			      FIXTURE_DATA(link) *self)
{
	int ms = bridges_timeout(&self->bs, loop_now_ms());

	EXPECT_LT(0, ms);
	EXPECT_GE(BRIDGE_LAZY_POLL_MS, ms);
}

/*
 * start_type lazy: its session here is made with the subscriptions its
 * link would make (QoS 0 queued too); it dials once threshold messages
 * wait (queued and in flight), not before.
 */
TEST_F(link, lazy_dials_at_threshold)
{
	struct bridge *b;
	int i;

	start_broker(_metadata, self, 1);
	self->fb.conn[0].reply = connack_ok_and_suback;
	self->fb.conn[0].reply_len = 4;
	ASSERT_EQ(0, load_with_port(&self->c,
		"connection c\naddress 127.0.0.1:%s\nclientid e\n"
		"start_type lazy\nthreshold 3\n"
		"topic out/# out 1\ntopic in/# in\ntopic both/# both 2 l/ r/\n",
		self->fb.port)) TH_LOG("%s", self->c.err);
	ASSERT_EQ(0, bridges_start(&self->bs, &self->c.cfg, loop_now_ms()));
	b = self->bs.bridge[0];
	dial_now(self, b);
	ASSERT_TRUE(lazy.exists);
	EXPECT_STREQ("local.e", lazy.s.client_id);
	EXPECT_EQ(MQTT_SESSION_EXPIRY_NEVER, lazy.s.session_expiry);
	EXPECT_TRUE(lazy.s.bridge);
	ASSERT_EQ(1, lazy.sets);
	ASSERT_EQ(2, lazy.subs);
	EXPECT_TRUE(lazy.queue_qos0);
	EXPECT_STREQ("out/#", lazy.filter[0]);
	EXPECT_EQ(1, lazy.qos[0]);
	EXPECT_STREQ("l/both/#", lazy.filter[1]);
	EXPECT_EQ(2, lazy.qos[1]);
	EXPECT_EQ(BRIDGE_IDLE, b->state);
	/* counted every second; two waiting are not enough */
	expect_next_count(_metadata, self);
	lazy.s.stats[KMQTT_STAT_QUEUED] = 1;
	lazy.s.stats[KMQTT_STAT_INFLIGHT] = 1;
	for (i = 0; i < 3; i++)
		dial_now(self, b);
	EXPECT_EQ(BRIDGE_IDLE, b->state);
	EXPECT_EQ(1, lazy.sets);		/* made once */
	EXPECT_EQ(0, self->fb.accepted);
	/* held by a client that took its client id: not dialled either */
	lazy.s.stats[KMQTT_STAT_QUEUED] = 2;
	lazy.s.online = true;
	lazy.s.bridge = false;
	dial_now(self, b);
	EXPECT_EQ(BRIDGE_IDLE, b->state);
	/* it went, the session the bridge's again: its lines set again */
	lazy.s.online = false;
	lazy.s.bridge = true;
	dial_now(self, b);
	EXPECT_EQ(2, lazy.sets);
	EXPECT_EQ(2, lazy.subs);
	EXPECT_EQ(BRIDGE_IDLE, b->state);
	dial_now(self, b);
	EXPECT_NE(BRIDGE_IDLE, b->state);
	ASSERT_TRUE(run_until(self, b, BRIDGE_LINKED));
	EXPECT_EQ(1, attach.calls);
	EXPECT_TRUE(attach.queue_qos0);
	EXPECT_FALSE(attach.clean_session);
}

/*
 * The module refuses to make the session or to set its lines: said once,
 * tried again.
 */
TEST_F(link, lazy_session_refused_retried)
{
	struct bridge *b;

	ASSERT_EQ(0, conf_load(&self->c, MIN_BRIDGE "start_type lazy\n"));
	ASSERT_EQ(0, bridges_start(&self->bs, &self->c.cfg, loop_now_ms()));
	b = self->bs.bridge[0];
	lazy.result = -ENOMEM;
	dial_now(self, b);
	dial_now(self, b);
	EXPECT_FALSE(lazy.exists);
	EXPECT_TRUE(b->lazy_failing);
	EXPECT_EQ(BRIDGE_IDLE, b->state);
	lazy.result = 0;
	dial_now(self, b);
	EXPECT_TRUE(lazy.exists);
	EXPECT_FALSE(b->lazy_failing);
	EXPECT_EQ(1, lazy.sets);
	/* gone (an operator removed it): made again */
	lazy.exists = false;
	dial_now(self, b);
	EXPECT_TRUE(lazy.exists);
	EXPECT_EQ(2, lazy.sets);
	/*
	 * Made again, but its lines refused: set again at the next count,
	 * not taken as done.  A client that took the client id between the
	 * count and the request (EBUSY, EEXIST) is no failure: the next
	 * count sees it.
	 */
	lazy.exists = false;
	lazy.sets_result = -EBUSY;
	dial_now(self, b);
	EXPECT_TRUE(lazy.exists);
	EXPECT_FALSE(b->lazy_failing);
	EXPECT_FALSE(b->lazy_ready);
	lazy.sets_result = -EEXIST;
	dial_now(self, b);
	EXPECT_FALSE(b->lazy_failing);
	lazy.sets_result = -ENOSPC;
	dial_now(self, b);
	EXPECT_TRUE(b->lazy_failing);
	EXPECT_FALSE(b->lazy_ready);
	lazy.sets_result = 0;
	dial_now(self, b);
	EXPECT_FALSE(b->lazy_failing);
	EXPECT_TRUE(b->lazy_ready);
	EXPECT_EQ(3, lazy.sets);
	EXPECT_EQ(BRIDGE_IDLE, b->state);
}

/*
 * A lazy bridge's link is closed once no message crossed it for
 * idle_timeout; then it waits for messages again, with no backoff.
 */
TEST_F(link, lazy_link_closed_when_idle)
{
	struct bridge *b;
	uint64_t now;
	char want[160];

	ASSERT_EQ(0, conf_load(&self->c, MIN_BRIDGE
		"start_type lazy\nthreshold 1\nidle_timeout 5\n"
		"restart_timeout 30\n"));
	module_conn(0, 7, self->c.cfg.bridges[0].local_clientid, true);
	module_conn_count = 1;
	ASSERT_EQ(0, bridges_start(&self->bs, &self->c.cfg, loop_now_ms()));
	b = self->bs.bridge[0];
	ASSERT_EQ(BRIDGE_LINKED, b->state);
	/* its deadline is the next count */
	ASSERT_EQ(0, bridges_timeout(&self->bs, loop_now_ms()));
	module_link_session(self, 7);
	lazy.s.stats[KMQTT_STAT_MSGS_IN] = 4;
	now = loop_now_ms();
	bridges_expire(&self->bs, now);
	now += 4000;
	bridges_expire(&self->bs, now);
	lazy.s.stats[KMQTT_STAT_MSGS_OUT] = 1;	/* one went out */
	now += 1000;
	bridges_expire(&self->bs, now);
	now += 4900;
	bridges_expire(&self->bs, now);
	EXPECT_EQ(0, disconnect.calls);
	/* before its next count, nothing */
	bridges_expire(&self->bs, now + 999);
	EXPECT_EQ(0, disconnect.calls);
	now += 1000;
	bridges_expire(&self->bs, now);
	ASSERT_EQ(1, disconnect.calls);
	EXPECT_STREQ(self->c.cfg.bridges[0].local_clientid,
		     disconnect.client_id[0]);
	/* once, while its close is on its way */
	bridges_expire(&self->bs, now + 1000);
	EXPECT_EQ(1, disconnect.calls);
	bridges_closed(&self->bs, 7, "disconnected");
	EXPECT_EQ(BRIDGE_IDLE, b->state);
	expect_next_count(_metadata, self);
	snprintf(want, sizeof(want), "%s 0",
		 self->c.cfg.bridges[0].notification_topic);
	EXPECT_STREQ(want, published.note[published.calls - 1]);
	/* not dialled until a message waits */
	lazy.s.online = false;
	dial_now(self, b);
	EXPECT_EQ(BRIDGE_IDLE, b->state);
	lazy.s.stats[KMQTT_STAT_QUEUED] = 1;
	dial_now(self, b);
	/* Dialled: under way, or failed (unreachable) and backing off. */
	EXPECT_TRUE(b->state != BRIDGE_IDLE ||
		    b->deadline_ms > loop_now_ms() + BRIDGE_LAZY_POLL_MS);
}

/*
 * Its session online as a bridge's: its link, which kmqttd did not
 * adopt at start, is kept.  Offline but a client's (one that took the
 * client id and left): dialled, for the link's ATTACH to take it back
 * with what waits in it, whatever the count.
 */
TEST_F(link, lazy_takes_its_session_back)
{
	struct bridge *b;

	ASSERT_EQ(0, conf_load(&self->c, MIN_BRIDGE "start_type lazy\n"
			       "restart_timeout 30\n"));
	ASSERT_EQ(0, bridges_start(&self->bs, &self->c.cfg, loop_now_ms()));
	b = self->bs.bridge[0];
	module_link_session(self, 9);
	dial_now(self, b);
	ASSERT_EQ(BRIDGE_LINKED, b->state);
	EXPECT_EQ(9, b->conn_id);
	EXPECT_EQ(0, lazy.sets);
	bridges_closed(&self->bs, 9, "socket error");
	ASSERT_EQ(BRIDGE_IDLE, b->state);

	/* a client holds it: nothing made, nothing dialled */
	lazy.s.bridge = false;
	dial_now(self, b);
	EXPECT_EQ(BRIDGE_IDLE, b->state);
	EXPECT_EQ(0, lazy.sets);
	expect_next_count(_metadata, self);
	/* and leaves it: dialled, none waiting */
	lazy.s.online = false;
	dial_now(self, b);
	EXPECT_EQ(0, lazy.sets);
	/* under way, or failed (unreachable) and backing off */
	EXPECT_TRUE(b->state != BRIDGE_IDLE ||
		    b->deadline_ms > loop_now_ms() + BRIDGE_LAZY_POLL_MS);
}

/*
 * A reload that removes a line of a lazy bridge: its successor sets the
 * session's subscriptions to its lines alone, so that messages on the
 * removed line no longer wait there (nor count towards threshold).
 */
TEST_F(link, lazy_reload_sets_its_lines_alone)
{
	struct conf next;

	conf_init(&next);
	ASSERT_EQ(0, conf_load(&self->c, MIN_BRIDGE "start_type lazy\n"
			       "topic gone/# out\n"));
	ASSERT_EQ(0, bridges_start(&self->bs, &self->c.cfg, loop_now_ms()));
	dial_now(self, self->bs.bridge[0]);
	ASSERT_EQ(1, lazy.sets);
	ASSERT_EQ(2, lazy.subs);
	ASSERT_EQ(0, conf_load(&next, MIN_BRIDGE "start_type lazy\n"));
	bridges_reload(&self->bs, &next.cfg, loop_now_ms());
	ASSERT_EQ(1, self->bs.count);
	dial_now(self, self->bs.bridge[0]);
	EXPECT_EQ(2, lazy.sets);
	ASSERT_EQ(1, lazy.subs);
	EXPECT_STREQ("t", lazy.filter[0]);
	EXPECT_EQ(BRIDGE_IDLE, self->bs.bridge[0]->state);
	bridges_fini(&self->bs);
	conf_fini(&next);
}

/* An automatic bridge's link is never counted, nor closed when idle. */
TEST_F(link, automatic_link_not_counted)
{
	ASSERT_EQ(0, conf_load(&self->c, MIN_BRIDGE "idle_timeout 1\n"));
	module_conn(0, 7, self->c.cfg.bridges[0].local_clientid, true);
	module_conn_count = 1;
	ASSERT_EQ(0, bridges_start(&self->bs, &self->c.cfg, loop_now_ms()));
	EXPECT_EQ(-1, bridges_timeout(&self->bs, loop_now_ms()));
	bridges_expire(&self->bs, loop_now_ms() + 10000);
	EXPECT_EQ(0, lazy.gets);
	EXPECT_EQ(0, disconnect.calls);
}

/* A link an earlier kmqttd left attached is adopted, not dialled. */
TEST_F(link, adopts_the_module_link)
{
	const struct bridge *b;

	ASSERT_EQ(0, conf_load(&self->c,
		"connection a\naddress 127.0.0.1:1\ntopic t\n"
		"local_clientid kept\n"
		"connection b\naddress 127.0.0.1:1\ntopic t\n"));
	module_conn(0, 42, "kept", true);
	module_conn(1, 43, "someone", true);
	module_conn_count = 2;
	ASSERT_EQ(0, bridges_start(&self->bs, &self->c.cfg, loop_now_ms()));
	b = self->bs.bridge[0];
	EXPECT_EQ(BRIDGE_LINKED, b->state);
	EXPECT_EQ(42, b->conn_id);
	EXPECT_EQ(BRIDGE_IDLE, self->bs.bridge[1]->state);
	bridges_closed(&self->bs, 42, "socket error");
	EXPECT_EQ(BRIDGE_IDLE, b->state);
}

/* A client that took a bridge's local client id is not adopted. */
TEST_F(link, client_with_the_id_not_adopted)
{
	ASSERT_EQ(0, conf_load(&self->c,
		"connection a\naddress 127.0.0.1:1\ntopic t\n"
		"local_clientid kept\n"));
	module_conn(0, 42, "kept", false);
	module_conn_count = 1;
	ASSERT_EQ(0, bridges_start(&self->bs, &self->c.cfg, loop_now_ms()));
	EXPECT_EQ(BRIDGE_IDLE, self->bs.bridge[0]->state);
}

/* Close events lost: a link the module no longer holds dials again. */
TEST_F(link, resync_after_lost_events)
{
	ASSERT_EQ(0, conf_load(&self->c,
		"connection a\naddress 127.0.0.1:1\ntopic t\n"
		"local_clientid la\n"
		"connection b\naddress 127.0.0.1:1\ntopic t\n"
		"local_clientid lb\n"));
	module_conn(0, 1, "la", true);
	module_conn(1, 2, "lb", true);
	module_conn_count = 2;
	ASSERT_EQ(0, bridges_start(&self->bs, &self->c.cfg, loop_now_ms()));
	ASSERT_EQ(BRIDGE_LINKED, self->bs.bridge[0]->state);
	ASSERT_EQ(BRIDGE_LINKED, self->bs.bridge[1]->state);
	/* lb's link went, and its event with it. */
	module_conn_count = 1;
	bridges_resync(&self->bs);
	EXPECT_EQ(BRIDGE_LINKED, self->bs.bridge[0]->state);
	EXPECT_EQ(BRIDGE_IDLE, self->bs.bridge[1]->state);
	/* "1" for both at start, then "0" for lb's */
	ASSERT_EQ(3, published.calls);
	EXPECT_STRNE(published.note[0], published.note[1]);
	EXPECT_EQ(0, strncmp(published.note[1], published.note[2],
			     strlen(published.note[1]) - 1));
	EXPECT_EQ('0', published.note[2][strlen(published.note[2]) - 1]);
}

/* A notification the module refused goes again a little later. */
TEST_F(link, refused_notification_retried)
{
	const struct bridge *b;
	uint64_t now = loop_now_ms();

	ASSERT_EQ(0, conf_load(&self->c,
		"connection a\naddress 127.0.0.1:1\ntopic t\n"
		"local_clientid la\nnotification_topic state/a\n"));
	module_conn(0, 1, "la", true);
	module_conn_count = 1;
	published.result = -ENOMEM;
	ASSERT_EQ(0, bridges_start(&self->bs, &self->c.cfg, now));
	b = self->bs.bridge[0];
	EXPECT_EQ(1, published.refused);
	EXPECT_EQ(0, published.calls);
	/* a linked bridge has no other deadline than the retry */
	EXPECT_LE(now + BRIDGE_NOTIFY_RETRY_MS, b->notify_retry_ms);
	EXPECT_GE(loop_now_ms() + BRIDGE_NOTIFY_RETRY_MS, b->notify_retry_ms);
	EXPECT_EQ((int)(b->notify_retry_ms - now),
		  bridges_timeout(&self->bs, now));
	bridges_expire(&self->bs, now);
	EXPECT_EQ(1, published.refused);
	published.result = 0;
	bridges_expire(&self->bs, b->notify_retry_ms);
	ASSERT_EQ(1, published.calls);
	EXPECT_STREQ("state/a 1", published.note[0]);
	EXPECT_EQ(-1, bridges_timeout(&self->bs, b->notify_retry_ms));
}

/* SIGHUP: alike untouched, changed and removed disconnected, new started. */
TEST_F(link, reload)
{
	struct conf next;
	struct bridge *same;
	int i;

	conf_init(&next);
	ASSERT_EQ(0, conf_load(&self->c,
		"connection same\naddress 127.0.0.1:1\ntopic t\n"
		"local_clientid l-same\n"
		"connection changed\naddress 127.0.0.1:1\ntopic t\n"
		"local_clientid l-changed\n"
		"connection gone\naddress 127.0.0.1:1\ntopic t\n"
		"local_clientid l-gone\n"));
	module_conn(0, 1, "l-same", true);
	module_conn(1, 2, "l-changed", true);
	module_conn(2, 3, "l-gone", true);
	module_conn_count = 3;
	ASSERT_EQ(0, bridges_start(&self->bs, &self->c.cfg, loop_now_ms()));
	same = self->bs.bridge[0];
	ASSERT_EQ(0, conf_load(&next,
		"connection new\naddress 127.0.0.1:1\ntopic t\n"
		"connection changed\naddress 127.0.0.1:1\ntopic t in\n"
		"local_clientid l-changed\n"
		"connection same\naddress 127.0.0.1:1\ntopic t\n"
		"local_clientid l-same\n"));
	EXPECT_EQ(3, published.calls);
	bridges_reload(&self->bs, &next.cfg, loop_now_ms());
	ASSERT_EQ(3, self->bs.count);
	EXPECT_EQ(2, disconnect.calls);
	/*
	 * "0" for the links that went (changed, gone), then for the bridges
	 * that start (new, changed): changed's topic twice.
	 */
	ASSERT_EQ(7, published.calls);
	for (i = 3; i < 7; i++)
		EXPECT_EQ('0', published.note[i][strlen(published.note[i]) - 1]);
	EXPECT_STREQ(published.note[3], published.note[6]);
	EXPECT_STRNE(published.note[3], published.note[4]);
	EXPECT_STRNE(published.note[3], published.note[5]);
	EXPECT_STRNE(published.note[4], published.note[5]);
	EXPECT_STREQ("l-changed", disconnect.client_id[0]);
	EXPECT_STREQ("l-gone", disconnect.client_id[1]);
	/* in the order of the new file; the same one untouched */
	EXPECT_STREQ("new", self->bs.bridge[0]->cfg->name);
	EXPECT_EQ(BRIDGE_IDLE, self->bs.bridge[0]->state);
	EXPECT_EQ(BRIDGE_IDLE, self->bs.bridge[1]->state);
	EXPECT_EQ(&next.cfg.bridges[1], self->bs.bridge[1]->cfg);
	EXPECT_EQ(same, self->bs.bridge[2]);
	EXPECT_EQ(BRIDGE_LINKED, same->state);
	EXPECT_EQ(1, same->conn_id);
	EXPECT_EQ(&next.cfg.bridges[2], same->cfg);
	/* the old configuration may go now */
	config_free(&self->c.cfg);
	bridges_fini(&self->bs);
	conf_fini(&next);
}

/* ---- bridges over TLS, against a fake remote broker with OpenSSL ---- */

/*
 * A remote broker's TLS: server.pem (CN localhost, SAN localhost and
 * 127.0.0.1), and with @require_cert client certificates of ca.pem only.
 */
static SSL_CTX *fake_tls_ctx(bool require_cert)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (!ctx)
		return NULL;
	if (SSL_CTX_use_certificate_chain_file(ctx,
			tls_test_cert("server.pem")) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, tls_test_cert("server.key"),
					SSL_FILETYPE_PEM) != 1 ||
	    (require_cert &&
	     SSL_CTX_load_verify_locations(ctx, tls_test_cert("ca.pem"),
					   NULL) != 1)) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (require_cert)
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
				   SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	return ctx;
}

static void start_tls_broker(struct __test_metadata *_metadata,
			     FIXTURE_DATA(link) *self, bool require_cert)
{
	/* As kmqttd: OpenSSL writes with write(), not MSG_NOSIGNAL. */
	signal(SIGPIPE, SIG_IGN);
	self->fb.tls = fake_tls_ctx(require_cert);
	ASSERT_NE(NULL, self->fb.tls);
	start_broker(_metadata, self, 1);
}

/* kmqttd's log (stderr) into a file while a test runs the loop. */
struct log_capture {
	int saved;
	char path[64];
};

static void capture_start(struct log_capture *lc)
{
	int fd;

	snprintf(lc->path, sizeof(lc->path), "/tmp/kmqtt-bridge-log-XXXXXX");
	fd = mkstemp(lc->path);
	if (fd < 0)
		abort();
	fflush(stderr);
	lc->saved = dup(2);
	dup2(fd, 2);
	close(fd);
}

/* The log since capture_start() into @buf, also shown again on stderr. */
static void capture_end(struct log_capture *lc, char *buf, size_t size)
{
	FILE *f;
	size_t n = 0;

	fflush(stderr);
	dup2(lc->saved, 2);
	close(lc->saved);
	f = fopen(lc->path, "r");
	if (f) {
		n = fread(buf, 1, size - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	unlink(lc->path);
	fputs(buf, stderr);
}

static bool ktls_available(void)
{
	return access("/proc/net/tls_stat", F_OK) == 0;
}

/* Without tls.ko, skip; unless KMQTT_REQUIRE_KTLS=1 (the test VM). */
#define REQUIRE_KTLS() do {						\
	const char *require = getenv("KMQTT_REQUIRE_KTLS");		\
									\
	if (!ktls_available()) {					\
		ASSERT_FALSE(require && !strcmp(require, "1"))		\
			TH_LOG("tls.ko is not loaded");			\
		SKIP(return, "tls.ko is not loaded (no /proc/net/tls_stat)"); \
	}								\
} while (0)

/*
 * Run the loop until @b's attempt is over: linked, or waiting again (at
 * most TLS_TEST_TIMEOUT_MS, as the fake broker waits).
 */
static void run_attempt(FIXTURE_DATA(link) *self, const struct bridge *b)
{
	int i;

	for (i = 0; i < TLS_TEST_TIMEOUT_MS / 50 &&
		    (b->state == BRIDGE_IDLE || b->state == BRIDGE_CONNECTING ||
		     b->state == BRIDGE_TLS || b->state == BRIDGE_CONNACK); i++) {
		if (i && b->state == BRIDGE_IDLE)
			break;
		loop_run_once(&self->loop, 50);
		bridges_expire(&self->bs, loop_now_ms());
	}
}

/* A PUBLISH "hi" on "a", in a record of its own after the CONNACK's. */
static const uint8_t publish_later[] = { 0x30, 5, 0, 1, 'a', 'h', 'i' };
static const uint8_t pingreq[] = { 0xc0, 0 };

/*
 * One TLS link with a client certificate (@version_line picks the TLS
 * version): the handshake, the CONNECT and what follows the CONNACK over
 * TLS.  On kernel TLS the attach carries the SUBACK that came in the
 * CONNACK's record as pending bytes, the socket reads the next record's
 * plaintext and what the module writes reaches the broker encrypted.
 * Without it the hand-off fails, and the attempt with it.
 */
static void tls_link(struct __test_metadata *_metadata,
		     FIXTURE_DATA(link) *self, const char *version_line,
		     int version, bool need_ktls)
{
	struct log_capture lc;
	const struct bridge *b;
	struct fake_conn *fc = &self->fb.conn[0];
	char text[1024], log[4096];
	bool ktls = ktls_available();

	start_tls_broker(_metadata, self, true);
	fc->reply = connack_ok_and_suback;
	fc->reply_len = sizeof(connack_ok_and_suback);
	fc->later = publish_later;
	fc->later_len = sizeof(publish_later);
	attach.write = pingreq;
	attach.write_len = sizeof(pingreq);
	snprintf(text, sizeof(text),
		 "connection tls\naddress 127.0.0.1:%s\nremote_clientid edge1\n"
		 "bridge_cafile %s\nbridge_certfile %s\nbridge_keyfile %s\n"
		 "%stopic cmd/# in 1\n", self->fb.port,
		 tls_test_cert("ca.pem"), tls_test_cert("client1.pem"),
		 tls_test_cert("client1.key"), version_line);
	ASSERT_EQ(0, conf_load(&self->c, text)) TH_LOG("%s", self->c.err);
	ASSERT_EQ(0, bridges_start(&self->bs, &self->c.cfg, loop_now_ms()));
	b = self->bs.bridge[0];
	capture_start(&lc);
	run_attempt(self, b);
	capture_end(&lc, log, sizeof(log));
	fake_broker_stop(&self->fb);
	self->fb_started = false;

	/* TLS with the client certificate, then MQTT inside */
	EXPECT_TRUE(fc->tls_ok) TH_LOG("%s", fc->error);
	EXPECT_EQ(version, fc->tls_version);
	EXPECT_STREQ("client1", fc->peer_cn);
	ASSERT_LT(19, fc->connect_len) TH_LOG("%s", fc->error);
	EXPECT_EQ(MQTT_CONNECT << 4, fc->connect[0]);
	EXPECT_EQ(0, memcmp(fc->connect + 12, "\0\5edge1", 7));
	/* the notification, then the SUBSCRIBE */
	ASSERT_LT(2, fc->after_len);
	EXPECT_EQ(MQTT_PUBLISH << 4 | MQTT_PUBLISH_RETAIN, fc->after[0]);
	EXPECT_NE(NULL, memmem(fc->after, fc->after_len, "\0\5cmd/#\1", 8));

	if (!ktls) {
		ASSERT_FALSE(need_ktls) TH_LOG("tls.ko is not loaded");
		EXPECT_EQ(BRIDGE_IDLE, b->state);
		EXPECT_EQ(0, attach.calls);
		EXPECT_NE(NULL, strstr(log, "kernel TLS transmit not active"))
			TH_LOG("%s", log);
		return;
	}
	ASSERT_EQ(BRIDGE_LINKED, b->state) TH_LOG("%s", log);
	EXPECT_EQ(1, attach.calls);
	/*
	 * The SUBACK came with the CONNACK: OpenSSL's, handed over; the
	 * next record is the kernel's to decrypt, unless OpenSSL read it
	 * too (TLS 1.2 receives on kTLS already, which joins records).
	 */
	ASSERT_LE(6, attach.pending_len);
	ASSERT_GE(6 + sizeof(publish_later), attach.pending_len);
	EXPECT_EQ(0, memcmp(connack_ok_and_suback + 4, attach.pending, 6));
	EXPECT_EQ(0, memcmp(publish_later, attach.pending + 6,
			    attach.pending_len - 6));
	ASSERT_EQ(6 + sizeof(publish_later) - attach.pending_len,
		  attach.unread_len);
	EXPECT_EQ(0, memcmp(publish_later + attach.pending_len - 6,
			    attach.unread, (size_t)attach.unread_len));
	/* and the module's PINGREQ, encrypted by it */
	EXPECT_EQ(sizeof(pingreq), attach.written);
	ASSERT_LE(sizeof(pingreq), fc->after_len);
	EXPECT_EQ(0, memcmp(fc->after + fc->after_len - sizeof(pingreq),
			    pingreq, sizeof(pingreq)));
}

/* Up to the hand-off on any host; the hand-off itself with tls.ko. */
TEST_F(link, tls_connect_over_tls_1_3)
{
	tls_link(_metadata, self, "bridge_tls_version tlsv1.3\n",
		 TLS1_3_VERSION, false);
}

TEST_F(link, tls_connect_over_tls_1_2)
{
	tls_link(_metadata, self, "bridge_tls_version tlsv1.2\n",
		 TLS1_2_VERSION, false);
}

/* The attach with the pending bytes needs kernel TLS: the VM's run. */
TEST_F(link, tls_attach_with_pending_bytes)
{
	REQUIRE_KTLS();
	/* both versions offered: TLS 1.3, the server's tickets before */
	tls_link(_metadata, self, "", TLS1_3_VERSION, true);
}

/*
 * Dial the fake broker on @ip with @extra lines; the attempt must fail
 * with @reason in the log when @reason is set, else reach the CONNECT.
 */
static void tls_attempt(struct __test_metadata *_metadata,
			FIXTURE_DATA(link) *self, const char *ip,
			const char *ca, const char *extra, const char *reason)
{
	struct log_capture lc;
	const struct bridge *b;
	struct fake_conn *fc = &self->fb.conn[0];
	char text[1024], log[4096], want[256];

	self->fb.ip = ip;
	start_tls_broker(_metadata, self, false);
	fc->reply = connack_ok_and_suback;
	fc->reply_len = 4;
	snprintf(text, sizeof(text),
		 "connection c\naddress %s:%s\nbridge_cafile %s\n%s"
		 "topic t\n", ip, self->fb.port, tls_test_cert(ca), extra);
	ASSERT_EQ(0, conf_load(&self->c, text)) TH_LOG("%s", self->c.err);
	ASSERT_EQ(0, bridges_start(&self->bs, &self->c.cfg, loop_now_ms()));
	b = self->bs.bridge[0];
	capture_start(&lc);
	run_attempt(self, b);
	capture_end(&lc, log, sizeof(log));
	fake_broker_stop(&self->fb);
	self->fb_started = false;
	if (!reason) {
		EXPECT_TRUE(fc->tls_ok);
		EXPECT_LT(0, fc->connect_len);
		return;
	}
	/* one line: bridge, address, OpenSSL's reason; retried later */
	snprintf(want, sizeof(want),
		 "Warning: Bridge c: connecting to %s:%s: TLS handshake: %s; next attempt in 5 s.\n",
		 ip, self->fb.port, reason);
	EXPECT_NE(NULL, strstr(log, want)) TH_LOG("want %s in %s", want, log);
	EXPECT_EQ(BRIDGE_IDLE, b->state);
	EXPECT_EQ(-1, b->src.fd);
	EXPECT_EQ(NULL, b->tls);
	EXPECT_FALSE(fc->tls_ok);
	EXPECT_EQ(0, fc->connect_len);
	EXPECT_EQ(0, attach.calls);
}

TEST_F(link, tls_wrong_ca)
{
	tls_attempt(_metadata, self, "127.0.0.1", "untrusted-ca.pem", "",
		    "certificate verify failed: unable to get local issuer certificate");
}

/* The certificate names 127.0.0.1 and localhost, not 127.0.0.2. */
TEST_F(link, tls_name_mismatch)
{
	tls_attempt(_metadata, self, "127.0.0.2", "ca.pem", "",
		    "certificate verify failed: IP address mismatch");
}

TEST_F(link, tls_insecure_accepts_name_mismatch)
{
	tls_attempt(_metadata, self, "127.0.0.2", "ca.pem",
		    "bridge_insecure true\n", NULL);
}

/* Insecure spares the name only: the chain is verified all the same. */
TEST_F(link, tls_insecure_still_verifies_the_chain)
{
	tls_attempt(_metadata, self, "127.0.0.2", "untrusted-ca.pem",
		    "bridge_insecure true\n",
		    "certificate verify failed: unable to get local issuer certificate");
}

/* A CA file that cannot be read fails the attempt, which is retried. */
TEST_F(link, tls_unreadable_cafile)
{
	struct log_capture lc;
	const struct bridge *b;
	char log[4096], port[6], want[128];
	int lfd = listen_any(port, true);	/* TCP connects, no more */

	ASSERT_LE(0, lfd);
	ASSERT_EQ(0, load_with_port(&self->c,
		"connection c\naddress 127.0.0.1:%s\n"
		"bridge_cafile /nonexistent/ca.pem\ntopic t\n", port));
	ASSERT_EQ(0, bridges_start(&self->bs, &self->c.cfg, loop_now_ms()));
	b = self->bs.bridge[0];
	capture_start(&lc);
	run_attempt(self, b);
	capture_end(&lc, log, sizeof(log));
	close(lfd);
	EXPECT_EQ(BRIDGE_IDLE, b->state);
	EXPECT_EQ(-1, b->src.fd);
	EXPECT_EQ(0, attach.calls);
	snprintf(want, sizeof(want),
		 "Bridge c: connecting to 127.0.0.1:%s: cafile /nonexistent/ca.pem: No such file or directory;",
		 port);
	EXPECT_NE(NULL, strstr(log, want)) TH_LOG("%s", log);
}

TEST_HARNESS_MAIN

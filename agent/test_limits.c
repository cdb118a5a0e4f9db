// SPDX-License-Identifier: GPL-2.0
/* Tests of the limit directives shared by the config file and kmqttctl. */
#include <string.h>

#include "limits.h"
#include "kselftest_harness.h"

/* Parse one directive; returns the result and fills @value when OK. */
static enum limits_parse_result parse(const char *name, const char *v,
				      enum kmqtt_limit id, uint64_t *value,
				      char *err, size_t errlen)
{
	struct kmqtt_nl_limits l = { 0 };
	enum limits_parse_result r = limits_parse(name, v, &l, err, errlen);

	if (r == LIMITS_OK) {
		/* exactly the one limit is marked */
		if (l.mask != KMQTT_NL_LIMIT_BIT(id))
			return LIMITS_UNKNOWN;
		*value = l.value[id];
	}
	return r;
}

static uint64_t ok_value(struct __test_metadata *_metadata, const char *name,
			 const char *v, enum kmqtt_limit id)
{
	char err[256] = "";
	uint64_t value = 12345;

	EXPECT_EQ(LIMITS_OK, parse(name, v, id, &value, err, sizeof(err)))
		TH_LOG("%s %s: %s", name, v, err);
	return value;
}

#define OK(name, v, id)	ok_value(_metadata, name, v, id)

static void expect_invalid(struct __test_metadata *_metadata,
			   const char *name, const char *v, const char *msg)
{
	struct kmqtt_nl_limits l = { 0 };
	char err[256] = "";

	EXPECT_EQ(LIMITS_INVALID, limits_parse(name, v, &l, err, sizeof(err)))
		TH_LOG("%s %s", name, v);
	EXPECT_STREQ(msg, err);
	EXPECT_EQ(0, l.mask);
}

#define INVALID(name, v, msg)	expect_invalid(_metadata, name, v, msg)

TEST(counts)
{
	EXPECT_EQ(100, OK("max_connections", "100", KMQTT_LIMIT_MAX_CONNECTIONS));
	EXPECT_EQ(4294967295ULL, OK("max_connections", "4294967295",
				    KMQTT_LIMIT_MAX_CONNECTIONS));
	EXPECT_EQ(10, OK("max_queued_messages", "10",
			 KMQTT_LIMIT_MAX_QUEUED_MESSAGES));
	EXPECT_EQ(0, OK("max_queued_messages", "0",
			KMQTT_LIMIT_MAX_QUEUED_MESSAGES));
	EXPECT_EQ(18446744073709551615ULL,
		  OK("max_queued_bytes", "18446744073709551615",
		     KMQTT_LIMIT_MAX_QUEUED_BYTES));
	EXPECT_EQ(1048576, OK("memory_limit", "1048576", KMQTT_LIMIT_MEMORY));
	EXPECT_EQ(5, OK("kmqtt_max_retained_messages", "5",
			KMQTT_LIMIT_MAX_RETAINED));
	EXPECT_EQ(6, OK("kmqtt_max_retained_bytes", "6",
			KMQTT_LIMIT_MAX_RETAINED_BYTES));
	EXPECT_EQ(7, OK("kmqtt_max_subscriptions", "7",
			KMQTT_LIMIT_MAX_SUBSCRIPTIONS));
	EXPECT_EQ(1, OK("kmqtt_max_topic_levels", "1",
			KMQTT_LIMIT_MAX_TOPIC_LEVELS));
	EXPECT_EQ(1024, OK("kmqtt_max_topic_levels", "1024",
			   KMQTT_LIMIT_MAX_TOPIC_LEVELS));
}

/* Mosquitto's spellings of "no limit" become the module's. */
TEST(mosquitto_unlimited_values)
{
	EXPECT_EQ(0, OK("max_connections", "-1", KMQTT_LIMIT_MAX_CONNECTIONS));
	EXPECT_EQ(0, OK("max_connections", "0", KMQTT_LIMIT_MAX_CONNECTIONS));
	EXPECT_EQ(KMQTT_LIMIT_INFLIGHT_MAX, OK("max_inflight_messages", "0",
					  KMQTT_LIMIT_MAX_INFLIGHT));
	EXPECT_EQ(65534, KMQTT_LIMIT_INFLIGHT_MAX);
	EXPECT_EQ(20, OK("max_inflight_messages", "20",
			 KMQTT_LIMIT_MAX_INFLIGHT));
	EXPECT_EQ(KMQTT_LIMIT_PACKET_SIZE_MAX, OK("max_packet_size", "0",
					     KMQTT_LIMIT_MAX_PACKET_SIZE));
	/* 0 is "no limit" in the module too */
	EXPECT_EQ(0, OK("message_size_limit", "0", KMQTT_LIMIT_MESSAGE_SIZE));
}

/* Payload bytes, its own limit: not turned into a packet size. */
TEST(message_size_limit_is_payload_bytes)
{
	EXPECT_EQ(100, OK("message_size_limit", "100",
			  KMQTT_LIMIT_MESSAGE_SIZE));
	EXPECT_EQ(268435455, OK("message_size_limit", "268435455",
				KMQTT_LIMIT_MESSAGE_SIZE));
	EXPECT_EQ(2, OK("max_packet_size", "2", KMQTT_LIMIT_MAX_PACKET_SIZE));
	EXPECT_STREQ("message_size_limit",
		     limits_name(KMQTT_LIMIT_MESSAGE_SIZE));
}

TEST(durations)
{
	EXPECT_EQ(3600, OK("persistent_client_expiration", "1h",
			   KMQTT_LIMIT_SESSION_EXPIRY));
	EXPECT_EQ(2 * 86400, OK("persistent_client_expiration", "2d",
				KMQTT_LIMIT_SESSION_EXPIRY));
	EXPECT_EQ(14 * 86400, OK("persistent_client_expiration", "2w",
				 KMQTT_LIMIT_SESSION_EXPIRY));
	EXPECT_EQ(30 * 86400, OK("persistent_client_expiration", "1m",
				 KMQTT_LIMIT_SESSION_EXPIRY));
	EXPECT_EQ(365 * 86400, OK("persistent_client_expiration", "1y",
				  KMQTT_LIMIT_SESSION_EXPIRY));
	EXPECT_EQ(0, OK("persistent_client_expiration", "0h",
			KMQTT_LIMIT_SESSION_EXPIRY));
	/* 136 years is the most a u32 of seconds holds */
	EXPECT_EQ(136ULL * 365 * 86400, OK("persistent_client_expiration",
					   "136y", KMQTT_LIMIT_SESSION_EXPIRY));
}

TEST(switches)
{
	EXPECT_EQ(1, OK("retain_available", "true",
			KMQTT_LIMIT_RETAIN_AVAILABLE));
	EXPECT_EQ(0, OK("retain_available", "false",
			KMQTT_LIMIT_RETAIN_AVAILABLE));
	EXPECT_EQ(1, OK("queue_qos0_messages", "true", KMQTT_LIMIT_QUEUE_QOS0));
	EXPECT_TRUE(limits_is_bool(KMQTT_LIMIT_QUEUE_QOS0));
	EXPECT_FALSE(limits_is_bool(KMQTT_LIMIT_MEMORY));
}

TEST(bad_values)
{
	INVALID("max_connections", "-2",
		"max_connections: \"-2\" is not a number from -1 or 0 to 4294967295");
	INVALID("max_connections", "4294967296",
		"max_connections: \"4294967296\" is not a number from -1 or 0 to 4294967295");
	INVALID("max_connections", "",
		"max_connections: \"\" is not a number from -1 or 0 to 4294967295");
	INVALID("max_connections", "10 20",
		"max_connections: \"10 20\" is not a number from -1 or 0 to 4294967295");
	INVALID("max_queued_messages", "1k",
		"max_queued_messages: \"1k\" is not a number from 0 to 4294967295");
	INVALID("max_queued_bytes", "18446744073709551616",
		"max_queued_bytes: \"18446744073709551616\" is not a number from 0 to 18446744073709551615");
	INVALID("max_inflight_messages", "65535",
		"max_inflight_messages: \"65535\" is not a number from 1 to 65534");
	INVALID("max_packet_size", "1",
		"max_packet_size: 1 is below the minimum, 2");
	INVALID("max_packet_size", "268435461",
		"max_packet_size: \"268435461\" is not a number from 2 to 268435460");
	INVALID("message_size_limit", "-1",
		"message_size_limit: \"-1\" is not a number from 0 to 268435455");
	INVALID("message_size_limit", "268435456",
		"message_size_limit: \"268435456\" is not a number from 0 to 268435455");
	INVALID("kmqtt_max_subscriptions", "0",
		"kmqtt_max_subscriptions: 0 is below the minimum, 1");
	INVALID("kmqtt_max_topic_levels", "0",
		"kmqtt_max_topic_levels: 0 is below the minimum, 1");
	INVALID("kmqtt_max_topic_levels", "1025",
		"kmqtt_max_topic_levels: \"1025\" is not a number from 1 to 1024");
	INVALID("kmqtt_max_topic_levels", "-1",
		"kmqtt_max_topic_levels: \"-1\" is not a number from 1 to 1024");
	INVALID("retain_available", "yes",
		"retain_available: \"yes\" is neither true nor false");
	INVALID("persistent_client_expiration", "5",
		"persistent_client_expiration: \"5\" is not a duration like 12h, 2d, 1w, 1m or 1y (at most 4294967295 seconds)");
	INVALID("persistent_client_expiration", "5s",
		"persistent_client_expiration: \"5s\" is not a duration like 12h, 2d, 1w, 1m or 1y (at most 4294967295 seconds)");
	INVALID("persistent_client_expiration", "d",
		"persistent_client_expiration: \"d\" is not a duration like 12h, 2d, 1w, 1m or 1y (at most 4294967295 seconds)");
	INVALID("persistent_client_expiration", "-1d",
		"persistent_client_expiration: \"-1d\" is not a duration like 12h, 2d, 1w, 1m or 1y (at most 4294967295 seconds)");
	INVALID("persistent_client_expiration", "137y",
		"persistent_client_expiration: \"137y\" is not a duration like 12h, 2d, 1w, 1m or 1y (at most 4294967295 seconds)");
}

TEST(unknown_names)
{
	struct kmqtt_nl_limits l = { 0 };
	char err[64] = "";

	EXPECT_EQ(LIMITS_UNKNOWN, limits_parse("max_inflight", "1", &l, err,
					       sizeof(err)));
	EXPECT_EQ(LIMITS_UNKNOWN, limits_parse("listener", "1883", &l, err,
					       sizeof(err)));
	EXPECT_EQ(0, l.mask);
}

/* Every kernel limit has a name, and that name parses back to it. */
TEST(every_limit_has_a_directive)
{
	struct kmqtt_nl_limits l;
	char err[256];
	int id;

	for (id = KMQTT_LIMIT_MAX_CONNECTIONS; id <= KMQTT_LIMIT_MAX; id++) {
		const char *name = limits_name(id);

		ASSERT_NE(NULL, name) TH_LOG("limit %d", id);
		memset(&l, 0, sizeof(l));
		limits_parse(name, limits_is_bool(id) ? "true" : "1h", &l, err,
			     sizeof(err));
		/* "1h" is valid only for the duration; the name still maps */
		if (!l.mask)
			limits_parse(name, "100", &l, err, sizeof(err));
		EXPECT_EQ(KMQTT_NL_LIMIT_BIT(id), l.mask) TH_LOG("%s", name);
	}
	EXPECT_STREQ("max_inflight_messages",
		     limits_name(KMQTT_LIMIT_MAX_INFLIGHT));
	EXPECT_STREQ("max_packet_size", limits_name(KMQTT_LIMIT_MAX_PACKET_SIZE));
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * Topic filter matching (MQTT 3.1.1 section 4.7), one variant per filter:
 * every topic is published, and the subscriber must receive exactly the
 * matching ones, in order, and then a sentinel.  The sentinel topic starts
 * with '$' so that no wildcard filter of the table matches it (MQTT-4.7.2-1).
 */
#include <string.h>
#include <unistd.h>

#include "broker.h"
#include "kselftest_harness.h"
#include "mqtt_client.h"

#define SENTINEL	"$kmqtt-test/sentinel"
#define MAX_TOPICS	8

FIXTURE(wildcard)
{
	struct broker broker;
	int pub, sub;
};

FIXTURE_VARIANT(wildcard)
{
	const char *filter;
	const char *match[MAX_TOPICS];
	const char *no_match[MAX_TOPICS];
};

/* 4.7.1.3: '+' matches exactly one level. */
FIXTURE_VARIANT_ADD(wildcard, plus_single_level)
{
	.filter = "sport/tennis/+",
	.match = { "sport/tennis/player1", "sport/tennis/player2" },
	.no_match = { "sport/tennis/player1/ranking", "sport/tennis",
		      "sport/tennis2/x", "Sport/tennis/x" },
};

/* 4.7.1.3: "sport/+" does not match "sport" but matches "sport/". */
FIXTURE_VARIANT_ADD(wildcard, plus_empty_level)
{
	.filter = "sport/+",
	.match = { "sport/", "sport/x" },
	.no_match = { "sport", "sport/x/", "sport/x/y" },
};

/* An empty level in the middle is a level too. */
FIXTURE_VARIANT_ADD(wildcard, plus_matches_empty_middle_level)
{
	.filter = "a/+/c",
	.match = { "a//c", "a/b/c" },
	.no_match = { "a/c", "a/b/b/c", "a/b/c/" },
};

/* 4.7.1.3: "+/+" and "/+" match "/finance", a leading empty level. */
FIXTURE_VARIANT_ADD(wildcard, plus_plus_leading_slash)
{
	.filter = "+/+",
	.match = { "/finance", "a/b", "/" },
	.no_match = { "finance", "a/b/c" },
};

FIXTURE_VARIANT_ADD(wildcard, slash_plus)
{
	.filter = "/+",
	.match = { "/finance", "/" },
	.no_match = { "finance", "a/finance", "/a/b" },
};

/* 4.7.1.3: "+" alone does not match "/finance" (two levels). */
FIXTURE_VARIANT_ADD(wildcard, plus_alone)
{
	.filter = "+",
	.match = { "finance", "x" },
	.no_match = { "/finance", "finance/", "a/b" },
};

/* 4.7.1.2: '#' matches the parent and any number of child levels. */
FIXTURE_VARIANT_ADD(wildcard, hash_multi_level_and_parent)
{
	.filter = "sport/tennis/player1/#",
	.match = { "sport/tennis/player1", "sport/tennis/player1/ranking",
		   "sport/tennis/player1/score/wimbledon",
		   "sport/tennis/player1/" },
	.no_match = { "sport/tennis/player2", "sport/tennis",
		      "sport/tennis/player10" },
};

/* 4.7.1.2: '#' alone matches every topic not starting with '$'. */
FIXTURE_VARIANT_ADD(wildcard, hash_alone)
{
	.filter = "#",
	.match = { "a", "a/b/c", "/", "/x" },
	.no_match = { "$SYS/x", "$SYS", "$other" },
};

FIXTURE_VARIANT_ADD(wildcard, plus_then_hash)
{
	.filter = "+/tennis/#",
	.match = { "sport/tennis", "sport/tennis/x/y", "/tennis" },
	.no_match = { "sport/football", "tennis", "a/b/tennis" },
};

/* Without wildcards the match is exact and case sensitive (4.7.3). */
FIXTURE_VARIANT_ADD(wildcard, exact)
{
	.filter = "ACCOUNTS/x",
	.match = { "ACCOUNTS/x" },
	.no_match = { "Accounts/x", "ACCOUNTS/x/", "ACCOUNTS", "/ACCOUNTS/x",
		      "ACCOUNTS/xy" },
};

/* MQTT-4.7.2-1: a leading wildcard does not match a '$' topic... */
FIXTURE_VARIANT_ADD(wildcard, plus_does_not_match_dollar)
{
	.filter = "+/x",
	.match = { "a/x", "/x" },
	.no_match = { "$SYS/x", "$app/x" },
};

/*
 * ...but a filter naming the '$' level does.  Not "$SYS", which clients
 * may not publish on (kernel/sys_topics has the broker publish there).
 */
FIXTURE_VARIANT_ADD(wildcard, dollar_hash)
{
	.filter = "$ops/#",
	.match = { "$ops/x", "$ops", "$ops/a/b" },
	.no_match = { "ops/x", "$opsx/x" },
};

/* Mosquitto keeps $SYS for itself: this one lets it check the rule too. */
FIXTURE_VARIANT_ADD(wildcard, dollar_app_plus)
{
	.filter = "$app/+",
	.match = { "$app/x" },
	.no_match = { "$app/x/y", "app/x" },
};

FIXTURE_SETUP(wildcard)
{
	ASSERT_EQ(0, broker_start(&self->broker));
	self->pub = mqtt_client_open(self->broker.port, "pub", 0);
	ASSERT_LE(0, self->pub);
	self->sub = mqtt_client_open(self->broker.port, "sub", 0);
	ASSERT_LE(0, self->sub);
}

FIXTURE_TEARDOWN(wildcard)
{
	close(self->pub);
	close(self->sub);
	broker_stop(&self->broker, !_metadata->passed);
}

TEST_F(wildcard, delivers_exactly_the_matching_topics)
{
	int i;

	ASSERT_EQ(0, mqtt_subscribe(self->sub, 1, variant->filter));
	ASSERT_EQ(0, mqtt_subscribe(self->sub, 2, SENTINEL));
	/* Interleave matching and non-matching topics. */
	for (i = 0; i < MAX_TOPICS; i++) {
		if (variant->no_match[i])
			ASSERT_EQ(0, mqtt_send_publish(self->pub,
						       variant->no_match[i],
						       "no", 2));
		if (variant->match[i])
			ASSERT_EQ(0, mqtt_send_publish(self->pub,
						       variant->match[i],
						       "yes", 3));
	}
	ASSERT_EQ(0, mqtt_send_publish(self->pub, SENTINEL, "end", 3));
	for (i = 0; i < MAX_TOPICS && variant->match[i]; i++)
		ASSERT_EQ(0, mqtt_expect_publish(self->sub, variant->match[i],
						 "yes", 3))
			TH_LOG("filter '%s'", variant->filter);
	ASSERT_EQ(0, mqtt_expect_publish(self->sub, SENTINEL, "end", 3))
		TH_LOG("filter '%s' got a topic it must not match",
		       variant->filter);
}

TEST_HARNESS_MAIN

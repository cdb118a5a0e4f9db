// SPDX-License-Identifier: GPL-2.0
/*
 * The module's tracepoints (issue 15), read through tracefs as an
 * operator's tools read them: a connection's attach, its packets, a
 * message's fan-out, a drop with its reason and the close with its
 * reason, each naming the connection and client.  The events go to a
 * trace instance of the test's own, so nothing else on the box sees or
 * disturbs them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "direct.h"
#include "kfile.h"
#include "kmqtt_genl.h"
#include "kmsg.h"
#include "kselftest_harness.h"
#include "mqtt_client.h"

#define TRACEFS		"/sys/kernel/tracing"
#define INSTANCE	TRACEFS "/instances/kmqtt-selftest"
#define TRACE_WAIT_MS	5000

#define SKIP_WITHOUT_TRACEFS()						\
	do {								\
		if (!self->instance)					\
			SKIP(return, "no tracefs: a kernel without event tracing"); \
	} while (0)

static const struct mqtt_pub_opts qos0 = { 0 };

/* Mounted where the VM or the host left it, or mounted here. */
static bool tracefs_ready(void)
{
	if (access(TRACEFS "/events", F_OK) &&
	    mount("tracefs", TRACEFS, "tracefs", 0, NULL))
		return false;
	return !access(TRACEFS "/events", F_OK);
}

/* All of the instance's trace so far, NUL-terminated, or NULL. */
static char *trace_text(void)
{
	size_t len = 0, room = 65536;
	char *text = malloc(room), *more;
	ssize_t n;
	int fd;

	fd = open(INSTANCE "/trace", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || !text) {
		if (fd >= 0)
			close(fd);
		free(text);
		return NULL;
	}
	while ((n = read(fd, text + len, room - len - 1)) > 0) {
		len += n;
		if (room - len > 1)
			continue;
		more = realloc(text, room * 2);
		if (!more)
			break;
		text = more;
		room *= 2;
	}
	close(fd);
	text[len] = '\0';
	return text;
}

/* Whether a line of @text holds @needle, and @also after it (if set). */
static bool trace_has(const char *text, const char *needle, const char *also)
{
	const char *at, *eol;

	for (at = strstr(text, needle); at; at = strstr(at + 1, needle)) {
		eol = strchrnul(at, '\n');
		if (!also || memmem(at, eol - at, also, strlen(also)))
			return true;
	}
	return false;
}

/* How many times @needle stands in the trace, or -1 without one. */
static int trace_count(const char *needle)
{
	char *text = trace_text();
	const char *at;
	int n = 0;

	if (!text)
		return -1;
	for (at = strstr(text, needle); at; at = strstr(at + 1, needle))
		n++;
	free(text);
	return n;
}

/* Wait for a line of the trace holding @needle, then @also: 0 or -errno. */
static int trace_wait(const char *needle, const char *also)
{
	int waited;

	for (waited = 0; waited < TRACE_WAIT_MS; waited += 20) {
		char *text = trace_text();
		bool found;

		if (!text)
			return -errno;
		found = trace_has(text, needle, also);
		free(text);
		if (found)
			return 0;
		usleep(20000);
	}
	fprintf(stderr, "# no trace line with: %s%s%s\n", needle,
		also ? " ... " : "", also ? also : "");
	return -ETIMEDOUT;
}

FIXTURE(trace)
{
	struct kmqtt_genl genl;
	struct direct direct;
	uint64_t limits[KMQTT_LIMIT_MAX + 1];
	int kmsg;
	bool instance;
};

FIXTURE_SETUP(trace)
{
	self->kmsg = kmsg_open();
	ASSERT_LE(0, self->kmsg);
	ASSERT_EQ(0, kmqtt_genl_open(&self->genl));
	ASSERT_EQ(0, kmqtt_genl_get_limits(&self->genl, self->limits));
	ASSERT_EQ(0, direct_open(&self->direct));
	/* Without: each test skips (SKIP here would not stop them). */
	if (!tracefs_ready())
		return;
	/* The module is loaded: its events must be there. */
	ASSERT_EQ(0, access(TRACEFS "/events/kmqtt", F_OK));
	rmdir(INSTANCE);	/* one a killed run left behind */
	ASSERT_EQ(0, mkdir(INSTANCE, 0700));
	self->instance = true;
	ASSERT_EQ(0, kfile_write(INSTANCE "/events/kmqtt/enable", "1"));
}

FIXTURE_TEARDOWN(trace)
{
	if (self->instance) {
		EXPECT_EQ(0, kfile_write(INSTANCE "/events/kmqtt/enable", "0"));
		EXPECT_EQ(0, rmdir(INSTANCE));
	}
	EXPECT_EQ(0, kmqtt_genl_set_limits(&self->genl, self->limits,
					   KMQTT_GENL_ALL_LIMITS));
	direct_close(&self->direct);
	kmqtt_genl_close(&self->genl);
	EXPECT_EQ(0, kmsg_problems(self->kmsg));
}

/* Attach, SUBSCRIBE, PUBLISH, fan-out, DISCONNECT: each leaves its line. */
TEST_F(trace, a_connection_life_in_the_trace)
{
	uint64_t sub_id = 0, pub_id = 0;
	char line[256];
	int sub, pub;

	SKIP_WITHOUT_TRACEFS();
	sub = direct_client(&self->direct, &self->genl, "trace-sub", true,
			    &sub_id, NULL);
	ASSERT_LE(0, sub);
	pub = direct_client(&self->direct, &self->genl, "trace-pub", true,
			    &pub_id, NULL);
	ASSERT_LE(0, pub);
	ASSERT_EQ(0, mqtt_subscribe(sub, 1, "trace/#"));
	ASSERT_EQ(0, mqtt_publish(pub, "trace/t", "hello", &qos0));
	ASSERT_EQ(0, mqtt_expect_message(sub, "trace/t", "hello", &qos0));
	ASSERT_EQ(0, mqtt_send_disconnect(pub));
	close(pub);

	snprintf(line, sizeof(line),
		 "kmqtt_conn_attach: conn=%ju client=trace-sub peer=127.0.0.1:",
		 (uintmax_t)sub_id);
	EXPECT_EQ(0, trace_wait(line, NULL));
	snprintf(line, sizeof(line), "kmqtt_packet_in: conn=%ju type=SUBSCRIBE",
		 (uintmax_t)sub_id);
	EXPECT_EQ(0, trace_wait(line, NULL));
	EXPECT_EQ(1, trace_count(line));
	/* 2 + 2 + "trace/t" + "hello": the fixed header counts too. */
	snprintf(line, sizeof(line),
		 "kmqtt_packet_in: conn=%ju type=PUBLISH len=16",
		 (uintmax_t)pub_id);
	EXPECT_EQ(0, trace_wait(line, NULL));
	EXPECT_EQ(1, trace_count(line));
	EXPECT_EQ(0, trace_wait("kmqtt_fanout: client=trace-pub topic=trace/t qos=0 len=",
				"matched=1 missed=0"));
	snprintf(line, sizeof(line),
		 "kmqtt_conn_close: conn=%ju client=trace-pub reason=disconnect msgs_in=1 msgs_out=0",
		 (uintmax_t)pub_id);
	EXPECT_EQ(0, trace_wait(line, NULL));
	close(sub);
	snprintf(line, sizeof(line),
		 "kmqtt_conn_close: conn=%ju client=trace-sub reason=peer msgs_in=0 msgs_out=1",
		 (uintmax_t)sub_id);
	EXPECT_EQ(0, trace_wait(line, NULL));
}

/* A message over message_size_limit: dropped, and the trace says why. */
TEST_F(trace, a_drop_names_client_and_reason)
{
	uint64_t before, after;
	int pub;

	SKIP_WITHOUT_TRACEFS();
	ASSERT_EQ(0, kmqtt_genl_get_stat(&self->genl,
					 KMQTT_STAT_DROPPED_TOO_LARGE, &before));
	ASSERT_EQ(0, kmqtt_genl_set_limit(&self->genl,
					  KMQTT_LIMIT_MESSAGE_SIZE, 4));
	pub = direct_client(&self->direct, &self->genl, "trace-big", true,
			    NULL, NULL);
	ASSERT_LE(0, pub);
	ASSERT_EQ(0, mqtt_publish(pub, "trace/big", "too large", &qos0));
	ASSERT_EQ(0, mqtt_sync(pub));
	EXPECT_EQ(0, trace_wait("kmqtt_drop: client=trace-big reason=too_large count=1",
				NULL));
	/* One event for each count. */
	EXPECT_EQ(1, trace_count("client=trace-big reason=too_large"));
	ASSERT_EQ(0, kmqtt_genl_get_stat(&self->genl,
					 KMQTT_STAT_DROPPED_TOO_LARGE, &after));
	EXPECT_EQ(before + 1, after);
	close(pub);
}

/* A topic may hold a newline (UTF-8 allows it): it writes no line. */
TEST_F(trace, control_characters_cannot_forge_lines)
{
	int pub;

	SKIP_WITHOUT_TRACEFS();
	pub = direct_client(&self->direct, &self->genl, "trace-forger", true,
			    NULL, NULL);
	ASSERT_LE(0, pub);
	ASSERT_EQ(0, mqtt_publish(pub, "trace/a\nkmqtt_conn_close: forged\x7f",
				  "x", &qos0));
	ASSERT_EQ(0, mqtt_sync(pub));
	EXPECT_EQ(0, trace_wait("topic=trace/a?kmqtt_conn_close: forged? qos=0",
				NULL));
	EXPECT_EQ(0, trace_count("\nkmqtt_conn_close: forged"));
	close(pub);
}

/*
 * perf and bpftrace read the reasons' names from the format file: the
 * enum values must be numbers there (TRACE_DEFINE_ENUM), not symbols.
 */
TEST_F(trace, formats_give_reasons_as_numbers)
{
	char format[8192];

	SKIP_WITHOUT_TRACEFS();
	ASSERT_EQ(0, kfile_read(TRACEFS "/events/kmqtt/kmqtt_conn_close/format",
				format, sizeof(format)));
	EXPECT_NE(NULL, strstr(format, "{ 0, \"disconnect\" }"));
	EXPECT_EQ(NULL, strstr(format, "KMQTT_CLOSE_"));
	ASSERT_EQ(0, kfile_read(TRACEFS "/events/kmqtt/kmqtt_drop/format",
				format, sizeof(format)));
	EXPECT_NE(NULL, strstr(format, "\"too_large\" }"));
	EXPECT_EQ(NULL, strstr(format, "KMQTT_DROP_"));
}

TEST_HARNESS_MAIN

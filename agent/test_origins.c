// SPDX-License-Identifier: GPL-2.0
/* Tests of agent/origins.c: which listener each session attached through. */
#include <stdio.h>
#include <string.h>

#include "origins.h"
#include "kselftest_harness.h"

FIXTURE(origins) {
	struct origins o;
};

FIXTURE_SETUP(origins)
{
	origins_init(&self->o);
}

FIXTURE_TEARDOWN(origins)
{
	origins_fini(&self->o);
}

TEST_F(origins, set_get_replace)
{
	EXPECT_EQ(NULL, origins_get(&self->o, "c"));
	ASSERT_EQ(0, origins_set(&self->o, "c", "1883 *", 1, false));
	EXPECT_STREQ("1883 *", origins_get(&self->o, "c"));
	/* it connects again through another listener */
	ASSERT_EQ(0, origins_set(&self->o, "c", "1884 *", 2, false));
	EXPECT_STREQ("1884 *", origins_get(&self->o, "c"));
	EXPECT_EQ(1, self->o.count);
	EXPECT_EQ(NULL, origins_get(&self->o, "d"));
}

/* A clean session is gone with its connection, unless taken over. */
TEST_F(origins, closed_clean_session_forgotten)
{
	ASSERT_EQ(0, origins_set(&self->o, "clean", "l", 1, true));
	ASSERT_EQ(0, origins_set(&self->o, "kept", "l", 2, false));
	origins_closed(&self->o, "kept", 2);
	EXPECT_STREQ("l", origins_get(&self->o, "kept"));
	ASSERT_EQ(0, origins_set(&self->o, "clean", "l", 3, true));
	origins_closed(&self->o, "clean", 1);	/* the old connection */
	EXPECT_STREQ("l", origins_get(&self->o, "clean"));
	origins_closed(&self->o, "clean", 3);
	EXPECT_EQ(NULL, origins_get(&self->o, "clean"));
	EXPECT_EQ(1, self->o.count);
}

/* A sweep forgets what was neither set nor marked since the last one. */
TEST_F(origins, sweep_forgets_unmarked)
{
	ASSERT_EQ(0, origins_set(&self->o, "a", "l", 1, false));
	ASSERT_EQ(0, origins_set(&self->o, "b", "l", 2, false));
	origins_sweep(&self->o);		/* both new: kept */
	EXPECT_EQ(2, self->o.count);
	origins_mark(&self->o, "a");
	origins_mark(&self->o, "nobody");
	origins_sweep(&self->o);
	EXPECT_STREQ("l", origins_get(&self->o, "a"));
	EXPECT_EQ(NULL, origins_get(&self->o, "b"));
	origins_sweep(&self->o);
	EXPECT_EQ(0, self->o.count);
}

/* Many entries: the table grows and finds every one. */
TEST_F(origins, many)
{
	char id[32], listener[32];
	int i;

	for (i = 0; i < 5000; i++) {
		snprintf(id, sizeof(id), "client-%d", i);
		snprintf(listener, sizeof(listener), "%d *", 1000 + i % 7);
		ASSERT_EQ(0, origins_set(&self->o, id, listener, i, i % 2));
	}
	EXPECT_EQ(5000, self->o.count);
	for (i = 0; i < 5000; i++) {
		snprintf(id, sizeof(id), "client-%d", i);
		snprintf(listener, sizeof(listener), "%d *", 1000 + i % 7);
		ASSERT_STREQ(listener, origins_get(&self->o, id));
		origins_closed(&self->o, id, i);
	}
	EXPECT_EQ(2500, self->o.count);
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0
/* Tests of agent/notify.c: what systemd's notify socket receives. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "notify.h"
#include "kselftest_harness.h"

FIXTURE(notify) {
	int fd;
	char name[64];
};

FIXTURE_SETUP(notify)
{
	self->fd = -1;
	unsetenv("NOTIFY_SOCKET");
}

FIXTURE_TEARDOWN(notify)
{
	if (self->fd >= 0)
		close(self->fd);
	if (self->name[0] == '/')
		unlink(self->name);
	unsetenv("NOTIFY_SOCKET");
}

/* A datagram socket bound to @name ('@': abstract), as systemd's is. */
static int manager_socket(const char *name)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t len = strlen(name);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memcpy(sun.sun_path, name, len);
	if (name[0] == '@')
		sun.sun_path[0] = '\0';
	if (bind(fd, (struct sockaddr *)&sun,
		 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The next datagram, NUL-terminated, or "" when none is waiting. */
static const char *received(int fd)
{
	static char buf[256];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

TEST_F(notify, no_manager_nothing_sent)
{
	EXPECT_EQ(0, notify_manager("READY=1"));
	setenv("NOTIFY_SOCKET", "", 1);
	EXPECT_EQ(0, notify_manager("READY=1"));
}

TEST_F(notify, states_reach_a_path_socket)
{
	snprintf(self->name, sizeof(self->name), "/tmp/kmqtt-notify-%d",
		 getpid());
	unlink(self->name);
	self->fd = manager_socket(self->name);
	ASSERT_LE(0, self->fd);
	setenv("NOTIFY_SOCKET", self->name, 1);
	ASSERT_EQ(0, notify_manager("READY=1"));
	EXPECT_STREQ("READY=1", received(self->fd));
	ASSERT_EQ(0, notify_manager("RELOADING=1"));
	ASSERT_EQ(0, notify_manager("READY=1"));
	EXPECT_STREQ("RELOADING=1", received(self->fd));
	EXPECT_STREQ("READY=1", received(self->fd));
	EXPECT_STREQ("", received(self->fd));
}

TEST_F(notify, states_reach_an_abstract_socket)
{
	snprintf(self->name, sizeof(self->name), "@kmqtt-notify-%d", getpid());
	self->fd = manager_socket(self->name);
	ASSERT_LE(0, self->fd);
	setenv("NOTIFY_SOCKET", self->name, 1);
	ASSERT_EQ(0, notify_manager("STOPPING=1"));
	EXPECT_STREQ("STOPPING=1", received(self->fd));
}

TEST_F(notify, bad_or_absent_socket_is_an_error)
{
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	EXPECT_EQ(-EINVAL, notify_manager("READY=1"));
	setenv("NOTIFY_SOCKET", "/nonexistent/kmqtt-notify", 1);
	EXPECT_EQ(-ENOENT, notify_manager("READY=1"));
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loopback.h"

static struct sockaddr_in loopback_addr(uint16_t port)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};

	return sin;
}

int loopback_listen(uint16_t *port)
{
	struct sockaddr_in sin = loopback_addr(*port);
	socklen_t len = sizeof(sin);
	int one = 1;
	int fd, err;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    listen(fd, 64) ||
	    getsockname(fd, (struct sockaddr *)&sin, &len)) {
		err = -errno;
		close(fd);
		return err;
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

int loopback_free_port(uint16_t *port)
{
	int fd;

	*port = 0;
	fd = loopback_listen(port);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

int loopback_connect(uint16_t port, int timeout_ms)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	return fd < 0 ? -errno : loopback_connect_fd(fd, port, timeout_ms);
}

int loopback_connect_fd(int fd, uint16_t port, int timeout_ms)
{
	struct sockaddr_in sin = loopback_addr(port);
	struct pollfd pfd;
	socklen_t len = sizeof(int);
	int err = 0, flags;

	/* Non-blocking connect so that the timeout bounds it. */
	flags = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) && errno != EINPROGRESS) {
		err = -errno;
		goto fail;
	}
	pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
	err = poll(&pfd, 1, timeout_ms);
	if (err <= 0) {
		err = err ? -errno : -ETIMEDOUT;
		goto fail;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) || err) {
		err = err ? -err : -errno;
		goto fail;
	}
	fcntl(fd, F_SETFL, flags);
	return fd;
fail:
	close(fd);
	return err;
}

int loopback_accept(int listen_fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = listen_fd, .events = POLLIN };
	int ret, fd;

	ret = poll(&pfd, 1, timeout_ms);
	if (ret <= 0)
		return ret ? -errno : -ETIMEDOUT;
	fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

void loopback_reset(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

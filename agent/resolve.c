// SPDX-License-Identifier: GPL-2.0
/*
 * Host names looked up in a child process (resolve.h).
 */
#define _GNU_SOURCE		/* close_range(), pipe2() */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "resolve.h"

/* What the child writes, in one write() that a pipe keeps whole. */
struct resolve_result {
	int32_t gai;			/* getaddrinfo()'s code; 0: found */
	int32_t err;			/* errno, for EAI_SYSTEM */
	uint32_t len;
	struct sockaddr_storage addr;
};

static int lookup(const char *host, const char *port, int flags,
		  struct resolve_result *res)
{
	struct addrinfo hints = {
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICSERV | flags,
	}, *ai;

	memset(res, 0, sizeof(*res));
	res->gai = getaddrinfo(host, port, &hints, &ai);
	res->err = errno;
	if (res->gai)
		return res->gai;
	res->len = ai->ai_addrlen;
	memcpy(&res->addr, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	return 0;
}

static void describe(const struct resolve_result *res, char *why,
		     size_t whylen)
{
	snprintf(why, whylen, "%s", res->gai == EAI_SYSTEM ?
		 strerror(res->err) : gai_strerror(res->gai));
}

static void child(int out, pid_t parent, const char *host, const char *port)
{
	struct resolve_result res;
	ssize_t n;

	/* Not outliving kmqttd, nor keeping its clients' sockets open. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
		_exit(1);
	if (out > 3)
		close_range(3, out - 1, 0);
	close_range(out + 1, ~0U, 0);
	lookup(host, port, 0, &res);
	n = write(out, &res, sizeof(res));
	_exit(n == sizeof(res) ? 0 : 1);
}

int resolve_start(struct resolve *r, const char *host, const char *port,
		  struct sockaddr_storage *addr, socklen_t *len, char *why,
		  size_t whylen)
{
	struct resolve_result res;
	pid_t parent = getpid();
	int fds[2], err;

	r->pid = 0;
	r->fd = -1;
	if (!lookup(host, port, AI_NUMERICHOST, &res)) {
		memcpy(addr, &res.addr, res.len);
		*len = res.len;
		return 1;
	}
	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK)) {
		err = errno;
		snprintf(why, whylen, "pipe: %s", strerror(err));
		return -err;
	}
	/* What the log holds goes out once, not once per process. */
	fflush(NULL);
	r->pid = fork();
	if (r->pid < 0) {
		err = errno;
		close(fds[0]);
		close(fds[1]);
		r->pid = 0;
		snprintf(why, whylen, "fork: %s", strerror(err));
		return -err;
	}
	if (!r->pid)
		child(fds[1], parent, host, port);
	close(fds[1]);
	r->fd = fds[0];
	return 0;
}

int resolve_finish(struct resolve *r, struct sockaddr_storage *addr,
		   socklen_t *len, char *why, size_t whylen)
{
	struct resolve_result res;
	ssize_t n = read(r->fd, &res, sizeof(res));

	/* Done writing: it exits at once. */
	waitpid(r->pid, NULL, 0);
	r->pid = 0;
	if (n != sizeof(res)) {
		snprintf(why, whylen, "the name lookup failed");
		return -1;
	}
	if (res.gai) {
		describe(&res, why, whylen);
		return -1;
	}
	if (res.len > sizeof(*addr)) {
		snprintf(why, whylen, "the name lookup failed");
		return -1;
	}
	memcpy(addr, &res.addr, res.len);
	*len = res.len;
	return 0;
}

void resolve_cancel(struct resolve *r)
{
	if (!r->pid)
		return;
	kill(r->pid, SIGKILL);
	waitpid(r->pid, NULL, 0);
	r->pid = 0;
}

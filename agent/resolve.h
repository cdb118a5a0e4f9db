/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A host name looked up without blocking kmqttd's loop: getaddrinfo() in a
 * child process that writes the first address to a pipe.  A bridge's
 * remote behind a DNS server that does not answer (the uplink is down)
 * must not hold up the CONNECTs of local clients for the resolver's
 * timeouts.
 */
#ifndef KMQTTD_RESOLVE_H
#define KMQTTD_RESOLVE_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

struct resolve {
	pid_t pid;			/* the child; 0: none */
	int fd;				/* its pipe, readable once it is done */
};

/*
 * Look up @host, @port (a number) for a TCP connect.  An IP address needs
 * no lookup: 1 with it in @addr, @len.  Else 0: a lookup is under way,
 * wait for r->fd to be readable.  -errno with @why: none could start.
 */
int resolve_start(struct resolve *r, const char *host, const char *port,
		  struct sockaddr_storage *addr, socklen_t *len, char *why,
		  size_t whylen);

/*
 * The lookup's result, once r->fd is readable (or the child is gone): 0
 * with the first address, or -1 with @why.  The lookup is over either way;
 * the caller closes r->fd.
 */
int resolve_finish(struct resolve *r, struct sockaddr_storage *addr,
		   socklen_t *len, char *why, size_t whylen);

/* Stop a lookup under way (timed out); the caller closes r->fd. */
void resolve_cancel(struct resolve *r);

#endif /* KMQTTD_RESOLVE_H */

/* SPDX-License-Identifier: GPL-2.0 */
/* Printing socket addresses, shared by kmqttd and kmqttctl. */
#ifndef KMQTTD_ADDR_H
#define KMQTTD_ADDR_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

/* "[" INET6_ADDRSTRLEN "]:" 5 digits and the NUL. */
#define ADDR_STR_MAX	(INET6_ADDRSTRLEN + 8)

/*
 * "IP:PORT", or "[IPv6]:PORT"; IPv4-mapped IPv6 addresses print as IPv4.
 * Anything else prints as "?".
 */
void addr_format(const struct sockaddr *sa, char out[ADDR_STR_MAX]);

/*
 * @s, a numeric IPv4 or IPv6 address (brackets allowed), with @port into
 * @ss and its size into @len.  Returns 0, or -1 when it is neither.
 */
int addr_parse(const char *s, uint16_t port, struct sockaddr_storage *ss,
	       socklen_t *len);

#endif /* KMQTTD_ADDR_H */

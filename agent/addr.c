// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

#include "addr.h"

void addr_format(const struct sockaddr *sa, char out[ADDR_STR_MAX])
{
	char ip[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
		snprintf(out, ADDR_STR_MAX, "%s:%u", ip, ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		/* A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d */
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], ip,
				  sizeof(ip));
			snprintf(out, ADDR_STR_MAX, "%s:%u", ip,
				 ntohs(in6->sin6_port));
		} else {
			inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
			snprintf(out, ADDR_STR_MAX, "[%s]:%u", ip,
				 ntohs(in6->sin6_port));
		}
	} else {
		snprintf(out, ADDR_STR_MAX, "?");
	}
}

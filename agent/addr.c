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

int addr_parse(const char *s, uint16_t port, struct sockaddr_storage *ss,
	       socklen_t *len)
{
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	char host[INET6_ADDRSTRLEN];
	size_t n = strlen(s);

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		*len = sizeof(*in);
		return 0;
	}
	/* "[::1]" as well as "::1" */
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']' && n - 2 < sizeof(host)) {
		memcpy(host, s + 1, n - 2);
		host[n - 2] = '\0';
		s = host;
	}
	if (inet_pton(AF_INET6, s, &in6->sin6_addr) != 1)
		return -1;
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(port);
	*len = sizeof(*in6);
	return 0;
}

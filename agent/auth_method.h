/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Enhanced authentication methods (MQTT 5.0 4.12), as the listener sees
 * them: a name, and steps that turn the Authentication Data a client
 * sends into the data to answer with and a verdict.  A method knows
 * nothing of sockets or packets, so that re-authentication (AUTH 0x19
 * after CONNACK) can drive the same steps later.  Adding one is a file
 * with its struct auth_method, and a line in auth.c offering it to the
 * clients of a policy (auth_method_for()).
 */
#ifndef KMQTTD_AUTH_METHOD_H
#define KMQTTD_AUTH_METHOD_H

#include <stddef.h>
#include <stdint.h>

/* Longest Authentication Method the listener looks up. */
#define AUTH_METHOD_NAME_MAX	64
/* Most Authentication Data a method answers with in one step. */
#define AUTH_METHOD_DATA_MAX	1024
/* Most AUTH packets a client sends after its CONNECT in one exchange. */
#define AUTH_METHOD_STEPS_MAX	4

enum auth_method_verdict {
	AUTH_METHOD_CONTINUE,	/* answer with AUTH 0x18, wait for the next */
	AUTH_METHOD_SUCCESS,	/* authenticated: CONNACK follows */
	AUTH_METHOD_FAIL,	/* not authorised */
};

struct auth_method_result {
	enum auth_method_verdict verdict;
	/*
	 * Continue: the next AUTH's Authentication Data; success: the
	 * CONNACK's, or none (@data_len 0).  The session's, valid until
	 * its next step or its end.
	 */
	const uint8_t *data;
	size_t data_len;
	const char *identity;	/* success: the user name, the session's */
	const char *reason;	/* fail: why, for the log */
};

struct auth_method {
	const char *name;	/* the Authentication Method, as sent */
	/*
	 * Begin an exchange under @config (the method's settings, owned by
	 * the configuration: copy what later steps need, a reload may free
	 * it) with the client's first Authentication Data (CONNECT's; none
	 * is @len 0).  *@session is what end() frees, possibly NULL.
	 */
	void (*start)(const void *config, const uint8_t *data, size_t len,
		      void **session, struct auth_method_result *res);
	/* The client's next Authentication Data. */
	void (*step)(void *session, const uint8_t *data, size_t len,
		     struct auth_method_result *res);
	void (*end)(void *session);
};

#endif /* KMQTTD_AUTH_METHOD_H */

// SPDX-License-Identifier: GPL-2.0
#include <kmqtt/mqtt.h>

#include "auth.h"
#include "connect.h"

uint8_t auth_check(const struct connect_packet *c, void *arg)
{
	const struct auth_policy *policy = arg;

	/*
	 * HOOK(password_file): agent/passwd.c checks c->username and
	 * c->password here (MQTT_CONNACK_BAD_USERNAME_PASSWORD on mismatch).
	 * Without a password file Mosquitto lets any user name in.
	 */
	if (!c->has_username && !policy->allow_anonymous)
		return MQTT_CONNACK_NOT_AUTHORIZED;
	return MQTT_CONNACK_ACCEPTED;
}

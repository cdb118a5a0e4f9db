/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Who may attach: the listener_auth check kmqttd installs on every
 * listener.  Authentication settings are global, as with Mosquitto's
 * per_listener_settings false.
 */
#ifndef KMQTTD_AUTH_H
#define KMQTTD_AUTH_H

#include <stdbool.h>
#include <stdint.h>

struct connect_packet;

struct auth_policy {
	bool allow_anonymous;
};

/*
 * The listener_auth check; @arg is a struct auth_policy.  Returns
 * MQTT_CONNACK_ACCEPTED or the CONNACK return code to refuse with.
 */
uint8_t auth_check(const struct connect_packet *c, void *arg);

#endif /* KMQTTD_AUTH_H */

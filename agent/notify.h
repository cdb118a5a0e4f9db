/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The service manager's readiness protocol (sd_notify(3)), without
 * libsystemd: a datagram to $NOTIFY_SOCKET.  Outside systemd, or under
 * Type=simple, the variable is unset and nothing is sent.
 */
#ifndef KMQTTD_NOTIFY_H
#define KMQTTD_NOTIFY_H

/*
 * Send @state ("READY=1", "RELOADING=1", "STOPPING=1", "STATUS=...", one
 * or more lines): 0, -errno, or 0 when no manager listens.
 */
int notify_manager(const char *state);

#endif /* KMQTTD_NOTIFY_H */

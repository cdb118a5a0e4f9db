/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kmqttd's log on stderr, "TIME: message" like mosquitto.  Verbose lines
 * (connections, refusals, disconnections) only with -v or log_type;
 * warnings and errors always.
 * Credentials are never logged.
 */
#ifndef KMQTTD_LOG_H
#define KMQTTD_LOG_H

#include <stdbool.h>

void log_init(bool verbose);
void log_verbose(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* KMQTTD_LOG_H */

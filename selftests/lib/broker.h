/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Start and stop the broker under test as a child process.
 *
 * The broker is agent/kmqttd of this tree (or $KMQTTD).  For checking the
 * tests themselves on a host that cannot load kmqtt.ko, KMQTT_TEST_BROKER=
 * mosquitto runs the Mosquitto broker instead.
 */
#ifndef KMQTT_TEST_BROKER_H
#define KMQTT_TEST_BROKER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct broker {
	pid_t pid;
	uint16_t port;
	char log_path[64];	/* the broker's stdout and stderr */
	char conf_path[64];	/* the -c file, when started with one */
};

/* True unless KMQTT_TEST_BROKER names another broker. */
bool broker_is_kmqtt(void);
/* Start on a free port and wait for it to say it listens. 0 or -errno. */
int broker_start(struct broker *b);
/*
 * The same with a configuration file (-c) of these lines (Mosquitto
 * syntax, e.g. "max_connections 3\n"); anonymous clients are allowed.
 */
int broker_start_config(struct broker *b, const char *config);
/* Stop it; dump_log prints its output as TAP comments (for failures). */
void broker_stop(struct broker *b, bool dump_log);
/* Absolute path of a file of this source tree, from the test binary. */
const char *kmqtt_tree_path(const char *rel, char *buf, size_t size);
/*
 * Run the tree's kmqttctl with @args (shell words); its standard output
 * into @out (NUL-terminated, cut at @size - 1) unless @out is NULL.
 * Returns its exit status, -1 when it did not exit, or -errno.
 */
int kmqttctl_run(const char *args, char *out, size_t size);

/*
 * Replace the lines of the configuration file the broker was started
 * with (broker_start_config()), for a reload.  0 or -errno.
 */
int broker_rewrite_config(struct broker *b, const char *config);
/* Send sig to the broker (e.g. SIGHUP: reload).  0 or -errno. */
int broker_signal(struct broker *b, int sig);
/*
 * SIGKILL the broker and reap it; its log and configuration file stay,
 * for broker_restart().  0 or -errno.
 */
int broker_kill(struct broker *b);
/*
 * Start the broker again on the same port, with the same configuration
 * file if it had one, after broker_kill(); a new log replaces the old.
 */
int broker_restart(struct broker *b);
/* How many lines of the broker's log contain text now. */
int broker_log_lines(const struct broker *b, const char *text);
/*
 * Wait until at least n lines of the broker's log contain text: 0, or
 * -ETIMEDOUT after timeout_ms.
 */
int broker_wait_log(const struct broker *b, const char *text, int n,
		    int timeout_ms);

#endif

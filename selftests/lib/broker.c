// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"
#include "loopback.h"

#define BROKER_START_TIMEOUT_MS	10000
#define BROKER_STOP_TIMEOUT_MS	5000
#define BROKER_POLL_MS		10

bool broker_is_kmqtt(void)
{
	const char *kind = getenv("KMQTT_TEST_BROKER");

	return !kind || !strcmp(kind, "kmqttd");
}

const char *kmqtt_tree_path(const char *rel, char *buf, size_t size)
{
	char exe[PATH_MAX];
	ssize_t n;

	/* Test binaries live two levels down: selftests/kernel/NAME. */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		n = 0;
	exe[n] = '\0';
	snprintf(buf, size, "%s/../../%s", dirname(exe), rel);
	return buf;
}

int kmqttctl_run(const char *args, char *out, size_t size)
{
	char path[PATH_MAX], cmd[PATH_MAX + 256], sink[256];
	size_t n;
	int status;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "%s %s",
		 kmqtt_tree_path("tools/kmqttctl/kmqttctl", path, sizeof(path)),
		 args);
	f = popen(cmd, "r");
	if (!f)
		return -errno;
	if (out) {
		n = fread(out, 1, size - 1, f);
		out[n] = '\0';
	}
	/* Read to the end, so that it never blocks on a full pipe. */
	while (fread(sink, 1, sizeof(sink), f))
		;
	status = pclose(f);
	if (status < 0)
		return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void exec_broker(uint16_t port, const char *conf, int log_fd)
{
	char kmqttd[PATH_MAX], port_str[8];
	const char *path = getenv("KMQTTD");

	snprintf(port_str, sizeof(port_str), "%u", port);
	/* Die with the test, whatever kills it (harness timeout included). */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	dup2(log_fd, STDOUT_FILENO);
	dup2(log_fd, STDERR_FILENO);
	if (broker_is_kmqtt()) {
		if (!path)
			path = kmqtt_tree_path("agent/kmqttd", kmqttd,
					       sizeof(kmqttd));
		if (conf)
			execl(path, "kmqttd", "-c", conf, "-p", port_str,
			      (char *)NULL);
		else
			execl(path, "kmqttd", "-p", port_str, (char *)NULL);
	} else if (conf) {
		execlp("mosquitto", "mosquitto", "-c", conf, "-p", port_str,
		       (char *)NULL);
	} else {
		execlp("mosquitto", "mosquitto", "-p", port_str, (char *)NULL);
	}
	fprintf(stderr, "exec broker: %s\n", strerror(errno));
	_exit(127);
}

static bool log_says_ready(const char *path)
{
	/* kmqttd: "kmqttd: listening on ADDR:PORT"; mosquitto: "... running" */
	const char *ready = broker_is_kmqtt() ? "kmqttd: listening on" :
						" running";
	char line[512];
	bool found = false;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, ready);
	fclose(f);
	return found;
}

static void dump_log(const struct broker *b)
{
	char line[512];
	FILE *f;

	f = fopen(b->log_path, "r");
	if (!f)
		return;
	fprintf(stderr, "# broker output:\n");
	while (fgets(line, sizeof(line), f))
		fprintf(stderr, "#   %s%s", line,
			strchr(line, '\n') ? "" : "\n");
	fclose(f);
}

/* The broker's configuration file, on @fd (closed): @config's lines. */
static int fill_config(int fd, const char *config)
{
	FILE *f = fdopen(fd, "w");

	if (!f) {
		close(fd);
		return -errno;
	}
	fprintf(f, "allow_anonymous true\n%s", config);
	return fclose(f) ? -errno : 0;
}

static int write_config(struct broker *b, const char *config)
{
	int fd;

	snprintf(b->conf_path, sizeof(b->conf_path), "/tmp/kmqtt-conf.XXXXXX");
	fd = mkstemp(b->conf_path);
	if (fd < 0) {
		b->conf_path[0] = '\0';
		return -errno;
	}
	return fill_config(fd, config);
}

int broker_rewrite_config(struct broker *b, const char *config)
{
	int fd;

	if (!b->conf_path[0])
		return -ENOENT;
	fd = open(b->conf_path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	return fd < 0 ? -errno : fill_config(fd, config);
}

int broker_start(struct broker *b)
{
	return broker_start_config(b, NULL);
}

/*
 * Run the broker on b->port (with b->conf_path when set), its output in a
 * new log, and wait for it to say it listens.
 */
static int broker_spawn(struct broker *b)
{
	int log_fd, waited, status, err;

	snprintf(b->log_path, sizeof(b->log_path), "/tmp/kmqtt-broker.XXXXXX");
	log_fd = mkstemp(b->log_path);
	if (log_fd < 0) {
		b->log_path[0] = '\0';
		return -errno;
	}
	fflush(NULL);
	b->pid = fork();
	if (b->pid < 0) {
		err = -errno;
		close(log_fd);
		return err;
	}
	if (b->pid == 0)
		exec_broker(b->port, b->conf_path[0] ? b->conf_path : NULL,
			    log_fd);
	close(log_fd);

	for (waited = 0; waited < BROKER_START_TIMEOUT_MS;
	     waited += BROKER_POLL_MS) {
		if (log_says_ready(b->log_path))
			return 0;
		if (waitpid(b->pid, &status, WNOHANG) == b->pid) {
			fprintf(stderr, "# broker exited before listening (status %#x)\n",
				status);
			b->pid = -1;
			dump_log(b);
			return -ECHILD;
		}
		usleep(BROKER_POLL_MS * 1000);
	}
	fprintf(stderr, "# broker did not say it listens within %d ms\n",
		BROKER_START_TIMEOUT_MS);
	broker_stop(b, true);
	return -ETIMEDOUT;
}

int broker_start_config(struct broker *b, const char *config)
{
	int err;

	*b = (struct broker){ .pid = -1 };
	err = loopback_free_port(&b->port);
	if (err)
		return err;
	if (config) {
		err = write_config(b, config);
		if (err)
			return err;
	}
	return broker_spawn(b);
}

void broker_stop(struct broker *b, bool show_log)
{
	int waited, status;

	if (b->pid > 0) {
		kill(b->pid, SIGTERM);
		for (waited = 0; waited < BROKER_STOP_TIMEOUT_MS;
		     waited += BROKER_POLL_MS) {
			if (waitpid(b->pid, &status, WNOHANG) == b->pid)
				break;
			usleep(BROKER_POLL_MS * 1000);
		}
		if (waited >= BROKER_STOP_TIMEOUT_MS) {
			fprintf(stderr, "# broker ignored SIGTERM, killing it\n");
			kill(b->pid, SIGKILL);
			waitpid(b->pid, &status, 0);
		}
		b->pid = -1;
	}
	if (b->log_path[0]) {
		if (show_log)
			dump_log(b);
		unlink(b->log_path);
		b->log_path[0] = '\0';
	}
	if (b->conf_path[0]) {
		unlink(b->conf_path);
		b->conf_path[0] = '\0';
	}
}

int broker_signal(struct broker *b, int sig)
{
	if (b->pid <= 0)
		return -ESRCH;
	return kill(b->pid, sig) ? -errno : 0;
}

int broker_kill(struct broker *b)
{
	int status, err = broker_signal(b, SIGKILL);

	if (err)
		return err;
	if (waitpid(b->pid, &status, 0) != b->pid)
		return -errno;
	b->pid = -1;
	return 0;
}

int broker_restart(struct broker *b)
{
	if (b->pid > 0)
		return -EBUSY;
	if (b->log_path[0])
		unlink(b->log_path);
	return broker_spawn(b);
}

static int log_count(const char *path, const char *text)
{
	char line[512];
	int n = 0;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		n += !!strstr(line, text);
	fclose(f);
	return n;
}

int broker_log_lines(const struct broker *b, const char *text)
{
	return log_count(b->log_path, text);
}

int broker_wait_log(const struct broker *b, const char *text, int n,
		    int timeout_ms)
{
	int waited;

	for (waited = 0; waited < timeout_ms; waited += BROKER_POLL_MS) {
		if (log_count(b->log_path, text) >= n)
			return 0;
		usleep(BROKER_POLL_MS * 1000);
	}
	fprintf(stderr, "# broker log: fewer than %d lines with '%s' after %d ms\n",
		n, text, timeout_ms);
	return -ETIMEDOUT;
}

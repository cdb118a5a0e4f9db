// SPDX-License-Identifier: GPL-2.0
/*
 * kmqttd: the control plane of kmqtt.  Accepts MQTT connections, reads and
 * checks their CONNECT, and hands each accepted socket to kmqtt.ko, which
 * carries the session from there on.  Connections stay with the module
 * when kmqttd exits.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>

#include "listener.h"
#include "log.h"
#include "loop.h"
#include "nl.h"

#define DEFAULT_ADDR		"0.0.0.0"
#define DEFAULT_PORT		"1883"
#define DEFAULT_TIMEOUT_S	10
#define MAX_TIMEOUT_S		3600

struct agent {
	struct loop loop;
	struct kmqtt_nl nl;
	struct listener listener;
	struct loop_source signals;
	struct loop_source events;
	bool stop;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: kmqttd [-p PORT] [-b ADDR] [-v] [-t CONNECT_TIMEOUT_SECONDS]\n"
		"  -p PORT  TCP port to listen on (default " DEFAULT_PORT ")\n"
		"  -b ADDR  address to bind, IPv4 or IPv6 (default " DEFAULT_ADDR ")\n"
		"  -v       log connections and disconnections\n"
		"  -t SECS  close connections without CONNECT after SECS (default %d)\n",
		DEFAULT_TIMEOUT_S);
}

/* @s as an integer in [@min, @max], or -1. */
static long parse_number(const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	return v;
}

static void signals_handle(struct loop_source *src, uint32_t events)
{
	struct agent *a = container_of(src, struct agent, signals);
	struct signalfd_siginfo si;

	(void)events;
	if (read(src->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		log_verbose("kmqttd: %s, exiting.", strsignal((int)si.ssi_signo));
		a->stop = true;
	}
}

static void on_closed(const struct kmqtt_nl_closed *ev, void *arg)
{
	(void)arg;
	log_verbose("Client %s disconnected: %s", ev->client_id,
		    kmqtt_nl_close_reason_name(ev->reason));
}

static void events_handle(struct loop_source *src, uint32_t events)
{
	struct agent *a = container_of(src, struct agent, events);

	(void)events;
	if (kmqtt_nl_events_read(&a->nl))
		log_error("%s", a->nl.error);
}

/* SIGINT and SIGTERM arrive on a signalfd; SIGPIPE is not wanted at all. */
static int signals_open(struct agent *a)
{
	sigset_t mask;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &mask, NULL))
		return -errno;
	a->signals.fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (a->signals.fd < 0)
		return -errno;
	a->signals.handle = signals_handle;
	return loop_add(&a->loop, &a->signals, EPOLLIN);
}

static int run(struct agent *a, const char *addr, const char *port,
	       unsigned int timeout_s)
{
	char err[256];
	int rc;

	if (kmqtt_nl_open(&a->nl)) {
		fprintf(stderr, "kmqttd: %s\n", a->nl.error);
		return 1;
	}
	if (kmqtt_nl_subscribe(&a->nl, on_closed, NULL)) {
		fprintf(stderr, "kmqttd: %s\n", a->nl.error);
		goto err_nl;
	}
	rc = loop_init(&a->loop);
	if (rc) {
		fprintf(stderr, "kmqttd: epoll: %s\n", strerror(-rc));
		goto err_nl;
	}
	rc = signals_open(a);
	if (rc) {
		fprintf(stderr, "kmqttd: signals: %s\n", strerror(-rc));
		goto err_loop;
	}
	a->events = (struct loop_source){ .fd = kmqtt_nl_events_fd(&a->nl),
					  .handle = events_handle };
	rc = loop_add(&a->loop, &a->events, EPOLLIN);
	if (rc) {
		fprintf(stderr, "kmqttd: epoll: %s\n", strerror(-rc));
		goto err_signals;
	}
	if (listener_open(&a->listener, &a->loop, &a->nl, addr, port,
			  timeout_s, err, sizeof(err))) {
		fprintf(stderr, "kmqttd: %s\n", err);
		goto err_signals;
	}
	fprintf(stderr, "kmqttd: listening on %s\n", a->listener.name);

	while (!a->stop) {
		rc = loop_run_once(&a->loop, listener_timeout(&a->listener));
		if (rc < 0) {
			log_error("epoll_wait: %s", strerror(-rc));
			break;
		}
		listener_expire(&a->listener);
	}
	listener_close(&a->listener);
	close(a->signals.fd);
	loop_fini(&a->loop);
	kmqtt_nl_close(&a->nl);
	return rc < 0 ? 1 : 0;

err_signals:
	close(a->signals.fd);
err_loop:
	loop_fini(&a->loop);
err_nl:
	kmqtt_nl_close(&a->nl);
	return 1;
}

int main(int argc, char **argv)
{
	const char *addr = DEFAULT_ADDR, *port = DEFAULT_PORT;
	long timeout_s = DEFAULT_TIMEOUT_S;
	bool verbose = false;
	struct agent a;
	int opt;

	while ((opt = getopt(argc, argv, "p:b:t:vh")) != -1) {
		switch (opt) {
		case 'p':
			if (parse_number(optarg, 0, 65535) < 0) {
				fprintf(stderr, "kmqttd: bad port: %s\n", optarg);
				return 2;
			}
			port = optarg;
			break;
		case 'b':
			addr = optarg;
			break;
		case 't':
			timeout_s = parse_number(optarg, 1, MAX_TIMEOUT_S);
			if (timeout_s < 0) {
				fprintf(stderr, "kmqttd: bad timeout (1..%d s): %s\n",
					MAX_TIMEOUT_S, optarg);
				return 2;
			}
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	log_init(verbose);
	memset(&a, 0, sizeof(a));
	a.signals.fd = -1;
	return run(&a, addr, port, (unsigned int)timeout_s);
}

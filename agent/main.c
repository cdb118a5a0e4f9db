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

#include "auth.h"
#include "bridge.h"
#include "config.h"
#include "kmqtt_nl.h"
#include "listeners.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "notify.h"
#include "origins.h"
#include "persist.h"
#include "reauth.h"
#include "scram_file.h"
#include "sys.h"

#define DEFAULT_ADDR		"0.0.0.0"
#define DEFAULT_PORT		CONFIG_DEFAULT_PORT
#define DEFAULT_TIMEOUT_S	10
#define MAX_TIMEOUT_S		3600

/* Exit codes besides 0 and 1 (runtime failure). */
#define EXIT_USAGE		2
#define EXIT_CONFIG		3

struct options {
	const char *config_path;	/* -c, or NULL */
	const char *addr;		/* -b, or NULL */
	const char *port;		/* -p, or NULL */
	unsigned int timeout_s;
	bool verbose;
	const char *scram_user;		/* --scram-entry, or NULL */
};

struct agent {
	struct options opt;
	struct config cfg;
	struct auth_policies policies;	/* of cfg */
	struct origins origins;		/* per_listener_settings true */
	struct reauth reauth;		/* of connections a method authenticated */
	struct persist persist;
	struct loop loop;
	struct kmqtt_nl nl;
	struct listeners listeners;
	struct bridges bridges;
	struct sys_tree sys;		/* $SYS/broker */
	struct metrics metrics;
	struct loop_source signals;
	struct loop_source events;
	bool stop;
	/*
	 * SIGHUP, handled after the loop's batch of events: a reload frees
	 * sources (listeners, bridges dialling) whose events may be later
	 * in the same batch.
	 */
	bool reload;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: kmqttd [-c FILE] [-p PORT] [-b ADDR] [-v] [-t CONNECT_TIMEOUT_SECONDS]\n"
		"       kmqttd --scram-entry USER < PASSWORD_LINE >> SCRAM_FILE\n"
		"  -c FILE  Mosquitto-style configuration file (SIGHUP re-reads it)\n"
		"  -p PORT  TCP port to listen on (default " DEFAULT_PORT ")\n"
		"  -b ADDR  address to bind, IPv4 or IPv6 (default " DEFAULT_ADDR
		" without -c)\n"
		"  -v       log connections and disconnections\n"
		"  -t SECS  close connections without CONNECT (or an AUTH they owe,\n"
		"           re-authenticating too) after SECS (default %d)\n"
		"  --scram-entry USER  print USER's scram_file line for the password\n"
		"           on the first line of standard input\n",
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

static void config_warning(const char *msg, void *arg)
{
	(void)arg;
	log_warning("%s", msg);
}

/*
 * The configuration the options ask for, with its password and ACL files.
 * Returns 0 or an exit code.
 */
static int config_read(struct agent *a, struct config *cfg,
		       struct auth_policies *policies, char *err,
		       size_t errlen)
{
	const struct options *opt = &a->opt;

	if (!opt->config_path) {
		if (config_from_command_line(cfg,
					     opt->addr ? opt->addr : DEFAULT_ADDR,
					     opt->port ? opt->port : DEFAULT_PORT)) {
			snprintf(err, errlen, "out of memory");
			return 1;
		}
	} else if (config_load(cfg, opt->config_path, opt->addr, opt->port,
			       config_warning, NULL, err, errlen)) {
		return EXIT_CONFIG;
	}
	if (auth_policies_load(policies, cfg, &a->origins, &a->reauth, err,
			       errlen)) {
		config_free(cfg);
		return EXIT_CONFIG;
	}
	return 0;
}

static void apply_log_settings(const struct agent *a)
{
	log_init(a->opt.verbose || a->cfg.log_verbose);
}

/*
 * The module's limits once @cfg is in force: the file's, and for those it
 * sets not the module's own (kmqttctl set may have changed them).
 */
static void limits_in_force(struct agent *a, const struct config *cfg,
			    struct kmqtt_nl_limits *out)
{
	struct kmqtt_nl_info info;
	int id;

	memset(out, 0, sizeof(*out));
	if (kmqtt_nl_get_info(&a->nl, &info))
		log_error("Reading the module's limits: %s", a->nl.error);
	else
		*out = info.limits;
	for (id = 0; id <= KMQTT_LIMIT_MAX; id++) {
		if (!(cfg->limits.mask & KMQTT_NL_LIMIT_BIT(id)))
			continue;
		out->value[id] = cfg->limits.value[id];
		out->mask |= KMQTT_NL_LIMIT_BIT(id);
	}
}

/*
 * Open the listeners @cfg has and kmqttd not yet, each with its check
 * from @policies.  Returns 0 (listeners_commit() or _abort() must follow)
 * or what listeners_prepare() returns.
 */
static int prepare_listeners(struct agent *a, const struct config *cfg,
			     const struct auth_policies *policies,
			     char *err, size_t errlen)
{
	const struct listener_auth **hooks;
	struct kmqtt_nl_limits limits;
	size_t i;
	int rc;

	hooks = calloc(cfg->listener_count, sizeof(*hooks));
	if (!hooks) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < cfg->listener_count; i++)
		hooks[i] = auth_policies_hooks(policies, i);
	limits_in_force(a, cfg, &limits);
	rc = listeners_prepare(&a->listeners, cfg, hooks, &limits, err,
			       errlen);
	free(hooks);
	return rc;
}

/*
 * Put @policies in force, once the listeners use them.  When an ACL file
 * was or is configured (and at start, for sessions an earlier kmqttd
 * left), every session gets its rules again: the file, a user's entry or
 * a pattern may have changed, for clients that are connected too.
 */
static void apply_policies(struct agent *a, struct auth_policies *policies,
			   bool push_always)
{
	bool push = push_always || auth_policies_have_acl(&a->policies) ||
		    auth_policies_have_acl(policies);

	auth_policies_free(&a->policies);
	a->policies = *policies;
	memset(policies, 0, sizeof(*policies));
	if (push && auth_push_acls(&a->policies, &a->origins, &a->nl))
		log_error("Sending access rules: %s", a->nl.error);
}

/* One scrape of the Prometheus endpoint: the module's totals, ours. */
static void metrics_scrape(struct metrics_buf *b, void *arg)
{
	struct agent *a = arg;
	struct metrics_figures f = { .start_time = a->metrics.start_time };
	struct metrics_listener *ls;
	const struct listener *l;
	struct kmqtt_nl_info info;
	size_t i;

	if (kmqtt_nl_get_info(&a->nl, &info))
		log_error("Metrics: reading the module's totals: %s",
			  a->nl.error);
	else
		f.info = &info;
	ls = calloc(a->listeners.count + 1, sizeof(*ls));
	for (i = 0; ls && i < a->listeners.count; i++) {
		l = listeners_get(&a->listeners, i);
		ls[i] = (struct metrics_listener){ .name = l->name,
						   .stats = &l->stats,
						   .pending = l->pending_count };
	}
	f.listeners = ls;
	f.listener_count = ls ? a->listeners.count : 0;
	metrics_write(b, &f);
	free(ls);
}

/* The endpoint @cfg asks for, opened; metrics_commit() or _abort(). */
static int prepare_metrics(struct agent *a, const struct config *cfg,
			   char *err, size_t errlen)
{
	const struct config_metrics *m = &cfg->metrics;
	char why[256];

	if (!metrics_prepare(&a->metrics, m->addr, m->port[0] ? m->port : NULL,
			     why, sizeof(why)))
		return 0;
	snprintf(err, errlen, "%s: metrics_listener: %s", m->where, why);
	return -1;
}

/* SIGHUP: all of the new configuration (true), or none of it. */
static bool reload(struct agent *a)
{
	struct auth_policies policies;
	struct config next;
	char err[512];

	if (!a->opt.config_path) {
		log_warning("SIGHUP: no configuration file (-c) to reload.");
		return false;
	}
	log_verbose("Reloading config.");
	if (config_read(a, &next, &policies, err, sizeof(err))) {
		log_error("%s; keeping the current configuration.", err);
		return false;
	}
	if (prepare_listeners(a, &next, &policies, err, sizeof(err))) {
		log_error("%s; keeping the current configuration.", err);
		goto fail;
	}
	if (prepare_metrics(a, &next, err, sizeof(err))) {
		log_error("%s; keeping the current configuration.", err);
		listeners_abort(&a->listeners);
		goto fail;
	}
	/*
	 * Before the limits: sys_interval 0 clears the $SYS topics with
	 * empty retained messages, which the module refuses once the same
	 * file's retain_available false is in force.
	 */
	sys_configure(&a->sys, next.sys_interval, loop_now_ms());
	if (next.limits.mask && kmqtt_nl_set_limits(&a->nl, &next.limits)) {
		log_error("%s: %s; keeping the current configuration.",
			  a->opt.config_path, a->nl.error);
		/* A tree just cleared is published again at once. */
		sys_configure(&a->sys, a->cfg.sys_interval, loop_now_ms());
		listeners_abort(&a->listeners);
		metrics_abort(&a->metrics);
		goto fail;
	}
	listeners_commit(&a->listeners);
	metrics_commit(&a->metrics);
	if (persist_configure(&a->persist, &next.persistence, loop_now_ms(),
			      err, sizeof(err)))
		log_error("%s: %s; keeping the earlier persistence settings.",
			  a->opt.config_path, err);
	/* While the bridges' current configuration is alive, to compare. */
	bridges_reload(&a->bridges, &next, loop_now_ms());
	config_free(&a->cfg);
	a->cfg = next;
	apply_log_settings(a);
	apply_policies(a, &policies, false);
	return true;

fail:
	auth_policies_free(&policies);
	config_free(&next);
	return false;
}

static void signals_handle(struct loop_source *src, uint32_t events)
{
	struct agent *a = container_of(src, struct agent, signals);
	struct signalfd_siginfo si;

	(void)events;
	while (read(src->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			a->reload = true;
			continue;
		}
		log_verbose("kmqttd: %s, exiting.", strsignal((int)si.ssi_signo));
		a->stop = true;
	}
}

static void on_closed(const struct kmqtt_nl_closed *ev, void *arg)
{
	struct agent *a = arg;

	origins_closed(&a->origins, ev->client_id, ev->conn_id);
	reauth_closed(&a->reauth, ev->conn_id);
	bridges_closed(&a->bridges, ev->conn_id,
		       kmqtt_nl_close_reason_name(ev->reason));
	/* mosquitto's wording when a client id connects again */
	if (ev->reason == KMQTT_CLOSE_TAKEOVER)
		log_verbose("Client %s already connected, closing old connection.",
			    ev->client_id);
	else
		log_verbose("Client %s disconnected: %s", ev->client_id,
			    kmqtt_nl_close_reason_name(ev->reason));
}

static void on_auth(const struct kmqtt_nl_auth *ev, void *arg)
{
	struct agent *a = arg;

	reauth_event(&a->reauth, ev, loop_now_ms());
}

static void events_handle(struct loop_source *src, uint32_t events)
{
	struct agent *a = container_of(src, struct agent, events);

	int rc;

	(void)events;
	rc = kmqtt_nl_events_read(&a->nl);
	if (!rc)
		return;
	log_error("%s", a->nl.error);
	if (rc == -ENOBUFS)
		bridges_resync(&a->bridges);
}

/*
 * SIGINT, SIGTERM and SIGHUP arrive on a signalfd; SIGPIPE is not wanted
 * at all.
 */
static int signals_open(struct agent *a)
{
	sigset_t mask;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL))
		return -errno;
	a->signals.fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (a->signals.fd < 0)
		return -errno;
	a->signals.handle = signals_handle;
	return loop_add(&a->loop, &a->signals, EPOLLIN);
}

/* The file's limits, once at start: the others keep the module's values. */
static int push_limits(struct agent *a)
{
	if (!a->cfg.limits.mask)
		return 0;
	if (kmqtt_nl_set_limits(&a->nl, &a->cfg.limits)) {
		fprintf(stderr, "kmqttd: %s: %s\n", a->opt.config_path,
			a->nl.error);
		return EXIT_CONFIG;
	}
	return 0;
}

/* The sooner of two timeouts in milliseconds, -1 meaning none. */
static int sooner(int a, int b)
{
	return a < 0 || (b >= 0 && b < a) ? b : a;
}

/*
 * Until the next deadline of listeners, re-authentications, autosave,
 * bridges, $SYS, scrapers.
 */
static int loop_timeout(const struct agent *a)
{
	uint64_t now = loop_now_ms();
	int ms = sooner(listeners_timeout(&a->listeners),
			reauth_timeout(&a->reauth, now));

	ms = sooner(ms, persist_timeout(&a->persist, now));
	ms = sooner(ms, bridges_timeout(&a->bridges, now));
	ms = sooner(ms, sys_timeout(&a->sys, now));
	return sooner(ms, metrics_timeout(&a->metrics));
}

/* Bridges speak to the module through the netlink client. */
static const struct bridge_ops bridge_nl_ops = {
	.attach = kmqtt_nl_attach,
	.disconnect = kmqtt_nl_disconnect,
	.dump_conns = kmqtt_nl_dump_conns,
	.publish = kmqtt_nl_publish,
	.get_session = kmqtt_nl_get_session,
	.set_session = kmqtt_nl_set_session,
	.set_bridge_subscriptions = kmqtt_nl_set_bridge_subscriptions,
};

/* So does the $SYS tree. */
static const struct sys_ops sys_nl_ops = {
	.get_info = kmqtt_nl_get_info,
	.publish = kmqtt_nl_publish,
};

/* A manager that cannot be told is said once: it may think us hung. */
static void tell_manager(const char *state)
{
	static bool said;
	int err = notify_manager(state);

	if (err && !said)
		log_warning("NOTIFY_SOCKET: %s (the service manager is not told that kmqttd is %s).",
			    strerror(-err), state);
	said = said || err;
}

/* Serve until SIGINT or SIGTERM; @policies are @a->cfg's. */
static int run(struct agent *a, struct auth_policies *policies)
{
	char err[512];
	int rc;

	if (kmqtt_nl_open(&a->nl)) {
		fprintf(stderr, "kmqttd: %s\n", a->nl.error);
		return 1;
	}
	rc = 1;
	if (kmqtt_nl_subscribe(&a->nl, on_closed, a)) {
		fprintf(stderr, "kmqttd: %s\n", a->nl.error);
		goto err_nl;
	}
	kmqtt_nl_on_auth(&a->nl, on_auth, a);
	rc = push_limits(a);
	if (rc)
		goto err_nl;
	/* Under the file's limits, before any client comes. */
	persist_init(&a->persist, &a->nl);
	if (persist_configure(&a->persist, &a->cfg.persistence, loop_now_ms(),
			      err, sizeof(err)) ||
	    persist_start(&a->persist, loop_now_ms(), err, sizeof(err))) {
		fprintf(stderr, "kmqttd: %s\n", err);
		rc = EXIT_CONFIG;
		goto err_nl;
	}
	rc = loop_init(&a->loop);
	if (rc) {
		fprintf(stderr, "kmqttd: epoll: %s\n", strerror(-rc));
		rc = 1;
		goto err_nl;
	}
	rc = signals_open(a);
	if (rc) {
		fprintf(stderr, "kmqttd: signals: %s\n", strerror(-rc));
		rc = 1;
		goto err_loop;
	}
	a->events = (struct loop_source){ .fd = kmqtt_nl_events_fd(&a->nl),
					  .handle = events_handle };
	rc = loop_add(&a->loop, &a->events, EPOLLIN);
	if (rc) {
		fprintf(stderr, "kmqttd: epoll: %s\n", strerror(-rc));
		rc = 1;
		goto err_signals;
	}
	listeners_init(&a->listeners, &a->loop, &a->nl, a->opt.timeout_s);
	rc = prepare_listeners(a, &a->cfg, policies, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "kmqttd: %s\n", err);
		rc = rc == LISTENERS_BAD_CONFIG ? EXIT_CONFIG : 1;
		goto err_signals;
	}
	/*
	 * Sessions kept by kmqtt.ko from an earlier kmqttd get this
	 * configuration's rules, for the usernames the module kept.
	 */
	listeners_commit(&a->listeners);
	metrics_init(&a->metrics, &a->loop, metrics_scrape, a);
	if (prepare_metrics(a, &a->cfg, err, sizeof(err))) {
		fprintf(stderr, "kmqttd: %s\n", err);
		listeners_close(&a->listeners);
		rc = 1;
		goto err_signals;
	}
	metrics_commit(&a->metrics);
	apply_policies(a, policies, true);
	if (a->cfg.local_only)
		log_warning("Starting in local only mode: connections only from this machine (no listener in %s).",
			    a->opt.config_path);
	bridges_init(&a->bridges, &a->loop, &a->nl, &bridge_nl_ops);
	if (bridges_start(&a->bridges, &a->cfg, loop_now_ms())) {
		fprintf(stderr, "kmqttd: bridges: out of memory\n");
		metrics_close(&a->metrics);
		listeners_close(&a->listeners);
		rc = 1;
		goto err_signals;
	}
	/* Also without persistence: an earlier kmqttd may have left some. */
	if (persist_hold_acks(&a->persist) &&
	    a->cfg.persistence.save_before_ack) {
		fprintf(stderr, "kmqttd: kmqtt_save_before_ack: %s\n",
			a->nl.error);
		bridges_fini(&a->bridges);
		metrics_close(&a->metrics);
		listeners_close(&a->listeners);
		rc = 1;
		goto err_signals;
	}
	sys_init(&a->sys, &a->nl, &sys_nl_ops, loop_now_ms());
	sys_configure(&a->sys, a->cfg.sys_interval, loop_now_ms());

	/* systemd (Type=notify): the listeners are up. */
	tell_manager("READY=1");
	while (!a->stop) {
		rc = loop_run_once(&a->loop, loop_timeout(a));
		if (rc < 0) {
			log_error("epoll_wait: %s", strerror(-rc));
			break;
		}
		if (a->reload) {
			a->reload = false;
			tell_manager("RELOADING=1");
			/* The manager shows why in systemctl status. */
			tell_manager(reload(a) ? "READY=1\nSTATUS=" :
				     "READY=1\nSTATUS=Reload refused: the configuration in force is the earlier one (see the log)");
		}
		listeners_expire(&a->listeners);
		reauth_expire(&a->reauth, loop_now_ms());
		persist_tick(&a->persist, loop_now_ms());
		bridges_expire(&a->bridges, loop_now_ms());
		sys_tick(&a->sys, loop_now_ms());
		metrics_expire(&a->metrics);
	}
	tell_manager("STOPPING=1");
	metrics_close(&a->metrics);
	listeners_close(&a->listeners);
	/* Their links stay with the module, as clients' connections do. */
	bridges_fini(&a->bridges);
	/* No figure of a kmqttd that is gone stays retained. */
	sys_clear(&a->sys);
	persist_save(&a->persist);
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
	return rc;
}

/*
 * --scram-entry: USER's scram_file line for the password on the first
 * line of stdin (without its newline).  Returns the exit code.
 */
static int scram_entry(const char *user)
{
	size_t cap = 0;
	char *password = NULL, *line, err[256];
	ssize_t len = getline(&password, &cap, stdin);

	if (len < 0) {
		fprintf(stderr, "kmqttd: --scram-entry: no password on standard input\n");
		free(password);
		return EXIT_USAGE;
	}
	if (len && password[len - 1] == '\n')
		len--;
	line = scram_file_line(user, (const uint8_t *)password, (size_t)len,
			       err, sizeof(err));
	explicit_bzero(password, cap);
	free(password);
	if (!line) {
		fprintf(stderr, "kmqttd: --scram-entry: %s\n", err);
		return EXIT_USAGE;
	}
	printf("%s\n", line);
	free(line);
	return fflush(stdout) ? 1 : 0;
}

/* Returns -1 to go on, or the exit code. */
static int parse_options(int argc, char **argv, struct options *opt)
{
	static const struct option long_options[] = {
		{ "scram-entry", required_argument, NULL, 'S' },
		{ 0 },
	};
	long timeout_s = DEFAULT_TIMEOUT_S;
	int c;

	memset(opt, 0, sizeof(*opt));
	while ((c = getopt_long(argc, argv, "c:p:b:t:vh", long_options,
				NULL)) != -1) {
		switch (c) {
		case 'S':
			opt->scram_user = optarg;
			break;
		case 'c':
			opt->config_path = optarg;
			break;
		case 'p':
			if (parse_number(optarg, 0, 65535) < 0) {
				fprintf(stderr, "kmqttd: bad port: %s\n", optarg);
				return EXIT_USAGE;
			}
			opt->port = optarg;
			break;
		case 'b':
			opt->addr = optarg;
			break;
		case 't':
			timeout_s = parse_number(optarg, 1, MAX_TIMEOUT_S);
			if (timeout_s < 0) {
				fprintf(stderr, "kmqttd: bad timeout (1..%d s): %s\n",
					MAX_TIMEOUT_S, optarg);
				return EXIT_USAGE;
			}
			break;
		case 'v':
			opt->verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	opt->timeout_s = (unsigned int)timeout_s;
	return -1;
}

int main(int argc, char **argv)
{
	struct auth_policies policies;
	struct agent a;
	char err[512];
	int rc;

	memset(&a, 0, sizeof(a));
	a.signals.fd = -1;
	origins_init(&a.origins);
	rc = parse_options(argc, argv, &a.opt);
	if (rc >= 0)
		return rc;
	if (a.opt.scram_user)
		return scram_entry(a.opt.scram_user);
	/* A client owes each AUTH as soon as it owes its CONNECT. */
	reauth_init(&a.reauth, &a.nl, &a.policies,
		    (uint64_t)a.opt.timeout_s * 1000);
	rc = config_read(&a, &a.cfg, &policies, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "kmqttd: %s\n", err);
		return rc;
	}
	apply_log_settings(&a);
	rc = run(&a, &policies);
	auth_policies_free(&policies);
	reauth_fini(&a.reauth);
	auth_policies_free(&a.policies);
	origins_fini(&a.origins);
	config_free(&a.cfg);
	return rc;
}

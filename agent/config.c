// SPDX-License-Identifier: GPL-2.0
/*
 * Mosquitto-format configuration: one directive per line, "#" comments,
 * `listener` lines opening blocks of per-listener settings, `connection`
 * lines those of a bridge.  Directives fall in four groups: handled here,
 * limits (limits.c), ignored with a warning, and refused because ignoring
 * them would change what clients get (or weaken security) behind the
 * operator's back.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kmqtt/mqtt.h>

#include "addr.h"
#include "config.h"
#include "connect.h"	/* CONNECT_ASSIGNED_ID_RANDOM_LEN */
#include "kmod/codec.h"
#include "kmod/topic.h"
#include "limits.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

struct parser {
	struct config *cfg;
	config_warn_fn warn;
	void *warn_arg;
	char *err;
	size_t errlen;
	const char *file;		/* being read */
	unsigned int line;
	bool included;			/* reading an include_dir file */
	/* Settings before any `listener` line: the default listener's. */
	struct config_listener deflt;
	bool default_requested;		/* port or bind_address seen */
	char *default_settings_where;	/* first one given to deflt */
	struct config_listener *cur;	/* where per-listener settings go */
	/* Where a bridge's directives go: after a `connection` line. */
	struct config_bridge *bridge;
	/* per_listener_settings true must come before the first of these. */
	char *security_where;
};

/* One handled directive; @args is the rest of the line, trimmed. */
struct directive {
	const char *name;
	int (*handle)(struct parser *p, const char *name, char *args);
};

/* A Mosquitto directive kmqtt ignores or refuses, and why. */
struct unsupported {
	const char *name;
	const char *why;
};

static int parse_error(struct parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int parse_error(struct parser *p, const char *fmt, ...)
{
	int n = snprintf(p->err, p->errlen, "%s:%u: ", p->file, p->line);
	va_list ap;

	if (n < 0 || (size_t)n >= p->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static void parse_warn(struct parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void parse_warn(struct parser *p, const char *fmt, ...)
{
	char msg[512];
	int n = snprintf(msg, sizeof(msg), "%s:%u: ", p->file, p->line);
	va_list ap;

	if (!p->warn || n < 0 || (size_t)n >= sizeof(msg))
		return;
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	p->warn(msg, p->warn_arg);
}

static int out_of_memory(struct parser *p)
{
	return parse_error(p, "out of memory");
}

/* "FILE:LINE" of the current line, allocated. */
static char *where_here(struct parser *p)
{
	char *where;

	if (asprintf(&where, "%s:%u", p->file, p->line) < 0)
		return NULL;
	return where;
}

/* The single word in @args, or NULL after reporting the error. */
static const char *one_value(struct parser *p, const char *name, char *args)
{
	if (!*args) {
		parse_error(p, "%s: missing value", name);
		return NULL;
	}
	if (strpbrk(args, " \t")) {
		parse_error(p, "%s: expected one value, got \"%s\"", name, args);
		return NULL;
	}
	return args;
}

static int parse_bool(struct parser *p, const char *name, char *args,
		      bool *out)
{
	const char *v = one_value(p, name, args);

	if (!v)
		return -1;
	if (strcmp(v, "true") && strcmp(v, "false"))
		return parse_error(p, "%s: \"%s\" is neither true nor false",
				   name, v);
	*out = !strcmp(v, "true");
	return 0;
}

/* A path or other string value: the rest of the line, as Mosquitto. */
static int set_string(struct parser *p, const char *name, char *args,
		      char **out, char **where)
{
	char *copy, *at = NULL;

	if (!*args)
		return parse_error(p, "%s: missing value", name);
	copy = strdup(args);
	if (!copy || (where && !(at = where_here(p)))) {
		free(copy);
		return out_of_memory(p);
	}
	free(*out);
	*out = copy;
	if (where) {
		free(*where);
		*where = at;
	}
	return 0;
}

/* "1".."65535" into @out. */
static int parse_port(struct parser *p, const char *name, const char *v,
		      char out[6])
{
	char *end;
	long port;

	errno = 0;
	port = strtol(v, &end, 10);
	if (*v < '0' || *v > '9' || *end || errno || port < 1 ||
	    port > 65535)
		return parse_error(p, "%s: \"%s\" is not a port from 1 to 65535",
				   name, v);
	snprintf(out, 6, "%ld", port);
	return 0;
}

static int handle_port(struct parser *p, const char *name, char *args)
{
	const char *v = one_value(p, name, args);

	if (!v || parse_port(p, name, v, p->deflt.port))
		return -1;
	p->default_requested = true;
	return 0;
}

static int handle_bind_address(struct parser *p, const char *name,
			       char *args)
{
	const char *v = one_value(p, name, args);

	if (!v || set_string(p, name, args, &p->deflt.addr, NULL))
		return -1;
	p->default_requested = true;
	return 0;
}

static void security_free(struct config_security *s)
{
	free(s->password_file);
	free(s->password_file_where);
	free(s->scram_file);
	free(s->scram_file_where);
	free(s->acl_file);
	free(s->acl_file_where);
	free(s->auto_id_prefix);
	memset(s, 0, sizeof(*s));
}

/* Mosquitto's defaults; allow_anonymous is settled by finish(). */
static void security_init(struct config_security *s)
{
	memset(s, 0, sizeof(*s));
	s->allow_zero_length_clientid = true;
}

static void listener_free(struct config_listener *l)
{
	free(l->addr);
	free(l->cafile);
	free(l->certfile);
	free(l->keyfile);
	free(l->crlfile);
	free(l->mount_point);
	security_free(&l->security);
	free(l->where);
	memset(l, 0, sizeof(*l));
}

static const char *addr_or_any(const struct config_listener *l)
{
	return l->addr ? l->addr : "every interface";
}

bool config_listener_same_socket(const struct config_listener *a,
				 const struct config_listener *b)
{
	if (strcmp(a->port, b->port))
		return false;
	if (!a->addr || !b->addr)
		return !a->addr && !b->addr;
	return !strcmp(a->addr, b->addr);
}

static struct config_listener *listener_add(struct parser *p)
{
	struct config *cfg = p->cfg;
	struct config_listener *ls;

	ls = realloc(cfg->listeners,
		     (cfg->listener_count + 1) * sizeof(*ls));
	if (!ls)
		return NULL;
	cfg->listeners = ls;
	memset(&ls[cfg->listener_count], 0, sizeof(*ls));
	return &ls[cfg->listener_count++];
}

/* listener PORT [ADDRESS] */
static int handle_listener(struct parser *p, const char *name, char *args)
{
	char *port = strtok(args, " \t"), *addr = strtok(NULL, " \t");
	struct config_listener l = { 0 }, *slot;
	size_t i;

	security_init(&l.security);
	if (!port)
		return parse_error(p, "%s: missing port", name);
	if (strtok(NULL, " \t"))
		return parse_error(p, "%s: expected PORT [ADDRESS]", name);
	if (!strcmp(port, "0") && addr)
		return parse_error(p, "%s: unix socket listeners are not supported",
				   name);
	if (parse_port(p, name, port, l.port))
		return -1;
	if (addr && !(l.addr = strdup(addr)))
		return out_of_memory(p);
	for (i = 0; i < p->cfg->listener_count; i++) {
		if (config_listener_same_socket(&p->cfg->listeners[i], &l)) {
			parse_error(p, "listener %s on %s is already defined at %s",
				    l.port, addr_or_any(&l),
				    p->cfg->listeners[i].where);
			listener_free(&l);
			return -1;
		}
	}
	l.where = where_here(p);
	slot = l.where ? listener_add(p) : NULL;
	if (!slot) {
		listener_free(&l);
		return out_of_memory(p);
	}
	*slot = l;
	p->cur = slot;
	p->bridge = NULL;
	return 0;
}

/* The listener that per-listener settings on this line belong to. */
static struct config_listener *current_listener(struct parser *p)
{
	if (p->cur)
		return p->cur;
	if (!p->default_settings_where)
		p->default_settings_where = where_here(p);
	return &p->deflt;
}

/*
 * Where the security setting on this line goes: the global one, or with
 * per_listener_settings true the current listener's.
 */
static struct config_security *current_security(struct parser *p)
{
	if (!p->security_where)
		p->security_where = where_here(p);
	if (!p->cfg->per_listener_settings)
		return &p->cfg->security;
	return &current_listener(p)->security;
}

static int handle_cafile(struct parser *p, const char *name, char *args)
{
	return set_string(p, name, args, &current_listener(p)->cafile, NULL);
}

static int handle_certfile(struct parser *p, const char *name, char *args)
{
	return set_string(p, name, args, &current_listener(p)->certfile, NULL);
}

static int handle_keyfile(struct parser *p, const char *name, char *args)
{
	return set_string(p, name, args, &current_listener(p)->keyfile, NULL);
}

static int handle_require_certificate(struct parser *p, const char *name,
				      char *args)
{
	return parse_bool(p, name, args,
			  &current_listener(p)->require_certificate);
}

static int handle_crlfile(struct parser *p, const char *name, char *args)
{
	return set_string(p, name, args, &current_listener(p)->crlfile, NULL);
}

static int handle_use_identity_as_username(struct parser *p,
					   const char *name, char *args)
{
	return parse_bool(p, name, args,
			  &current_listener(p)->use_identity_as_username);
}

static int handle_use_subject_as_username(struct parser *p,
					  const char *name, char *args)
{
	return parse_bool(p, name, args,
			  &current_listener(p)->use_subject_as_username);
}

/*
 * A topic prefix kmqtt.ko puts in front of the topics of the listener's
 * clients; as Mosquitto, only after a listener line.
 */
static int handle_mount_point(struct parser *p, const char *name, char *args)
{
	static const char share[] = "$share/";
	size_t len = strlen(args);

	if (!p->cur)
		return parse_error(p, "%s must follow a listener line", name);
	if (len > KMQTT_MOUNT_POINT_MAX)
		return parse_error(p, "%s: longer than %d bytes", name,
				   KMQTT_MOUNT_POINT_MAX);
	if (!kmqtt_codec_utf8_valid((const uint8_t *)args, len))
		return parse_error(p, "%s: not valid UTF-8", name);
	/*
	 * kmqtt.ko takes a topic name at ATTACH: valid UTF-8 as checked, so
	 * only a wildcard fails here.  Empty is a missing value, below.
	 */
	if (len && !kmqtt_topic_name_valid((const uint8_t *)args, len))
		return parse_error(p, "%s \"%s\": a topic prefix cannot contain + or #",
				   name, args);
	/* A filter under it could make it a shared subscription's. */
	if (len && !memcmp(args, share, len < sizeof(share) - 1 ?
				       len : sizeof(share) - 1))
		return parse_error(p, "%s \"%s\": a topic prefix cannot begin $share/",
				   name, args);
	return set_string(p, name, args, &p->cur->mount_point, NULL);
}

/* The word @v, a number from @min to @max, into *@out. */
static int parse_number(struct parser *p, const char *name, const char *v,
			unsigned long min, unsigned long max,
			unsigned long *out)
{
	unsigned long n;
	char *end;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (*v < '0' || *v > '9' || *end || errno || n < min || n > max)
		return parse_error(p, "%s: \"%s\" is not a number from %lu to %lu",
				   name, v, min, max);
	*out = n;
	return 0;
}

/* A number from 0 to @max into *@out. */
static int parse_uint(struct parser *p, const char *name, char *args,
		      unsigned long max, unsigned long *out)
{
	const char *v = one_value(p, name, args);

	if (!v)
		return -1;
	return parse_number(p, name, v, 0, max, out);
}

static int parse_u16(struct parser *p, const char *name, char *args,
		     uint16_t *out)
{
	unsigned long n;

	if (parse_uint(p, name, args, UINT16_MAX, &n))
		return -1;
	*out = (uint16_t)n;
	return 0;
}

/* max_topic_alias N: per listener, 0 (none) to 65535. */
static int handle_max_topic_alias(struct parser *p, const char *name,
				  char *args)
{
	struct config_listener *l = current_listener(p);

	if (parse_u16(p, name, args, &l->max_topic_alias))
		return -1;
	l->max_topic_alias_set = true;
	return 0;
}

/* max_keepalive N: global wherever it appears, as in Mosquitto. */
static int handle_max_keepalive(struct parser *p, const char *name,
				char *args)
{
	if (parse_u16(p, name, args, &p->cfg->max_keepalive))
		return -1;
	p->cfg->max_keepalive_set = true;
	return 0;
}

/*
 * websockets_headers_size N: global wherever it appears, 0 to 65535 as
 * Mosquitto, 0 for the default.
 */
static int handle_websockets_headers_size(struct parser *p, const char *name,
					  char *args)
{
	unsigned long n;

	if (parse_uint(p, name, args, UINT16_MAX, &n))
		return -1;
	p->cfg->websockets_headers_size = n ? n :
					  CONFIG_WEBSOCKETS_HEADERS_SIZE_DEFAULT;
	return 0;
}

static int handle_persistence(struct parser *p, const char *name,
			      char *args)
{
	return parse_bool(p, name, args, &p->cfg->persistence.enabled);
}

static int handle_persistence_location(struct parser *p, const char *name,
				       char *args)
{
	return set_string(p, name, args, &p->cfg->persistence.location, NULL);
}

static int handle_persistence_file(struct parser *p, const char *name,
				   char *args)
{
	return set_string(p, name, args, &p->cfg->persistence.file, NULL);
}

static int handle_autosave_interval(struct parser *p, const char *name,
				    char *args)
{
	unsigned long n;

	if (parse_uint(p, name, args, UINT32_MAX, &n))
		return -1;
	p->cfg->persistence.autosave_interval = (unsigned int)n;
	return 0;
}

/*
 * sys_interval N: seconds between updates of the $SYS/broker topics, 0
 * (the default here; Mosquitto's is 10) for none.  Mosquitto's range.
 */
static int handle_sys_interval(struct parser *p, const char *name,
			       char *args)
{
	unsigned long n;

	if (parse_uint(p, name, args, UINT16_MAX, &n))
		return -1;
	p->cfg->sys_interval = (unsigned int)n;
	return 0;
}

static int handle_autosave_on_changes(struct parser *p, const char *name,
				      char *args)
{
	return parse_bool(p, name, args,
			  &p->cfg->persistence.autosave_on_changes);
}

static int handle_save_before_ack(struct parser *p, const char *name,
				  char *args)
{
	return parse_bool(p, name, args,
			  &p->cfg->persistence.save_before_ack);
}

/* metrics_listener PORT [ADDRESS]: given twice, the last one wins. */
static int handle_metrics_listener(struct parser *p, const char *name,
				   char *args)
{
	char *port = strtok(args, " \t"), *addr = strtok(NULL, " \t");
	struct config_metrics *m = &p->cfg->metrics;
	struct sockaddr_storage ss;
	char *copy = NULL, *where;
	char number[6];
	socklen_t len;

	if (!port)
		return parse_error(p, "%s: missing port", name);
	if (strtok(NULL, " \t"))
		return parse_error(p, "%s: expected PORT [ADDRESS]", name);
	if (parse_port(p, name, port, number))
		return -1;
	if (addr && addr_parse(addr, 0, &ss, &len))
		return parse_error(p, "%s: \"%s\" is not an IPv4 or IPv6 address",
				   name, addr);
	where = where_here(p);
	if (!where || (addr && !(copy = strdup(addr)))) {
		free(where);
		return out_of_memory(p);
	}
	memcpy(m->port, number, sizeof(m->port));
	free(m->addr);
	m->addr = copy;
	free(m->where);
	m->where = where;
	return 0;
}

static int handle_allow_anonymous(struct parser *p, const char *name,
				  char *args)
{
	struct config_security *s = current_security(p);

	if (parse_bool(p, name, args, &s->allow_anonymous))
		return -1;
	s->allow_anonymous_set = true;
	return 0;
}

static int handle_password_file(struct parser *p, const char *name,
				char *args)
{
	struct config_security *s = current_security(p);

	return set_string(p, name, args, &s->password_file,
			  &s->password_file_where);
}

/* kmqtt's: the users of enhanced authentication (SCRAM-SHA-256). */
static int handle_scram_file(struct parser *p, const char *name, char *args)
{
	struct config_security *s = current_security(p);

	return set_string(p, name, args, &s->scram_file, &s->scram_file_where);
}

static int handle_acl_file(struct parser *p, const char *name, char *args)
{
	struct config_security *s = current_security(p);

	return set_string(p, name, args, &s->acl_file, &s->acl_file_where);
}

static int handle_allow_zero_length_clientid(struct parser *p,
					     const char *name, char *args)
{
	return parse_bool(p, name, args,
			  &current_security(p)->allow_zero_length_clientid);
}

/* Room for the prefix in a client id, beside the 36 characters of a UUID. */
#define AUTO_ID_PREFIX_MAX	(KMQTT_CLIENT_ID_MAX - CONNECT_ASSIGNED_ID_RANDOM_LEN)

static int handle_auto_id_prefix(struct parser *p, const char *name,
				 char *args)
{
	size_t len = strlen(args);

	if (len > AUTO_ID_PREFIX_MAX)
		return parse_error(p, "%s: longer than %d bytes (client ids have at most %d)",
				   name, AUTO_ID_PREFIX_MAX,
				   KMQTT_CLIENT_ID_MAX);
	if (!kmqtt_codec_utf8_valid((const uint8_t *)args, len))
		return parse_error(p, "%s: not valid UTF-8", name);
	return set_string(p, name, args, &current_security(p)->auto_id_prefix,
			  NULL);
}

/*
 * Directives kmqtt supports with one value only, the Mosquitto default:
 * any other would be a promise the broker does not keep.
 */
static int require_value(struct parser *p, const char *name, char *args,
			 const char *supported, const char *why)
{
	const char *v = one_value(p, name, args);

	if (!v)
		return -1;
	if (strcmp(v, supported))
		return parse_error(p, "%s %s is not supported: %s", name, v,
				   why);
	return 0;
}

static int handle_per_listener_settings(struct parser *p, const char *name,
					char *args)
{
	if (parse_bool(p, name, args, &p->cfg->per_listener_settings))
		return -1;
	/* As Mosquitto: the settings already read went to the global set. */
	if (p->cfg->per_listener_settings && p->security_where)
		return parse_error(p, "%s true must come before any security setting (one is at %s)",
				   name, p->security_where);
	return 0;
}

static int handle_protocol(struct parser *p, const char *name, char *args)
{
	const char *v = one_value(p, name, args);

	if (!v)
		return -1;
	if (strcmp(v, "mqtt") && strcmp(v, "websockets"))
		return parse_error(p, "%s %s is not supported: the protocols are mqtt and websockets",
				   name, v);
	if (p->cur)
		p->cur->websockets = !strcmp(v, "websockets");
	else if (strcmp(v, "mqtt"))
		return parse_error(p, "%s %s must follow a listener line", name,
				   v);
	return 0;
}

static int handle_max_qos(struct parser *p, const char *name, char *args)
{
	return require_value(p, name, args, "2",
			     "kmqtt grants every QoS level");
}

static int handle_upgrade_outgoing_qos(struct parser *p, const char *name,
				       char *args)
{
	return require_value(p, name, args, "false",
			     "kmqtt delivers at the lower of the two QoS levels, as MQTT requires");
}

/* log_type: Mosquitto's types; notice and information are connections. */
static int handle_log_type(struct parser *p, const char *name, char *args)
{
	static const char *const quiet[] = {
		"error", "warning", "subscribe", "unsubscribe", "websockets",
		"none",
	};
	static const char *const verbose[] = {
		"notice", "information", "debug", "all",
	};
	const char *v = one_value(p, name, args);
	size_t i;

	if (!v)
		return -1;
	p->cfg->log_type_set = true;
	for (i = 0; i < sizeof(verbose) / sizeof(verbose[0]); i++) {
		if (!strcmp(v, verbose[i])) {
			p->cfg->log_verbose = true;
			return 0;
		}
	}
	for (i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++)
		if (!strcmp(v, quiet[i]))
			return 0;
	return parse_error(p, "%s: unknown type \"%s\"", name, v);
}

static void config_bridge_free(struct config_bridge *b)
{
	size_t i;

	free(b->name);
	free(b->where);
	for (i = 0; i < b->address_count; i++)
		free(b->addresses[i].host);
	free(b->addresses);
	/* const for the netlink request only: the strings are ours */
	for (i = 0; i < b->topic_count; i++) {
		free((char *)b->topics[i].local);
		free((char *)b->topics[i].remote);
	}
	free(b->topics);
	free(b->remote_clientid);
	free(b->remote_username);
	if (b->remote_password)
		explicit_bzero(b->remote_password, strlen(b->remote_password));
	free(b->remote_password);
	free(b->local_clientid);
	free(b->notification_topic);
	free(b->tls_cafile);
	free(b->tls_capath);
	free(b->tls_certfile);
	free(b->tls_keyfile);
	memset(b, 0, sizeof(*b));
}

/* connection NAME: opens a bridge block, with Mosquitto's defaults. */
static int handle_connection(struct parser *p, const char *name, char *args)
{
	struct config *cfg = p->cfg;
	const char *v = one_value(p, name, args);
	struct config_bridge *bs, *b;
	size_t i;

	if (!v)
		return -1;
	for (i = 0; i < cfg->bridge_count; i++)
		if (!strcmp(cfg->bridges[i].name, v))
			return parse_error(p, "bridge \"%s\" is already defined at %s",
					   v, cfg->bridges[i].where);
	bs = realloc(cfg->bridges, (cfg->bridge_count + 1) * sizeof(*bs));
	if (!bs)
		return out_of_memory(p);
	cfg->bridges = bs;
	b = &bs[cfg->bridge_count];
	*b = (struct config_bridge){
		.keepalive = CONFIG_BRIDGE_KEEPALIVE,
		.restart_base = CONFIG_BRIDGE_RESTART_BASE,
		.restart_cap = CONFIG_BRIDGE_RESTART_CAP,
		.threshold = CONFIG_BRIDGE_THRESHOLD,
		.idle_timeout = CONFIG_BRIDGE_IDLE_TIMEOUT,
		.try_private = true,
		.notifications = true,
		.proto_level = MQTT_PROTO_V311,
	};
	b->name = strdup(v);
	b->where = where_here(p);
	cfg->bridge_count++;
	if (!b->name || !b->where)
		return out_of_memory(p);
	p->bridge = b;
	return 0;
}

/* host, host:port, [v6] or [v6]:port into @a. */
static int parse_bridge_address(struct parser *p, const char *name,
				char *word, struct config_bridge_address *a)
{
	char *host = word, *colon;
	const char *port = CONFIG_BRIDGE_PORT;

	if (*word == '[') {
		char *close = strchr(word, ']');

		if (!close || close == word + 1 ||
		    (close[1] && close[1] != ':'))
			return parse_error(p, "%s: \"%s\" is not HOST[:PORT] or [IPv6][:PORT]",
					   name, word);
		host = word + 1;
		*close = '\0';
		colon = close[1] ? close + 1 : NULL;
	} else {
		colon = strchr(word, ':');
		if (colon && strchr(colon + 1, ':'))
			return parse_error(p, "%s: \"%s\": an IPv6 address goes in brackets, [ADDRESS]:PORT",
					   name, word);
		if (colon)
			*colon = '\0';
	}
	if (colon)
		port = colon + 1;
	if (!*host)
		return parse_error(p, "%s: missing host", name);
	if (parse_port(p, name, port, a->port))
		return -1;
	a->host = strdup(host);
	return a->host ? 0 : out_of_memory(p);
}

/* address/addresses HOST[:PORT] ...: appended to the bridge's list. */
static int handle_bridge_address(struct parser *p, const char *name,
				 char *args)
{
	struct config_bridge *b = p->bridge;
	struct config_bridge_address *as;
	char *word, *save;

	if (!*args)
		return parse_error(p, "%s: missing value", name);
	for (word = strtok_r(args, " \t", &save); word;
	     word = strtok_r(NULL, " \t", &save)) {
		as = realloc(b->addresses, (b->address_count + 1) * sizeof(*as));
		if (!as)
			return out_of_memory(p);
		b->addresses = as;
		memset(&as[b->address_count], 0, sizeof(*as));
		if (parse_bridge_address(p, name, word, &as[b->address_count]))
			return -1;
		b->address_count++;
	}
	return 0;
}

/* mosquitto.conf(5) writes an empty pattern or prefix as "". */
static const char *unquote_empty(const char *word)
{
	return strcmp(word, "\"\"") ? word : "";
}

/* @prefix followed by @pattern, checked as a topic filter. */
static int bridge_filter(struct parser *p, const char *name,
			 const char *prefix, const char *pattern,
			 const char **out)
{
	char *filter;

	if (strpbrk(prefix, "+#"))
		return parse_error(p, "%s: prefix \"%s\" cannot contain + or #",
				   name, prefix);
	if (asprintf(&filter, "%s%s", prefix, pattern) < 0)
		return out_of_memory(p);
	if (!kmqtt_topic_filter_valid((const uint8_t *)filter,
				      strlen(filter))) {
		parse_error(p, "%s: \"%s\" is not a valid topic filter", name,
			    filter);
		free(filter);
		return -1;
	}
	*out = filter;
	return 0;
}

/*
 * Bytes of the KMQTT_A_BRIDGE nest that carries @b's lines: a netlink
 * attribute holds at most 65535, and ATTACH refuses a bridge that does
 * not fit.  Per line its nest header, four 8-byte integers and the two
 * filters, each with a header, padded to 4.
 */
static size_t bridge_nest_bytes(const struct config_bridge *b)
{
	size_t i, bytes = 4;

	for (i = 0; i < b->topic_count; i++)
		bytes += 4 + 4 * 8 + 4 + ((strlen(b->topics[i].local) + 3) & ~3u) +
			 4 + ((strlen(b->topics[i].remote) + 3) & ~3u);
	return bytes;
}

/*
 * topic PATTERN [in|out|both] [QOS] [LOCAL_PREFIX REMOTE_PREFIX]: the
 * filters on both sides are the prefixes followed by the pattern.
 */
static int handle_bridge_topic(struct parser *p, const char *name,
			       char *args)
{
	struct config_bridge *b = p->bridge;
	struct kmqtt_nl_bridge_topic t = { .direction = KMQTT_BRIDGE_OUT };
	struct kmqtt_nl_bridge_topic *ts;
	const char *local_prefix = "", *remote_prefix = "", *pattern;
	char *word[6], *save;
	size_t n;

	for (n = 0; n < ARRAY_SIZE(word); n++) {
		word[n] = strtok_r(n ? NULL : args, " \t", &save);
		if (!word[n])
			break;
	}
	/* one to three words, or five: the prefixes go in pairs */
	if (n == 0 || n == 4 || n == ARRAY_SIZE(word))
		return parse_error(p, "%s: expected PATTERN [in|out|both] [QOS] [LOCAL_PREFIX REMOTE_PREFIX]",
				   name);
	if (b->topic_count == KMQTT_BRIDGE_TOPICS_MAX)
		return parse_error(p, "%s: more than %d topic lines in bridge \"%s\"",
				   name, KMQTT_BRIDGE_TOPICS_MAX, b->name);
	pattern = unquote_empty(word[0]);
	if (n > 1) {
		if (!strcmp(word[1], "in"))
			t.direction = KMQTT_BRIDGE_IN;
		else if (!strcmp(word[1], "both"))
			t.direction = KMQTT_BRIDGE_IN | KMQTT_BRIDGE_OUT;
		else if (strcmp(word[1], "out"))
			return parse_error(p, "%s: direction \"%s\" is not in, out or both",
					   name, word[1]);
	}
	if (n > 2) {
		if (strlen(word[2]) != 1 || word[2][0] < '0' ||
		    word[2][0] > '2')
			return parse_error(p, "%s: QoS \"%s\" is not 0, 1 or 2",
					   name, word[2]);
		t.qos = (uint8_t)(word[2][0] - '0');
	}
	if (n > 3) {
		local_prefix = unquote_empty(word[3]);
		remote_prefix = unquote_empty(word[4]);
	}
	if (!*pattern && !*local_prefix && !*remote_prefix)
		return parse_error(p, "%s: an empty pattern needs both prefixes, which are then the topics",
				   name);
	if (bridge_filter(p, name, local_prefix, pattern, &t.local))
		return -1;
	if (bridge_filter(p, name, remote_prefix, pattern, &t.remote)) {
		free((char *)t.local);
		return -1;
	}
	t.local_prefix_len = (uint16_t)strlen(local_prefix);
	t.remote_prefix_len = (uint16_t)strlen(remote_prefix);
	ts = realloc(b->topics, (b->topic_count + 1) * sizeof(*ts));
	if (!ts) {
		free((char *)t.local);
		free((char *)t.remote);
		return out_of_memory(p);
	}
	b->topics = ts;
	ts[b->topic_count++] = t;
	if (bridge_nest_bytes(b) > UINT16_MAX)
		return parse_error(p, "%s: the topic lines of bridge \"%s\" take more than the 64 KiB one netlink attribute holds",
				   name, b->name);
	return 0;
}

/* A client id (one word): valid UTF-8 that kmqtt.ko takes. */
static int set_client_id(struct parser *p, const char *name, char *args,
			 char **out)
{
	const char *v = one_value(p, name, args);
	size_t len;

	if (!v)
		return -1;
	len = strlen(v);
	if (len > KMQTT_CLIENT_ID_MAX)
		return parse_error(p, "%s: longer than %d bytes", name,
				   KMQTT_CLIENT_ID_MAX);
	if (!kmqtt_codec_utf8_valid((const uint8_t *)v, len))
		return parse_error(p, "%s: not valid UTF-8", name);
	return set_string(p, name, args, out, NULL);
}

static int handle_remote_clientid(struct parser *p, const char *name,
				  char *args)
{
	return set_client_id(p, name, args, &p->bridge->remote_clientid);
}

static int handle_local_clientid(struct parser *p, const char *name,
				 char *args)
{
	return set_client_id(p, name, args, &p->bridge->local_clientid);
}

/*
 * As Mosquitto's: the rest of the line, spaces included, as long as a
 * CONNECT field can be (1.5.3).
 */
static int set_credential(struct parser *p, const char *name, char *args,
			  char **out)
{
	if (strlen(args) > UINT16_MAX)
		return parse_error(p, "%s: longer than %d bytes", name,
				   UINT16_MAX);
	if (*out)
		explicit_bzero(*out, strlen(*out));
	return set_string(p, name, args, out, NULL);
}

static int handle_remote_username(struct parser *p, const char *name,
				  char *args)
{
	return set_credential(p, name, args, &p->bridge->remote_username);
}

static int handle_remote_password(struct parser *p, const char *name,
				  char *args)
{
	return set_credential(p, name, args, &p->bridge->remote_password);
}

static int handle_local_credential(struct parser *p, const char *name,
				   char *args)
{
	(void)args;
	parse_warn(p, "%s ignored: the local side of a bridge is kmqtt.ko itself, which needs no login",
		   name);
	return 0;
}

static int handle_cleansession(struct parser *p, const char *name,
			       char *args)
{
	return parse_bool(p, name, args, &p->bridge->cleansession);
}

static int handle_local_cleansession(struct parser *p, const char *name,
				     char *args)
{
	p->bridge->local_cleansession_set = true;
	return parse_bool(p, name, args, &p->bridge->local_cleansession);
}

static int handle_round_robin(struct parser *p, const char *name, char *args)
{
	return parse_bool(p, name, args, &p->bridge->round_robin);
}

static int handle_try_private(struct parser *p, const char *name, char *args)
{
	return parse_bool(p, name, args, &p->bridge->try_private);
}

static int handle_notifications(struct parser *p, const char *name,
				char *args)
{
	return parse_bool(p, name, args, &p->bridge->notifications);
}

static int handle_notifications_local_only(struct parser *p,
					   const char *name, char *args)
{
	return parse_bool(p, name, args,
			  &p->bridge->notifications_local_only);
}

static int handle_notification_topic(struct parser *p, const char *name,
				      char *args)
{
	const char *v = one_value(p, name, args);

	if (!v)
		return -1;
	if (!kmqtt_topic_name_valid((const uint8_t *)v, strlen(v)))
		return parse_error(p, "%s: \"%s\" is not a valid topic name",
				   name, v);
	return set_string(p, name, args, &p->bridge->notification_topic,
			  NULL);
}

static int handle_keepalive_interval(struct parser *p, const char *name,
				     char *args)
{
	unsigned long n;

	if (parse_uint(p, name, args, UINT16_MAX, &n))
		return -1;
	/* Mosquitto's floor, so the link notices a dead remote in time. */
	if (n < CONFIG_BRIDGE_KEEPALIVE_MIN) {
		parse_warn(p, "%s %lu is too low, using %d seconds", name, n,
			   CONFIG_BRIDGE_KEEPALIVE_MIN);
		n = CONFIG_BRIDGE_KEEPALIVE_MIN;
	}
	p->bridge->keepalive = (uint16_t)n;
	return 0;
}

/* Seconds between attempts; bounded so that deadlines cannot overflow. */
#define BRIDGE_RESTART_MAX	86400

/* restart_timeout DELAY, or BASE CAP: backoff with jitter. */
static int handle_restart_timeout(struct parser *p, const char *name,
				  char *args)
{
	char *base = strtok(args, " \t"), *cap = strtok(NULL, " \t");
	unsigned long b, c = 0;

	if (!base || strtok(NULL, " \t"))
		return parse_error(p, "%s: expected SECONDS or BASE CAP", name);
	if (parse_number(p, name, base, 1, BRIDGE_RESTART_MAX, &b) ||
	    (cap && parse_number(p, name, cap, b, BRIDGE_RESTART_MAX, &c)))
		return -1;
	p->bridge->restart_base = (unsigned int)b;
	p->bridge->restart_cap = (unsigned int)c;
	return 0;
}

static int handle_start_type(struct parser *p, const char *name, char *args)
{
	static const char *const types[] = {
		[CONFIG_START_AUTOMATIC] = "automatic",
		[CONFIG_START_LAZY] = "lazy",
		[CONFIG_START_ONCE] = "once",
	};
	const char *v = one_value(p, name, args);
	size_t i;

	if (!v)
		return -1;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (!strcmp(v, types[i])) {
			p->bridge->start_type = (enum config_start_type)i;
			return 0;
		}
	}
	return parse_error(p, "%s: \"%s\" is not automatic, lazy or once",
			   name, v);
}

/* threshold and idle_timeout: below 1 is 1, with a warning, as in Mosquitto. */
static int parse_lazy_number(struct parser *p, const char *name, char *args,
			     unsigned int *out)
{
	unsigned long n;

	if (parse_uint(p, name, args, UINT32_MAX, &n))
		return -1;
	if (!n) {
		parse_warn(p, "%s 0 is too low, using 1", name);
		n = 1;
	}
	*out = (unsigned int)n;
	return 0;
}

static int handle_threshold(struct parser *p, const char *name, char *args)
{
	return parse_lazy_number(p, name, args, &p->bridge->threshold);
}

static int handle_idle_timeout(struct parser *p, const char *name,
			       char *args)
{
	return parse_lazy_number(p, name, args, &p->bridge->idle_timeout);
}

static int handle_bridge_protocol_version(struct parser *p, const char *name,
					  char *args)
{
	const char *v = one_value(p, name, args);

	if (!v)
		return -1;
	if (!strcmp(v, "mqttv311")) {
		p->bridge->proto_level = MQTT_PROTO_V311;
	} else if (!strcmp(v, "mqttv31")) {
		p->bridge->proto_level = MQTT_PROTO_V31;
	} else if (!strcmp(v, "mqttv50")) {
		return parse_error(p, "%s mqttv50 is not supported yet: use mqttv311",
				   name);
	} else {
		return parse_error(p, "%s: \"%s\" is not mqttv31, mqttv311 or mqttv50",
				   name, v);
	}
	return 0;
}

/* bridge_cafile, bridge_capath: a path, the rest of the line. */
static int handle_bridge_ca(struct parser *p, const char *name, char *args)
{
	struct config_bridge *b = p->bridge;

	return set_string(p, name, args, !strcmp(name, "bridge_cafile") ?
			  &b->tls_cafile : &b->tls_capath, NULL);
}

/* bridge_certfile, bridge_keyfile: the client certificate and its key. */
static int handle_bridge_cert(struct parser *p, const char *name, char *args)
{
	struct config_bridge *b = p->bridge;

	b->tls_options_set = true;
	return set_string(p, name, args, !strcmp(name, "bridge_certfile") ?
			  &b->tls_certfile : &b->tls_keyfile, NULL);
}

static int handle_bridge_insecure(struct parser *p, const char *name,
				  char *args)
{
	struct config_bridge *b = p->bridge;

	b->tls_options_set = true;
	if (parse_bool(p, name, args, &b->tls_insecure))
		return -1;
	if (b->tls_insecure)
		parse_warn(p, "%s true: the remote broker's certificate is not checked against its host name; never use it in production",
			   name);
	return 0;
}

/* Mosquitto's spelling; kernel TLS offloads TLS 1.2 and 1.3 only. */
static int handle_bridge_tls_version(struct parser *p, const char *name,
				     char *args)
{
	const char *v = one_value(p, name, args);

	if (!v)
		return -1;
	if (!strcmp(v, "tlsv1.2")) {
		p->bridge->tls_version = TLS_VERSION_1_2;
	} else if (!strcmp(v, "tlsv1.3")) {
		p->bridge->tls_version = TLS_VERSION_1_3;
	} else if (!strcmp(v, "tlsv1.1")) {
		return parse_error(p, "%s tlsv1.1 is not supported: kernel TLS carries TLS 1.2 and 1.3 only",
				   name);
	} else {
		return parse_error(p, "%s: \"%s\" is not tlsv1.2 or tlsv1.3",
				   name, v);
	}
	p->bridge->tls_options_set = true;
	return 0;
}

/* Bridge TLS directives kmqtt does not have, and why. */
static const struct unsupported bridge_tls_refused[] = {
	{ "bridge_alpn", "ALPN is not implemented for bridges" },
	{ "bridge_ciphers", "kmqtt offers the ciphers kernel TLS can offload, no others" },
	{ "bridge_ciphers_tls1.3", "kmqtt offers the ciphers kernel TLS can offload, no others" },
	{ "bridge_identity", "TLS-PSK is not supported" },
	{ "bridge_psk", "TLS-PSK is not supported" },
	{ "bridge_require_ocsp", "OCSP is not implemented" },
};

static const char *unsupported_why(const struct unsupported *list,
				   size_t count, const char *name);

static int handle_bridge_tls_refused(struct parser *p, const char *name,
				     char *args)
{
	(void)args;
	return parse_error(p, "%s is not supported: %s",
			   name, unsupported_why(bridge_tls_refused,
						 ARRAY_SIZE(bridge_tls_refused),
						 name));
}

static int handle_bridge_unsupported(struct parser *p, const char *name,
				     char *args)
{
	(void)args;
	return parse_error(p, "%s is not supported yet: kmqtt's bridges do not implement it",
			   name);
}

static int parse_file(struct parser *p, const char *path);

/* Mosquitto's order: alphabetical, upper case before its lower case. */
static int include_order(const struct dirent **a, const struct dirent **b)
{
	const unsigned char *x = (const void *)(*a)->d_name;
	const unsigned char *y = (const void *)(*b)->d_name;

	for (; *x && *y; x++, y++) {
		int lx = *x >= 'A' && *x <= 'Z' ? *x + 32 : *x;
		int ly = *y >= 'A' && *y <= 'Z' ? *y + 32 : *y;

		if (lx != ly)
			return lx - ly;
		if (*x != *y)
			return *x - *y;	/* 'A' < 'a' */
	}
	return *x - *y;
}

static int is_conf_file(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 5 &&
	       !strcmp(d->d_name + n - 5, ".conf");
}

static int handle_include_dir(struct parser *p, const char *name, char *args)
{
	struct dirent **files;
	const char *outer = p->file;
	unsigned int line = p->line;
	char *path;
	int n, i, rc = 0;

	if (p->included)
		return parse_error(p, "%s is only allowed in the main configuration file",
				   name);
	if (!*args)
		return parse_error(p, "%s: missing directory", name);
	n = scandir(args, &files, is_conf_file, include_order);
	if (n < 0)
		return parse_error(p, "%s: cannot read %s: %s", name, args,
				   strerror(errno));
	p->included = true;
	for (i = 0; i < n; i++) {
		if (!rc && asprintf(&path, "%s/%s", args,
				    files[i]->d_name) < 0) {
			path = NULL;
			rc = out_of_memory(p);
		} else if (!rc) {
			rc = parse_file(p, path);
		}
		free(path);
		path = NULL;
		free(files[i]);
	}
	free(files);
	p->included = false;
	p->file = outer;
	p->line = line;
	return rc;
}

static const struct directive directives[] = {
	{ "listener", handle_listener },
	{ "port", handle_port },
	{ "bind_address", handle_bind_address },
	{ "cafile", handle_cafile },
	{ "certfile", handle_certfile },
	{ "keyfile", handle_keyfile },
	{ "crlfile", handle_crlfile },
	{ "require_certificate", handle_require_certificate },
	{ "use_identity_as_username", handle_use_identity_as_username },
	{ "use_subject_as_username", handle_use_subject_as_username },
	{ "mount_point", handle_mount_point },
	{ "max_topic_alias", handle_max_topic_alias },
	{ "max_keepalive", handle_max_keepalive },
	{ "websockets_headers_size", handle_websockets_headers_size },
	{ "persistence", handle_persistence },
	{ "persistence_location", handle_persistence_location },
	{ "persistence_file", handle_persistence_file },
	{ "autosave_interval", handle_autosave_interval },
	{ "autosave_on_changes", handle_autosave_on_changes },
	{ "kmqtt_save_before_ack", handle_save_before_ack },
	{ "sys_interval", handle_sys_interval },
	{ "metrics_listener", handle_metrics_listener },
	{ "allow_anonymous", handle_allow_anonymous },
	{ "password_file", handle_password_file },
	{ "scram_file", handle_scram_file },
	{ "acl_file", handle_acl_file },
	{ "allow_zero_length_clientid", handle_allow_zero_length_clientid },
	{ "auto_id_prefix", handle_auto_id_prefix },
	{ "per_listener_settings", handle_per_listener_settings },
	{ "protocol", handle_protocol },
	{ "max_qos", handle_max_qos },
	{ "upgrade_outgoing_qos", handle_upgrade_outgoing_qos },
	{ "log_type", handle_log_type },
	{ "connection", handle_connection },
	{ "include_dir", handle_include_dir },
};

static const struct unsupported ignored[] = {
	{ "user", "kmqttd keeps the user it was started as" },
	{ "pid_file", "run kmqttd under a service manager" },
	{ "log_dest", "kmqttd logs to stderr" },
	{ "log_facility", "kmqttd logs to stderr" },
	{ "log_timestamp", "kmqttd always prints timestamps" },
	{ "log_timestamp_format", "kmqttd prints Unix timestamps" },
	{ "connection_messages", "use log_type or -v" },
	{ "set_tcp_nodelay", "kmqtt.ko manages client sockets" },
	{ "max_inflight_bytes", "kmqtt limits inflight messages by count" },
	{ "allow_duplicate_messages", "deprecated by Mosquitto" },
	{ "check_retain_source", "applies to ACL checks of retained messages" },
	{ "websockets_log_level", "use log_type or -v" },
	{ "http_dir", "kmqttd serves no files over HTTP" },
};

static const struct unsupported refused[] = {
	{ "bind_interface", "use a listener address" },
	{ "socket_domain", "use a listener address (0.0.0.0 or ::)" },
	{ "use_username_as_clientid", "not implemented" },
	{ "clientid_prefixes", "not implemented" },
	{ "auth_plugin", "plugins are not supported" },
	{ "auth_plugin_deny_special_chars", "plugins are not supported" },
	{ "plugin", "plugins are not supported" },
	{ "psk_file", "TLS-PSK is not supported" },
	{ "psk_hint", "TLS-PSK is not supported" },
	{ "capath", "use cafile" },
	{ "ciphers", "not implemented" },
	{ "ciphers_tls1.3", "not implemented" },
	{ "dhparamfile", "not implemented" },
	{ "tls_engine", "not implemented" },
	{ "tls_engine_kpass_sha1", "not implemented" },
	{ "tls_keyform", "not implemented" },
	{ "tls_version", "not implemented" },
};

/* Directives of a `connection` block (Documentation/bridges.rst). */
static const struct directive bridge_directives[] = {
	{ "address", handle_bridge_address },
	{ "addresses", handle_bridge_address },
	{ "topic", handle_bridge_topic },
	{ "remote_clientid", handle_remote_clientid },
	{ "clientid", handle_remote_clientid },
	{ "remote_username", handle_remote_username },
	{ "username", handle_remote_username },
	{ "remote_password", handle_remote_password },
	{ "password", handle_remote_password },
	{ "local_clientid", handle_local_clientid },
	{ "local_username", handle_local_credential },
	{ "local_password", handle_local_credential },
	{ "cleansession", handle_cleansession },
	{ "local_cleansession", handle_local_cleansession },
	{ "keepalive_interval", handle_keepalive_interval },
	{ "restart_timeout", handle_restart_timeout },
	{ "round_robin", handle_round_robin },
	{ "start_type", handle_start_type },
	{ "idle_timeout", handle_idle_timeout },
	{ "threshold", handle_threshold },
	{ "try_private", handle_try_private },
	{ "notifications", handle_notifications },
	{ "notifications_local_only", handle_notifications_local_only },
	{ "notification_topic", handle_notification_topic },
	{ "bridge_protocol_version", handle_bridge_protocol_version },
	{ "bridge_cafile", handle_bridge_ca },
	{ "bridge_capath", handle_bridge_ca },
	{ "bridge_certfile", handle_bridge_cert },
	{ "bridge_keyfile", handle_bridge_cert },
	{ "bridge_insecure", handle_bridge_insecure },
	{ "bridge_tls_version", handle_bridge_tls_version },
	{ "bridge_alpn", handle_bridge_tls_refused },
	{ "bridge_ciphers", handle_bridge_tls_refused },
	{ "bridge_ciphers_tls1.3", handle_bridge_tls_refused },
	{ "bridge_identity", handle_bridge_tls_refused },
	{ "bridge_psk", handle_bridge_tls_refused },
	{ "bridge_require_ocsp", handle_bridge_tls_refused },
	{ "bridge_attempt_unsubscribe", handle_bridge_unsupported },
	{ "bridge_bind_address", handle_bridge_unsupported },
	{ "bridge_max_packet_size", handle_bridge_unsupported },
	{ "bridge_max_topic_alias", handle_bridge_unsupported },
	{ "bridge_outgoing_retain", handle_bridge_unsupported },
	{ "bridge_receive_maximum", handle_bridge_unsupported },
	{ "bridge_session_expiry_interval", handle_bridge_unsupported },
	{ "bridge_tcp_keepalive", handle_bridge_unsupported },
	{ "bridge_tcp_user_timeout", handle_bridge_unsupported },
};

static const char *unsupported_why(const struct unsupported *list,
				   size_t count, const char *name)
{
	size_t i;

	for (i = 0; i < count; i++)
		if (!strcmp(name, list[i].name))
			return list[i].why;
	return NULL;
}

static const struct directive *find_directive(const struct directive *list,
					     size_t count, const char *name)
{
	size_t i;

	for (i = 0; i < count; i++)
		if (!strcmp(name, list[i].name))
			return &list[i];
	return NULL;
}

static int handle_limit(struct parser *p, const char *name, char *args,
			enum limits_parse_result *res)
{
	char msg[256];

	*res = limits_parse(name, args, &p->cfg->limits, msg, sizeof(msg));
	if (*res == LIMITS_INVALID)
		return parse_error(p, "%s", msg);
	return 0;
}

static int parse_line(struct parser *p, char *line)
{
	const struct directive *d;
	enum limits_parse_result res;
	char *name, *args, *end;
	const char *why;

	while (*line == ' ' || *line == '\t')
		line++;
	end = line + strlen(line);
	while (end > line && strchr(" \t\r\n", end[-1]))
		*--end = '\0';
	if (!*line || *line == '#')
		return 0;
	name = line;
	args = line + strcspn(line, " \t");
	if (*args) {
		*args++ = '\0';
		args += strspn(args, " \t");
	}

	d = find_directive(directives, ARRAY_SIZE(directives), name);
	if (d)
		return d->handle(p, name, args);
	if (handle_limit(p, name, args, &res))
		return -1;
	if (res == LIMITS_OK)
		return 0;
	d = find_directive(bridge_directives, ARRAY_SIZE(bridge_directives),
			   name);
	if (d) {
		if (!p->bridge)
			return parse_error(p, "%s is only valid in a bridge (after connection)",
					   name);
		return d->handle(p, name, args);
	}
	why = unsupported_why(ignored, ARRAY_SIZE(ignored), name);
	if (why) {
		parse_warn(p, "%s ignored: %s", name, why);
		return 0;
	}
	why = unsupported_why(refused, ARRAY_SIZE(refused), name);
	if (why || !strncmp(name, "auth_opt_", 9) ||
	    !strncmp(name, "plugin_opt_", 11))
		return parse_error(p, "%s is not supported by kmqtt: %s", name,
				   why ? why : "plugins are not supported");
	return parse_error(p, "unknown directive \"%s\"", name);
}

static int parse_file(struct parser *p, const char *path)
{
	size_t cap = 0;
	char *line = NULL;
	FILE *f;
	int rc = 0;

	p->file = path;
	p->line = 0;
	f = fopen(path, "r");
	if (!f) {
		snprintf(p->err, p->errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (!rc && getline(&line, &cap, f) >= 0) {
		p->line++;
		rc = parse_line(p, line);
		/* include_dir read other files: this one's name again */
		p->file = path;
	}
	if (!rc && ferror(f)) {
		snprintf(p->err, p->errlen, "%s: %s", path, strerror(errno));
		rc = -1;
	}
	free(line);
	fclose(f);
	return rc;
}

/* Put @l first: the default listener is the one -p/-b change. */
static int listener_prepend(struct config *cfg, struct config_listener *l)
{
	struct config_listener *ls;

	ls = realloc(cfg->listeners, (cfg->listener_count + 1) * sizeof(*ls));
	if (!ls)
		return -ENOMEM;
	memmove(ls + 1, ls, cfg->listener_count * sizeof(*ls));
	ls[0] = *l;
	memset(l, 0, sizeof(*l));
	cfg->listeners = ls;
	cfg->listener_count++;
	return 0;
}

static void listener_warn(struct parser *p, const struct config_listener *l,
			  const char *text)
{
	char msg[512];

	if (!p->warn)
		return;
	snprintf(msg, sizeof(msg), "%s: listener %s on %s: %s", l->where,
		 l->port, addr_or_any(l), text);
	p->warn(msg, p->warn_arg);
}

/*
 * A listener's TLS settings must make sense together: a listener with a
 * stray cafile and no certfile would otherwise serve plain TCP to clients
 * that think they are verified.
 */
static int check_listener_tls(struct parser *p,
			      const struct config_listener *l)
{
	const char *why = NULL;

	if (!l->certfile && (l->keyfile || l->cafile || l->crlfile ||
			     l->require_certificate ||
			     l->use_identity_as_username ||
			     l->use_subject_as_username))
		why = "TLS settings without certfile (TLS needs certfile and keyfile)";
	else if (l->certfile && !l->keyfile)
		why = "certfile without keyfile";
	else if (l->require_certificate && !l->cafile)
		why = "require_certificate needs a cafile to verify clients with";
	if (why) {
		snprintf(p->err, p->errlen, "%s: listener %s on %s: %s",
			 l->where, l->port, addr_or_any(l), why);
		return -1;
	}
	/* Accepted as Mosquitto accepts them, but worth a word. */
	if (l->crlfile && !l->require_certificate)
		listener_warn(p, l, "crlfile is not used without require_certificate true: no client certificate is asked for");
	if ((l->use_identity_as_username || l->use_subject_as_username) &&
	    !l->require_certificate)
		listener_warn(p, l, "use_identity_as_username or use_subject_as_username without require_certificate true: every client is refused (CONNACK 4), as in Mosquitto");
	return 0;
}

/* Mosquitto 2.0: anonymous clients only in local only mode, unless set. */
static void security_settle(struct config_security *s, bool local_only)
{
	if (!s->allow_anonymous_set)
		s->allow_anonymous = local_only;
}

/*
 * Once the listeners are known: their TLS settings checked, the defaults
 * of the security settings in force.
 */
static int finish_listeners(struct parser *p)
{
	struct config *cfg = p->cfg;
	size_t i;

	for (i = 0; i < cfg->listener_count; i++) {
		if (check_listener_tls(p, &cfg->listeners[i]))
			return -1;
		security_settle(&cfg->listeners[i].security, cfg->local_only);
	}
	security_settle(&cfg->security, cfg->local_only);
	return 0;
}

/* *@out, unless set, as asprintf() makes it (left NULL on failure). */
static int set_default(char **out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int set_default(char **out, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*out)
		return 0;
	va_start(ap, fmt);
	n = vasprintf(out, fmt, ap);
	va_end(ap);
	if (n < 0) {
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* Mosquitto's defaults for what a bridge's block leaves unset. */
static int bridge_defaults(struct config_bridge *b)
{
	char host[256];

	if (gethostname(host, sizeof(host)))
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	if (!b->local_cleansession_set)
		b->local_cleansession = b->cleansession;
	if (set_default(&b->remote_clientid, "%s.%s", host, b->name) ||
	    set_default(&b->local_clientid, "local.%s", b->remote_clientid) ||
	    set_default(&b->notification_topic,
			"$SYS/broker/connection/%s/state", b->remote_clientid))
		return -ENOMEM;
	return 0;
}

/*
 * Why a lazy bridge would never start, or NULL: it starts when messages
 * for the remote wait in its session here.
 */
static const char *lazy_unable(const struct config *cfg,
			       const struct config_bridge *b)
{
	uint64_t max_queued = limits_value(&cfg->limits,
					   KMQTT_LIMIT_MAX_QUEUED_MESSAGES);
	size_t i;

	if (b->local_cleansession)
		return "start_type lazy needs local_cleansession false: nothing waits for a bridge whose session ends with its link";
	for (i = 0; i < b->topic_count; i++)
		if (b->topics[i].direction & KMQTT_BRIDGE_OUT)
			break;
	if (i == b->topic_count)
		return "start_type lazy needs a topic line going out: only messages waiting to go out start it";
	if (max_queued && b->threshold > max_queued)
		return "threshold is above max_queued_messages (1000 unless set): it would never start";
	return NULL;
}

/* Each bridge whole: what a block needs, and the defaults it left. */
static int finish_bridges(struct parser *p)
{
	struct config *cfg = p->cfg;
	const char *why = NULL;
	struct config_bridge *b;
	size_t i, j;

	for (i = 0; i < cfg->bridge_count && !why; i++) {
		b = &cfg->bridges[i];
		b->tls = b->tls_cafile || b->tls_capath;
		if (!b->address_count)
			why = "no address";
		else if (!b->topic_count)
			why = "no topic line";
		else if (b->remote_password && !b->remote_username)
			why = "remote_password without remote_username (MQTT-3.1.2-22)";
		else if (!b->tls_certfile != !b->tls_keyfile)
			why = "bridge_certfile and bridge_keyfile go together";
		else if (b->tls_options_set && !b->tls_cafile && !b->tls_capath)
			why = "TLS settings without bridge_cafile or bridge_capath (TLS needs one of them, as in Mosquitto)";
		else if (bridge_defaults(b))
			return out_of_memory(p);
		else if (strlen(b->local_clientid) > KMQTT_CLIENT_ID_MAX)
			why = "local_clientid longer than the module takes: set local_clientid";
		else if (!kmqtt_topic_name_valid((const uint8_t *)b->notification_topic,
						 strlen(b->notification_topic)))
			why = "the notification topic is not a valid topic name: set notification_topic";
		else if (b->start_type == CONFIG_START_LAZY)
			why = lazy_unable(cfg, b);
		/* Two links on one session would take it over in turns. */
		for (j = 0; j < i && !why; j++)
			if (!strcmp(cfg->bridges[j].local_clientid,
				    b->local_clientid))
				why = "its local client id is another bridge's: set local_clientid";
	}
	if (why)
		snprintf(p->err, p->errlen, "%s: bridge \"%s\": %s", b->where,
			 b->name, why);
	return why ? -1 : 0;
}

/*
 * After the last line: start the default listener when the file (port,
 * bind_address) or the command line asks for it, or when there is no
 * listener at all (Mosquitto 2.0 local only mode).
 */
static int finish(struct parser *p, const char *path, const char *cli_addr,
		  const char *cli_port)
{
	struct config *cfg = p->cfg;
	struct config_listener *d = &p->deflt;
	const char *source = NULL;
	size_t i;

	if (cli_addr || cli_port) {
		source = "command line";
		if (cli_addr) {
			free(d->addr);
			d->addr = strdup(cli_addr);
			if (!d->addr)
				return out_of_memory(p);
		}
		/* kmqttd checked it: 0..65535, 0 for any free port */
		if (cli_port)
			snprintf(d->port, sizeof(d->port), "%s", cli_port);
	} else if (p->default_requested) {
		source = "port/bind_address";
	} else if (cfg->listener_count == 0) {
		cfg->local_only = true;
		d->addr = strdup(CONFIG_LOCAL_ONLY_ADDR);
		if (!d->addr)
			return out_of_memory(p);
	}
	if (!source && !cfg->local_only) {
		if (p->default_settings_where && p->warn) {
			char msg[512];

			snprintf(msg, sizeof(msg),
				 "%s: listener settings before the first listener are unused: they belong to the default listener, which port or bind_address would start",
				 p->default_settings_where);
			p->warn(msg, p->warn_arg);
		}
		return finish_listeners(p);
	}
	if (!d->port[0])
		snprintf(d->port, sizeof(d->port), CONFIG_DEFAULT_PORT);
	for (i = 0; i < cfg->listener_count; i++) {
		if (config_listener_same_socket(&cfg->listeners[i], d)) {
			snprintf(p->err, p->errlen,
				 "%s: listener %s on %s is also the default listener (%s)",
				 cfg->listeners[i].where, d->port,
				 addr_or_any(d),
				 source ? source : "local only mode");
			return -1;
		}
	}
	d->is_default = true;
	if (asprintf(&d->where, "%s (%s)", path,
		     source ? source : "local only mode") < 0) {
		d->where = NULL;
		return out_of_memory(p);
	}
	if (listener_prepend(cfg, d))
		return out_of_memory(p);
	return finish_listeners(p);
}

int config_load(struct config *cfg, const char *path, const char *cli_addr,
		const char *cli_port, config_warn_fn warn, void *warn_arg,
		char *err, size_t errlen)
{
	struct parser p = {
		.cfg = cfg, .warn = warn, .warn_arg = warn_arg,
		.err = err, .errlen = errlen,
	};
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	cfg->persistence.autosave_interval = CONFIG_AUTOSAVE_INTERVAL_DEFAULT;
	cfg->websockets_headers_size = CONFIG_WEBSOCKETS_HEADERS_SIZE_DEFAULT;
	security_init(&cfg->security);
	security_init(&p.deflt.security);
	rc = parse_file(&p, path);
	if (!rc)
		rc = finish(&p, path, cli_addr, cli_port);
	if (!rc)
		rc = finish_bridges(&p);
	listener_free(&p.deflt);
	free(p.default_settings_where);
	free(p.security_where);
	if (rc) {
		config_free(cfg);
		return -1;
	}
	return 0;
}

int config_from_command_line(struct config *cfg, const char *addr,
			     const char *port)
{
	struct config_listener *l;

	memset(cfg, 0, sizeof(*cfg));
	cfg->persistence.autosave_interval = CONFIG_AUTOSAVE_INTERVAL_DEFAULT;
	cfg->websockets_headers_size = CONFIG_WEBSOCKETS_HEADERS_SIZE_DEFAULT;
	security_init(&cfg->security);
	cfg->security.allow_anonymous = true;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	cfg->listeners = l;
	cfg->listener_count = 1;
	l->is_default = true;
	snprintf(l->port, sizeof(l->port), "%s", port);
	l->addr = strdup(addr);
	l->where = strdup("command line");
	if (!l->addr || !l->where) {
		config_free(cfg);
		return -ENOMEM;
	}
	return 0;
}

void config_free(struct config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->listener_count; i++)
		listener_free(&cfg->listeners[i]);
	free(cfg->listeners);
	for (i = 0; i < cfg->bridge_count; i++)
		config_bridge_free(&cfg->bridges[i]);
	free(cfg->bridges);
	security_free(&cfg->security);
	free(cfg->persistence.location);
	free(cfg->persistence.file);
	free(cfg->metrics.addr);
	free(cfg->metrics.where);
	memset(cfg, 0, sizeof(*cfg));
}

int config_persistence_path(const struct config_persistence *p, char *dir,
			    size_t dir_size, char *name, size_t name_size)
{
	const char *file = p->file ? p->file : CONFIG_PERSISTENCE_FILE_DEFAULT;
	const char *location = p->location ? p->location : "";
	size_t len = strlen(location);
	char path[4096];
	char *slash;
	int n;

	/* Mosquitto's location ends with a slash; one without gets it. */
	n = snprintf(path, sizeof(path), "%s%s%s", location,
		     len && location[len - 1] != '/' ? "/" : "", file);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	slash = strrchr(path, '/');
	if (!slash)
		n = snprintf(dir, dir_size, ".");
	else if (slash == path)
		n = snprintf(dir, dir_size, "/");
	else
		n = snprintf(dir, dir_size, "%.*s", (int)(slash - path), path);
	if (n < 0 || (size_t)n >= dir_size)
		return -ENAMETOOLONG;
	n = snprintf(name, name_size, "%s", slash ? slash + 1 : path);
	if (n < 0 || (size_t)n >= name_size)
		return -ENAMETOOLONG;
	return name[0] ? 0 : -EINVAL;
}

const struct config_security *config_security_of(const struct config *cfg,
						 const struct config_listener *l)
{
	return cfg->per_listener_settings ? &l->security : &cfg->security;
}

static bool str_equal(const char *a, const char *b)
{
	return a && b ? !strcmp(a, b) : a == b;
}

bool config_bridge_equal(const struct config_bridge *a,
			 const struct config_bridge *b)
{
	size_t i;

	if (!str_equal(a->name, b->name) ||
	    a->address_count != b->address_count ||
	    a->topic_count != b->topic_count ||
	    !str_equal(a->remote_clientid, b->remote_clientid) ||
	    !str_equal(a->remote_username, b->remote_username) ||
	    !str_equal(a->remote_password, b->remote_password) ||
	    !str_equal(a->local_clientid, b->local_clientid) ||
	    a->cleansession != b->cleansession ||
	    a->local_cleansession != b->local_cleansession ||
	    a->keepalive != b->keepalive ||
	    a->restart_base != b->restart_base ||
	    a->restart_cap != b->restart_cap ||
	    a->round_robin != b->round_robin ||
	    a->start_type != b->start_type ||
	    (a->start_type == CONFIG_START_LAZY &&
	     (a->threshold != b->threshold ||
	      a->idle_timeout != b->idle_timeout)) ||
	    a->try_private != b->try_private ||
	    a->notifications != b->notifications ||
	    a->notifications_local_only != b->notifications_local_only ||
	    !str_equal(a->notification_topic, b->notification_topic) ||
	    a->proto_level != b->proto_level ||
	    !str_equal(a->tls_cafile, b->tls_cafile) ||
	    !str_equal(a->tls_capath, b->tls_capath) ||
	    !str_equal(a->tls_certfile, b->tls_certfile) ||
	    !str_equal(a->tls_keyfile, b->tls_keyfile) ||
	    a->tls_insecure != b->tls_insecure ||
	    a->tls_version != b->tls_version)
		return false;
	for (i = 0; i < a->address_count; i++)
		if (strcmp(a->addresses[i].host, b->addresses[i].host) ||
		    strcmp(a->addresses[i].port, b->addresses[i].port))
			return false;
	for (i = 0; i < a->topic_count; i++) {
		const struct kmqtt_nl_bridge_topic *x = &a->topics[i];
		const struct kmqtt_nl_bridge_topic *y = &b->topics[i];

		if (x->direction != y->direction || x->qos != y->qos ||
		    strcmp(x->local, y->local) || strcmp(x->remote, y->remote) ||
		    x->local_prefix_len != y->local_prefix_len ||
		    x->remote_prefix_len != y->remote_prefix_len)
			return false;
	}
	return true;
}

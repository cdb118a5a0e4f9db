// SPDX-License-Identifier: GPL-2.0
/*
 * Mosquitto-format configuration: one directive per line, "#" comments,
 * `listener` lines opening blocks of per-listener settings.  Directives
 * fall in four groups: handled here, limits (limits.c), ignored with a
 * warning, and refused because ignoring them would change what clients
 * get (or weaken security) behind the operator's back.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "connect.h"	/* CONNECT_ASSIGNED_ID_RANDOM_LEN */
#include "kmod/codec.h"
#include "kmod/topic.h"
#include "limits.h"

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
	bool in_bridge;			/* after a `connection` line */
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
	p->in_bridge = false;
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

/* A number from 0 to @max into *@out. */
static int parse_uint(struct parser *p, const char *name, char *args,
		      unsigned long max, unsigned long *out)
{
	const char *v = one_value(p, name, args);
	unsigned long n;
	char *end;

	if (!v)
		return -1;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (*v < '0' || *v > '9' || *end || errno || n > max)
		return parse_error(p, "%s: \"%s\" is not a number from 0 to %lu",
				   name, v, max);
	*out = n;
	return 0;
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

static int handle_autosave_on_changes(struct parser *p, const char *name,
				      char *args)
{
	return parse_bool(p, name, args,
			  &p->cfg->persistence.autosave_on_changes);
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
	if (!*args || strcmp(args, "websockets"))
		return require_value(p, name, args, "mqtt",
				     "the only protocol is mqtt");
	return parse_error(p, "protocol websockets is not supported: kmqtt serves MQTT over TCP (and TLS) only");
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

static int handle_connection(struct parser *p, const char *name, char *args)
{
	const char *v = one_value(p, name, args);

	if (!v)
		return -1;
	parse_warn(p, "bridge \"%s\" ignored: kmqtt has no bridges yet", v);
	p->in_bridge = true;
	return 0;
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
	{ "persistence", handle_persistence },
	{ "persistence_location", handle_persistence_location },
	{ "persistence_file", handle_persistence_file },
	{ "autosave_interval", handle_autosave_interval },
	{ "autosave_on_changes", handle_autosave_on_changes },
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
	{ "sys_interval", "no $SYS topics; use kmqttctl show" },
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
	{ "websockets_log_level", "no websockets" },
	{ "websockets_headers_size", "no websockets" },
	{ "http_dir", "no websockets" },
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

/* Directives of a `connection` block, skipped with the bridge. */
static const char *const bridge_directives[] = {
	"address", "addresses", "cleansession", "local_cleansession",
	"keepalive_interval", "idle_timeout", "local_clientid",
	"local_password", "local_username", "notifications",
	"notifications_local_only", "notification_topic", "remote_clientid",
	"remote_password", "remote_username", "restart_timeout",
	"round_robin", "start_type", "threshold", "topic", "try_private",
	"clientid", "password", "username",
};

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static const char *unsupported_why(const struct unsupported *list,
				   size_t count, const char *name)
{
	size_t i;

	for (i = 0; i < count; i++)
		if (!strcmp(name, list[i].name))
			return list[i].why;
	return NULL;
}

static bool is_bridge_directive(const char *name)
{
	size_t i;

	if (!strncmp(name, "bridge_", 7))
		return true;
	for (i = 0; i < ARRAY_SIZE(bridge_directives); i++)
		if (!strcmp(name, bridge_directives[i]))
			return true;
	return false;
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
	enum limits_parse_result res;
	char *name, *args, *end;
	const char *why;
	size_t i;

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

	for (i = 0; i < ARRAY_SIZE(directives); i++)
		if (!strcmp(name, directives[i].name))
			return directives[i].handle(p, name, args);
	if (handle_limit(p, name, args, &res))
		return -1;
	if (res == LIMITS_OK)
		return 0;
	if (is_bridge_directive(name)) {
		if (!p->in_bridge)
			return parse_error(p, "%s is only valid in a bridge (after connection)",
					   name);
		return 0;
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
	security_init(&cfg->security);
	security_init(&p.deflt.security);
	rc = parse_file(&p, path);
	if (!rc)
		rc = finish(&p, path, cli_addr, cli_port);
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
	security_free(&cfg->security);
	free(cfg->persistence.location);
	free(cfg->persistence.file);
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

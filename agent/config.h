/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kmqttd's configuration file, in Mosquitto's format and with Mosquitto
 * 2.0's defaults (Documentation/configuration.rst).  Parsing only: no
 * sockets, no netlink, so every rule is unit tested on the host.
 */
#ifndef KMQTTD_CONFIG_H
#define KMQTTD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "kmqtt_nl.h"
#include "tls.h"

#define CONFIG_DEFAULT_PORT	"1883"
/* Mosquitto 2.0 "local only mode": no listener in the file. */
#define CONFIG_LOCAL_ONLY_ADDR	"127.0.0.1"
/* What assigned client ids start with unless auto_id_prefix says. */
#define CONFIG_AUTO_ID_PREFIX	"auto-"

/*
 * Who may connect and what they may do: Mosquitto's "security options",
 * global, or each listener's with per_listener_settings true.
 */
struct config_security {
	bool allow_anonymous;
	bool allow_anonymous_set;	/* else the default (Mosquitto 2.0's) */
	char *password_file;		/* NULL when not set */
	char *password_file_where;
	char *scram_file;		/* SCRAM-SHA-256 secrets, or NULL */
	char *scram_file_where;
	char *acl_file;
	char *acl_file_where;
	bool allow_zero_length_clientid;
	char *auto_id_prefix;		/* NULL: CONFIG_AUTO_ID_PREFIX */
};

/* A listening socket and the settings that belong to it. */
/* Mosquitto's max_topic_alias when a listener does not set it. */
#define CONFIG_MAX_TOPIC_ALIAS_DEFAULT	10

struct config_listener {
	char *addr;			/* NULL: every interface */
	char port[6];			/* 1..65535 */
	/* TLS: read by agent/tls.c; NULL or false when not set. */
	char *cafile;
	char *certfile;
	char *keyfile;
	char *crlfile;
	bool require_certificate;
	bool use_identity_as_username;
	bool use_subject_as_username;
	char *mount_point;		/* topic prefix, NULL: none */
	bool websockets;		/* protocol websockets */
	/* 5.0 topic aliases a client may set; Mosquitto's 10 when not set. */
	bool max_topic_alias_set;
	uint16_t max_topic_alias;
	/* Used with per_listener_settings true only. */
	struct config_security security;
	char *where;			/* "FILE:LINE" that defined it */
	bool is_default;		/* from port/bind_address, -p/-b */
};

/*
 * Saving the broker's state to disk (Documentation/persistence.rst), as
 * Mosquitto's directives say it.
 */
#define CONFIG_PERSISTENCE_FILE_DEFAULT		"kmqtt.db"
#define CONFIG_AUTOSAVE_INTERVAL_DEFAULT	1800

struct config_persistence {
	bool enabled;
	char *location;			/* prefix of the file; NULL: none */
	char *file;			/* NULL: the default */
	/* Seconds, or changes with autosave_on_changes; 0: at exit only. */
	unsigned int autosave_interval;
	bool autosave_on_changes;
	/* QoS 1/2 acks wait for a save that holds their message. */
	bool save_before_ack;
};

/*
 * kmqtt's Prometheus endpoint (metrics_listener PORT [ADDRESS],
 * Documentation/metrics.rst); off unless set.
 */
struct config_metrics {
	char port[6];			/* "": off */
	char *addr;			/* numeric; NULL: this host only */
	char *where;			/* "FILE:LINE" of the directive */
};

/*
 * A bridge (Documentation/bridges.rst): a `connection` block, with
 * Mosquitto's defaults filled in once the file is read.
 */
#define CONFIG_BRIDGE_PORT		"1883"
#define CONFIG_BRIDGE_KEEPALIVE		60
/* Mosquitto's least keepalive_interval: lower ones become this. */
#define CONFIG_BRIDGE_KEEPALIVE_MIN	5
#define CONFIG_BRIDGE_RESTART_BASE	5
#define CONFIG_BRIDGE_RESTART_CAP	30

/* Mosquitto's defaults for start_type lazy. */
#define CONFIG_BRIDGE_THRESHOLD		10
#define CONFIG_BRIDGE_IDLE_TIMEOUT	60

enum config_start_type {
	CONFIG_START_AUTOMATIC,	/* dialled at start and after each failure */
	CONFIG_START_LAZY,	/* dialled when messages wait, closed idle */
	CONFIG_START_ONCE,	/* dialled once, never again */
};

struct config_bridge_address {
	char *host;			/* a name or an IP, without brackets */
	char port[6];
};

struct config_bridge {
	char *name;
	char *where;			/* "FILE:LINE" of its connection line */
	struct config_bridge_address *addresses;
	size_t address_count;
	/* Its topic lines; local and remote are allocated, owned here. */
	struct kmqtt_nl_bridge_topic *topics;
	size_t topic_count;
	char *remote_clientid;		/* default "HOSTNAME.NAME" */
	char *remote_username;		/* NULL: none */
	char *remote_password;		/* NULL: none */
	char *local_clientid;		/* default "local." remote_clientid */
	bool cleansession;		/* of the remote session */
	bool local_cleansession;	/* of the local one (the module's) */
	bool local_cleansession_set;	/* else cleansession's value */
	uint16_t keepalive;
	/* Seconds; @restart_cap 0: always @restart_base, else backoff. */
	unsigned int restart_base;
	unsigned int restart_cap;
	bool round_robin;
	enum config_start_type start_type;
	/* start_type lazy: messages waiting that dial, seconds idle that close */
	unsigned int threshold;
	unsigned int idle_timeout;
	bool try_private;
	bool notifications;
	bool notifications_local_only;	/* none on the remote broker */
	char *notification_topic;	/* default $SYS/broker/connection/... */
	uint8_t proto_level;		/* MQTT_PROTO_V311 or MQTT_PROTO_V31 */
	/*
	 * TLS, on when bridge_cafile or bridge_capath is set (as in
	 * Mosquitto); the paths are NULL when not set.
	 */
	bool tls;
	char *tls_cafile;
	char *tls_capath;
	char *tls_certfile;
	char *tls_keyfile;
	bool tls_insecure;		/* bridge_insecure true */
	enum tls_version tls_version;
	bool tls_options_set;		/* certfile, keyfile, insecure, version */
};

/* Mosquitto's max_keepalive when the file does not set it. */
#define CONFIG_MAX_KEEPALIVE_DEFAULT	65535
/*
 * The largest WebSocket handshake request when websockets_headers_size
 * is 0 or not set: kmqttd's, not Mosquitto's 1024 (libwebsockets'), as a
 * browser sends the site's cookies with it.
 */
#define CONFIG_WEBSOCKETS_HEADERS_SIZE_DEFAULT	8192

struct config {
	struct config_listener *listeners;
	size_t listener_count;
	bool local_only;		/* no listener or port in the file */
	bool per_listener_settings;
	/* The longest keepalive granted, 0: any; global, as Mosquitto's. */
	bool max_keepalive_set;
	uint16_t max_keepalive;
	/* The longest WebSocket handshake request, bytes; global. */
	size_t websockets_headers_size;
	/* Used with per_listener_settings false only. */
	struct config_security security;
	struct config_persistence persistence;
	struct config_metrics metrics;
	/* The limits the file sets; the module keeps its own for others. */
	struct kmqtt_nl_limits limits;
	/* Seconds between $SYS/broker updates (agent/sys.h); 0: none. */
	unsigned int sys_interval;
	bool log_type_set;		/* a log_type line was seen */
	bool log_verbose;		/* log_type asks for connection logs */
	struct config_bridge *bridges;
	size_t bridge_count;
};

/* Receives each warning as "FILE:LINE: text". */
typedef void (*config_warn_fn)(const char *msg, void *arg);

/*
 * Read @path (and its include_dir files) into @cfg.  @cli_addr and
 * @cli_port (-b and -p, NULL when not given) override the default
 * listener's, or add one when the file only has `listener` lines.
 * Returns 0, or -1 with @err holding "FILE:LINE: reason" (or "FILE:
 * reason") and @cfg empty.  Known Mosquitto directives that kmqtt ignores
 * are reported through @warn, and do not fail.
 */
int config_load(struct config *cfg, const char *path, const char *cli_addr,
		const char *cli_port, config_warn_fn warn, void *warn_arg,
		char *err, size_t errlen);

/*
 * Without a file: kmqttd's own defaults, one listener on @addr and @port,
 * anonymous clients allowed, the module's limits.  Returns 0 or -ENOMEM.
 */
int config_from_command_line(struct config *cfg, const char *addr,
			     const char *port);

/* The same listening socket (address and port as written). */
bool config_listener_same_socket(const struct config_listener *a,
				 const struct config_listener *b);

/* The security settings that apply to the clients of @l. */
const struct config_security *config_security_of(const struct config *cfg,
						 const struct config_listener *l);

/*
 * Where the snapshot goes: Mosquitto's persistence_location followed by
 * persistence_file, split into a directory (in @dir) and a file name
 * (in @name).  Returns 0, -ENAMETOOLONG, or -EINVAL when it ends with a
 * slash.
 */
int config_persistence_path(const struct config_persistence *p, char *dir,
			    size_t dir_size, char *name, size_t name_size);

/*
 * The same bridge, every setting alike (its place in the file aside): a
 * reload leaves it alone.
 */
bool config_bridge_equal(const struct config_bridge *a,
			 const struct config_bridge *b);

void config_free(struct config *cfg);

#endif /* KMQTTD_CONFIG_H */

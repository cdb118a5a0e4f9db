/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoints: a connection's attach and close, each packet received,
 * each message's fan-out and each message or delivery dropped.  They cost
 * a patched-out branch while no one listens; Documentation/tracing.rst
 * shows how to listen with perf, bpftrace or tracefs.
 *
 * Client ids and topics are copied up to KMQTT_TRACE_STR_MAX bytes: an
 * event must fit in a page of the ring buffer.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM kmqtt

#if !defined(_KMQTT_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _KMQTT_TRACE_H

#include <linux/minmax.h>
#include <linux/tracepoint.h>
#include <linux/kmqtt.h>
#include <kmqtt/mqtt.h>

#include "broker.h"
#include "conn.h"
#include "msg.h"
#include "session.h"

#define KMQTT_TRACE_STR_MAX	128

#define KMQTT_TRACE_LEN(len)	min_t(u32, len, KMQTT_TRACE_STR_MAX)

/* Read again for each stage of define_trace.h: functions only once. */
#ifndef _KMQTT_TRACE_FUNCTIONS
#define _KMQTT_TRACE_FUNCTIONS
/*
 * A NUL-terminated copy of @len bytes, control characters as '?': client
 * ids and topics may hold them (UTF-8 allows them), and must not forge
 * lines of the trace.
 */
static inline void kmqtt_trace_copy(char *dst, const void *src, u32 len)
{
	const u8 *from = src;
	u32 i;

	for (i = 0; i < len; i++)
		dst[i] = from[i] < 0x20 || from[i] == 0x7f ? '?' : from[i];
	dst[len] = '\0';
}

/* The client id of @session, which may be NULL: then an empty one. */
static inline u16 kmqtt_trace_client_len(const struct kmqtt_session *session)
{
	return session ? session->client_id_len : 0;
}

static inline const char *
kmqtt_trace_client(const struct kmqtt_session *session)
{
	return session ? (const char *)session->client_id : "";
}
#endif

/* The client id of @session as the field "client". */
#define kmqtt_trace_client_field(session)				\
	__dynamic_array(char, client,					\
			KMQTT_TRACE_LEN(kmqtt_trace_client_len(session)) + 1)

/* Cut to the room reserved above, whatever the id holds now. */
#define kmqtt_trace_client_assign(session)				\
	do {								\
		const struct kmqtt_session *__session = (session);	\
									\
		kmqtt_trace_copy(__get_dynamic_array(client),		\
				 kmqtt_trace_client(__session),		\
				 min_t(u32,				\
				       kmqtt_trace_client_len(__session), \
				       __get_dynamic_array_len(client) - 1)); \
	} while (0)

/* The topic of @msg as the field "topic", cut as the client id. */
#define kmqtt_trace_topic_field(msg)					\
	__dynamic_array(char, topic, KMQTT_TRACE_LEN((msg)->topic_len) + 1)

#define kmqtt_trace_topic_assign(msg)					\
	do {								\
		const struct kmqtt_msg *__msg = (msg);			\
									\
		kmqtt_trace_copy(__get_dynamic_array(topic),		\
				 kmqtt_msg_topic(__msg),		\
				 min_t(u32, __msg->topic_len,		\
				       __get_dynamic_array_len(topic) - 1)); \
	} while (0)

/* User space reads the symbols of these enums from the format files. */
TRACE_DEFINE_ENUM(KMQTT_CLOSE_DISCONNECT);
TRACE_DEFINE_ENUM(KMQTT_CLOSE_PEER);
TRACE_DEFINE_ENUM(KMQTT_CLOSE_KEEPALIVE);
TRACE_DEFINE_ENUM(KMQTT_CLOSE_PROTOCOL);
TRACE_DEFINE_ENUM(KMQTT_CLOSE_OVERFLOW);
TRACE_DEFINE_ENUM(KMQTT_CLOSE_SHUTDOWN);
TRACE_DEFINE_ENUM(KMQTT_CLOSE_NOMEM);
TRACE_DEFINE_ENUM(KMQTT_CLOSE_TAKEOVER);
TRACE_DEFINE_ENUM(KMQTT_CLOSE_DISCONNECT_WILL);
TRACE_DEFINE_ENUM(KMQTT_CLOSE_ADMIN);
TRACE_DEFINE_ENUM(KMQTT_CLOSE_AUTH);

TRACE_DEFINE_ENUM(KMQTT_DROP_QUEUE_FULL);
TRACE_DEFINE_ENUM(KMQTT_DROP_NO_MEMORY);
TRACE_DEFINE_ENUM(KMQTT_DROP_CLOSING);
TRACE_DEFINE_ENUM(KMQTT_DROP_FANOUT);
TRACE_DEFINE_ENUM(KMQTT_DROP_DENIED);
TRACE_DEFINE_ENUM(KMQTT_DROP_TOO_LARGE);
TRACE_DEFINE_ENUM(KMQTT_DROP_EXPIRED);

TRACE_EVENT(kmqtt_conn_attach,
	    TP_PROTO(const struct kmqtt_conn *conn),
	    TP_ARGS(conn),
	    TP_STRUCT__entry(__field(u64, conn)
			     __field(u8, proto)
			     __field(bool, ktls)
			     __field(bool, bridge)
			     __array(u8, peer, sizeof(struct sockaddr_in6))
			     kmqtt_trace_client_field(conn->session)),
	    TP_fast_assign(__entry->conn = conn->id;
			   __entry->proto = conn->proto_level;
			   __entry->ktls = conn->ktls;
			   __entry->bridge = !!conn->bridge;
			   memset(__entry->peer, 0, sizeof(__entry->peer));
			   memcpy(__entry->peer, &conn->peer,
				  min_t(size_t, conn->peer_len,
					sizeof(__entry->peer)));
			   kmqtt_trace_client_assign(conn->session);),
	    TP_printk("conn=%llu client=%s peer=%pISpc proto=%u ktls=%d bridge=%d",
		      __entry->conn, __get_str(client), __entry->peer,
		      __entry->proto, __entry->ktls, __entry->bridge)
);

TRACE_EVENT(kmqtt_packet_in,
	    TP_PROTO(const struct kmqtt_conn *conn, u8 type, u32 len),
	    TP_ARGS(conn, type, len),
	    TP_STRUCT__entry(__field(u64, conn)
			     __field(u8, type)
			     __field(u32, len)),
	    TP_fast_assign(__entry->conn = conn->id;
			   __entry->type = type;
			   __entry->len = len;),
	    TP_printk("conn=%llu type=%s len=%u", __entry->conn,
		      __print_symbolic(__entry->type,
				       { MQTT_CONNECT, "CONNECT" },
				       { MQTT_CONNACK, "CONNACK" },
				       { MQTT_PUBLISH, "PUBLISH" },
				       { MQTT_PUBACK, "PUBACK" },
				       { MQTT_PUBREC, "PUBREC" },
				       { MQTT_PUBREL, "PUBREL" },
				       { MQTT_PUBCOMP, "PUBCOMP" },
				       { MQTT_SUBSCRIBE, "SUBSCRIBE" },
				       { MQTT_SUBACK, "SUBACK" },
				       { MQTT_UNSUBSCRIBE, "UNSUBSCRIBE" },
				       { MQTT_UNSUBACK, "UNSUBACK" },
				       { MQTT_PINGREQ, "PINGREQ" },
				       { MQTT_PINGRESP, "PINGRESP" },
				       { MQTT_DISCONNECT, "DISCONNECT" },
				       { MQTT_AUTH, "AUTH" }),
		      __entry->len)
);

TRACE_EVENT(kmqtt_fanout,
	    TP_PROTO(const struct kmqtt_session *from,
		     const struct kmqtt_msg *msg, u32 matched, u32 missed),
	    TP_ARGS(from, msg, matched, missed),
	    TP_STRUCT__entry(__field(u8, qos)
			     __field(u32, len)
			     __field(u32, matched)
			     __field(u32, missed)
			     kmqtt_trace_client_field(from)
			     kmqtt_trace_topic_field(msg)),
	    TP_fast_assign(__entry->qos = msg->qos;
			   __entry->len = msg->len;
			   __entry->matched = matched;
			   __entry->missed = missed;
			   kmqtt_trace_client_assign(from);
			   kmqtt_trace_topic_assign(msg);),
	    TP_printk("client=%s topic=%s qos=%u len=%u matched=%u missed=%u",
		      __get_str(client), __get_str(topic), __entry->qos,
		      __entry->len, __entry->matched, __entry->missed)
);

TRACE_EVENT(kmqtt_drop,
	    TP_PROTO(const struct kmqtt_session *session, enum kmqtt_drop why,
		     u64 count),
	    TP_ARGS(session, why, count),
	    TP_STRUCT__entry(__field(u64, count)
			     __field(u8, reason)
			     kmqtt_trace_client_field(session)),
	    TP_fast_assign(__entry->count = count;
			   __entry->reason = why;
			   kmqtt_trace_client_assign(session);),
	    TP_printk("client=%s reason=%s count=%llu", __get_str(client),
		      __print_symbolic(__entry->reason,
				       { KMQTT_DROP_QUEUE_FULL, "queue_full" },
				       { KMQTT_DROP_NO_MEMORY, "no_memory" },
				       { KMQTT_DROP_CLOSING, "closing" },
				       { KMQTT_DROP_FANOUT, "fanout" },
				       { KMQTT_DROP_DENIED, "denied" },
				       { KMQTT_DROP_TOO_LARGE, "too_large" },
				       { KMQTT_DROP_EXPIRED, "expired" }),
		      __entry->count)
);

TRACE_EVENT(kmqtt_conn_close,
	    TP_PROTO(const struct kmqtt_conn *conn),
	    TP_ARGS(conn),
	    TP_STRUCT__entry(__field(u64, conn)
			     __field(u64, msgs_in)
			     __field(u64, msgs_out)
			     __field(u32, reason)
			     kmqtt_trace_client_field(conn->session)),
	    TP_fast_assign(__entry->conn = conn->id;
			   __entry->msgs_in =
				READ_ONCE(conn->counters.msgs_in);
			   __entry->msgs_out =
				READ_ONCE(conn->counters.msgs_out);
			   __entry->reason = conn->close_reason;
			   kmqtt_trace_client_assign(conn->session);),
	    TP_printk("conn=%llu client=%s reason=%s msgs_in=%llu msgs_out=%llu",
		      __entry->conn, __get_str(client),
		      __print_symbolic(__entry->reason,
				       { KMQTT_CLOSE_DISCONNECT, "disconnect" },
				       { KMQTT_CLOSE_PEER, "peer" },
				       { KMQTT_CLOSE_KEEPALIVE, "keepalive" },
				       { KMQTT_CLOSE_PROTOCOL, "protocol" },
				       { KMQTT_CLOSE_OVERFLOW, "overflow" },
				       { KMQTT_CLOSE_SHUTDOWN, "shutdown" },
				       { KMQTT_CLOSE_NOMEM, "nomem" },
				       { KMQTT_CLOSE_TAKEOVER, "takeover" },
				       { KMQTT_CLOSE_DISCONNECT_WILL, "disconnect_will" },
				       { KMQTT_CLOSE_ADMIN, "admin" },
				       { KMQTT_CLOSE_AUTH, "auth" }),
		      __entry->msgs_in, __entry->msgs_out)
);

#endif /* _KMQTT_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>

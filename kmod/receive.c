// SPDX-License-Identifier: GPL-2.0
/*
 * Receive.  rx_work reads the socket into the connection's buffer and
 * hands every complete packet to packet.c, within a budget per run.  A
 * packet the broker cannot take yet (the memory limit, or no memory)
 * stays at the head of the buffer and the connection is paused: not read
 * until broker.c resumes it, so TCP holds the client back and nothing it
 * sent is lost.
 */

#include <linux/jiffies.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/net.h>
#include <linux/percpu.h>
#include <linux/socket.h>
#include <linux/string.h>
#include <linux/tls.h>
#include <net/sock.h>

#include "broker.h"
#include "codec.h"
#include "conn.h"
#include "packet.h"
#include "publish.h"
#include "race.h"
#include "receive.h"
#include "socket.h"
#include "trace.h"
#include "websocket.h"

/*
 * What a buffer grows to once a read fills KMQTT_RX_FIRST; only bytes
 * beyond it count against the memory limit.
 */
#define KMQTT_RX_MIN		4096
/*
 * Without a spare (below), a run starts with a buffer this small, enough
 * for a packet or two, which is what most runs bring: 4 KiB per run,
 * cleared where init_on_alloc is on (as on Debian), cost a lone PUBLISH
 * 9.6 us under emulation.  A read that fills it grows it to KMQTT_RX_MIN
 * for the run's other reads.
 */
#define KMQTT_RX_FIRST		512
/*
 * Work item runs are bounded so one busy client can't hog a worker: in
 * reads, and in packets, as one read into a buffer grown for a large
 * packet may bring a million small ones.
 */
#define KMQTT_RX_BUDGET		64
#define KMQTT_RX_PACKET_BUDGET	1024
/* RFC 8446 ContentType application_data, as kTLS reports it. */
#define KMQTT_TLS_RECORD_TYPE_DATA	23

/*
 * What a receive buffer of @cap bytes counts against the memory limit: the
 * first KMQTT_RX_MIN are every connection's due (bounded by
 * max_connections), so a client sending PINGREQ is served even when
 * queued messages have taken all the memory.
 */
static u32 kmqtt_receive_charge(u32 cap)
{
	return cap > KMQTT_RX_MIN ? cap - KMQTT_RX_MIN : 0;
}

/*
 * A buffer of KMQTT_RX_MIN bytes that a connection let go of (a run that
 * left nothing, growing past it, a close), for the next run on this CPU:
 * a busy connection ends most runs with nothing left, and would otherwise
 * allocate (and clear) 4 KiB each time.  At most one per CPU, for all
 * namespaces, uncharged like any buffer of that size.  It holds another
 * connection's bytes, as a freed buffer does: nothing reads a buffer
 * beyond what was read into it (rx_len).  Not kept when the kernel clears
 * what is freed (init_on_free): that is what clearing is for.
 */
static DEFINE_PER_CPU(u8 *, kmqtt_rx_spare);

void kmqtt_receive_free(struct kmqtt_conn *conn)
{
	u8 *buf = conn->rx_buf;

	if (buf && conn->rx_cap == KMQTT_RX_MIN && !want_init_on_free())
		buf = this_cpu_xchg(kmqtt_rx_spare, buf);
	kvfree(buf);
	kmqtt_broker_uncharge(conn->broker, kmqtt_receive_charge(conn->rx_cap));
	conn->rx_buf = NULL;
	conn->rx_cap = 0;
}

void kmqtt_receive_exit(void)
{
	int cpu;

	for_each_possible_cpu(cpu)
		kvfree(per_cpu(kmqtt_rx_spare, cpu));
}

/* Move the received bytes to a buffer of @cap bytes, memory limit allowing. */
static int kmqtt_receive_resize(struct kmqtt_conn *conn, u32 cap)
{
	u32 charge = kmqtt_receive_charge(cap);
	u8 *buf = NULL;

	if (charge && !kmqtt_broker_charge(conn->broker, charge))
		return -ENOMEM;
	if (cap == KMQTT_RX_MIN)
		buf = this_cpu_xchg(kmqtt_rx_spare, NULL);
	if (!buf)
		buf = kvmalloc(cap, GFP_KERNEL | __GFP_NOWARN);
	if (!buf) {
		kmqtt_broker_uncharge(conn->broker, charge);
		return -ENOMEM;
	}
	if (conn->rx_len)
		memcpy(buf, conn->rx_buf, conn->rx_len);
	kmqtt_receive_free(conn);
	conn->rx_buf = buf;
	conn->rx_cap = cap;
	return 0;
}

/*
 * Room to receive into, @filled when the last read used all the room it
 * had (so more is likely waiting).
 * A packet larger than the small buffer gets a buffer that doubles as its
 * bytes arrive, never ahead of them: announcing a 256 MiB packet costs
 * the sender 256 MiB of sending, not us of memory.
 */
static int kmqtt_receive_reserve(struct kmqtt_conn *conn, bool filled)
{
	/*
	 * A run starts with this CPU's spare if there is one (taken by
	 * another run meanwhile: a new buffer of its size), else, after a
	 * busy run, with KMQTT_RX_MIN at once.
	 */
	if (!conn->rx_cap)
		return kmqtt_receive_resize(conn, conn->rx_busy ||
					    this_cpu_read(kmqtt_rx_spare) ?
					    KMQTT_RX_MIN : KMQTT_RX_FIRST);
	/* Short of memory, the small buffer serves too, in more reads. */
	if (filled && conn->rx_cap < KMQTT_RX_MIN &&
	    !kmqtt_receive_resize(conn, KMQTT_RX_MIN))
		return 0;
	if (conn->rx_len < conn->rx_cap)
		return 0;
	/*
	 * Full, so it holds the start of a packet longer than itself: a
	 * complete one is handled (or paused on) before reading more.
	 */
	if (WARN_ON_ONCE(conn->rx_need <= conn->rx_cap))
		return -EPROTO;
	return kmqtt_receive_resize(conn, min(conn->rx_need, 2 * conn->rx_cap));
}

/*
 * Handle the complete packets in the buffer, at most *@packets of them,
 * and keep the remainder.  Returns -EAGAIN when it paused the connection
 * (broker.c for memory, ack_hold.c for acks waiting for a save),
 * or -EINPROGRESS when a packet takes more than this run or the run's
 * packets are spent: either way the next packet stays at the head of the
 * buffer.
 */
static int kmqtt_receive_packets(struct kmqtt_conn *conn, u32 *packets)
{
	u32 max_packet = READ_ONCE(conn->broker->limits.max_packet_size);
	u32 off = 0, need = 0;
	int ret = 0;

	while (off < conn->rx_len && !kmqtt_conn_closing(conn)) {
		struct kmqtt_fixed_hdr hdr;
		u32 total;

		ret = kmqtt_codec_fixed_hdr(conn->rx_buf + off,
					    conn->rx_len - off, max_packet, &hdr);
		if (ret == -EMSGSIZE) {
			ret = kmqtt_conn_violation(conn,
						   MQTT_RC_PACKET_TOO_LARGE,
						   "packet over maximum size");
			break;
		}
		if (ret < 0) {
			ret = kmqtt_conn_violation(conn,
						   MQTT_RC_MALFORMED_PACKET,
						   "malformed fixed header");
			break;
		}
		if (ret == 0)
			break;
		ret = 0;
		total = hdr.hdr_len + hdr.rem_len;
		if (conn->rx_len - off < total) {
			need = total;
			break;
		}
		if (!*packets) {
			ret = -EINPROGRESS;
			break;
		}
		(*packets)--;
		/* Once a packet: a paused or unfinished one comes again. */
		if (!conn->rx_head_traced)
			trace_kmqtt_packet_in(conn, hdr.type, total);
		conn->rx_head_traced = true;
		ret = kmqtt_packet_handle(conn, &hdr,
					  conn->rx_buf + off + hdr.hdr_len);
		if (ret == -ENOSPC || ret == -ENOMEM) {
			if (!kmqtt_broker_pause(conn, ret == -ENOMEM)) {
				net_info_ratelimited("kmqtt: closing connection %llu: a packet needs more than the memory limit\n",
						     conn->id);
				ret = -E2BIG;
				break;
			}
			kmqtt_race_window(KMQTT_RACE_PAUSE);
			ret = -EAGAIN;
			break;
		}
		/* Not idle: the broker is busy with its packet. */
		if (ret == -EINPROGRESS)
			WRITE_ONCE(conn->last_packet, jiffies);
		if (ret)
			break;
		off += total;
		conn->rx_head_traced = false;
		conn->retry_ms = 0;
		WRITE_ONCE(conn->last_packet, jiffies);
	}
	conn->rx_len -= off;
	memmove(conn->rx_buf, conn->rx_buf + off, conn->rx_len);
	conn->rx_need = need;
	return ret;
}

/*
 * ATTACH's PENDING waits in the buffer, as it was read, for the first
 * rx_work: over WebSocket it may hold a ping, which is answered there.
 */
int kmqtt_receive_preload(struct kmqtt_conn *conn, const u8 *bytes, u32 len)
{
	int ret = kmqtt_receive_resize(conn, max_t(u32, len, KMQTT_RX_FIRST));

	if (ret)
		return ret;
	memcpy(conn->rx_buf, bytes, len);
	conn->rx_raw = len;
	return 0;
}

/*
 * Take @len bytes read into the buffer after what it holds: over
 * WebSocket, their frames' payload.
 */
static void kmqtt_receive_bytes(struct kmqtt_conn *conn, u32 len)
{
	if (conn->ws)
		len = kmqtt_ws_receive(conn, conn->rx_buf + conn->rx_len, len);
	conn->rx_len += len;
}

static int kmqtt_receive_read(struct kmqtt_conn *conn)
{
	union {
		struct cmsghdr hdr;
		u8 space[CMSG_SPACE(sizeof(u8))];
	} ctrl;
	struct msghdr msg = {
		.msg_control = &ctrl,
		.msg_controllen = sizeof(ctrl),
	};
	struct kvec vec = {
		.iov_base = conn->rx_buf + conn->rx_len,
		.iov_len = conn->rx_cap - conn->rx_len,
	};
	int ret;

	ret = kernel_recvmsg(conn->sock, &msg, &vec, 1, vec.iov_len,
			     MSG_DONTWAIT);
	/*
	 * kTLS tells the record type of what it returned; an alert or a
	 * handshake message (KeyUpdate) is not ours to handle: close.
	 */
	if (ret > 0 && msg.msg_controllen != sizeof(ctrl) &&
	    ctrl.hdr.cmsg_level == SOL_TLS &&
	    ctrl.hdr.cmsg_type == TLS_GET_RECORD_TYPE &&
	    *(u8 *)CMSG_DATA(&ctrl.hdr) != KMQTT_TLS_RECORD_TYPE_DATA)
		return -EBADMSG;
	return ret;
}

void kmqtt_receive_work(struct work_struct *work)
{
	struct kmqtt_conn *conn = container_of(work, struct kmqtt_conn,
					       rx_work);
	u32 packets = KMQTT_RX_PACKET_BUDGET;
	int budget = KMQTT_RX_BUDGET;
	bool filled = false, short_read = false, busy = false;
	u32 room;
	int ret;

	/* Pairs with attach's release: the connection is fully built. */
	if (!smp_load_acquire(&conn->ready))
		return;
	if (kmqtt_conn_paused(conn)) {
		/* Not read, but a reset ends it: what it sent is gone. */
		if (kmqtt_socket_reset(conn->sock->sk))
			kmqtt_conn_close(conn, KMQTT_CLOSE_PEER);
		return;
	}

	kmqtt_counter_add(&conn->counters.rx_runs, 1);
	if (conn->rx_raw) {
		kmqtt_receive_bytes(conn, conn->rx_raw);
		conn->rx_raw = 0;
	}
	for (;;) {
		/*
		 * What the buffer holds first: ATTACH's PENDING, the rest
		 * after a pause, or what was just read.  Once paused, stop,
		 * even if resume_work has already cleared PAUSED: it queued
		 * this work again, which handles the packet that waits.
		 */
		ret = kmqtt_receive_packets(conn, &packets);
		if (ret == -EAGAIN) {
			/* Paused: what it may wait for is not held by itself. */
			kmqtt_fanout_idle(conn->broker, &conn->fanout);
			return;
		}
		if (ret == -EINPROGRESS) {
			queue_work(kmqtt_wq, work);
			return;
		}
		if (ret || kmqtt_conn_closing(conn))
			break;
		/* Its packets before a Close or a bad frame are handled. */
		ret = conn->ws ? conn->ws->stop : 0;
		if (ret)
			break;
		/*
		 * Plain TCP read less than there was room for and nothing is
		 * left, not even the end of the stream (which only the next
		 * read reports): bytes that come later queue this work again.
		 * kTLS may stop short at a record of another type.
		 */
		if (short_read && !conn->ktls &&
		    kmqtt_socket_drained(conn->sock->sk))
			break;
		if (!budget--) {
			queue_work(kmqtt_wq, work);
			return;
		}
		ret = kmqtt_receive_reserve(conn, filled);
		if (ret)
			break;
		room = conn->rx_cap - conn->rx_len;
		ret = kmqtt_receive_read(conn);
		if (ret == -EAGAIN) {
			ret = 0;
			break;
		}
		if (ret <= 0) {
			kmqtt_conn_close(conn, KMQTT_CLOSE_PEER);
			return;
		}
		kmqtt_counter_add(&conn->counters.rx_reads, 1);
		kmqtt_counter_add(&conn->counters.bytes_in, ret);
		filled = ret == room;
		short_read = !filled;
		busy |= ret >= KMQTT_RX_FIRST;
		kmqtt_receive_bytes(conn, ret);
	}
	if (ret == -ESHUTDOWN) {
		kmqtt_conn_close(conn, KMQTT_CLOSE_PEER);
		return;
	}
	if (ret) {
		kmqtt_conn_close(conn, ret == -ENOMEM || ret == -E2BIG ?
				 KMQTT_CLOSE_NOMEM : ret == -ENOBUFS ?
				 KMQTT_CLOSE_OVERFLOW : KMQTT_CLOSE_PROTOCOL);
		return;
	}
	/*
	 * Spare deliveries serve one run; idle connections keep no receive
	 * buffer either.
	 */
	kmqtt_fanout_idle(conn->broker, &conn->fanout);
	/* A read of the small buffer's size or more: more will come. */
	conn->rx_busy = busy;
	if (!conn->rx_len)
		kmqtt_receive_free(conn);
}

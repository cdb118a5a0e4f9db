# SPDX-License-Identifier: GPL-2.0
"""The soak (issue #5): mixed MQTT load on kmqtt for a long time, then
checks that every QoS 1/2 message arrived and that the module gave back
everything it took.  Run by selftests/soak/run in the test VM (tools/soak,
`make soak`); Documentation/testing.rst, "Soak", says what it checks.

One process, one asyncio loop, MQTT 3.1.1 spoken directly on sockets (no
client library: the checks need control over packet ids, resends and
reads that libraries hide).  The load:

- publishers pub-0..3, persistent sessions, publish QoS 0, 1 and 2 on
  soak/q<QOS>/<name>, each message carrying its sequence number; now and
  then they disconnect (DISCONNECT, FIN or RST, with messages in flight)
  or take over their own session, and resend what was not acknowledged
  (MQTT-4.4.0-1), which exercises the broker's QoS 2 duplicate detection;
- persistent subscribers sub-a..d (filters and granted QoS differ, some
  with wildcards) that go offline and come back, or are taken over, at
  random: what was published meanwhile must arrive after the reconnect;
- a slow subscriber (clean session, QoS 0, a small receive buffer read a
  little at a time) that falls behind: the broker drops QoS 0 for it, and
  only for it;
- a retainer keeping retained messages on soak/ret/N up to date, and a
  bulk QoS 0 publisher (large payloads, for the slow subscriber);
- clean-session churn: clients from a small pool of ids that connect,
  check the retained messages, publish a little and go, taking over each
  other's ids; clients with a QoS 1 will that go with or without
  DISCONNECT (the will must be published exactly when it was not sent).

Afterwards publishing stops, subscribers drain, and the deliveries are
checked: every QoS 1/2 message reached every persistent subscriber whose
subscription grants QoS 1/2 (all of them subscribe before the first
publish and never unsubscribe), QoS 2 at QoS 2 exactly once, QoS 1 at
least once (duplicates counted), first deliveries in publish order
(MQTT-4.6.0); then sessions are discarded, kmqttd stops, and kmqttctl
must show nothing left and slab usage must be back at its baseline.

The last line is "soak-guest: PASS ..." or "soak-guest: FAIL <why>"; the
exit status is 0 or 1.  tools/soak turns it and the kernel log check of
tools/vm/run into the final "soak: PASS"/"soak: FAIL" line.
"""

import argparse
import asyncio
import json
import os
import random
import socket
import struct
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
KMQTTD = os.path.join(REPO, "agent", "kmqttd")
KMQTTCTL = os.path.join(REPO, "tools", "kmqttctl", "kmqttctl")

# Limits the soak runs with (kmqttd's configuration file).  A persistent
# subscriber is offline for at most OFFLINE_MAX seconds, plus a reconnect
# of a few seconds under TCG; at the default rates 56 QoS 1/2 messages a
# second match its filters, so its queue holds some 500 messages at worst:
# 10000 is 20 times that, so that a driver or kernel stall does not make
# an overflow drop look like a loss.  The byte limit is what the slow
# subscriber hits: its QoS 0 queue is bounded by both, and 1 MiB of bulk
# payloads is reached within a minute, where the persistent subscribers'
# queues stay under 100 KiB.
MAX_QUEUED_MESSAGES = 10000
MAX_QUEUED_BYTES = 1 << 20
# Back-pressure, for when the VM gets less CPU than the load needs (TCG
# on a host that other VMs share): publishers pause while a subscriber
# has more than BACKLOG_HIGH QoS 1/2 messages outstanding (published, not
# yet delivered to it), until it is down to BACKLOG_LOW.  Its queue then
# stays under some 4000 messages (QoS 0 ones waiting behind included),
# well below MAX_QUEUED_MESSAGES.  An offline time is worth 250 at most.
BACKLOG_HIGH = 2000
BACKLOG_LOW = 500

PUBLISHERS = 4
RATES = {0: 8.0, 1: 6.0, 2: 5.0}   # per publisher, messages/s, at scale 1
BULK_RATE = 20.0                    # bulk/0, QoS 0, messages/s...
BULK_SIZE = 2000                    # ...of this many bytes
RETAINED_TOPICS = 16
RETAIN_INTERVAL = 0.5
CHURN_POOL = 6                      # ids churn-0..5: they take over each other
CHURN_INTERVAL = (0.2, 0.8)         # between two churn clients
CHURN_MAX = 8                       # churn clients at once
ONLINE = (4.0, 25.0)                # persistent subscriber online time
OFFLINE_MAX = 5.0
PUB_ONLINE = (8.0, 40.0)
SLOW_READ = 512                     # bytes the slow subscriber reads...
SLOW_PERIOD = 0.2                   # ...this often
KEEPALIVE = 30
PUB_WINDOW = 100                    # QoS 1/2 a publisher keeps in flight
TIMEOUT = 60                        # CONNACK, SUBACK, a takeover's close

# Subscribers: filter -> granted QoS.  No two filters of a subscriber
# overlap, so each message reaches it once per delivery.
SUBSCRIBERS = {
    "sub-a": {"soak/q0/+": 2, "soak/q1/+": 2, "soak/q2/+": 2,
              "soak/will/+": 1},
    "sub-b": {"soak/#": 2},
    "sub-c": {"+/q1/#": 1, "+/q2/#": 1},
    "sub-d": {"soak/q2/+": 2, "soak/q1/+": 0},
}
# A subscriber that acknowledges late (in batches): a bounce often finds
# messages received and not acknowledged, which the broker must resend
# (MQTT-4.4.0-1), QoS 2 ones to be recognised by their packet id.
ACK_DELAY = {"sub-d": 0.1}
# Topic class (second level of soak/...) -> QoS it is published with.
CLASS_QOS = {b"q0": 0, b"q1": 1, b"q2": 2, b"will": 1, b"ret": 1}

(CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBSCRIBE,
 SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT) = range(1, 15)

PAD = b"x" * 4096


def log(msg):
    print(msg, flush=True)


# Encoding.

def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7f
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _str(s):
    return struct.pack("!H", len(s)) + s


def _packet(ptype, flags, body):
    return bytes([ptype << 4 | flags]) + _varint(len(body)) + body


def connect_packet(client_id, clean, will=None):
    flags = 0x02 if clean else 0
    payload = _str(client_id.encode())
    if will:
        topic, message, qos = will
        flags |= 0x04 | qos << 3
        payload += _str(topic) + _str(message)
    body = (_str(b"MQTT") + bytes([4, flags]) + struct.pack("!H", KEEPALIVE)
            + payload)
    return _packet(CONNECT, 0, body)


def publish_packet(topic, payload, qos, pid=0, dup=False, retain=False):
    flags = qos << 1 | (8 if dup else 0) | (1 if retain else 0)
    body = _str(topic) + (struct.pack("!H", pid) if qos else b"") + payload
    return _packet(PUBLISH, flags, body)


def ack_packet(ptype, pid):
    return bytes([ptype << 4 | (2 if ptype == PUBREL else 0), 2,
                  pid >> 8, pid & 0xff])


def subscribe_packet(pid, filters):
    body = struct.pack("!H", pid)
    for f, q in filters.items():
        body += _str(f.encode()) + bytes([q])
    return _packet(SUBSCRIBE, 2, body)


PINGREQ_PACKET = bytes([PINGREQ << 4, 0])
DISCONNECT_PACKET = bytes([DISCONNECT << 4, 0])


def parse_publish(flags, body):
    """(topic, qos, packet id, payload, dup, retain)"""
    qos = (flags >> 1) & 3
    tlen = body[0] << 8 | body[1]
    topic = body[2:2 + tlen]
    pos = 2 + tlen
    pid = 0
    if qos:
        pid = body[pos] << 8 | body[pos + 1]
        pos += 2
    return topic, qos, pid, body[pos:], bool(flags & 8), bool(flags & 1)


def seq_of(payload):
    return int(payload[:payload.index(b" ")])


class Soak:
    """Counters, failures and the settings of one run."""

    def __init__(self, args):
        self.args = args
        self.host = "127.0.0.1"
        self.port = args.port
        self.running = True         # load phase
        self.errors = []
        self.c = {k: 0 for k in (
            "connects", "reconnects", "takeovers", "takeovers_churn",
            "abrupt", "graceful", "churn", "wills_expected",
            "wills_suppressed", "retained_checks", "resends",
            "pub_q0", "pub_q1", "pub_q2", "pub_bulk", "pub_retained",
            "q2_dup_suppressed", "window_full", "throttled")}
        self.paused = False             # back-pressure (throttle())
        self.paused_time = 0.0
        self.backlog_max = 0
        self.clients = []
        self.lag_max = 0.0
        self.expected_wills = set()     # payloads
        self.suppressed_wills = set()   # payloads that must not arrive
        self.churn_live = {}            # churn pool id -> Client
        self.slow = None

    def slow_received(self):
        return sum(self.slow.received.values()) if self.slow else 0

    def error(self, msg):
        if len(self.errors) < 50:
            log("soak: error: " + msg)
        self.errors.append(msg)


class Conn(asyncio.Protocol):
    """One TCP connection of a Client; packets go to the client."""

    def __init__(self, client, ack_delay=0):
        self.client = client
        self.buf = bytearray()
        self.out = []               # packets to write at the next flush
        self.ack_delay = ack_delay  # how long packets wait for the flush
        self.transport = None
        self.dead = False           # ignore what still arrives
        self.by_us = False          # we closed it (else the broker did)
        loop = asyncio.get_running_loop()
        self.connack = loop.create_future()
        self.closed = loop.create_future()
        self.last_send = time.monotonic()

    def connection_made(self, transport):
        self.transport = transport
        transport.get_extra_info("socket").setsockopt(
            socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def send(self, data):
        """Queue @data: what a packet or a tick produces goes out in one
        write, which saves system calls, the driver's main cost on the
        debug kernel."""
        if self.dead or not self.transport:
            return
        if not self.out:
            loop = asyncio.get_running_loop()
            if self.ack_delay:
                loop.call_later(self.ack_delay, self.flush)
            else:
                loop.call_soon(self.flush)
        self.out.append(data)
        self.last_send = time.monotonic()

    def flush(self):
        if self.out and not self.dead:
            self.transport.write(b"".join(self.out))
        self.out = []

    def data_received(self, data):
        buf = self.buf
        buf += data
        pos, n = 0, len(buf)
        while not self.dead and n - pos >= 2:
            rl, mult, i = 0, 1, pos + 1
            while i < n:
                b = buf[i]
                rl += (b & 0x7f) * mult
                mult <<= 7
                i += 1
                if not b & 0x80:
                    break
            else:
                break
            if i + rl > n:
                break
            hdr = buf[pos]
            body = bytes(buf[i:i + rl])
            pos = i + rl
            try:
                self.client.on_packet(self, hdr >> 4, hdr & 15, body)
            except Exception as e:  # a driver bug: fail, loudly
                self.client.soak.error("%s: %r handling packet type %d" %
                                       (self.client.cid, e, hdr >> 4))
        del buf[:pos]

    def connection_lost(self, exc):
        self.dead = True
        if not self.connack.done():
            self.connack.set_exception(
                ConnectionError("closed before CONNACK"))
        if not self.closed.done():
            self.closed.set_result(True)
        self.client.on_conn_lost(self)

    def close(self, how):
        """how: 'graceful' (DISCONNECT, FIN), 'fin' or 'rst' (what was
        not written yet is lost, as in a crash)."""
        if self.dead or not self.transport:
            return
        self.by_us = True
        if how == "graceful":
            self.out.append(DISCONNECT_PACKET)
        if how == "rst":
            sock = self.transport.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                            struct.pack("ii", 1, 0))
            self.dead = True
            self.transport.abort()
        else:
            self.flush()
            self.dead = True
            self.transport.close()


class Client:
    """An MQTT client identity; its connections come and go."""

    clean = True
    will = None
    kind = "client"
    ack_delay = 0

    def __init__(self, soak, cid):
        self.soak = soak
        self.cid = cid
        self.conn = None
        self.suback = None
        self.next_pid = 0
        self.has_session = False     # the broker should hold our session
        soak.clients.append(self)

    def online(self):
        return self.conn is not None and not self.conn.dead

    async def connect(self, takeover=False):
        """Connect (a takeover when @takeover and we are online); returns
        the CONNACK's session present flag."""
        loop = asyncio.get_running_loop()
        old = self.conn if takeover and self.online() else None
        if old:
            old.dead = True          # what it still receives is not ours
        conn = self.conn = Conn(self, self.ack_delay)
        await asyncio.wait_for(loop.create_connection(
            lambda: conn, self.soak.host, self.soak.port), TIMEOUT)
        conn.send(connect_packet(self.cid, self.clean, self.will))
        try:
            present = await asyncio.wait_for(conn.connack, TIMEOUT)
        except (asyncio.TimeoutError, ConnectionError) as e:
            self.soak.error("%s: no CONNACK (%s)" % (self.cid, e or "timeout"))
            conn.close("rst")
            raise
        s = self.soak
        s.c["connects"] += 1
        if old:
            # MQTT-3.1.4-2: the broker closed the old connection first.
            try:
                await asyncio.wait_for(asyncio.shield(old.closed), TIMEOUT)
            except asyncio.TimeoutError:
                s.error("%s: takeover: old connection still open" % self.cid)
        expected = self.has_session and not self.clean
        if present != expected:
            s.error("%s: CONNACK session present %d, expected %d" %
                    (self.cid, present, expected))
        self.has_session = not self.clean
        self.on_connected()
        return present

    def on_connected(self):
        pass

    def close(self, how):
        if self.online():
            self.conn.close(how)

    def alloc_pid(self, in_use=()):
        pid = self.next_pid
        while True:
            pid = pid % 65535 + 1
            if pid not in in_use:
                self.next_pid = pid
                return pid

    async def subscribe(self, filters):
        loop = asyncio.get_running_loop()
        self.suback = loop.create_future()
        conn = self.conn
        conn.send(subscribe_packet(self.alloc_pid(), filters))
        await asyncio.wait((self.suback, conn.closed), timeout=TIMEOUT,
                           return_when=asyncio.FIRST_COMPLETED)
        if not self.suback.done():
            raise ConnectionError("no SUBACK" if not conn.closed.done() else
                                  "closed before SUBACK")
        codes = self.suback.result()
        if list(codes) != list(filters.values()):
            self.soak.error("%s: SUBACK %r for %r" % (self.cid, list(codes),
                                                     filters))

    def on_packet(self, conn, ptype, flags, body):
        if ptype == CONNACK:
            if len(body) != 2 or body[1] != 0:
                conn.connack.set_exception(ConnectionError(
                    "CONNACK %r" % body))
            elif not conn.connack.done():
                conn.connack.set_result(body[0] & 1)
        elif ptype == PUBLISH:
            self.on_publish(conn, flags, body)
        elif ptype in (PUBACK, PUBREC, PUBCOMP):
            self.on_ack(conn, ptype, body[0] << 8 | body[1])
        elif ptype == PUBREL:
            self.on_pubrel(conn, body[0] << 8 | body[1])
        elif ptype == SUBACK:
            if self.suback and not self.suback.done():
                self.suback.set_result(body[2:])
        elif ptype != PINGRESP:
            self.soak.error("%s: unexpected packet type %d" %
                            (self.cid, ptype))

    def on_publish(self, conn, flags, body):
        self.soak.error("%s: unexpected PUBLISH" % self.cid)

    def on_ack(self, conn, ptype, pid):
        self.soak.error("%s: unexpected ack %d" % (self.cid, ptype))

    def on_pubrel(self, conn, pid):
        conn.send(ack_packet(PUBCOMP, pid))

    def on_conn_lost(self, conn):
        # A takeover's old connection is no longer self.conn.
        if not conn.by_us and conn is self.conn:
            self.soak.error("%s: connection closed by the broker" % self.cid)


class Stream:
    """What one subscriber got of one publisher's topic."""

    __slots__ = ("counts", "max_first", "out_of_order", "dups")

    def __init__(self):
        self.counts = bytearray(1024)
        self.max_first = 0
        self.out_of_order = 0
        self.dups = 0

    def add(self, seq):
        if seq >= len(self.counts):
            self.counts += bytearray(max(seq + 1 - len(self.counts),
                                         len(self.counts)))
        c = self.counts[seq]
        if c:
            self.dups += 1
        elif seq < self.max_first:
            self.out_of_order += 1
        else:
            self.max_first = seq
        if c < 255:
            self.counts[seq] = c + 1


class Subscriber(Client):
    """Persistent subscriber that goes offline and comes back."""

    clean = False
    kind = "subscriber"

    def __init__(self, soak, cid, filters, ack_delay):
        super().__init__(soak, cid)
        self.ack_delay = ack_delay
        self.filters = filters
        self.pending2 = set()   # QoS 2 ids received, not released (4.3.3 B)
        self.streams = {}       # topic -> Stream
        self.wills = {}         # payload -> count
        self.received = 0
        self.qos0 = 0
        self.other = 0
        self.bad_qos = 0
        self.grants = {}

    def grant(self, topic):
        """Granted QoS of the filter @topic matches (filters don't overlap)."""
        if topic not in self.grants:
            self.grants[topic] = self._grant(topic)
        return self.grants[topic]

    def _grant(self, topic):
        parts = topic.split(b"/")
        for f, q in self.filters.items():
            fp = f.encode().split(b"/")
            ok = True
            for i, p in enumerate(fp):
                if p == b"#":
                    break
                if i >= len(parts) or (p != b"+" and p != parts[i]):
                    ok = False
                    break
            else:
                ok = len(parts) == len(fp)
            if ok:
                return q
        return None

    def on_publish(self, conn, flags, body):
        topic, qos, pid, payload, dup, retain = parse_publish(flags, body)
        if qos == 2:
            conn.send(ack_packet(PUBREC, pid))
            if pid in self.pending2:
                self.soak.c["q2_dup_suppressed"] += 1
                return
            self.pending2.add(pid)
        elif qos == 1:
            conn.send(ack_packet(PUBACK, pid))
        self.received += 1
        parts = topic.split(b"/")
        cls = parts[1] if len(parts) == 3 and parts[0] == b"soak" else None
        pub_qos = CLASS_QOS.get(cls)
        if pub_qos is not None and not retain:
            granted = self.grant(topic)
            if granted is None or qos != min(pub_qos, granted):
                self.bad_qos += 1
                if self.bad_qos < 5:
                    self.soak.error("%s: %s delivered at QoS %d, granted %r" %
                                    (self.cid, topic.decode(), qos, granted))
        if cls in (b"q1", b"q2") and qos:
            st = self.streams.get(topic)
            if st is None:
                st = self.streams[topic] = Stream()
            st.add(seq_of(payload))
        elif cls == b"will":
            self.wills[payload] = self.wills.get(payload, 0) + 1
        elif qos == 0:
            self.qos0 += 1
        else:
            self.other += 1

    def on_pubrel(self, conn, pid):
        self.pending2.discard(pid)
        conn.send(ack_packet(PUBCOMP, pid))

    async def start(self):
        await self.connect()
        await self.subscribe(self.filters)

    async def run(self):
        s = self.soak
        while s.running:
            await asyncio.sleep(random.uniform(*ONLINE))
            if not s.running:
                break
            await self.bounce(random.choice(
                ("graceful", "fin", "rst", "takeover")))

    async def bounce(self, how):
        s = self.soak
        if how == "takeover":
            s.c["takeovers"] += 1
            await self.connect(takeover=True)
            return
        s.c["graceful" if how == "graceful" else "abrupt"] += 1
        self.close(how)
        await asyncio.sleep(random.uniform(0.2, OFFLINE_MAX))
        s.c["reconnects"] += 1
        await self.connect()


class Publisher(Client):
    """Persistent publisher of soak/q<QOS>/<name>."""

    clean = False
    kind = "publisher"

    def __init__(self, soak, cid, scale):
        super().__init__(soak, cid)
        self.topics = {q: b"soak/q%d/%s" % (q, cid.encode()) for q in RATES}
        self.rates = {q: r * scale for q, r in RATES.items()}
        self.seq = {q: 0 for q in RATES}
        self.acc = {q: 0.0 for q in RATES}
        self.inflight = {}     # pid -> [qos, topic, payload, released]

    def publish(self, qos):
        if qos and len(self.inflight) >= PUB_WINDOW:
            self.soak.c["window_full"] += 1
            return
        self.seq[qos] += 1
        payload = b"%d " % self.seq[qos] + PAD[:random.randint(8, 200)]
        pid = 0
        if qos:
            pid = self.alloc_pid(self.inflight)
            self.inflight[pid] = [qos, self.topics[qos], payload, False]
        self.conn.send(publish_packet(self.topics[qos], payload, qos, pid))
        self.soak.c["pub_q%d" % qos] += 1

    def on_ack(self, conn, ptype, pid):
        ent = self.inflight.get(pid)
        if ent is None:
            self.soak.error("%s: ack %d for unknown id %d" %
                            (self.cid, ptype, pid))
        elif ptype == PUBACK and ent[0] == 1:
            del self.inflight[pid]
        elif ptype == PUBREC and ent[0] == 2:
            ent[3] = True
            conn.send(ack_packet(PUBREL, pid))
        elif ptype == PUBCOMP and ent[0] == 2 and ent[3]:
            del self.inflight[pid]
        else:
            self.soak.error("%s: ack %d for id %d in state %r" %
                            (self.cid, ptype, pid, ent[:1] + ent[3:]))

    def on_connected(self):
        # MQTT-4.4.0-1: resend, in order, what was not acknowledged.
        for pid, (qos, topic, payload, released) in self.inflight.items():
            self.soak.c["resends"] += 1
            if released:
                self.conn.send(ack_packet(PUBREL, pid))
            else:
                self.conn.send(publish_packet(topic, payload, qos, pid, True))

    async def run(self):
        s = self.soak
        next_bounce = time.monotonic() + random.uniform(*PUB_ONLINE)
        last = time.monotonic()
        while s.running:
            await asyncio.sleep(0.1)
            # The elapsed time, up to a second: a late tick catches up.
            now = time.monotonic()
            tick, last = min(now - last, 1.0), now
            for q, rate in self.rates.items():
                if s.paused:
                    continue
                self.acc[q] += rate * tick
                while self.acc[q] >= 1 and s.running:
                    self.acc[q] -= 1
                    self.publish(q)
            # Right after publishing: some of it is still unacknowledged.
            if time.monotonic() >= next_bounce:
                how = random.choice(("graceful", "fin", "rst", "takeover"))
                if how == "takeover":
                    s.c["takeovers"] += 1
                    await self.connect(takeover=True)
                else:
                    s.c["graceful" if how == "graceful" else "abrupt"] += 1
                    self.close(how)
                    await asyncio.sleep(random.uniform(0.2, 2.0))
                    s.c["reconnects"] += 1
                    await self.connect()
                next_bounce = time.monotonic() + random.uniform(*PUB_ONLINE)
                last = time.monotonic()


class Simple(Client):
    """Clean session publisher of QoS 0/1 (bulk, retained, churn)."""

    def __init__(self, soak, cid):
        super().__init__(soak, cid)
        self.inflight = set()
        self.retained_seen = set()

    def publish(self, topic, payload, qos, retain=False):
        pid = 0
        if qos:
            pid = self.alloc_pid(self.inflight)
            self.inflight.add(pid)
        self.conn.send(publish_packet(topic, payload, qos, pid,
                                      retain=retain))

    def on_ack(self, conn, ptype, pid):
        if ptype == PUBACK and pid in self.inflight:
            self.inflight.discard(pid)
        else:
            self.soak.error("%s: unexpected ack %d id %d" %
                            (self.cid, ptype, pid))

    def on_publish(self, conn, flags, body):
        topic, qos, pid, payload, dup, retain = parse_publish(flags, body)
        if qos == 1:
            conn.send(ack_packet(PUBACK, pid))
        if retain:
            if topic in self.retained_seen:
                self.soak.error("%s: retained %s twice" %
                                (self.cid, topic.decode()))
            self.retained_seen.add(topic)

    async def drain(self, timeout=TIMEOUT):
        end = time.monotonic() + timeout
        while self.inflight and time.monotonic() < end:
            await asyncio.sleep(0.1)
        return not self.inflight


class Churn(Simple):
    """Short-lived clean session client; the pool ids take over each other."""

    taken_over = False
    ready = False               # CONNACK received: may be taken over

    def on_conn_lost(self, conn):
        if not self.taken_over:
            super().on_conn_lost(conn)


class SlowSubscriber:
    """Clean session, QoS 0, reads SLOW_READ bytes every SLOW_PERIOD."""

    cid = "soak-slow"

    def __init__(self, soak):
        self.soak = soak
        self.sock = None
        self.buf = bytearray()
        self.received = {b"q0": 0, b"bulk": 0}
        self.bytes = 0
        self.done = False

    async def start(self):
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # Small before connect, so that the window stays small.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await asyncio.wait_for(loop.sock_connect(
            sock, (self.soak.host, self.soak.port)), TIMEOUT)
        self.sock = sock
        sock.send(connect_packet(self.cid, True) +
                  subscribe_packet(1, {"soak/q0/+": 0, "bulk/+": 0}))
        self.last_send = time.monotonic()

    async def run(self):
        loop = asyncio.get_running_loop()
        while not self.done:
            try:
                data = await asyncio.wait_for(
                    loop.sock_recv(self.sock, SLOW_READ), 1.0)
            except asyncio.TimeoutError:
                data = None
            if data == b"":
                if not self.done:
                    self.soak.error("soak-slow: closed by the broker")
                return
            if data:
                self.bytes += len(data)
                self.feed(data)
            if time.monotonic() - self.last_send > KEEPALIVE / 3:
                self.sock.send(PINGREQ_PACKET)
                self.last_send = time.monotonic()
            await asyncio.sleep(SLOW_PERIOD)

    def feed(self, data):
        buf = self.buf
        buf += data
        pos, n = 0, len(buf)
        while n - pos >= 2:
            rl, mult, i = 0, 1, pos + 1
            while i < n:
                b = buf[i]
                rl += (b & 0x7f) * mult
                mult <<= 7
                i += 1
                if not b & 0x80:
                    break
            else:
                break
            if i + rl > n:
                break
            if buf[pos] >> 4 == PUBLISH:
                tlen = buf[i] << 8 | buf[i + 1]
                cls = bytes(buf[i + 2:i + 2 + tlen]).split(b"/")
                key = cls[1] if cls[0] == b"soak" else cls[0]
                self.received[key] = self.received.get(key, 0) + 1
            pos = i + rl
        del buf[:pos]

    def close(self):
        self.done = True
        if self.sock:
            try:
                self.sock.send(DISCONNECT_PACKET)
            except OSError:
                pass
            self.sock.close()
            self.sock = None


# The broker and the kernel.

def kmqttctl_json():
    out = subprocess.run([KMQTTCTL, "show", "--json"], check=True,
                         capture_output=True, text=True, timeout=60).stdout
    return json.loads(out)


async def kmqttctl_async():
    proc = await asyncio.create_subprocess_exec(
        KMQTTCTL, "show", "--json", stdout=subprocess.PIPE)
    out, _ = await proc.communicate()
    if proc.returncode:
        raise RuntimeError("kmqttctl show --json exited with %d" %
                           proc.returncode)
    return json.loads(out)


def write_file(path, data):
    try:
        with open(path, "w") as f:
            f.write(data)
    except OSError:
        pass


def slab_usage():
    """Bytes in use per slab cache, after freeing what can be freed:
    reclaimable caches dropped (dentries and inodes pin 9p and proc
    objects), then every cache shrunk, which also empties KASAN's
    quarantine of its objects and flushes the per-CPU slabs, so that
    /proc/slabinfo's active objects are exact."""
    write_file("/proc/sys/vm/drop_caches", "3")
    for name in os.listdir("/sys/kernel/slab"):
        write_file("/sys/kernel/slab/%s/shrink" % name, "1")
    caches = {}
    with open("/proc/slabinfo") as f:
        for line in f:
            w = line.split()
            if line.startswith(("slabinfo", "#")) or len(w) < 4:
                continue
            try:
                with open("/sys/kernel/slab/%s/reclaim_account" % w[0]) as r:
                    reclaim = r.read().strip() == "1"
            except OSError:
                reclaim = False
            caches[w[0]] = (int(w[1]), int(w[3]), reclaim)
    meminfo = {}
    with open("/proc/meminfo") as f:
        for line in f:
            k, v = line.split(":")
            meminfo[k] = int(v.split()[0])
    return caches, meminfo


# The debug kernel's own bookkeeping: debug objects keep a pool that
# refills in batches (a few hundred KiB after a busy minute), kmemleak
# has one object per allocation.  Not memory a leak of kmqtt would be in.
DEBUG_CACHES = ("debug_objects_cache", "kmemleak_object",
                "kmemleak_scan_area")


def slab_summary(caches):
    """(kmqtt objects, kmalloc bytes, unreclaimable bytes but the debug
    caches')"""
    kmqtt = {k: v[0] for k, v in caches.items() if k.startswith("kmqtt")}
    kmalloc = sum(v[0] * v[1] for k, v in caches.items()
                  if k.startswith("kmalloc-"))
    unrecl = sum(v[0] * v[1] for k, v in caches.items()
                 if not v[2] and k not in DEBUG_CACHES)
    return kmqtt, kmalloc, unrecl


def tcp_sockets(port):
    """Sockets of any state on @port (TIME_WAIT ones too)."""
    n = 0
    hexport = ":%04X" % port
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    w = line.split()
                    if w[1].endswith(hexport) or w[2].endswith(hexport):
                        n += 1
        except OSError:
            pass
    return n


class Broker:
    def __init__(self, args):
        self.args = args
        self.proc = None
        self.logpath = os.path.join(os.environ.get("TMPDIR", "/tmp"),
                                    "soak-broker.log")

    def start(self):
        a = self.args
        try:
            socket.create_connection(("127.0.0.1", a.port), 1).close()
            raise RuntimeError("something listens on port %d already" %
                               a.port)
        except OSError:
            pass
        conf = os.path.join(os.environ.get("TMPDIR", "/tmp"), "soak.conf")
        with open(conf, "w") as f:
            f.write("listener %d 127.0.0.1\nallow_anonymous true\n"
                    "max_queued_messages %d\nmax_queued_bytes %d\n" %
                    (a.port, MAX_QUEUED_MESSAGES, MAX_QUEUED_BYTES))
            if a.broker == "mosquitto":
                f.write("persistence false\n")
        cmd = [KMQTTD, "-c", conf] if a.broker == "kmqttd" else \
            ["mosquitto", "-c", conf]
        logf = open(self.logpath, "w")
        self.proc = subprocess.Popen(cmd, stdout=logf, stderr=logf)
        end = time.monotonic() + 60
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                break
            try:
                socket.create_connection(("127.0.0.1", a.port), 1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("%s did not start: %s" % (cmd[0], self.log_tail()))

    def log_tail(self, n=20):
        try:
            with open(self.logpath) as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return False
        return True


# Phases.

async def progress(soak, minutes, kernel):
    s = soak
    n = 0
    while s.running:
        await asyncio.sleep(60)
        if not s.running:
            break
        n += 1
        c = s.c
        line = ("soak: [%d/%d min] published q0 %d q1 %d q2 %d bulk %d "
                "retained %d; delivered %d; reconnects %d takeovers %d "
                "churn %d; largest backlog %d, paused %.0f s; "
                "driver lag max %.1f s, cpu %.0f s user %.0f s sys" %
                (n, minutes, c["pub_q0"], c["pub_q1"], c["pub_q2"],
                 c["pub_bulk"], c["pub_retained"],
                 sum(x.received for x in s.clients
                     if isinstance(x, Subscriber)) + s.slow_received(),
                 c["reconnects"],
                 c["takeovers"] + c["takeovers_churn"], c["churn"],
                 s.backlog_max, s.paused_time, s.lag_max, os.times()[0],
                 os.times()[1]))
        if kernel:
            try:
                st = (await kmqttctl_async())["stats"]
                line += ("; broker: %d connections, %d sessions, %d queued, "
                         "%d in flight, %d dropped, memory %d" %
                         (st["connections"], st["sessions"], st["queued"],
                          st["inflight"], st["msgs_dropped"], st["memory"]))
            except Exception as e:
                line += "; kmqttctl failed: %s" % e
        if s.errors:
            line += "; %d errors" % len(s.errors)
        log(line)
        s.lag_max = 0.0
        s.backlog_max = 0


async def throttle(soak, subs, pubs):
    """Pauses the publishers while a subscriber is far behind."""
    s = soak
    while s.running:
        await asyncio.sleep(0.5)
        backlog = max(sum(p.seq[q] - (sub.streams[p.topics[q]].max_first
                                      if p.topics[q] in sub.streams else 0)
                          for p in pubs for q in (1, 2)
                          if sub.grant(p.topics[q]))
                      for sub in subs)
        s.backlog_max = max(s.backlog_max, backlog)
        if not s.paused and backlog > BACKLOG_HIGH:
            s.paused = True
            s.c["throttled"] += 1
        elif s.paused and backlog < BACKLOG_LOW:
            s.paused = False
        if s.paused:
            s.paused_time += 0.5


async def lag_meter(soak):
    loop = asyncio.get_running_loop()
    while soak.running:
        t = loop.time()
        await asyncio.sleep(0.1)
        soak.lag_max = max(soak.lag_max, loop.time() - t - 0.1)


async def retainer_run(soak, ret):
    """Keeps the retained messages (published at start) changing."""
    topics = [b"soak/ret/%d" % i for i in range(RETAINED_TOPICS)]
    n = RETAINED_TOPICS
    while soak.running:
        await asyncio.sleep(RETAIN_INTERVAL)
        n += 1
        ret.publish(random.choice(topics), b"%d " % n + PAD[:50], 1,
                    retain=True)
        soak.c["pub_retained"] += 1


async def bulk_run(soak, bulk, scale):
    acc, last = 0.0, time.monotonic()
    while soak.running:
        await asyncio.sleep(0.1)
        now = time.monotonic()
        if not soak.paused:
            acc += BULK_RATE * scale * min(now - last, 1.0)
        last = now
        while acc >= 1:
            acc -= 1
            bulk.publish(b"bulk/0", PAD[:BULK_SIZE], 0)
            soak.c["pub_bulk"] += 1


async def churn_one(soak, n):
    """One churn client: a pool id (takeovers) or a will client."""
    s = soak
    s.c["churn"] += 1
    if n % 3 == 0:
        cid = "will-%d" % n
        c = Churn(s, cid)
        payload = cid.encode()
        c.will = (b"soak/will/" + payload, payload, 1)
        try:
            await c.connect()
            await asyncio.sleep(random.uniform(0.2, 2.0))
            how = random.choice(("graceful", "fin", "rst"))
            # Known before the close, so that no will can arrive unexpected.
            if how == "graceful":
                s.suppressed_wills.add(payload)
                s.c["wills_suppressed"] += 1
            else:
                s.expected_wills.add(payload)
                s.c["wills_expected"] += 1
            c.close(how)
        finally:
            s.clients.remove(c)
        return
    # A pool id whose client is not connecting: two CONNECTs racing would
    # leave it to chance which one takes over the other.
    free = [i for i in range(CHURN_POOL)
            if "churn-%d" % i not in s.churn_live or
            s.churn_live["churn-%d" % i].ready]
    if not free:
        return
    cid = "churn-%d" % random.choice(free)
    c = Churn(s, cid)
    old = s.churn_live.get(cid)
    s.churn_live[cid] = c
    try:
        if old and old.online():
            old.taken_over = True
        await c.connect()
        c.ready = True
        if old and old.taken_over and old.conn:
            s.c["takeovers_churn"] += 1
            try:
                await asyncio.wait_for(asyncio.shield(old.conn.closed),
                                       TIMEOUT)
            except asyncio.TimeoutError:
                s.error("%s: takeover: old connection still open" % cid)
        try:
            await c.subscribe({"soak/ret/+": 1})
        except ConnectionError:
            if not c.taken_over:
                raise
        end = time.monotonic() + TIMEOUT
        while (len(c.retained_seen) < RETAINED_TOPICS and c.online() and
               time.monotonic() < end):
            await asyncio.sleep(0.05)
        if c.online():
            if len(c.retained_seen) != RETAINED_TOPICS:
                s.error("%s: %d retained messages, expected %d" %
                        (cid, len(c.retained_seen), RETAINED_TOPICS))
            s.c["retained_checks"] += 1
        for _ in range(random.randint(0, 5)):
            if c.online():
                c.publish(b"soak/churn/%d" % (n % CHURN_POOL), b"%d " % n,
                          random.randint(0, 1))
        await asyncio.sleep(random.uniform(0.2, 3.0))
        c.close(random.choice(("graceful", "graceful", "fin", "rst")))
    finally:
        if s.churn_live.get(cid) is c:
            del s.churn_live[cid]
        s.clients.remove(c)


async def churn_run(soak):
    tasks = set()
    n = 0
    while soak.running:
        await asyncio.sleep(random.uniform(*CHURN_INTERVAL))
        tasks = {t for t in tasks if not t.done()}
        if len(tasks) >= CHURN_MAX or not soak.running:
            continue
        n += 1
        tasks.add(asyncio.ensure_future(guard(soak, churn_one(soak, n),
                                              "churn-%d" % n)))
    if tasks:
        await asyncio.wait(tasks)


async def pinger(soak):
    while True:
        await asyncio.sleep(2)
        now = time.monotonic()
        for c in list(soak.clients):
            if c.online() and now - c.conn.last_send > KEEPALIVE / 3:
                c.conn.send(PINGREQ_PACKET)


async def guard(soak, coro, what):
    try:
        await coro
    except Exception as e:
        soak.error("%s: %s: %r" % (what, type(e).__name__, e))


def verify(soak, subs, pubs):
    """Every QoS 1/2 message at every subscriber granting QoS 1/2."""
    s = soak
    totals = {"missing": 0, "q2_extra": 0, "q1_dups": 0, "phantom": 0,
              "out_of_order": 0, "checked": 0}
    for sub in subs:
        for pub in pubs:
            for q in (1, 2):
                topic = pub.topics[q]
                granted = sub.grant(topic)
                if not granted:
                    continue
                dq = min(q, granted)
                n = pub.seq[q]
                st = sub.streams.get(topic) or Stream()
                counts = st.counts
                missing = [i for i in range(1, n + 1)
                           if i >= len(counts) or not counts[i]]
                phantom = sum(1 for i in range(n + 1, len(counts))
                              if counts[i])
                extra = sum(c - 1 for c in counts if c > 1)
                totals["checked"] += n
                totals["missing"] += len(missing)
                totals["phantom"] += phantom
                totals["out_of_order"] += st.out_of_order
                if dq == 2:
                    totals["q2_extra"] += extra
                else:
                    totals["q1_dups"] += extra
                if missing:
                    s.error("%s: %d of %d messages of %s missing (first %r)"
                            % (sub.cid, len(missing), n, topic.decode(),
                               missing[:5]))
                if phantom:
                    s.error("%s: %d messages of %s never published" %
                            (sub.cid, phantom, topic.decode()))
                if dq == 2 and extra:
                    s.error("%s: %d duplicates of %s at QoS 2" %
                            (sub.cid, extra, topic.decode()))
                if st.out_of_order:
                    s.error("%s: %d messages of %s out of order" %
                            (sub.cid, st.out_of_order, topic.decode()))
        if sub.grant(b"soak/will/x"):
            missing = s.expected_wills - set(sub.wills)
            unexpected = set(sub.wills) - s.expected_wills
            totals["checked"] += len(s.expected_wills)
            if missing:
                s.error("%s: %d wills missing (%r)" %
                        (sub.cid, len(missing), sorted(missing)[:5]))
            if unexpected:
                s.error("%s: %d wills of clients that sent DISCONNECT (%r)"
                        % (sub.cid, len(unexpected), sorted(unexpected)[:5]))
            totals["missing"] += len(missing)
        if sub.pending2:
            s.error("%s: QoS 2 ids %r never released" %
                    (sub.cid, sorted(sub.pending2)[:5]))
    return totals


def all_delivered(subs, pubs, expected_wills):
    for sub in subs:
        for pub in pubs:
            for q in (1, 2):
                topic = pub.topics[q]
                if not sub.grant(topic):
                    continue
                st = sub.streams.get(topic)
                n = pub.seq[q]
                if n and (st is None or st.max_first < n):
                    return False
        if sub.pending2:
            return False
        if (sub.grant(b"soak/will/x") and
                not expected_wills <= sub.wills.keys()):
            return False
    return True


async def wait_for(cond, timeout, step=0.5):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        await asyncio.sleep(step)
    return cond()


async def soak_main(args):
    kernel = args.broker == "kmqttd"
    s = Soak(args)
    minutes = args.minutes
    log("soak: %g min of load on %s port %d, rate scale %g, seed %d" %
        (minutes, args.broker, args.port, args.scale, args.seed))
    random.seed(args.seed)

    if kernel:
        base_caches, base_mem = slab_usage()
        base_ctl = kmqttctl_json()["stats"]
        kmqtt0, kmalloc0, unrecl0 = slab_summary(base_caches)
        log("soak: baseline: kmqtt caches %r, kmalloc %d KiB, unreclaimable "
            "slab %d KiB, SUnreclaim %d KiB; kmqttctl: %d connections, %d "
            "sessions, memory %d" %
            (kmqtt0, kmalloc0 >> 10, unrecl0 >> 10, base_mem["SUnreclaim"],
             base_ctl["connections"], base_ctl["sessions"],
             base_ctl["memory"]))

    broker = Broker(args)
    broker.start()
    bg = [asyncio.ensure_future(pinger(s)),
          asyncio.ensure_future(lag_meter(s))]

    subs = [Subscriber(s, cid, f, ACK_DELAY.get(cid, 0))
            for cid, f in SUBSCRIBERS.items()]
    pubs = [Publisher(s, "pub-%d" % i, args.scale) for i in range(PUBLISHERS)]
    slow = s.slow = SlowSubscriber(s)
    ret = Simple(s, "soak-retainer")
    bulk = Simple(s, "soak-bulk")
    for sub in subs:
        await sub.start()
    await slow.start()
    for c in pubs + [ret, bulk]:
        await c.connect()
    # Retained messages are in place before the first churn client looks.
    for i in range(RETAINED_TOPICS):
        ret.publish(b"soak/ret/%d" % i, b"%d " % i, 1, retain=True)
        s.c["pub_retained"] += 1
    if not await ret.drain():
        raise RuntimeError("the retained messages were not acknowledged")
    started = time.monotonic()
    tasks = [asyncio.ensure_future(guard(s, c.run(), c.cid))
             for c in subs + pubs]
    tasks += [asyncio.ensure_future(guard(s, coro, what)) for coro, what in (
        (throttle(s, subs, pubs), "throttle"),
        (retainer_run(s, ret), "retainer"),
        (bulk_run(s, bulk, args.scale), "bulk"),
        (churn_run(s), "churn"))]
    slow_task = asyncio.ensure_future(guard(s, slow.run(), "soak-slow"))
    prog = asyncio.ensure_future(progress(s, minutes, kernel))

    await asyncio.sleep(minutes * 60)
    s.running = False
    log("soak: load stopped after %.0f s; draining" %
        (time.monotonic() - started))
    await asyncio.wait(tasks + [prog], timeout=300)

    # Everyone back online; publishers get their acks, subscribers drain.
    for c in subs + pubs + [ret]:
        if not c.online():
            await guard(s, c.connect(), c.cid + " (drain)")
    ok = await wait_for(lambda: not any(p.inflight for p in pubs) and
                        not ret.inflight, 300)
    if not ok:
        s.error("publishers: %d messages never acknowledged" %
                sum(len(p.inflight) for p in pubs + [ret]))
    await wait_for(lambda: all_delivered(subs, pubs, s.expected_wills), 300)

    st = None
    if kernel:
        # Quiet now: what is queued or in flight stays there (a loss).
        await asyncio.sleep(2)
        info = kmqttctl_json()
        st = info["stats"]
        slow_drops = sum(c["stats"]["msgs_dropped"]
                         for c in info["connections"]
                         if c["client_id"] == SlowSubscriber.cid)
        if st["queued"] or st["inflight"]:
            s.error("broker: %d queued and %d in flight after draining" %
                    (st["queued"], st["inflight"]))
        # What may drop: QoS 0 to the slow subscriber (its send queue is
        # full), and QoS 0 that reached a subscriber's connection while it
        # was closing (at most once: the client is going away).  Nothing
        # for want of memory, past the fan-out bound or by the rules.
        closing = st["dropped_closing"]
        if st["msgs_dropped"] != slow_drops + closing:
            s.error("broker: %d messages dropped, only %d of them QoS 0 to "
                    "the slow subscriber and %d to closing connections "
                    "(queue full %d, no memory %d, fan-out %d, denied %d, "
                    "too large %d)" %
                    (st["msgs_dropped"], slow_drops, closing,
                     st["dropped_queue_full"], st["dropped_no_memory"],
                     st["dropped_fanout"], st["dropped_denied"],
                     st["dropped_too_large"]))
        for ses in info["sessions"]:
            if ses["stats"]["msgs_dropped"]:
                s.error("session %s: %d messages dropped" %
                        (ses["client_id"], ses["stats"]["msgs_dropped"]))
    slow.close()
    slow_task.cancel()

    totals = verify(s, subs, pubs)
    q0_pub = s.c["pub_q0"]
    q0_slow = slow.received.get(b"q0", 0)
    log("soak: delivered: %d QoS 1/2 deliveries checked, %d missing, %d "
        "QoS 2 duplicates, %d QoS 1 duplicates, %d out of order; QoS 2 "
        "resends suppressed at subscribers %d; slow subscriber got %d of %d "
        "QoS 0 and %d of %d bulk (%s dropped by the broker)" %
        (totals["checked"], totals["missing"], totals["q2_extra"],
         totals["q1_dups"], totals["out_of_order"],
         s.c["q2_dup_suppressed"], q0_slow, q0_pub,
         slow.received.get(b"bulk", 0), s.c["pub_bulk"],
         slow_drops if kernel else "?"))

    # Leave nothing behind: retained messages, connections, sessions.
    for i in range(RETAINED_TOPICS):
        ret.publish(b"soak/ret/%d" % i, b"", 1, retain=True)
    if not await ret.drain():
        s.error("soak-retainer: retained messages not cleared")
    for c in list(s.clients):
        c.close("graceful")
    for c in subs + pubs:
        c.clean = True
        c.has_session = False
        await guard(s, c.connect(), c.cid + " (clean)")
        c.close("graceful")
    await asyncio.sleep(1)
    for t in bg:
        t.cancel()

    if kernel:
        left = {}

        def empty():
            left.update(kmqttctl_json()["stats"])
            return not any(left[k] for k in (
                "connections", "sessions", "subscriptions", "queued",
                "inflight", "retained", "memory"))
        if not await wait_for(empty, 60):
            s.error("broker not empty after the clients left: %s" %
                    json.dumps({k: left[k] for k in (
                        "connections", "sessions", "subscriptions",
                        "queued", "inflight", "retained", "memory")}))
    if not broker.stop():
        s.error("%s did not stop on SIGTERM" % args.broker)
    if broker.proc.returncode not in (0, -15):
        s.error("%s exited with %s: %s" % (args.broker,
                                           broker.proc.returncode,
                                           broker.log_tail()))

    summary = ("%g min, published q0 %d q1 %d q2 %d bulk %d retained %d, "
               "%d QoS 1/2 deliveries checked, %d QoS 1 duplicates, "
               "%d connects, %d reconnects, %d takeovers (+%d churn), "
               "%d churn clients, %d wills (+%d suppressed), %d resends, "
               "publishers paused %.0f s" %
               (minutes, s.c["pub_q0"], s.c["pub_q1"], s.c["pub_q2"],
                s.c["pub_bulk"], s.c["pub_retained"], totals["checked"],
                totals["q1_dups"], s.c["connects"], s.c["reconnects"],
                s.c["takeovers"], s.c["takeovers_churn"], s.c["churn"],
                s.c["wills_expected"], s.c["wills_suppressed"],
                s.c["resends"], s.paused_time))
    if kernel:
        summary += (", %d QoS 0 dropped for the slow subscriber, %d to "
                    "closing connections" % (slow_drops, st["dropped_closing"]))
        # Wait for the TCP sockets (TIME_WAIT: 60 s) and RCU callbacks
        # (kfree_rcu of connections, sessions, messages).
        await wait_for(lambda: tcp_sockets(args.port) == 0, 120, 1)
        await asyncio.sleep(5)
        caches, mem = slab_usage()
        kmqtt1, kmalloc1, unrecl1 = slab_summary(caches)
        ctl = kmqttctl_json()["stats"]
        log("soak: after: kmqtt caches %r, kmalloc %d KiB (%+d), "
            "unreclaimable slab %d KiB (%+d), SUnreclaim %d KiB (%+d); "
            "kmqttctl: %d connections, %d sessions, memory %d" %
            (kmqtt1, kmalloc1 >> 10, (kmalloc1 - kmalloc0) >> 10,
             unrecl1 >> 10, (unrecl1 - unrecl0) >> 10, mem["SUnreclaim"],
             mem["SUnreclaim"] - base_mem["SUnreclaim"],
             ctl["connections"], ctl["sessions"], ctl["memory"]))
        grown = sorted(((v[0] * v[1] - base_caches.get(k, (0, 0))[0] *
                         base_caches.get(k, (0, 0))[1], k)
                        for k, v in caches.items() if not v[2]),
                       reverse=True)[:6]
        log("soak: caches that grew most: " +
            ", ".join("%s %+d KiB" % (k, d >> 10) for d, k in grown))
        for k in ("connections", "sessions", "memory", "queued", "retained"):
            if ctl[k]:
                s.error("kmqttctl after the run: %s %d" % (k, ctl[k]))
        # The module's own caches (connections, sessions, deliveries,
        # packets to send) must be back exactly.
        if kmqtt1 != kmqtt0:
            s.error("kmqtt slab caches: %r before, %r after" %
                    (kmqtt0, kmqtt1))
        # The rest of what the module allocates (messages, receive
        # buffers, subscriptions, trie nodes, retained entries) comes from
        # kmalloc, shared with the rest of the kernel, which drifts on its
        # own: kworkers the load made the workqueues start (they exit
        # after 5 idle minutes), TCP metrics, proc and kernfs nodes, 9p
        # fids; measured at +50 to +100 KiB after a 2 minute run, the
        # debug caches left out.  The slack (1 MiB) is ten times that,
        # and below what a leaked message copy (100 to 2000 bytes) per
        # publish leaves within minutes, or a 4 KiB receive buffer per
        # connection, or over the 30 minute run (some 4000 connections,
        # 80000 publishes) a subscription or trie node per churn client
        # or per retained update.  Objects nothing points to any more are
        # kmemleak's to find; those still on a list the module counts are
        # caught by the kmqttctl checks above.
        slack = args.slack << 10
        grew = max(kmalloc1 - kmalloc0, unrecl1 - unrecl0)
        summary += (", slab %+d KiB kmalloc, %+d KiB unreclaimable" %
                    ((kmalloc1 - kmalloc0) >> 10, (unrecl1 - unrecl0) >> 10))
        if grew > slack:
            s.error("slab grew by %d KiB (kmalloc %+d KiB, unreclaimable "
                    "%+d KiB), more than the %d KiB allowed" %
                    (grew >> 10, (kmalloc1 - kmalloc0) >> 10,
                     (unrecl1 - unrecl0) >> 10, args.slack))
    return s, summary


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float,
                    default=float(os.environ.get("SOAK_MINUTES", 30)))
    ap.add_argument("--scale", type=float,
                    default=float(os.environ.get("SOAK_SCALE", 1)),
                    help="multiplies every publishing rate")
    ap.add_argument("--seed", type=int,
                    default=int(os.environ.get("SOAK_SEED", 0)) or
                    int(time.time()))
    ap.add_argument("--port", type=int, default=1883,
                    help="0: a free one")
    ap.add_argument("--slack", type=int,
                    default=int(os.environ.get("SOAK_SLAB_SLACK_KIB", 1024)),
                    help="KiB slab may grow by (see soak_main)")
    ap.add_argument("--broker", choices=("kmqttd", "mosquitto"),
                    default="kmqttd",
                    help="mosquitto: try the load driver without kmqtt "
                    "(no kernel checks)")
    args = ap.parse_args()
    if not args.port:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            args.port = sock.getsockname()[1]
    try:
        soak, summary = asyncio.run(soak_main(args))
    except Exception as e:
        log("soak-guest: FAIL the driver stopped: %s: %s" %
            (type(e).__name__, e))
        return 1
    if soak.errors:
        log("soak-guest: FAIL %d errors, the first: %s (%s)" %
            (len(soak.errors), soak.errors[0], summary))
        return 1
    log("soak-guest: PASS " + summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())

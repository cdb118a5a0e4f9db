# SPDX-License-Identifier: GPL-2.0
"""MQTT clients for the TLS and access control interop tests (tls.sh,
auth.sh), with Eclipse Paho (Debian's python3-paho-mqtt 1.6) or raw
sockets.  Each subcommand exits 0 when what it checks holds, 1 otherwise,
and says why on stdout.

  connack   raw CONNECT, print the CONNACK return code, check that the
            server closes a refused connection (--expect closed: that it
            closes the connection without CONNACK)
  suback    subscribe to filters, check the granted codes
  route     publish to topics in order, check which ones come back
  paho-tls  publish and receive over TLS with a forced TLS version
  capture   publish a marker while capturing loopback (AF_PACKET), check
            whether the marker is on the wire
  reload    while connected: a topic is delivered, kmqttd gets SIGHUP with
            a new ACL file, the same topic is not delivered any more
"""

import argparse
import os
import queue
import signal
import socket
import ssl
import struct
import sys
import threading
import time

import paho.mqtt.client as mqtt

from mqtt_packets import connect

TIMEOUT = 20


def fail(msg):
    print(msg)
    sys.exit(1)


def tls_context(args):
    ctx = ssl.create_default_context(cafile=args.cafile)
    if args.cert:
        ctx.load_cert_chain(args.cert, args.key)
    if args.tls_version:
        version = {"1.2": ssl.TLSVersion.TLSv1_2,
                   "1.3": ssl.TLSVersion.TLSv1_3}[args.tls_version]
        ctx.minimum_version = version
        ctx.maximum_version = version
    return ctx


def paho_client(args, client_id):
    client = mqtt.Client(client_id=client_id, protocol=mqtt.MQTTv311)
    if args.cafile:
        client.tls_set_context(tls_context(args))
    if args.user:
        client.username_pw_set(args.user, args.password)
    return client


class Session:
    """A connected Paho client whose events arrive on a queue."""

    def __init__(self, args, client_id):
        self.events = queue.Queue()
        self.client = paho_client(args, client_id)
        self.client.on_connect = \
            lambda c, u, f, rc: self.events.put(("connack", rc))
        self.client.on_subscribe = \
            lambda c, u, mid, qos: self.events.put(("suback", list(qos)))
        self.client.on_message = \
            lambda c, u, m: self.events.put(("message", (m.topic, m.payload)))
        self.client.connect(args.host, args.port, keepalive=60)
        self.client.loop_start()
        rc = self.next("connack")
        if rc != 0:
            fail("CONNACK %r" % (rc,))

    def next(self, kind, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                event = self.events.get(timeout=left)
            except queue.Empty:
                return None
            if event[0] == kind:
                return event[1]

    def subscribe(self, filters):
        self.client.subscribe([(f, 1) for f in filters])
        return self.next("suback")

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def cmd_connack(args):
    sock = socket.create_connection((args.host, args.port), timeout=TIMEOUT)
    if args.cafile:
        try:
            sock = tls_context(args).wrap_socket(sock,
                                                 server_hostname="localhost")
        except ssl.SSLError as e:
            if args.expect != "closed":
                fail("TLS handshake failed: %s" % e)
            print("closed in the TLS handshake: %s" % e)
            return
    sock.sendall(connect(args.client_id, user=args.user,
                         password=args.password, keepalive=30))
    connack = b""
    while len(connack) < 4:
        try:
            chunk = sock.recv(4 - len(connack))
        except (ConnectionResetError, ssl.SSLError):
            chunk = b""
        if not chunk and not connack and args.expect == "closed":
            print("closed without CONNACK")
            return
        if not chunk:
            fail("closed after %r, before a whole CONNACK" % connack)
        connack += chunk
    if connack[:3] != b"\x20\x02\x00":
        fail("not a CONNACK: %r" % connack)
    code = connack[3]
    print("CONNACK return code %d" % code)
    if str(code) != args.expect:
        fail("expected %s" % args.expect)
    if code != 0:
        # [MQTT-3.2.2-5]: a refusing server closes the connection.
        try:
            rest = sock.recv(1)
        except (ConnectionResetError, ssl.SSLError):
            rest = b""
        if rest:
            fail("connection still open after a refusal: %r" % rest)
        print("connection closed by the server")


def cmd_suback(args):
    session = Session(args, args.client_id)
    granted = session.subscribe(args.filter)
    session.close()
    print("SUBACK %r" % (granted,))
    want = [int(c, 0) for c in args.expect]
    if granted != want:
        fail("expected %r" % want)


def route(session, publish, marker):
    """Publish @marker to each topic in order (QoS 1: acked even when the
    ACL drops it); the last is a sentinel the client may use.  Returns the
    topics received before the sentinel: the broker delivers a client's
    messages in order, so any other delivery would have come first."""
    got = []
    for topic in publish:
        session.client.publish(topic, marker, qos=1)
    while True:
        message = session.next("message")
        if message is None:
            fail("timed out; received %r" % got)
        got.append(message[0])
        if message[0] == publish[-1] and message[1] == marker:
            return got[:-1]


def cmd_route(args):
    session = Session(args, args.client_id)
    granted = session.subscribe(args.subscribe)
    if not granted or 0x80 in granted:
        fail("subscription refused: %r" % (granted,))
    got = route(session, args.publish + [args.sentinel], b"route")
    session.close()
    print("received %r" % got)
    if sorted(got) != sorted(args.expect):
        fail("expected %r" % args.expect)


def cmd_paho_tls(args):
    session = Session(args, args.client_id)
    version = session.client.socket().version()
    print("negotiated %s" % version)
    if version != "TLSv" + args.tls_version:
        fail("expected TLSv" + args.tls_version)
    granted = session.subscribe([args.topic])
    if granted != [1]:
        fail("SUBACK %r" % (granted,))
    payload = os.urandom(3000)
    session.client.publish(args.topic, payload, qos=1)
    message = session.next("message")
    session.close()
    if message != (args.topic, payload):
        fail("received %r" % (message,))
    print("3000 random bytes came back over %s" % version)


def capture_loopback(stop, frames):
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                         socket.ntohs(0x0003))
    sock.bind(("lo", 0))
    sock.settimeout(0.2)
    while not stop.is_set():
        try:
            frame = sock.recv(65535)
        except socket.timeout:
            continue
        frames.append(frame)
    sock.close()


def cmd_capture(args):
    marker = ("kmqtt-plaintext-marker-%d" % os.getpid()).encode()
    stop, frames = threading.Event(), []
    sniffer = threading.Thread(target=capture_loopback, args=(stop, frames))
    sniffer.start()
    time.sleep(0.5)
    try:
        session = Session(args, args.client_id)
        if session.subscribe([args.topic]) != [1]:
            fail("subscribe refused")
        session.client.publish(args.topic, marker, qos=1)
        message = session.next("message")
        session.close()
    finally:
        time.sleep(0.5)
        stop.set()
        sniffer.join()
    if message != (args.topic, marker):
        fail("the marker did not come back: %r" % (message,))
    wire = b"".join(frames)
    port = struct.pack("!H", args.port)
    # TCP frames from or to the port, on the wire (lo: Ethernet headers).
    seen = sum(1 for f in frames if port in f[34:38])
    print("captured %d frames, %d of port %d" % (len(frames), seen,
                                                 args.port))
    if seen == 0:
        fail("the capture saw no packet of the connection")
    found = marker in wire
    print("marker %s the wire" % ("on" if found else "not on"))
    if found != args.expect_plaintext:
        fail("expected the marker %s the wire" %
             ("on" if args.expect_plaintext else "not on"))
    if not args.expect_plaintext and b"\x17\x03\x03" not in wire:
        fail("no TLS application data record on the wire")


def cmd_reload(args):
    session = Session(args, args.client_id)
    granted = session.subscribe([args.topic, args.sentinel])
    if granted != [1, 1]:
        fail("SUBACK %r" % (granted,))
    got = route(session, [args.topic, args.sentinel], b"before")
    print("before the reload: received %r" % got)
    if got != [args.topic]:
        fail("expected %s to be delivered before the reload" % args.topic)
    with open(args.log, errors="replace") as f:
        seen = f.read().count(args.reloaded)
    os.replace(args.new_acl, args.acl)
    os.kill(args.pid, signal.SIGHUP)
    deadline = time.monotonic() + TIMEOUT
    while True:
        with open(args.log, errors="replace") as f:
            if f.read().count(args.reloaded) > seen:
                break
        if time.monotonic() > deadline:
            fail("kmqttd did not log %r after SIGHUP" % args.reloaded)
        time.sleep(0.1)
    got = route(session, [args.topic, args.sentinel], b"after")
    session.close()
    print("after the reload, same connection: received %r" % got)
    if got:
        fail("expected %s to be refused after the reload" % args.topic)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--port", type=int, default=1883)
    parser.add_argument("--cafile")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--tls-version", choices=["1.2", "1.3"])
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--client-id", default="secure-client")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("connack")
    p.add_argument("--expect", required=True,
                   help="a return code, or closed")
    p = sub.add_parser("suback")
    p.add_argument("--filter", action="append", required=True)
    p.add_argument("--expect", action="append", required=True)
    p = sub.add_parser("route")
    p.add_argument("--subscribe", action="append", required=True)
    p.add_argument("--publish", action="append", required=True)
    p.add_argument("--sentinel", required=True)
    p.add_argument("--expect", action="append", default=[])
    p = sub.add_parser("paho-tls")
    p.add_argument("--topic", default="paho/tls")
    p = sub.add_parser("capture")
    p.add_argument("--topic", default="wire/check")
    p.add_argument("--expect-plaintext", action="store_true")
    p = sub.add_parser("reload")
    p.add_argument("--topic", required=True)
    p.add_argument("--sentinel", required=True)
    p.add_argument("--acl", required=True)
    p.add_argument("--new-acl", required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--reloaded", required=True)
    args = parser.parse_args()
    {"connack": cmd_connack, "suback": cmd_suback, "route": cmd_route,
     "paho-tls": cmd_paho_tls, "capture": cmd_capture,
     "reload": cmd_reload}[args.cmd](args)


if __name__ == "__main__":
    main()

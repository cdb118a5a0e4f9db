#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""MQTT over WebSocket on the wire: a raw client that writes its own
frames, the way a browser or a hostile client might, against the broker's
websockets listener (ws://127.0.0.1:PORT): the opening handshake and its
refusals, CONNECT in fragments, in one frame with the packets after it and
byte by byte, pings before and after the hand-off to the module, a 64-bit
frame, a text or unmasked frame, the close handshake, and a message from a
TCP client.  Usage: websocket.py WS_PORT TCP_PORT [MORE], MORE checks
that the caller prints after these counted in the plan.  Prints TAP; with
KMQTT_TEST_BROKER=mosquitto it runs against Mosquitto, where they differ
is marked TODO."""

import base64
import hashlib
import os
import socket
import struct
import sys

from mqtt_packets import connect, packet, string
from tap_checks import Checks, Fail, expect

TIMEOUT = 20
WS_PORT = int(sys.argv[1])
TCP_PORT = int(sys.argv[2])
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

BINARY, TEXT, CLOSE, PING, PONG, CONTINUATION = 2, 1, 8, 9, 10, 0


def frame(opcode, payload, fin=True, mask=True):
    """A client's frame: masked with a random key unless told not to."""
    first = (0x80 if fin else 0) | opcode
    n = len(payload)
    if n < 126:
        head = bytes([first, (0x80 if mask else 0) | n])
    elif n <= 0xFFFF:
        head = bytes([first, (0x80 if mask else 0) | 126]) + \
            struct.pack("!H", n)
    else:
        head = bytes([first, (0x80 if mask else 0) | 127]) + \
            struct.pack("!Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i & 3] for i, b in enumerate(payload))


def request(key=None, version="13", protocol="mqtt"):
    key = key if key is not None else \
        base64.b64encode(os.urandom(16)).decode()
    lines = ["GET /mqtt HTTP/1.1", "Host: 127.0.0.1:%d" % WS_PORT,
             "Upgrade: websocket", "Connection: Upgrade"]
    if key:
        lines.append("Sec-WebSocket-Key: " + key)
    if version:
        lines.append("Sec-WebSocket-Version: " + version)
    if protocol:
        lines.append("Sec-WebSocket-Protocol: " + protocol)
    return ("\r\n".join(lines) + "\r\n\r\n").encode(), key


class Client:
    """One WebSocket connection; MQTT packets read from its frames."""

    def __init__(self, **kw):
        self.sock = socket.create_connection(("127.0.0.1", WS_PORT),
                                             timeout=TIMEOUT)
        self.buf = b""       # raw bytes read, not yet framed
        self.stream = b""    # MQTT bytes from binary frames
        self.controls = []   # (opcode, payload) of control frames
        req, key = request(**kw)
        self.sock.sendall(req)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            head += chunk
        head, _, self.buf = head.partition(b"\r\n\r\n")
        lines = head.decode(errors="replace").split("\r\n")
        self.status = int(lines[0].split()[1]) if lines[0] else 0
        self.headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()
        self.key = key

    def accepted(self):
        expect(self.status == 101, "status %d, not 101", self.status)
        want = base64.b64encode(hashlib.sha1(self.key.encode() + GUID)
                                .digest()).decode()
        got = self.headers.get("sec-websocket-accept")
        expect(got == want, "Sec-WebSocket-Accept %r, not %r", got, want)
        return self

    def send(self, data):
        self.sock.sendall(data)

    def send_packets(self, data):
        self.send(frame(BINARY, data))

    def _recv(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise Fail("connection closed")
        self.buf += chunk

    def read_frame(self):
        """The next server frame: (fin, opcode, payload)."""
        while True:
            if len(self.buf) >= 2:
                first, second = self.buf[0], self.buf[1]
                expect(not second & 0x80, "a server frame is masked")
                n, off = second & 0x7F, 2
                if n == 126 and len(self.buf) >= 4:
                    n, off = struct.unpack("!H", self.buf[2:4])[0], 4
                elif n == 127 and len(self.buf) >= 10:
                    n, off = struct.unpack("!Q", self.buf[2:10])[0], 10
                if (second & 0x7F < 126 or off > 2) and \
                        len(self.buf) >= off + n:
                    payload = self.buf[off:off + n]
                    self.buf = self.buf[off + n:]
                    return bool(first & 0x80), first & 0x0F, payload
            self._recv()

    def read_packet(self):
        """The next MQTT packet: (first byte, body)."""
        while True:
            if len(self.stream) >= 2:
                n, mult, i = 0, 1, 1
                while i < len(self.stream) and i <= 4:
                    n += (self.stream[i] & 0x7F) * mult
                    mult *= 128
                    if not self.stream[i] & 0x80:
                        break
                    i += 1
                else:
                    i = None
                if i is not None and len(self.stream) >= i + 1 + n:
                    first = self.stream[0]
                    body = self.stream[i + 1:i + 1 + n]
                    self.stream = self.stream[i + 1 + n:]
                    return first, body
            _, opcode, payload = self.read_frame()
            if opcode in (BINARY, CONTINUATION):
                self.stream += payload
            elif opcode == TEXT:
                raise Fail("the server sent a text frame")
            else:
                self.controls.append((opcode, payload))
                if opcode == CLOSE:
                    raise Fail("closed by the server: %r" % payload)

    def read_control(self):
        while not self.controls:
            _, opcode, payload = self.read_frame()
            if opcode in (BINARY, CONTINUATION):
                self.stream += payload
            else:
                self.controls.append((opcode, payload))
        return self.controls.pop(0)

    def closed(self):
        """True once the server closed its end (after a Close or not)."""
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (ConnectionResetError, BrokenPipeError):
            return True

    def close(self):
        self.sock.close()


def connack(c):
    first, body = c.read_packet()
    expect(first == 0x20 and body == b"\x00\x00",
           "not an accepting CONNACK: %02x %r", first, body)


def subscribe(topic, pid=1, qos=0):
    return packet(0x82, struct.pack("!H", pid) + string(topic) +
                  bytes([qos]))


def publish(topic, payload, retain=False):
    return packet(0x30 | retain, string(topic) + payload)


def suback(c, pid=1):
    first, body = c.read_packet()
    expect(first == 0x90 and body[:2] == struct.pack("!H", pid),
           "not the SUBACK: %02x %r", first, body)


def message(c, topic, payload):
    first, body = c.read_packet()
    expect(first >> 4 == 3, "not a PUBLISH: %02x %r", first, body)
    n = struct.unpack("!H", body[:2])[0]
    got_topic = body[2:2 + n].decode()
    got = body[2 + n:]
    expect(got_topic == topic and got == payload,
           "PUBLISH %s %r (%d bytes), not %s (%d bytes)", got_topic,
           got[:32], len(got), topic, len(payload))


def echo(c, topic, payload):
    """Subscribed to @topic, the client's own message comes back."""
    c.send_packets(subscribe(topic))
    suback(c)
    c.send_packets(publish(topic, payload))
    message(c, topic, payload)


def check_handshake():
    c = Client().accepted()
    proto = c.headers.get("sec-websocket-protocol")
    expect(proto == "mqtt", "subprotocol %r, not mqtt", proto)
    c.send_packets(connect("ws-handshake"))
    connack(c)
    c.close()


def check_mqttv31():
    c = Client(protocol="mqttv3.1").accepted()
    proto = c.headers.get("sec-websocket-protocol")
    expect(proto == "mqttv3.1", "subprotocol %r, not mqttv3.1", proto)
    c.close()


def refused(status=None, **kw):
    c = Client(**kw)
    expect(c.status >= 400 and (status is None or c.status == status),
           "status %d, not %s", c.status, status or "4xx")
    expect(c.closed(), "connection left open")
    c.close()
    return "HTTP %d" % c.status


def check_fragmented_connect():
    c = Client().accepted()
    data = connect("ws-fragments")
    c.send(frame(BINARY, data[:3], fin=False) +
           frame(CONTINUATION, data[3:9], fin=False) +
           frame(CONTINUATION, data[9:]))
    connack(c)
    echo(c, "ws/fragments", b"in fragments")
    c.close()


def check_connect_and_more_in_one_frame():
    """CONNECT ends inside the frame: kmqttd hands the rest of it over."""
    c = Client().accepted()
    c.send_packets(connect("ws-one-frame") + subscribe("ws/one") +
                   publish("ws/one", b"x" * 13))
    connack(c)
    suback(c)
    message(c, "ws/one", b"x" * 13)
    c.close()


def check_byte_by_byte():
    c = Client().accepted()
    c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    data = frame(BINARY, connect("ws-bytes")) + \
        frame(BINARY, subscribe("ws/bytes")) + \
        frame(BINARY, publish("ws/bytes", b"one byte at a time"))
    for i in range(len(data)):
        c.send(data[i:i + 1])
    connack(c)
    suback(c)
    message(c, "ws/bytes", b"one byte at a time")
    c.close()


def check_ping(before_connect):
    c = Client().accepted()
    if before_connect:
        c.send(frame(PING, b"early"))
        opcode, payload = c.read_control()
        expect((opcode, payload) == (PONG, b"early"),
               "got %d %r, not a Pong", opcode, payload)
    c.send_packets(connect("ws-ping"))
    connack(c)
    c.send(frame(PING, b"x" * 125))
    opcode, payload = c.read_control()
    expect((opcode, payload) == (PONG, b"x" * 125),
           "got %d %r, not a Pong", opcode, payload)
    echo(c, "ws/ping", b"still there")
    c.close()


def check_large():
    c = Client().accepted()
    c.send_packets(connect("ws-large"))
    connack(c)
    payload = os.urandom(300 * 1024)
    echo(c, "ws/large", payload)
    c.close()


def check_many_in_one_frame():
    c = Client().accepted()
    c.send_packets(connect("ws-many"))
    connack(c)
    c.send_packets(subscribe("ws/many"))
    suback(c)
    c.send_packets(b"".join(publish("ws/many", b"%d" % i)
                            for i in range(50)))
    for i in range(50):
        message(c, "ws/many", b"%d" % i)
    c.close()


def check_closed_for(data):
    c = Client().accepted()
    c.send_packets(connect("ws-bad"))
    connack(c)
    c.send(data)
    expect(c.closed(), "connection left open")
    c.close()


def check_close_handshake(body, answer):
    """The client's Close with body is answered by a Close whose status
    code is answer."""
    c = Client().accepted()
    c.send_packets(connect("ws-close"))
    connack(c)
    c.send(frame(CLOSE, body))
    opcode, payload = c.read_control()
    expect(opcode == CLOSE, "got %d %r, not a Close", opcode, payload)
    expect(payload[:2] == struct.pack("!H", answer),
           "Close with %r, not status code %d", payload, answer)
    expect(c.closed(), "connection left open")
    c.close()


def check_close_reason_not_echoed():
    c = Client().accepted()
    c.send_packets(connect("ws-close"))
    connack(c)
    c.send(frame(CLOSE, struct.pack("!H", 4000) + b"bye"))
    opcode, payload = c.read_control()
    expect(opcode == CLOSE and payload == struct.pack("!H", 4000),
           "got %d %r, not a Close of 4000 alone", opcode, payload)
    c.close()


def check_from_tcp():
    c = Client().accepted()
    c.send_packets(connect("ws-sub"))
    connack(c)
    c.send_packets(subscribe("ws/tcp"))
    suback(c)
    t = socket.create_connection(("127.0.0.1", TCP_PORT), timeout=TIMEOUT)
    t.sendall(connect("tcp-pub") + publish("ws/tcp", b"from tcp") +
              packet(0xE0, b""))
    message(c, "ws/tcp", b"from tcp")
    t.close()
    c.close()


def main():
    checks = Checks(TIMEOUT)
    tests = [
        ("opening handshake: 101, accept key, subprotocol mqtt",
         check_handshake, ()),
        ("subprotocol mqttv3.1 when offered alone", check_mqttv31, ()),
        ("version 8 refused with 426", refused, (426,),
         {"version": "8"}, "libwebsockets also speaks draft version 8"),
        ("no Sec-WebSocket-Key refused", refused, (), {"key": ""},
         "closed without an HTTP answer"),
        ("subprotocol other than mqtt refused", refused, (),
         {"protocol": "chat"}, "closed without an HTTP answer"),
        ("CONNECT in three fragments", check_fragmented_connect, ()),
        ("CONNECT, SUBSCRIBE and PUBLISH in one frame",
         check_connect_and_more_in_one_frame, ()),
        ("frames written one byte at a time", check_byte_by_byte, ()),
        ("ping before CONNECT and after: pongs", check_ping, (True,)),
        ("300 KiB message in a 64-bit frame, back", check_large, ()),
        ("50 PUBLISH in one frame, all back", check_many_in_one_frame, ()),
        ("text frame closes (MQTT-6.0.0-1)", check_closed_for,
         (frame(TEXT, b"hello"),), {}, "the connection stays open"),
        ("unmasked frame closes", check_closed_for,
         (frame(BINARY, publish("ws/x", b"x"), mask=False),), {},
         "the connection stays open"),
        ("frame with RSV bits closes", check_closed_for,
         (b"\xc2" + frame(BINARY, publish("ws/x", b"x"))[1:],)),
        ("Close answered with Close", check_close_handshake,
         (struct.pack("!H", 1000), 1000)),
        ("Close's status code echoed",
         check_close_handshake, (struct.pack("!H", 4000) + b"bye", 4000)),
        ("Close's reason not echoed", check_close_reason_not_echoed, (),
         {}, "libwebsockets echoes the whole body"),
        ("Close with a code never sent (1005) answered with 1002",
         check_close_handshake, (struct.pack("!H", 1005), 1002)),
        ("message from a TCP client", check_from_tcp, ()),
    ]
    more = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    print("1..%d" % (len(tests) + more))
    for t in tests:
        desc, func, args = t[0], t[1], t[2]
        kw = t[3] if len(t) > 3 else {}
        todo = t[4] if len(t) > 4 else None
        checks.check(desc, lambda: func(*args, **kw), todo=todo)
    sys.exit(0 if all(checks.results) else 1)


if __name__ == "__main__":
    main()

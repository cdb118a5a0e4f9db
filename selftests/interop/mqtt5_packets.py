# SPDX-License-Identifier: GPL-2.0
"""MQTT 5.0 packets for the interop tests' raw-socket clients (mqtt5-raw.py,
mqtt5-paho.py): properties (2.2.2), encoding of what a client sends,
strict decoding of what a server sends (a packet that does not follow
chapter 3 raises Malformed), and a blocking socket client.

Properties are lists of (name, value) pairs in wire order, names as in
PROPERTIES; a User Property's value is a (name, value) pair of str."""

import socket
import struct

# Identifier: (name, type) of each property (2.2.2.2).
PROPERTIES = {
    0x01: ("payload_format_indicator", "byte"),
    0x02: ("message_expiry_interval", "u32"),
    0x03: ("content_type", "str"),
    0x08: ("response_topic", "str"),
    0x09: ("correlation_data", "bin"),
    0x0B: ("subscription_identifier", "varint"),
    0x11: ("session_expiry_interval", "u32"),
    0x12: ("assigned_client_identifier", "str"),
    0x13: ("server_keep_alive", "u16"),
    0x15: ("authentication_method", "str"),
    0x16: ("authentication_data", "bin"),
    0x17: ("request_problem_information", "byte"),
    0x18: ("will_delay_interval", "u32"),
    0x19: ("request_response_information", "byte"),
    0x1A: ("response_information", "str"),
    0x1C: ("server_reference", "str"),
    0x1F: ("reason_string", "str"),
    0x21: ("receive_maximum", "u16"),
    0x22: ("topic_alias_maximum", "u16"),
    0x23: ("topic_alias", "u16"),
    0x24: ("maximum_qos", "byte"),
    0x25: ("retain_available", "byte"),
    0x26: ("user_property", "pair"),
    0x27: ("maximum_packet_size", "u32"),
    0x28: ("wildcard_subscription_available", "byte"),
    0x29: ("subscription_identifier_available", "byte"),
    0x2A: ("shared_subscription_available", "byte"),
}
IDENTIFIERS = {name: ident for ident, (name, _) in PROPERTIES.items()}

CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = range(1, 8)
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK = range(8, 12)
PINGREQ, PINGRESP, DISCONNECT, AUTH = range(12, 16)
NAMES = {CONNACK: "CONNACK", PUBLISH: "PUBLISH", PUBACK: "PUBACK",
         PUBREC: "PUBREC", PUBREL: "PUBREL", PUBCOMP: "PUBCOMP",
         SUBACK: "SUBACK", UNSUBACK: "UNSUBACK", PINGRESP: "PINGRESP",
         DISCONNECT: "DISCONNECT", AUTH: "AUTH"}


class Malformed(Exception):
    """A packet from the server that does not parse as chapter 3 says."""


# ---- encoding -------------------------------------------------------------

def varint(n):
    """A Variable Byte Integer (1.5.5)."""
    out = b""
    while True:
        digit, n = n % 128, n // 128
        out += bytes([digit | (0x80 if n else 0)])
        if not n:
            return out


def string(s):
    if isinstance(s, str):
        s = s.encode()
    return struct.pack("!H", len(s)) + s


def packet(first, body):
    return bytes([first]) + varint(len(body)) + body


def property_bytes(name, value):
    """One property, identifier and value, without a length."""
    ident = IDENTIFIERS[name]
    kind = PROPERTIES[ident][1]
    out = varint(ident)
    if kind == "byte":
        return out + bytes([value])
    if kind == "u16":
        return out + struct.pack("!H", value)
    if kind == "u32":
        return out + struct.pack("!I", value)
    if kind == "varint":
        return out + varint(value)
    if kind in ("str", "bin"):
        return out + string(value)
    return out + string(value[0]) + string(value[1])


def properties(props=()):
    """Property Length and the properties (2.2.2)."""
    body = b"".join(property_bytes(n, v) for n, v in props)
    return varint(len(body)) + body


def connect(client_id, clean_start=True, props=(), will=None, keepalive=60,
            user=None, password=None):
    """will: dict with topic, payload, and optionally qos, retain, props."""
    flags = 0x02 if clean_start else 0
    payload = string(client_id)
    if will:
        flags |= 0x04 | will.get("qos", 0) << 3
        flags |= 0x20 if will.get("retain") else 0
        payload += (properties(will.get("props", ())) +
                    string(will["topic"]) + string(will["payload"]))
    if user is not None:
        flags |= 0x80
        payload += string(user)
    if password is not None:
        flags |= 0x40
        payload += string(password)
    return packet(0x10, string("MQTT") + bytes([5, flags]) +
                  struct.pack("!H", keepalive) + properties(props) + payload)


def publish(topic, payload, qos=0, retain=False, dup=False, pid=None,
            props=(), raw_props=None):
    """raw_props: the bytes after the Packet Identifier up to the payload
    (Property Length included), instead of encoding props."""
    first = 0x30 | qos << 1 | (1 if retain else 0) | (8 if dup else 0)
    body = string(topic)
    if qos:
        body += struct.pack("!H", pid)
    body += properties(props) if raw_props is None else raw_props
    if isinstance(payload, str):
        payload = payload.encode()
    return packet(first, body + payload)


def sub_options(qos=0, no_local=False, retain_as_published=False,
                retain_handling=0):
    """The Subscription Options byte (3.8.3.1)."""
    return (qos | (4 if no_local else 0) |
            (8 if retain_as_published else 0) | retain_handling << 4)


def subscribe(pid, filters, props=()):
    """filters: (topic filter, options byte) pairs."""
    body = struct.pack("!H", pid) + properties(props)
    for topic_filter, options in filters:
        body += string(topic_filter) + bytes([options])
    return packet(0x82, body)


def unsubscribe(pid, filters, props=()):
    body = struct.pack("!H", pid) + properties(props)
    for topic_filter in filters:
        body += string(topic_filter)
    return packet(0xA2, body)


def ack(kind, pid, reason=None, props=None):
    """PUBACK, PUBREC, PUBREL or PUBCOMP (3.4-3.7): the short forms when
    reason or props is None."""
    body = struct.pack("!H", pid)
    if reason is not None:
        body += bytes([reason])
        if props is not None:
            body += properties(props)
    return packet(kind << 4 | (2 if kind == PUBREL else 0), body)


def disconnect(reason=None, props=None):
    body = b""
    if reason is not None:
        body += bytes([reason])
        if props is not None:
            body += properties(props)
    return packet(0xE0, body)


def auth(reason, props=()):
    """AUTH (3.15) with its reason code and properties."""
    return packet(AUTH << 4, bytes([reason]) + properties(props))


PINGREQ_PACKET = b"\xc0\x00"


# ---- decoding -------------------------------------------------------------

def read_varint(buf, off, end):
    value, shift = 0, 0
    for i in range(4):
        if off >= end:
            raise Malformed("Variable Byte Integer runs past its packet")
        byte = buf[off]
        off += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            if i and not byte:
                raise Malformed("Variable Byte Integer not in fewest bytes")
            return value, off
    raise Malformed("Variable Byte Integer longer than 4 bytes")


def _take(buf, off, end, n, what):
    if off + n > end:
        raise Malformed("%s runs past its packet" % what)
    return buf[off:off + n], off + n


def read_string(buf, off, end, what="string", text=True):
    raw, off = _take(buf, off, end, 2, what + " length")
    data, off = _take(buf, off, end, struct.unpack("!H", raw)[0], what)
    if not text:
        return bytes(data), off
    try:
        s = bytes(data).decode("utf-8")
    except UnicodeDecodeError as e:
        raise Malformed("%s not UTF-8: %s" % (what, e))
    if "\0" in s:
        raise Malformed("%s contains U+0000" % what)
    return s, off


def read_properties(buf, off, end):
    """Property Length and properties: ([(name, value)...], offset)."""
    length, off = read_varint(buf, off, end)
    stop = off + length
    if stop > end:
        raise Malformed("Property Length %d runs past its packet" % length)
    props = []
    while off < stop:
        ident, off = read_varint(buf, off, stop)
        if ident not in PROPERTIES:
            raise Malformed("unknown property 0x%02x" % ident)
        name, kind = PROPERTIES[ident]
        if kind == "byte":
            raw, off = _take(buf, off, stop, 1, name)
            value = raw[0]
        elif kind == "u16":
            raw, off = _take(buf, off, stop, 2, name)
            value = struct.unpack("!H", raw)[0]
        elif kind == "u32":
            raw, off = _take(buf, off, stop, 4, name)
            value = struct.unpack("!I", raw)[0]
        elif kind == "varint":
            value, off = read_varint(buf, off, stop)
        elif kind == "str":
            value, off = read_string(buf, off, stop, name)
        elif kind == "bin":
            value, off = read_string(buf, off, stop, name, text=False)
        else:
            key, off = read_string(buf, off, stop, name)
            val, off = read_string(buf, off, stop, name)
            value = (key, val)
        props.append((name, value))
    return props, stop


def repeated(props, allowed=("user_property",)):
    """Names of properties that appear more than once though the spec says
    at most once (all but User Property, and Subscription Identifier in a
    PUBLISH from the server)."""
    seen, twice = set(), []
    for name, _ in props:
        if name in seen and name not in allowed and name not in twice:
            twice.append(name)
        seen.add(name)
    return twice


class Packet:
    """A decoded packet: kind, flags, and per kind: pid, reason, reasons,
    props, topic, payload, qos, retain, dup, session_present."""

    def __init__(self, first, body):
        self.kind = first >> 4
        self.flags = first & 15
        self.body = bytes(body)
        self.props = []
        self.pid = None
        self.reason = None
        self.reasons = []

    def prop(self, name, default=None):
        for n, v in self.props:
            if n == name:
                return v
        return default

    def all(self, name):
        return [v for n, v in self.props if n == name]

    def __repr__(self):
        name = NAMES.get(self.kind, "type %d" % self.kind)
        if self.kind == PUBLISH:
            return "PUBLISH q%d r%d d%d %s pid=%s %r props=%r" % (
                self.qos, self.retain, self.dup, self.topic, self.pid,
                self.payload[:40], self.props)
        out = name
        if self.pid is not None:
            out += " pid=%d" % self.pid
        if self.kind == CONNACK:
            out += " sp=%d" % self.session_present
        if self.reason is not None:
            out += " reason=0x%02x" % self.reason
        if self.reasons:
            out += " reasons=[%s]" % ", ".join("0x%02x" % r
                                               for r in self.reasons)
        if self.props:
            out += " props=%r" % (self.props,)
        return out


# Fixed header flags each packet a server sends must have (2.1.3).
_FLAGS = {CONNACK: 0, PUBACK: 0, PUBREC: 0, PUBREL: 2, PUBCOMP: 0,
          SUBACK: 0, UNSUBACK: 0, PINGRESP: 0, DISCONNECT: 0, AUTH: 0}


def parse(first, body):
    """A packet a server sent, checked against chapter 3."""
    p = Packet(first, body)
    end = len(body)
    kind = p.kind
    if kind != PUBLISH and _FLAGS.get(kind) != p.flags:
        raise Malformed("%s with fixed header flags %x" %
                        (NAMES.get(kind, kind), p.flags))
    if kind == CONNACK:
        if end < 3:
            raise Malformed("CONNACK of %d bytes" % end)
        if body[0] & 0xFE:
            raise Malformed("CONNACK reserved flag bits set: %02x" % body[0])
        p.session_present = body[0] & 1
        p.reason = body[1]
        p.props, off = read_properties(body, 2, end)
        if off != end:
            raise Malformed("CONNACK: %d bytes after the properties" %
                            (end - off))
    elif kind == PUBLISH:
        p.qos = p.flags >> 1 & 3
        p.retain = p.flags & 1
        p.dup = p.flags >> 3
        if p.qos == 3:
            raise Malformed("PUBLISH with QoS 3")
        if p.qos == 0 and p.dup:
            raise Malformed("QoS 0 PUBLISH with DUP set [MQTT-3.3.1-2]")
        p.topic, off = read_string(body, 0, end, "Topic Name")
        if p.qos:
            raw, off = _take(body, off, end, 2, "Packet Identifier")
            p.pid = struct.unpack("!H", raw)[0]
            if not p.pid:
                raise Malformed("PUBLISH with Packet Identifier 0")
        p.props, off = read_properties(body, off, end)
        p.payload = bytes(body[off:])
    elif kind in (PUBACK, PUBREC, PUBREL, PUBCOMP):
        if end < 2:
            raise Malformed("%s of %d bytes" % (NAMES[kind], end))
        p.pid = struct.unpack("!H", body[:2])[0]
        p.reason = 0
        if end >= 3:
            p.reason = body[2]
        if end >= 4:
            p.props, off = read_properties(body, 3, end)
            if off != end:
                raise Malformed("%s: %d bytes after the properties" %
                                (NAMES[kind], end - off))
    elif kind in (SUBACK, UNSUBACK):
        if end < 3:
            raise Malformed("%s of %d bytes" % (NAMES[kind], end))
        p.pid = struct.unpack("!H", body[:2])[0]
        p.props, off = read_properties(body, 2, end)
        p.reasons = list(body[off:])
        if not p.reasons:
            raise Malformed("%s without a Reason Code" % NAMES[kind])
    elif kind == PINGRESP:
        if end:
            raise Malformed("PINGRESP of %d bytes" % end)
    elif kind == DISCONNECT:
        p.reason = body[0] if end >= 1 else 0
        if end >= 2:
            p.props, off = read_properties(body, 1, end)
            if off != end:
                raise Malformed("DISCONNECT: %d bytes after the properties"
                                % (end - off))
    elif kind == AUTH:
        p.reason = body[0] if end >= 1 else 0
        if end >= 2:
            p.props, _ = read_properties(body, 1, end)
    else:
        raise Malformed("a server does not send packet type %d" % kind)
    return p


# ---- a blocking client ----------------------------------------------------

class Closed(Exception):
    """The server closed the connection."""


class Client:
    """A raw MQTT 5.0 connection: send bytes, receive decoded packets.
    recv raises socket.timeout when nothing came within the timeout and
    Closed when the server closed the connection."""

    def __init__(self, port, host="127.0.0.1", timeout=15):
        self.timeout = timeout
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        self.connack = None

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, n, deadline_timeout):
        self.sock.settimeout(deadline_timeout)
        while len(self.buf) < n:
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:
                data = b""
            if not data:
                raise Closed()
            self.buf += data

    def recv(self, timeout=None):
        timeout = self.timeout if timeout is None else timeout
        self._fill(2, timeout)
        length, shift, i = 0, 0, 1
        while True:
            self._fill(i + 1, timeout)
            byte = self.buf[i]
            length |= (byte & 0x7F) << shift
            shift += 7
            i += 1
            if not byte & 0x80:
                break
            if i > 4:
                raise Malformed("Remaining Length longer than 4 bytes")
        self._fill(i + length, timeout)
        first, body = self.buf[0], self.buf[i:i + length]
        self.buf = self.buf[i + length:]
        return parse(first, body)

    def until(self, kind, timeout=None):
        """(the first packet of kind, the packets received before it)."""
        before = []
        while True:
            p = self.recv(timeout)
            if p.kind == kind:
                return p, before
            before.append(p)

    def connect(self, client_id, **kwargs):
        self.send(connect(client_id, **kwargs))
        self.connack, before = self.until(CONNACK)
        if before:
            raise Malformed("%r before CONNACK [MQTT-3.2.0-1]" % (before,))
        return self.connack

    def ping(self, timeout=None):
        """PINGREQ, and the packets received before its PINGRESP."""
        self.send(PINGREQ_PACKET)
        return self.until(PINGRESP, timeout)[1]

    def wait_closed(self, timeout=None):
        """The packets received until the server closed the connection;
        socket.timeout if it did not within timeout."""
        got = []
        while True:
            try:
                got.append(self.recv(timeout))
            except Closed:
                return got

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

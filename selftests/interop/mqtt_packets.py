# SPDX-License-Identifier: GPL-2.0
"""MQTT 3.1 and 3.1.1 packets for the interop tests' raw-socket clients
(dropin.py, secure_client.py): encoding, and a one-line description of a
received packet."""

import struct


def remaining_length(n):
    out = b""
    while True:
        digit, n = n % 128, n // 128
        out += bytes([digit | (0x80 if n else 0)])
        if not n:
            return out


def packet(first, body):
    return bytes([first]) + remaining_length(len(body)) + body


def string(s):
    if isinstance(s, str):
        s = s.encode()
    return struct.pack("!H", len(s)) + s


def connect(client_id, clean=True, user=None, password=None, will=None,
            level=4, keepalive=60):
    """will: (topic, payload, qos, retain)"""
    flags = 0x02 if clean else 0
    payload = string(client_id)
    if will:
        topic, message, qos, retain = will
        flags |= 0x04 | qos << 3 | (0x20 if retain else 0)
        payload += string(topic) + string(message)
    if user is not None:
        flags |= 0x80
        payload += string(user)
    if password is not None:
        flags |= 0x40
        payload += string(password)
    name = "MQIsdp" if level == 3 else "MQTT"
    return packet(0x10, string(name) + bytes([level, flags]) +
                  struct.pack("!H", keepalive) + payload)


def describe(first, body):
    """A packet as the record shows it."""
    kind = first >> 4
    if kind == 2:
        return "CONNACK %d sp%d" % (body[1], body[0])
    if kind == 3:
        qos = first >> 1 & 3
        n = struct.unpack("!H", body[:2])[0]
        topic = body[2:2 + n].decode(errors="replace")
        payload = body[2 + n + (2 if qos else 0):]
        return "PUBLISH q%d r%d %s %r" % (qos, first & 1, topic,
                                          payload[:32])
    if kind == 9:
        return "SUBACK " + " ".join("%02x" % c for c in body[2:])
    names = {4: "PUBACK", 5: "PUBREC", 6: "PUBREL", 7: "PUBCOMP",
             11: "UNSUBACK", 13: "PINGRESP"}
    return names.get(kind, "type %d" % kind)

# SPDX-License-Identifier: GPL-2.0
"""MQTT 5.0 with raw packets (mqtt5_packets.py) against the broker on
127.0.0.1:$MQTT5_PORT (run by mqtt5.sh), where no client library can
express the case or shows what went over the wire: CONNACK properties,
SUBACK and UNSUBACK reason codes, Subscription Identifiers and Shared
Subscriptions when not available, acks with reason codes from a client,
and malformed or forbidden input.  Prints TAP; each check names the MQTT
5.0 statement or section it holds the broker to.  Client ids start with
m5r-, topics with mqtt5-raw/."""

import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mqtt5_packets as m5  # noqa: E402
from mqtt5_packets import (PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP,  # noqa
                           SUBACK, UNSUBACK, DISCONNECT)

from tap_checks import BROKER, Checks, Fail, expect  # noqa: E402

PORT = int(os.environ.get("MQTT5_PORT", "1883"))
# Failure bound for anything awaited: generous for the TCG test VM.
TIMEOUT = 15
T = "mqtt5-raw/"
PLAN = 16

checks = Checks(TIMEOUT)
check = checks.check
results = checks.results


def client(client_id, **kwargs):
    """A connected client; the CONNACK must accept it."""
    c = m5.Client(PORT, timeout=TIMEOUT)
    ack = c.connect(client_id, **kwargs)
    expect(ack.reason == 0, "%s: %r", client_id, ack)
    return c


def subscribed(client_id, topic_filter, qos=1, **kwargs):
    c = client(client_id, **kwargs)
    c.send(m5.subscribe(1, [(topic_filter, qos)]))
    ack, before = c.until(SUBACK)
    expect(ack.reasons == [qos] and not before, "SUBACK %r after %r", ack,
           before)
    return c


def publish_acked(c, topic, payload, qos=1, pid=1, props=()):
    """Publish at QoS 1 or 2 and complete the flow."""
    c.send(m5.publish(topic, payload, qos=qos, pid=pid, props=props))
    if qos == 1:
        ack, _ = c.until(PUBACK)
    else:
        ack, _ = c.until(PUBREC)
        expect(ack.reason < 0x80, "PUBREC %r", ack)
        c.send(m5.ack(PUBREL, pid))
        ack, _ = c.until(PUBCOMP)
    expect(ack.pid == pid and ack.reason < 0x80, "%r", ack)


def disconnect(c):
    c.send(m5.disconnect(0))
    c.close()


# ---- 2. CONNACK -------------------------------------------------------------

state = {}


def connack_basic():
    c = m5.Client(PORT, timeout=TIMEOUT)
    ack = c.connect("", clean_start=True)
    state["connack"] = ack
    state["assigned_client"] = c
    expect(ack.reason == 0 and ack.session_present == 0, "%r", ack)
    twice = m5.repeated(ack.props)
    expect(not twice, "repeated in CONNACK: %s (%r)", twice, ack)
    return repr(ack)


def assigned_id():
    ack = state.get("connack")
    expect(ack is not None, "no CONNACK")
    first = ack.prop("assigned_client_identifier")
    c = m5.Client(PORT, timeout=TIMEOUT)
    second = c.connect("").prop("assigned_client_identifier")
    disconnect(c)
    disconnect(state.pop("assigned_client"))
    expect(first and second and first != second,
           "Assigned Client Identifiers %r and %r", first, second)
    return "%r, %r" % (first, second)


def connack_ranges():
    ack = state.get("connack")
    expect(ack is not None, "no CONNACK")
    bad = []
    for name, low, high in (("receive_maximum", 1, 65535),
                            ("maximum_packet_size", 1, 2 ** 32 - 1),
                            ("maximum_qos", 0, 1),
                            ("retain_available", 0, 1),
                            ("wildcard_subscription_available", 0, 1),
                            ("subscription_identifier_available", 0, 1),
                            ("shared_subscription_available", 0, 1)):
        for value in ack.all(name):
            if not low <= value <= high:
                bad.append("%s %d" % (name, value))
    expect(not bad, "out of range: %s (%r)", ", ".join(bad), ack)
    return repr(ack.props)


def features_announced():
    ack = state.get("connack")
    expect(ack is not None, "no CONNACK")
    sub_ids = ack.prop("subscription_identifier_available")
    shared = ack.prop("shared_subscription_available")
    # Both brokers support both: absent (or 1) means available.
    expect(sub_ids in (None, 1) and shared in (None, 1),
           "Subscription Identifiers Available %r, Shared Subscription "
           "Available %r", sub_ids, shared)
    return "Subscription Identifiers Available %r, Shared Subscription " \
        "Available %r" % (sub_ids, shared)


# ---- 6. SUBACK --------------------------------------------------------------

def suback_granted():
    c = client("m5r-suback")
    c.send(m5.subscribe(0x1234, [(T + "suback/0", 0), (T + "suback/1", 1),
                                 (T + "suback/2", 2)]))
    ack, before = c.until(SUBACK)
    disconnect(c)
    expect(ack.pid == 0x1234 and ack.reasons == [0, 1, 2] and not before,
           "%r after %r", ack, before)
    return repr(ack)


def unharmed(topic, tag):
    """Another client still connects, subscribes and gets a message."""
    c = subscribed("m5r-unharmed", topic, 1)
    c.send(m5.publish(topic, "still works " + tag, qos=1, pid=2))
    got = [p for p in c.until(PUBACK)[1]]
    while not got:
        got.append(c.recv())
    disconnect(c)
    expect(got[0].kind == PUBLISH and
           got[0].payload == b"still works " + tag.encode(),
           "another client then got %r", got)


def closed_with(c, reason, what):
    """The server closes c, with a DISCONNECT of this reason if any
    (None: any reason of 0x80 or more, 4.13)."""
    got = []
    try:
        while True:
            p = c.recv()
            got.append(p)
            expect(p.kind == DISCONNECT, "%s: %r instead of a close", what,
                   got)
            expect(p.reason == reason if reason is not None else
                   p.reason >= 0x80, "%s: %r", what, p)
    except m5.Closed:
        return got
    except socket.timeout:
        raise Fail("%s: connection still open after %d s (received %r)" %
                   (what, TIMEOUT, got))
    finally:
        c.close()


def subscription_identifier():
    ack = state.get("connack")
    expect(ack is not None, "no CONNACK")
    available = ack.prop("subscription_identifier_available", 1)
    c = client("m5r-subid")
    topic = T + "subid"
    c.send(m5.subscribe(1, [(topic, 1)],
                        props=[("subscription_identifier", 7)]))
    if not available:
        # 3.2.2.3.12: a Protocol Error, DISCONNECT 0xA1.
        got = closed_with(c, 0xA1, "SUBSCRIBE with a Subscription "
                          "Identifier")
        unharmed(topic, "after subscription identifier")
        return "closed after %r" % got
    # [MQTT-3.3.4-3]: the PUBLISH carries the identifier.
    sub, _ = c.until(SUBACK)
    expect(sub.reasons == [1], "%r", sub)
    c.send(m5.publish(topic, "x", qos=1, pid=2))
    pub = c.until(PUBLISH)[0]
    disconnect(c)
    expect(pub.all("subscription_identifier") == [7], "%r", pub)
    return "available: %r, then %r" % (sub, pub)


def overlapping_identifiers():
    # [MQTT-3.3.4-2..5]: one copy at the highest QoS with both identifiers,
    # or one copy per subscription with its own.
    c = client("m5r-subid2")
    topic = T + "subid2/a"
    c.send(m5.subscribe(1, [(T + "subid2/#", 0)],
                        props=[("subscription_identifier", 1)]))
    c.until(SUBACK)
    c.send(m5.subscribe(2, [(T + "subid2/+", 1)],
                        props=[("subscription_identifier", 200)]))
    c.until(SUBACK)
    c.send(m5.publish(topic, "x", qos=1, pid=3))
    pubs = [c.until(PUBLISH)[0]]
    try:
        pubs.append(c.until(PUBLISH, timeout=0.5)[0])
    except socket.timeout:
        pass
    disconnect(c)
    ids = sorted(i for p in pubs for i in p.all("subscription_identifier"))
    expect(ids == [1, 200], "identifiers %r in %r", ids, pubs)
    expect(max(p.qos for p in pubs) == 1, "%r", pubs)
    if len(pubs) == 2:
        expect(all(len(p.all("subscription_identifier")) == 1
                   for p in pubs), "%r", pubs)
    return "%d PUBLISH: %r" % (len(pubs), pubs)


def shared_subscription():
    ack = state.get("connack")
    expect(ack is not None, "no CONNACK")
    available = ack.prop("shared_subscription_available", 1)
    c = client("m5r-shared")
    topic = T + "shared"
    c.send(m5.subscribe(1, [("$share/group/" + topic, 1)]))
    if not available:
        try:
            p = c.recv()
        except m5.Closed:
            raise Fail("closed without SUBACK or DISCONNECT 0x9E")
        if p.kind == DISCONNECT:
            expect(p.reason == 0x9E, "%r", p)
            closed_with(c, 0x9E, "after DISCONNECT 0x9E")
            seen = "%r, closed" % p
        else:
            expect(p.kind == SUBACK and p.pid == 1 and p.reasons == [0x9E],
                   "%r", p)
            # Refused, and the connection still works.
            before = c.ping()
            disconnect(c)
            expect(not before, "%r before PINGRESP", before)
            seen = "%r, connection kept" % p
        unharmed(topic, "after $share")
        return seen
    # Available (Mosquitto): granted, and it gets a message.
    sub, _ = c.until(SUBACK)
    expect(sub.reasons == [1], "%r", sub)
    pub = client("m5r-shared-pub")
    publish_acked(pub, topic, "to the group")
    disconnect(pub)
    msg = c.until(PUBLISH)[0]
    disconnect(c)
    expect(msg.payload == b"to the group", "%r", msg)
    return "available: %r, then %r" % (sub, msg)


# ---- 7. UNSUBACK ------------------------------------------------------------

def unsuback():
    c = subscribed("m5r-unsuback", T + "unsub/a", 1)
    c.send(m5.unsubscribe(0x4321, [T + "unsub/a", T + "unsub/none"]))
    ack, before = c.until(UNSUBACK)
    c.send(m5.unsubscribe(0x4322, [T + "unsub/a"]))
    again, _ = c.until(UNSUBACK)
    disconnect(c)
    expect(ack.pid == 0x4321 and ack.reasons == [0x00, 0x11] and
           not before and again.pid == 0x4322 and again.reasons == [0x11],
           "%r, then %r", ack, again)
    return "%r, then %r" % (ack, again)


# ---- 8. acks with reason codes from the client ------------------------------

def puback_reason_from_client():
    topic = T + "puback"
    sub = subscribed("m5r-puback", topic, 1,
                     props=[("session_expiry_interval", 60)])
    pub = client("m5r-puback-pub")
    publish_acked(pub, topic, "one", pid=1)
    publish_acked(pub, topic, "two", pid=2)
    got = []
    for props in ([], [("reason_string", "noted, no matching subscribers")]):
        p = sub.until(PUBLISH)[0]
        got.append(p.payload)
        # 0x10 No matching subscribers, with a Property Length.
        sub.send(m5.ack(PUBACK, p.pid, 0x10, props))
    expect(got == [b"one", b"two"], "received %r", got)
    before = sub.ping()
    expect(not before, "after the PUBACKs: %r before PINGRESP", before)
    disconnect(sub)
    # Acknowledged: not resent on the reconnect [MQTT-4.4.0-1].
    sub = m5.Client(PORT, timeout=TIMEOUT)
    ack = sub.connect("m5r-puback", clean_start=False)
    publish_acked(pub, topic, "three", pid=3)
    first = sub.until(PUBLISH)[0]
    sub.send(m5.ack(PUBACK, first.pid))
    disconnect(sub)
    disconnect(pub)
    client("m5r-puback").close()    # Clean Start: the session goes
    expect(ack.session_present == 1 and first.payload == b"three" and
           not first.dup, "%r, then %r", ack, first)
    return "reconnect: %r, then %r" % (ack, first)


def pubrec_error_from_client():
    topic = T + "pubrec"
    sub = subscribed("m5r-pubrec", topic, 2,
                     props=[("session_expiry_interval", 60)])
    pub = client("m5r-pubrec-pub")
    publish_acked(pub, topic, "refused", qos=2, pid=1)
    p = sub.until(PUBLISH)[0]
    expect(p.qos == 2 and p.payload == b"refused", "%r", p)
    sub.send(m5.ack(PUBREC, p.pid, 0x80, []))
    before = sub.ping()
    expect(not before, "after PUBREC 0x80: %r before PINGRESP "
           "[MQTT-4.3.3-4]", before)
    disconnect(sub)
    # Not resent, no PUBREL on the reconnect [MQTT-4.4.0-2]; the next
    # QoS 2 message goes through the whole flow.
    sub = m5.Client(PORT, timeout=TIMEOUT)
    ack = sub.connect("m5r-pubrec", clean_start=False)
    expect(ack.session_present == 1, "%r", ack)
    publish_acked(pub, topic, "next", qos=2, pid=2)
    first = sub.recv()
    expect(first.kind == PUBLISH and first.payload == b"next" and
           not first.dup, "after the reconnect: %r", first)
    sub.send(m5.ack(PUBREC, first.pid, 0, []))
    rel = sub.recv()
    expect(rel.kind == PUBREL and rel.pid == first.pid and rel.reason == 0,
           "%r", rel)
    sub.send(m5.ack(PUBCOMP, first.pid))
    before = sub.ping()
    disconnect(sub)
    disconnect(pub)
    client("m5r-pubrec").close()
    expect(not before, "%r before PINGRESP", before)
    return "reconnect: %r, then %r, %r" % (ack, first, rel)


def puback_no_subscriber():
    c = client("m5r-nosub")
    c.send(m5.publish(T + "nobody/listens", "x", qos=1, pid=0x0102))
    ack, before = c.until(PUBACK)
    disconnect(c)
    expect(ack.pid == 0x0102 and ack.reason in (0x00, 0x10) and not before,
           "%r (%d bytes) after %r", ack, len(ack.body), before)
    return "%r, %d bytes" % (ack, len(ack.body))


# ---- 11. malformed and forbidden PUBLISH ------------------------------------

def refused_publish(tag, packet):
    """A PUBLISH the broker must refuse by closing the connection; a
    witness subscribed to the topic does not get it, and gets the next
    message of another client, which connects fine."""
    topic = T + "mal/" + tag
    w = subscribed("m5r-witness-" + tag, topic, 1)
    bad = client("m5r-bad-" + tag)
    bad.send(packet(topic, bad.connack))
    got = closed_with(bad, None, tag)
    good = client("m5r-good-" + tag)
    publish_acked(good, topic, "after " + tag)
    disconnect(good)
    want = ("after " + tag).encode()
    seen = []
    while not seen or seen[-1].payload != want:
        seen.append(w.until(PUBLISH)[0])
        w.send(m5.ack(PUBACK, seen[-1].pid))
    disconnect(w)
    expect(len(seen) == 1, "the witness got %r (packets before the "
           "close: %r)", seen, got)
    return "closed after %r" % (got,)


def property_overrun(topic, connack):
    # Property Length 50, with 3 bytes left in the packet.
    return m5.publish(topic, "x", qos=1, pid=1,
                      raw_props=m5.varint(50) + b"\x01\x01")


def content_type_twice(topic, connack):
    return m5.publish(topic, "x", qos=1, pid=1,
                      props=[("content_type", "text/a"),
                             ("content_type", "text/b")])


def alias_above_maximum(topic, connack):
    # Topic Alias Maximum absent means 0 [MQTT-3.2.2-18].
    maximum = connack.prop("topic_alias_maximum", 0)
    return m5.publish(topic, "x", qos=1, pid=1,
                      props=[("topic_alias", maximum + 1)])


def alias_zero(topic, connack):
    return m5.publish(topic, "x", qos=1, pid=1, props=[("topic_alias", 0)])


def main():
    print("1..%d" % PLAN)
    sys.stdout.flush()
    check("2: CONNACK to a 5.0 CONNECT: reason 0x00, session present 0 for "
          "Clean Start 1 [MQTT-3.2.2-2], reserved flags 0 [MQTT-3.2.2-1], "
          "properties well formed and none repeated (3.2.2.3)",
          connack_basic)
    check("2: an empty Client Identifier gets an Assigned Client Identifier "
          "in CONNACK, another one for a second client [MQTT-3.2.2-16]",
          assigned_id)
    check("2: CONNACK values in their ranges where present: Receive Maximum "
          "1..65535, Maximum Packet Size > 0, Maximum QoS, Retain, Wildcard/"
          "Subscription Identifier/Shared Subscription Available 0 or 1 "
          "(3.2.2.3.3-6, 3.2.2.3.11-13)", connack_ranges)
    features = "absent or 1, and the next checks test them in use"
    check("2: CONNACK announces Subscription Identifiers Available and "
          "Shared Subscription Available (3.2.2.3.12/13): " + features,
          features_announced)
    check("6: SUBACK grants QoS 0, 1, 2 as requested: reason codes 0x00, "
          "0x01, 0x02 in filter order, same Packet Identifier [MQTT-3.8.4-2, "
          "MQTT-3.9.3-1]", suback_granted)
    check("6: SUBSCRIBE with a Subscription Identifier: connection closed "
          "(DISCONNECT 0xA1 if any) when announced unavailable (3.2.2.3.12), "
          "else the identifier comes with the PUBLISH [MQTT-3.3.4-3]",
          subscription_identifier)
    check("6: overlapping subscriptions with identifiers 1 and 200: one "
          "PUBLISH at the highest QoS with both, or one per subscription "
          "with its own [MQTT-3.3.4-2, MQTT-3.3.4-4, MQTT-3.3.4-5]",
          overlapping_identifiers)
    check("6: SUBSCRIBE $share/group/filter: SUBACK 0x9E or DISCONNECT 0x9E "
          "when announced unavailable (3.2.2.3.13, 4.8.2), else granted and "
          "delivered", shared_subscription)
    check("7: UNSUBACK: 0x00 for an existing subscription, 0x11 (No "
          "subscription existed) otherwise, in filter order, same Packet "
          "Identifier (3.11.3, [MQTT-3.11.3-1])", unsuback)
    check("8: PUBACK 0x10 with a Property Length (empty, then a Reason "
          "String) from a subscriber accepted: connection kept, messages "
          "not resent after a reconnect [MQTT-4.4.0-1] (3.4.2.1)",
          puback_reason_from_client)
    check("8: PUBREC 0x80 from a subscriber ends the QoS 2 flow: no PUBREL "
          "[MQTT-4.3.3-4], nothing resent after a reconnect "
          "[MQTT-4.4.0-2], the next QoS 2 message flows (3.5.2.1)",
          pubrec_error_from_client)
    check("8: PUBACK to a QoS 1 PUBLISH nobody subscribed to: reason 0x00 or "
          "0x10, same Packet Identifier, well formed (3.4.2.1)",
          puback_no_subscriber)
    check("11: PUBLISH whose Property Length runs past the packet: "
          "connection closed (DISCONNECT >= 0x80 if any) [MQTT-4.13.1-1] "
          "(2.2.2.1), not forwarded, other clients unaffected",
          refused_publish, "overrun", property_overrun)
    check("11: PUBLISH with Content Type twice (Protocol Error, 3.3.2.3.9): "
          "connection closed [MQTT-4.13.1-1], not forwarded, other clients "
          "unaffected", refused_publish, "twice", content_type_twice)
    check("11: PUBLISH with a Topic Alias above the Topic Alias Maximum of "
          "CONNACK (absent: 0) [MQTT-3.3.2-9, MQTT-3.2.2-18]: connection "
          "closed, not forwarded, other clients unaffected",
          refused_publish, "above", alias_above_maximum)
    check("11: PUBLISH with Topic Alias 0 [MQTT-3.3.2-8]: connection closed, "
          "not forwarded, other clients unaffected",
          refused_publish, "zero", alias_zero)


main()
if len(results) != PLAN:
    print("# %d results, %d planned" % (len(results), PLAN))
sys.exit(0 if len(results) == PLAN and all(results) else 1)

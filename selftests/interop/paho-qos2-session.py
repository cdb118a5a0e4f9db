# SPDX-License-Identifier: GPL-2.0
"""Eclipse Paho (paho-mqtt 1.6) against the broker on localhost:1883: a
QoS 2 subscription with a persistent session (clean_session=False) that
receives the QoS 2 messages published while it was offline, once each and
in order, with session present set on the reconnect.  Prints TAP."""

import queue
import sys

import paho.mqtt.client as mqtt

TIMEOUT = 10
CLIENT_ID = "paho-persistent"
TOPIC = "paho/qos2"
N = 5

results = []


def check(desc, ok, detail=""):
    results.append(ok)
    print("%s %d %s" % ("ok" if ok else "not ok", len(results), desc))
    if not ok and detail:
        print("# " + detail)
    sys.stdout.flush()


def client(client_id, clean, events):
    c = mqtt.Client(client_id=client_id, clean_session=clean,
                    protocol=mqtt.MQTTv311)
    c.on_connect = lambda cl, u, flags, rc: events.put(
        ("connack", (rc, flags.get("session present"))))
    c.on_subscribe = lambda cl, u, mid, qos: events.put(("suback", qos))
    c.on_publish = lambda cl, u, mid: events.put(("puback", mid))
    c.on_message = lambda cl, u, m: events.put(("message", m))
    c.connect("localhost", 1883, keepalive=30)
    c.loop_start()
    return c


def next_event(events, kind):
    try:
        event = events.get(timeout=TIMEOUT)
    except queue.Empty:
        return None
    return event[1] if event[0] == kind else None


def main():
    print("1..5")
    sub_events = queue.Queue()
    sub = client(CLIENT_ID, False, sub_events)
    rc = next_event(sub_events, "connack")
    check("persistent connect accepted", rc is not None and rc[0] == 0,
          "CONNACK %r" % (rc,))
    sub.subscribe(TOPIC, qos=2)
    granted = next_event(sub_events, "suback")
    check("subscribe at QoS 2 granted", granted is not None and
          list(granted) == [2], "SUBACK %r" % (granted,))
    sub.disconnect()
    sub.loop_stop()

    pub_events = queue.Queue()
    pub = client("paho-publisher", True, pub_events)
    next_event(pub_events, "connack")
    for i in range(N):
        pub.publish(TOPIC, b"m%d" % i, qos=2)
        next_event(pub_events, "puback")
    pub.disconnect()
    pub.loop_stop()

    sub_events = queue.Queue()
    sub = client(CLIENT_ID, False, sub_events)
    rc = next_event(sub_events, "connack")
    check("reconnect: session present", rc is not None and rc == (0, 1),
          "CONNACK %r" % (rc,))
    got = []
    for _ in range(N):
        m = next_event(sub_events, "message")
        if m is None:
            break
        got.append((m.payload, m.qos))
    check("offline QoS 2 messages delivered once each, in order",
          got == [(b"m%d" % i, 2) for i in range(N)], "got %r" % (got,))
    extra = None
    try:
        extra = sub_events.get(timeout=0.5)
    except queue.Empty:
        pass
    check("no duplicate after them", extra is None, "got %r" % (extra,))
    sub.disconnect()
    sub.loop_stop()
    # MQTT-3.1.2-6: a clean session connect removes the stored session.
    cleaner = client(CLIENT_ID, True, queue.Queue())
    cleaner.disconnect()
    cleaner.loop_stop()


main()
sys.exit(0 if len(results) == 5 and all(results) else 1)

# SPDX-License-Identifier: GPL-2.0
"""Eclipse Paho (paho-mqtt 1.6, Debian's python3-paho-mqtt) against the
broker on localhost:1883: '+' and '#' subscriptions.  Prints TAP."""

import queue
import sys

import paho.mqtt.client as mqtt

TIMEOUT = 10
SENTINEL = "$kmqtt-test/sentinel"
FILTERS = [("sensors/+/temp", 0), ("alerts/#", 0), (SENTINEL, 0)]
PUBLISHED = [
    ("sensors/kitchen/temp", True),
    ("sensors/kitchen/humidity", False),
    ("sensors/temp", False),
    ("sensors//temp", True),
    ("alerts", True),
    ("alerts/fire/floor2", True),
    ("alert/x", False),
    ("$SYS/alerts", False),
]

results = []


def check(desc, ok, detail=""):
    results.append(ok)
    print("%s %d %s" % ("ok" if ok else "not ok", len(results), desc))
    if not ok and detail:
        print("# " + detail)
    sys.stdout.flush()


def main():
    events = queue.Queue()
    client = mqtt.Client(client_id="paho-interop", protocol=mqtt.MQTTv311)
    client.on_connect = lambda c, u, flags, rc: events.put(("connack", rc))
    client.on_subscribe = lambda c, u, mid, qos: events.put(("suback", qos))
    client.on_message = lambda c, u, m: events.put(("message", m))
    print("1..4")

    def next_event(kind):
        try:
            event = events.get(timeout=TIMEOUT)
        except queue.Empty:
            return None
        return event[1] if event[0] == kind else None

    client.connect("localhost", 1883, keepalive=30)
    client.loop_start()
    rc = next_event("connack")
    check("connect accepted", rc == 0, "CONNACK: %r" % (rc,))
    if rc != 0:
        return
    client.subscribe(FILTERS)
    granted = next_event("suback")
    check("subscribe %s granted" % [f for f, _ in FILTERS],
          granted is not None and list(granted) == [0] * len(FILTERS),
          "SUBACK: %r" % (granted,))

    for topic, _ in PUBLISHED:
        client.publish(topic, topic.encode(), qos=0)
    client.publish(SENTINEL, b"end", qos=0)
    received = []
    while True:
        msg = next_event("message")
        if msg is None or msg.topic == SENTINEL:
            break
        received.append((msg.topic, msg.payload))
    expected = [(t, t.encode()) for t, match in PUBLISHED if match]
    check("'+' and '#' deliver exactly the matching topics, in order",
          received == expected, "received %r" % (received,))
    check("sentinel received after them", msg is not None,
          "timed out after %d s" % TIMEOUT)
    client.disconnect()
    client.loop_stop()


main()
sys.exit(0 if len(results) == 4 and all(results) else 1)
